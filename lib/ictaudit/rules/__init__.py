"""The rules as data: the rubric (the scale of a decision), its indicator kinds, and the logic checks.

In: ``rubrics/<id>.yaml`` and the check table. Out: frozen, checked models — :class:`Rubric`, the
kind objects that compute, explain and write each indicator as an Excel formula, and the check
rules that validation turns into Great Expectations suites. Depends only on :mod:`ictaudit.common`.
"""

"""Stage 4: the published outputs, built from the scored tables only.

In: the scored folder of a run, the rubric and the cycle's metadata. Out: ``report.html``,
``report.xlsx`` (live formulas with their cached values), ``agencies/<id>.html`` and the on-demand
trace of one agency.
"""

"""Shared tools every stage uses; no knowledge of forms, rubrics or runs.

In: plain Python and pandas values. Out: Vietnamese number and date texts and the NaN test (``numfmt``), CSV tables
with the formula guard (``tables``), text cells for workbooks (``workbooks``), LibreOffice
conversions (``office``), forked workers (``forked``), step timings (``timings``) and the project's
folders (``paths``).
"""

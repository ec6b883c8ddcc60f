"""Stage 2: logic checks, the corrections overlay and the confirmation round.

In: the values as submitted, the statuses, ``corrections.csv`` and last year's confirmed values.
Out: the confirmed values (raw never edited), ``issues.csv`` for round 1 (as sent) and round 2
(after corrections), the applied and rejected corrections, Great Expectations results and Data
Docs, and one confirmation workbook per agency with problems.
"""

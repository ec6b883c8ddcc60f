"""Stage 3: points, totals, bands and ranks, and how robust those ranks are.

In: the confirmed values, the statuses, the values held back by unresolved errors, and the rubric.
Out: ``trail.csv`` (one row per agency × indicator), ``scores.csv``, ``criteria.csv`` and the
robustness tables (seeded weight perturbation, leave one criterion out, rubric against rubric).
"""

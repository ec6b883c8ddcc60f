"""The year's paperwork around a cycle folder: synthetic sample cycles.

In: the rubric and a roster. Out: cycle folders (``cycle.yaml``, ``agencies.csv``,
``receipts.csv``, filled forms, ``corrections.csv``).
"""

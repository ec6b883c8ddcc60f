"""Stage 1: from the cycle folder to values with provenance.

In: ``cycle.yaml``, ``agencies.csv``, ``receipts.csv``, ``submissions/`` and the rubric. Out: a
status per roster agency (ranked / late / missing / excluded / invalid) with its reason, every
form value in long form with file, sha256, sheet and cell, and the intake problems; also the blank
forms (``forms``) and the one parser of form text (``parsing``).
"""

"""Stage 1: from the cycle folder to values with provenance.

In: ``cycle.yaml``, ``agencies.csv``, ``receipts.csv``, ``submissions/`` and the rubric. Out: a
status per roster agency (ranked / late / missing / excluded / invalid) with its reason, every
form value in long form with file, sha256, sheet and cell, and the intake problems (codes and
messages from ``rules/problems.yaml``); also the blank forms (``forms``) and the one parser of form
text (``parsing``).

Modules, each importing only those before it: ``parsing``, ``forms``, ``cycle``, ``values``,
``problems`` (rows and refusals from the catalogue), ``package`` (zip/XML/ODS safety and limits),
``formulas`` (formulas without a cached value), ``workbook`` (reading one workbook), ``disk``
(listing, reading and hashing ``submissions/``), ``receipts`` (the receipt rules: which of an
agency's receipts stands), ``submissions`` (the cycle: statuses, the two-process read, the result
frames). docs/intake.md says what intake reads and refuses.
"""

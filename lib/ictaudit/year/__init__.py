"""The year's paperwork around a cycle folder: sample cycles, a new year, the forms received by mail.

In: the rubric, a roster, last year's cycle folder and published results, mail. Out: cycle folders
(``sample``: a synthetic one; ``init``: a new year's from last year's), and the forms found in mail
stored under ``submissions/`` and registered in ``receipts.csv`` (``mail`` reads messages,
``receive`` recognises and registers forms).
"""

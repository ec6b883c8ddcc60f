"""The run's kernel speed tricks, fenced in one place behind one switch.

In: the notebooks of a run, in order. Out: for each, the kernel to run it in: launched while the
notebook before it runs, warmed with its imports, checked ready without papermill's 0.2 s wait, killed
without waiting when done (``supply`` → ``launch``, ``warmup``, ``client``); or, with the switch off
(``ictaudit run --plain-papermill``, ``ICTAUDIT_KERNEL_TRICKS=off``), none: papermill's own. Both give
the same bytes; the gains are measured in docs/performance.md. ``client`` is the only module of the
project that uses another library's private names (jupyter_client's, pinned exactly in pyproject.toml).
"""

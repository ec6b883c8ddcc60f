"""Where each notebook of a run gets its kernel, and the one switch for the speed tricks.

In: the notebooks of a run, in order, and the switch. Out: for each notebook in turn, the kernel
to run it in — or None, which leaves papermill to start, wait for and shut down a kernel itself.

With the tricks on (the default), :class:`EarlyKernels` launches each notebook's kernel while the
notebook before it runs, warmed with its imports, and kills it when its notebook is done
(:mod:`ictaudit.run.kernels.launch`). With them off (``ictaudit run --plain-papermill``, or
``ICTAUDIT_KERNEL_TRICKS=off`` in the environment), :class:`PapermillKernels` gives None for every
notebook: plain ``papermill.execute_notebook`` with the project's kernel name. Both positions write
the same scored tables and reports, byte for byte (tests/test_kernel_tricks.py runs the bundled
sample both ways); the tricks save time only (docs/performance.md).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

#: the environment variable of the switch: ``off`` (or ``0``, ``false``, ``no``) runs plain papermill
TRICKS_ENV = "ICTAUDIT_KERNEL_TRICKS"
OFF_VALUES = {"off", "0", "false", "no"}


def kernel_tricks_on(choice: bool | None = None) -> bool:
    """The switch: ``choice`` when given (``--plain-papermill`` gives False), else :data:`TRICKS_ENV`, else on."""
    if choice is not None:
        return choice
    return os.environ.get(TRICKS_ENV, "on").strip().lower() not in OFF_VALUES


class PapermillKernels:
    """No kernel of our own: papermill starts, waits for and shuts down each notebook's kernel."""

    def __enter__(self) -> PapermillKernels:
        return self

    def __exit__(self, *exc) -> None:
        return None

    @contextlib.contextmanager
    def kernel(self) -> Iterator[None]:
        yield None


class EarlyKernels:
    """Each notebook's kernel launched while the previous notebook runs, already importing its modules.

    Entering launches the first notebook's kernel; each :meth:`kernel` hands out the next one and
    launches the one after it; leaving reaps every kernel launched (each notebook gets a fresh kernel).
    """

    def __init__(self, notebooks: list[Path], cwd: Path):
        self._waiting = list(notebooks)
        self._cwd = cwd
        self._launched: list = []
        self._next = None

    def __enter__(self) -> EarlyKernels:
        self._next = self._launch()
        return self

    def __exit__(self, *exc) -> None:
        from ictaudit.run.kernels.launch import stop_kernel

        for km in self._launched:
            stop_kernel(km)

    def _launch(self):
        """The kernel of the next notebook not yet launched, its warm-up queued (None when none is left)."""
        from ictaudit.run.kernels.launch import start_kernel
        from ictaudit.run.kernels.warmup import warm_up_code

        if not self._waiting:
            return None
        km = start_kernel(self._cwd, warm_up=warm_up_code(self._waiting.pop(0)))
        self._launched.append(km)
        return km

    @contextlib.contextmanager
    def kernel(self) -> Iterator[object]:
        """The next notebook's kernel; the one after it is launched now, and this one is killed (without
        waiting) when the block ends, so the next notebook starts at once."""
        from ictaudit.run.kernels.launch import kill_kernel

        km, self._next = self._next, self._launch()
        try:
            yield km
        finally:
            kill_kernel(km)


def notebook_kernels(notebooks: list[Path], cwd: Path, tricks: bool) -> EarlyKernels | PapermillKernels:
    """The kernels for ``notebooks`` (paths, in run order): early and warmed, or papermill's own."""
    return EarlyKernels(notebooks, cwd) if tricks else PapermillKernels()

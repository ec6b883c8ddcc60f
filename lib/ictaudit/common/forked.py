"""One worker process forked from this one: how intake, validation and the report use the second core.

A forked worker starts as a copy of this process, so what it works on (a cycle's jobs, a GX context,
the report's inputs) is not pickled to it: the caller hands it to :func:`forked_worker`, and the
function submitted reads it back with :func:`inherited`. Only the worker's results travel back::

    if can_fork():
        with forked_worker((jobs, cycle)) as pool:
            pending = pool.submit(read_second_half)      # in the worker: jobs, cycle = inherited()
            first = read_first_half(jobs, cycle)
            second = pending.result()
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager

_STATE: object = None


def can_fork() -> bool:
    """Whether a forked worker can run beside this process: ``fork`` exists and there are two cores."""
    return hasattr(os, "fork") and (os.cpu_count() or 1) >= 2


@contextmanager
def forked_worker(state: object = None) -> Iterator[ProcessPoolExecutor]:
    """A pool of one worker, forked at the first ``submit`` with ``state`` in reach of :func:`inherited`.

    Leaving waits for the worker's tasks and stops it; ``state`` is dropped here then.
    """
    global _STATE
    previous, _STATE = _STATE, state
    try:
        with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("fork")) as pool:
            yield pool
    finally:
        _STATE = previous


def inherited() -> object:
    """In the worker: the ``state`` of the :func:`forked_worker` it was forked from."""
    return _STATE

"""How long each step of a run took, as a record of the run (never inside a hashed output).

``ictaudit run`` sets ``$ICTAUDIT_STEP_TIMINGS`` to ``out/notebooks/steps.jsonl`` before it starts the
notebooks; their kernels inherit it, and every :func:`timed` block appends one line
``{"step": "validate.round1", "seconds": 1.234}``. With the variable unset nothing is written, so a
notebook run by hand or a test leaves no trace. ``benchmarks/run.py`` reads the file to split each
notebook's time into its steps and its start-up.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

TIMINGS_ENV = "ICTAUDIT_STEP_TIMINGS"
TIMINGS_FILE = "steps.jsonl"


@contextmanager
def timed(step: str) -> Iterator[None]:
    """Append ``{"step": step, "seconds": …}`` to the file named by ``$ICTAUDIT_STEP_TIMINGS``, if set."""
    started = time.perf_counter()
    try:
        yield
    finally:
        target = os.environ.get(TIMINGS_ENV)
        if target:
            line = json.dumps({"step": step, "seconds": round(time.perf_counter() - started, 4)})
            with open(target, "a", encoding="utf-8") as f:
                f.write(line + "\n")


def read_timings(path: Path) -> dict[str, float]:
    """Seconds per step name (summed when a step ran more than once); empty when there is no file."""
    out: dict[str, float] = {}
    if not Path(path).exists():
        return out
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            out[row["step"]] = round(out.get(row["step"], 0.0) + float(row["seconds"]), 4)
    return out

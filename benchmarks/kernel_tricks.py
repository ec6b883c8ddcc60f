"""What each kernel speed trick of ``ictaudit run`` saves, measured on the bundled 35-agency sample.

    .venv/bin/python benchmarks/kernel_tricks.py [--rounds 5] [--cycle data/raw/2017]

Runs ``ictaudit run`` as a subprocess in these positions, one round of all of them after the other
(so that the machine's drift spreads over every position), and prints each position's wall times:

- ``tricks``: the default, every trick on;
- ``plain``: ``--plain-papermill``, every trick off (papermill's own kernels, HTML in-process);
- ``no-<trick>``: every trick on but that one, so its gain is ``no-<trick>`` − ``tricks``:
  ``early`` (each kernel launched only when its notebook starts), ``warmup`` (no imports ahead),
  ``ready`` (jupyter_client's own readiness wait, 0.2 s of IOPub silence), ``kill`` (a graceful
  shutdown after each notebook instead of a kill), ``ipc`` (TCP instead of Unix sockets), ``html``
  (the notebooks' HTML rendered in-process instead of by a worker), ``papermill`` (papermill imported
  when the first notebook needs it instead of in the background).

A ``no-<trick>`` position patches the library in the child process (``--child``): it measures, it does
not ship. Tricks overlap (the warm-up only pays when the kernel starts early), so the gains do not add
up to ``plain`` − ``tricks``.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager, nullcontext
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
POSITIONS = ("tricks", "plain", "no-early", "no-warmup", "no-ready", "no-kill", "no-ipc", "no-html", "no-papermill")


def _without(trick: str) -> None:
    """Patch this process's library so that ``ictaudit run`` keeps every trick but ``trick``."""
    from ictaudit.run import suite
    from ictaudit.run.kernels import client, launch, supply, warmup

    if trick == "early":

        class LateKernels(supply.EarlyKernels):
            def __enter__(self):
                return self

            @contextmanager
            def kernel(self):
                km = self._launch()
                try:
                    yield km
                finally:
                    launch.kill_kernel(km)

        suite.notebook_kernels = lambda notebooks, cwd, tricks: LateKernels(notebooks, cwd)
    elif trick == "warmup":
        warmup.warm_up_code = lambda path: None
    elif trick == "ready":
        del client.ReadyKernelClient.wait_for_ready  # jupyter_client's own
    elif trick == "kill":
        launch.kill_kernel = launch.stop_kernel
    elif trick == "ipc":
        launch._transport = lambda: {}
    elif trick == "html":
        suite.html_renderer = lambda: nullcontext(suite.render_html)
    elif trick == "papermill":
        suite._import_in_background = lambda module: None
    else:
        raise SystemExit(f"unknown trick {trick}")


def _child(trick: str, argv: list[str]) -> int:
    _without(trick)
    from ictaudit.cli import main

    return main(argv)


def run_once(position: str, cycle: Path, work: Path) -> float:
    out, scored = work / position / "out", work / position / "scored"
    args = ["run", "--cycle", str(cycle), "--out", str(out), "--scored", str(scored), "--quiet"]
    if position == "tricks":
        cmd = [str(Path(sys.executable).with_name("ictaudit")), *args]
    elif position == "plain":
        cmd = [str(Path(sys.executable).with_name("ictaudit")), *args, "--plain-papermill"]
    else:
        cmd = [sys.executable, __file__, "--child", position.removeprefix("no-"), "--", *args]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--cycle", default=str(ROOT / "data" / "raw" / "2017"))
    parser.add_argument("--positions", default=",".join(POSITIONS))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args, rest = parser.parse_known_args()
    if args.child:
        sys.exit(_child(args.child, rest[1:] if rest[:1] == ["--"] else rest))

    positions = args.positions.split(",")
    times: dict[str, list[float]] = {p: [] for p in positions}
    with tempfile.TemporaryDirectory(prefix="ictaudit-tricks-") as tmp:
        for r in range(args.rounds):
            order = positions[r % len(positions):] + positions[: r % len(positions)]  # rotate the start
            for position in order:
                times[position].append(run_once(position, Path(args.cycle).resolve(), Path(tmp)))
            print(f"round {r + 1}: " + ", ".join(f"{p} {times[p][-1]:.2f}" for p in positions), flush=True)
    base = statistics.median(times["tricks"]) if "tricks" in times else None
    print("\n| position | median (s) | min (s) | max (s) | median − tricks (s) |\n|---|---|---|---|---|")
    for p in positions:
        med = statistics.median(times[p])
        gain = f"{med - base:+.2f}" if base is not None else ""
        print(f"| {p} | {med:.2f} | {min(times[p]):.2f} | {max(times[p]):.2f} | {gain} |")


if __name__ == "__main__":
    main()

"""One reproducible run of a cycle through the notebooks, and the on-demand agency trace.

``run_cycle`` checks the cycle and its rubric (a cycle that cannot be processed stops here, naming the
file), hashes every input before anything reads it, executes the notebooks with papermill in order,
and writes ``manifest.json``. Notebook 06 (robustness) runs before 04 (report) because the report
includes its section; the numbers follow the order in which the notebooks were introduced.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ictaudit.common.paths import EXPECTATIONS_DIR, NOTEBOOKS_DIR, PROJECT_ROOT
from ictaudit.common.timings import TIMINGS_ENV, TIMINGS_FILE
from ictaudit.run import manifest as mf
from ictaudit.run.kernels.warmup import warm_up_code
from ictaudit.run.notebooks import Executed, execute, html_renderer, kill_kernel, start_kernel, stop_kernel

RUN_ORDER = ("01_intake.ipynb", "02_validate.ipynb", "03_score.ipynb", "06_robustness.ipynb", "04_report.ipynb")
TRACE_NOTEBOOK = "05_agency_trace.ipynb"
DEFAULT_SEED = 20171103
DEFAULT_DRAWS = 1000
DEFAULT_SPREAD = 0.25


class RunError(Exception):
    """The cycle cannot be processed (bad cycle files, unknown or invalid rubric, output folder busy)."""


@dataclass(frozen=True)
class RunResult:
    out_dir: Path
    scored_dir: Path
    report_html: Path
    manifest: Path
    executed: list[Executed]


def default_dirs(cycle_dir: Path, year: int) -> tuple[Path, Path]:
    """``outputs/<year>`` and ``data/scored/<year>`` of the project the cycle lives in."""
    return PROJECT_ROOT / "outputs" / str(year), PROJECT_ROOT / "data" / "scored" / str(year)


def notebook_parameters(cycle_dir: Path, scored: Path, out: Path, rubric_id: str, seed: int, draws: int,
                        spread: float) -> dict[str, dict]:
    """The parameters given to each notebook (recorded in the manifest)."""
    common = {"cycle_dir": str(cycle_dir), "scored_dir": str(scored)}
    return {
        "01_intake.ipynb": dict(common),
        "02_validate.ipynb": {**common, "out_dir": str(out)},
        "03_score.ipynb": dict(common),
        "06_robustness.ipynb": {
            "scored_dir": str(scored),
            "rubric_id": rubric_id,
            "whatif_rubric": "",
            "draws": draws,
            "spread": spread,
            "seed": seed,
            "out_dir": str(out),
        },
        "04_report.ipynb": {**common, "out_dir": str(out)},
    }


def run_cycle(
    cycle_dir: Path,
    out: Path | None = None,
    scored: Path | None = None,
    seed: int = DEFAULT_SEED,
    draws: int = DEFAULT_DRAWS,
    spread: float = DEFAULT_SPREAD,
    progress: bool = True,
    notebooks: tuple[str, ...] = RUN_ORDER,
) -> RunResult:
    from ictaudit.intake.cycle import CycleError
    from ictaudit.rules.rubric import RubricError, rubric_path
    from ictaudit.run.pipeline import open_cycle, previous_cycle_dir

    cycle_dir = Path(cycle_dir).resolve()
    if not (cycle_dir / "cycle.yaml").exists():
        raise RunError(f"{cycle_dir}: no cycle.yaml — is this a cycle folder (data/raw/<year>)?")
    try:
        ctx = open_cycle(cycle_dir)
    except (CycleError, RubricError) as exc:
        raise RunError(str(exc)) from None
    d_out, d_scored = default_dirs(cycle_dir, ctx.cycle.year)
    out = Path(out or d_out).resolve()
    scored = Path(scored or d_scored).resolve()
    rubric_file = rubric_path(ctx.cycle.rubric_id).resolve()
    prev_dir = previous_cycle_dir(cycle_dir)
    say = _progress(progress)

    started = datetime.now(UTC)
    t0 = time.perf_counter()
    _check_replaceable(out, "out", cycle_dir, prev_dir)
    _check_replaceable(scored, "scored", cycle_dir, prev_dir)
    if out == scored:
        raise RunError(f"--out and --scored are the same folder ({out}); give two folders")
    with run_lock(out):
        stage_out, stage_scored = _staging(out), _staging(scored)
        for d in (stage_out, stage_scored):
            _empty(d)
        params = notebook_parameters(cycle_dir, stage_scored, stage_out, str(rubric_file), seed, draws, spread)
        executed: list[Executed] = []
        (stage_out / "notebooks").mkdir(parents=True, exist_ok=True)
        with _step_timings(stage_out / "notebooks" / TIMINGS_FILE), html_renderer() as render:
            upcoming = _start_for(notebooks[0]) if notebooks else None
            done: list = []
            try:
                # while the first kernels boot: papermill's import (~1.5 s) and the input hashes, taken
                # before any notebook runs (the kernels so far only import modules)
                _import_in_background("papermill")
                inputs = mf.input_hashes(
                    cycle_dir, rubric_file, sorted(EXPECTATIONS_DIR.glob("*.json")),
                    [NOTEBOOKS_DIR / n for n in (*notebooks, TRACE_NOTEBOOK) if (NOTEBOOKS_DIR / n).exists()],
                    prev_dir,
                )  # fmt: skip
                for i, name in enumerate(notebooks, start=1):
                    # the next notebook's kernel starts, and imports what it will import, while this
                    # one runs (a fresh kernel each)
                    km, upcoming = upcoming, _start_for(notebooks[i]) if i < len(notebooks) else None
                    say(f"[{i}/{len(notebooks)}] {name} …")
                    try:
                        ex = execute(name, params[name], stage_out / "notebooks", cwd=PROJECT_ROOT, km=km, render=render)
                    finally:
                        kill_kernel(km)  # reaped below; the next notebook does not wait for it
                        done.append(km)
                    executed.append(ex)
                    say(f"[{i}/{len(notebooks)}] {name} done in {ex.seconds:.1f} s")
            finally:
                for km in [*done, *([upcoming] if upcoming is not None else [])]:
                    stop_kernel(km)
        outputs, records = mf.output_hashes(stage_scored, stage_out)
        mf.write_manifest(
            stage_out / "manifest.json",
            {
                "cycle": {"dir": str(cycle_dir), "year": ctx.cycle.year, "title": ctx.cycle.title},
                "previous_cycle_dir": str(prev_dir) if prev_dir else None,
                "rubric": {"id": ctx.rubric.id, "version": ctx.rubric.version, "file": str(rubric_file)},
                "paths": {"out": str(out), "scored": str(scored), "staged_out": str(stage_out), "staged_scored": str(stage_scored)},
                "inputs": inputs,
                "environment": mf.environment(),
                "git": mf.git_revision(),
                "notebooks": [{"name": e.notebook, "parameters": e.parameters, "seconds": round(e.seconds, 3)} for e in executed],
                "seeds": {"robustness": seed, "robustness_draws": draws, "robustness_spread": spread},
                "run": {"started_utc": started.isoformat(timespec="seconds"), "seconds": round(time.perf_counter() - t0, 3)},
                "outputs": outputs,
                "records": records,
            },
        )
        _move_into_place(stage_scored, scored)
        _move_into_place(stage_out, out)
    manifest = out / "manifest.json"
    say(f"done in {time.perf_counter() - t0:.1f} s; manifest: {manifest}")
    return RunResult(out, scored, out / "report.html", manifest, [_moved(e, stage_out, out) for e in executed])


def _import_in_background(module: str) -> None:
    """Import ``module`` in a thread (Python's import lock makes a later ``import`` wait for it)."""
    import importlib
    import threading

    threading.Thread(target=importlib.import_module, args=(module,), name=f"import {module}", daemon=True).start()


def _start_for(notebook: str):
    """A kernel for ``notebook``, already importing its modules (:mod:`ictaudit.run.kernels.warmup`)."""
    return start_kernel(PROJECT_ROOT, warm_up=warm_up_code(NOTEBOOKS_DIR / notebook))


@contextmanager
def _step_timings(path: Path) -> Iterator[None]:
    """Point ``$ICTAUDIT_STEP_TIMINGS`` at ``path`` while the notebooks run (their kernels inherit it)."""
    before = os.environ.get(TIMINGS_ENV)
    os.environ[TIMINGS_ENV] = str(path)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(TIMINGS_ENV, None)
        else:
            os.environ[TIMINGS_ENV] = before


#: what an earlier run leaves in each folder: a folder holding none of these is not ours to replace
RUN_MARKERS = {"out": ("manifest.json", "report.html"), "scored": ("statuses.csv", "scores.csv")}


def _check_replaceable(final: Path, kind: str, cycle_dir: Path, prev_dir: Path | None) -> None:
    """Refuse to replace a folder that holds anything but an earlier run's outputs, or the inputs.

    A run replaces its output folders whole; pointed by mistake at a folder of documents or at the
    cycle itself, it would delete them. Such a folder is refused, naming it.
    """
    for raw in (cycle_dir, prev_dir):
        if raw is not None and (final == raw or raw.is_relative_to(final) or final.is_relative_to(raw)):
            raise RunError(f"--{kind} {final} overlaps the cycle folder {raw}: outputs never go inside the inputs")
    if not final.exists():
        return
    if not final.is_dir():
        raise RunError(f"--{kind} {final} is a file, not a folder")
    content = [p.name for p in final.iterdir() if p.name != ".gitkeep"]
    if content and not any((final / m).exists() for m in RUN_MARKERS[kind]):
        shown = ", ".join(sorted(content)[:5]) + (" …" if len(content) > 5 else "")
        raise RunError(
            f"--{kind} {final} holds files that are not an earlier run's outputs ({shown}); a run replaces "
            "its output folder whole, so give an empty or new folder"
        )


def _staging(final: Path) -> Path:
    """Where a run writes before its outputs are moved into place whole: a hidden sibling folder."""
    return final.parent / f".{final.name}.partial"


def _empty(d: Path) -> None:
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)


def _move_into_place(stage: Path, final: Path) -> None:
    """Replace ``final`` by ``stage`` with two renames, so readers see the old run or the new one, whole.

    A ``.gitkeep`` in the old folder is carried over (``data/scored``, ``outputs`` keep theirs).
    """
    old = final.parent / f".{final.name}.old"
    if old.exists():
        shutil.rmtree(old)
    if final.exists():
        if (final / ".gitkeep").exists():
            (stage / ".gitkeep").touch()
        final.rename(old)
    stage.rename(final)
    if old.exists():
        shutil.rmtree(old)


def _moved(e: Executed, stage: Path, final: Path) -> Executed:
    def move(p: Path) -> Path:
        return final / p.relative_to(stage)

    return Executed(e.notebook, move(e.output), move(e.html), e.parameters, e.seconds)


@contextmanager
def run_lock(out: Path) -> Iterator[Path]:
    """One run per output folder at a time; a second one refuses with a clear message.

    The lock is a file beside the output folder holding the owner's pid; a lock whose process is
    gone (a killed run) is taken over.
    """
    lock = out.parent / f".{out.name}.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            owner = _lock_owner(lock)
            if owner is not None and _alive(owner):
                raise RunError(
                    f"another run (pid {owner}) is writing {out}; wait for it to finish, or if it died, "
                    f"remove {lock}"
                ) from None
            lock.unlink(missing_ok=True)  # stale: its run is gone
            continue
        with os.fdopen(fd, "w") as f:
            f.write(str(os.getpid()))
        break
    else:  # pragma: no cover - a race with a third run
        raise RunError(f"could not lock {out}: {lock} keeps reappearing")
    try:
        yield lock
    finally:
        lock.unlink(missing_ok=True)


def _lock_owner(lock: Path) -> int | None:
    try:
        return int(lock.read_text().strip())
    except (OSError, ValueError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _progress(enabled: bool) -> Callable[[str], None]:
    def say(msg: str) -> None:
        if enabled:
            print(msg, file=sys.stderr, flush=True)

    return say


def trace_agency(agency_id: str, run_dir: Path) -> Path:
    """Execute the trace notebook for one agency of a finished run; returns the HTML page."""
    run_dir = Path(run_dir).resolve()
    manifest = mf.read_manifest(run_dir)
    scored = Path(manifest["paths"]["scored"])
    params = {"agency_id": agency_id, "scored_dir": str(scored), "rubric_id": manifest["rubric"]["file"]}
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    ex = execute(TRACE_NOTEBOOK, params, run_dir / "notebooks" / "traces", cwd=PROJECT_ROOT)
    target = run_dir / "agencies" / f"{agency_id}-trace.html"
    target.parent.mkdir(parents=True, exist_ok=True)
    ex.html.replace(target)
    ex.output.rename(ex.output.with_name(f"{agency_id}-trace.ipynb"))
    return target

"""One reproducible run of a cycle through the notebooks, and the on-demand agency trace.

``run_cycle`` checks the cycle and its rubric (a cycle that cannot be processed stops here, naming the
file), hashes every input before anything reads it, executes the notebooks with papermill in order,
and writes ``manifest.json``. Notebook 06 (robustness) runs before 04 (report) because the report
includes its section; the numbers follow the order in which the notebooks were introduced.

How each notebook gets its kernel is :mod:`ictaudit.run.kernels`' business: early and warmed (the
default), or plain papermill (``--plain-papermill``, ``ICTAUDIT_KERNEL_TRICKS=off``); the bytes are
the same either way.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ictaudit.common.paths import EXPECTATIONS_DIR, NOTEBOOKS_DIR, PROJECT_ROOT
from ictaudit.common.timings import TIMINGS_ENV, TIMINGS_FILE
from ictaudit.run import manifest as mf
from ictaudit.run.kernels.supply import kernel_tricks_on, notebook_kernels
from ictaudit.run.notebooks import Executed, execute, html_renderer, render_html

if TYPE_CHECKING:  # the pipeline (pandas) is imported only when a run starts
    from ictaudit.run.pipeline import Context

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
    summary: str = ""  # what happened, in Vietnamese (ictaudit.report.status_views.summary_text)


def default_dirs(cycle_dir: Path, year: int) -> tuple[Path, Path]:
    """``outputs/<year>`` and ``data/scored/<year>`` of the project the cycle lives in."""
    return PROJECT_ROOT / "outputs" / str(year), PROJECT_ROOT / "data" / "scored" / str(year)


def notebook_parameters(
    cycle_dir: Path, scored: Path, out: Path, rubric_id: str, seed: int, draws: int, spread: float
) -> dict[str, dict]:
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


@dataclass(frozen=True)
class RunPlan:
    """Where one run reads and writes, checked before anything is written."""

    cycle_dir: Path
    ctx: Context
    rubric_file: Path
    out: Path
    scored: Path


def plan_run(cycle_dir: Path, out: Path | None = None, scored: Path | None = None) -> RunPlan:
    """Load the cycle and its rubric and settle the output folders; a cycle that cannot be processed, or
    output folders a run must not replace, raise :class:`RunError` naming the file or folder."""
    from ictaudit.intake.cycle import CycleError
    from ictaudit.rules.rubric import RubricError, rubric_path
    from ictaudit.run.pipeline import open_cycle

    cycle_dir = Path(cycle_dir).resolve()
    if not (cycle_dir / "cycle.yaml").exists():
        raise RunError(f"{cycle_dir}: no cycle.yaml — is this a cycle folder (data/raw/<year>)?")
    try:
        ctx = open_cycle(cycle_dir)
    except (CycleError, RubricError) as exc:
        raise RunError(str(exc)) from None
    d_out, d_scored = default_dirs(cycle_dir, ctx.cycle.year)
    out, scored = Path(out or d_out).resolve(), Path(scored or d_scored).resolve()
    _check_replaceable(out, "out", cycle_dir)
    _check_replaceable(scored, "scored", cycle_dir)
    if out == scored:
        raise RunError(f"--out and --scored are the same folder ({out}); give two folders")
    return RunPlan(cycle_dir, ctx, rubric_path(ctx.cycle.rubric_id).resolve(), out, scored)


def run_cycle(
    cycle_dir: Path,
    out: Path | None = None,
    scored: Path | None = None,
    seed: int = DEFAULT_SEED,
    draws: int = DEFAULT_DRAWS,
    spread: float = DEFAULT_SPREAD,
    progress: bool = True,
    notebooks: tuple[str, ...] = RUN_ORDER,
    kernel_tricks: bool | None = None,
    notes: bool = True,
) -> RunResult:
    """Run ``notebooks`` on the cycle into staging folders, write the manifest, move both folders into place.

    ``notes``: say on stderr, even without ``progress``, which files of the output folders the run
    replaces that its previous run did not write (before it starts), and put in the summary what it
    must know beside the counts (the rubric's version, last year's comparison:
    :func:`ictaudit.run.pipeline.run_notes`).

    ``kernel_tricks``: the speed tricks' switch (:func:`ictaudit.run.kernels.supply.kernel_tricks_on`;
    None reads ``$ICTAUDIT_KERNEL_TRICKS``, on by default); either position writes the same bytes.
    """
    plan = plan_run(cycle_dir, out, scored)
    tricks = kernel_tricks_on(kernel_tricks)
    say = _progress(progress)
    for line in replaced_files_notice(plan) if notes else ():  # files a run would remove without a word otherwise
        print(line, file=sys.stderr, flush=True)
    started, t0 = datetime.now(UTC), time.perf_counter()
    with run_lock(plan.out):
        stage_out, stage_scored = _staging(plan.out), _staging(plan.scored)
        for d in (stage_out, stage_scored):
            _empty(d)
        params = notebook_parameters(
            plan.cycle_dir, stage_scored, stage_out, str(plan.rubric_file), seed, draws, spread
        )
        inputs, executed = _run_notebooks(plan, notebooks, params, stage_out, tricks, say)
        outputs, records = mf.output_hashes(stage_scored, stage_out)
        run = {"started_utc": started.isoformat(timespec="seconds"), "seconds": round(time.perf_counter() - t0, 3),
               "kernel_tricks": tricks}  # fmt: skip
        seeds = {"robustness": seed, "robustness_draws": draws, "robustness_spread": spread}
        content = _manifest_content(plan, stage_out, stage_scored, inputs, executed, seeds, run)
        mf.write_manifest(stage_out / "manifest.json", {**content, "outputs": outputs, "records": records})
        _move_into_place(stage_scored, plan.scored)
        _move_into_place(stage_out, plan.out)
    manifest = plan.out / "manifest.json"
    from ictaudit.run.pipeline import run_notes

    closing = run_notes(plan.scored, plan.rubric_file) if notes else []  # last year, the rubric's version
    say(f"done in {time.perf_counter() - t0:.1f} s; manifest: {manifest}")
    summary = run_summary(plan, closing)
    return RunResult(plan.out, plan.scored, plan.out / "report.html", manifest,
                     [_moved(e, stage_out, plan.out) for e in executed], summary)  # fmt: skip


def run_summary(plan: RunPlan, notes: Sequence[str] = ()) -> str:
    """What the run found, in Vietnamese, from the tables it wrote (the status page's summary), with
    ``notes`` (:func:`ictaudit.run.pipeline.run_notes`); only the notes when it wrote no statuses (a
    partial run). The outputs are in place by now: a summary that cannot be made says so and never
    fails the run."""
    from ictaudit.report.status import STATUS_PAGE, run_status
    from ictaudit.report.status_views import summary_text

    if not (plan.scored / "statuses.csv").exists():
        return "\n".join(notes)
    page = plan.out / STATUS_PAGE
    try:  # the summary does not say which receipt was used: the values as sent are not read
        status = run_status(plan.ctx.cycle, plan.ctx.rubric, plan.scored, plan.out, with_files=False)
        return summary_text(status, page if page.exists() else None, notes)
    except Exception as exc:  # pragma: no cover - a defect of the summary, not of the run
        return "\n".join([*notes, f"(Không lập được phần tóm tắt: {type(exc).__name__}: {exc}. Xem {page}.)"])


def _manifest_content(
    plan: RunPlan, stage_out: Path, stage_scored: Path, inputs: dict, executed: list[Executed], seeds: dict, run: dict
) -> dict:
    """Everything manifest.json records but the output hashes (docs/contracts.md §7)."""
    from ictaudit.rules.versions import version_check

    c, r = plan.ctx.cycle, plan.ctx.rubric
    check = version_check(r, plan.rubric_file)
    return {
        "cycle": {"dir": str(plan.cycle_dir), "year": c.year, "title": c.title},
        "previous": {"year": c.previous.year, "sha256": c.previous.sha256} if c.previous else None,
        "rubric": {"id": r.id, "version": r.version, "file": str(plan.rubric_file),
                   "content_sha256": check.content_sha256, "version_check": check.record()},
        "paths": {"out": str(plan.out), "scored": str(plan.scored), "staged_out": str(stage_out),
                  "staged_scored": str(stage_scored)},
        "inputs": inputs,
        "environment": mf.environment(),
        "git": mf.git_revision(),
        "notebooks": [{"name": e.notebook, "parameters": e.parameters, "seconds": round(e.seconds, 3)} for e in executed],
        "seeds": seeds,
        "run": run,
    }  # fmt: skip


def replaced_files_notice(plan: RunPlan) -> list[str]:
    """What a run will remove from its output folders that the last run there did not write, in words.

    A run replaces ``--out`` and ``--scored`` whole. Files the previous run's manifest does not list
    (a page someone saved there, a trace written into the run folder by an older ictaudit) would go
    with them: they are named before the run starts.
    """
    manifest_path = plan.out / "manifest.json"
    if not manifest_path.exists():
        return []
    try:
        manifest = mf.read_manifest(plan.out)
    except (OSError, ValueError):
        return [f"Lưu ý: {manifest_path} không đọc được; lần chạy này thay thế toàn bộ {plan.out} và {plan.scored}."]
    known = set(manifest.get("outputs", {})) | set(manifest.get("records", {})) | {"out/manifest.json"}
    present = {f"out/{p}" for p in _files_under(plan.out)} | {f"scored/{p}" for p in _files_under(plan.scored)}
    extra = sorted(present - known)
    if not extra:
        return []
    roots = {"out": plan.out, "scored": plan.scored}
    shown = [f"  - {roots[name.split('/', 1)[0]] / name.split('/', 1)[1]}" for name in extra[:20]]
    more = [f"  - … và {len(extra) - 20} tệp khác"] if len(extra) > 20 else []
    return [
        f"Lưu ý: lần chạy này thay thế toàn bộ thư mục kết quả; {len(extra)} tệp sau không do lần chạy trước tạo ra "
        "(không có trong manifest.json) và sẽ bị xoá — hãy chép ra nơi khác nếu cần giữ:",
        *shown,
        *more,
    ]


def _run_notebooks(
    plan: RunPlan,
    notebooks: tuple[str, ...],
    params: dict[str, dict],
    stage_out: Path,
    tricks: bool,
    say: Callable[[str], None],
) -> tuple[dict, list[Executed]]:
    """Hash the inputs, then execute the notebooks in order; (input hashes, executed notebooks).

    With the tricks on, the executed notebooks' HTML is rendered by a worker (entered before any kernel
    starts), each kernel is launched early (:mod:`ictaudit.run.kernels.supply`), and papermill is
    imported in the background while the first kernel boots and the inputs are hashed.
    """
    (stage_out / "notebooks").mkdir(parents=True, exist_ok=True)
    renderer = html_renderer() if tricks else nullcontext(render_html)
    kernels = notebook_kernels([NOTEBOOKS_DIR / n for n in notebooks], PROJECT_ROOT, tricks)
    executed: list[Executed] = []
    with _step_timings(stage_out / "notebooks" / TIMINGS_FILE), renderer as render, kernels:
        if tricks:
            _import_in_background("papermill")  # ~1.5 s, beside the first kernel's start and the hashing
        inputs = mf.input_hashes(  # before any notebook reads anything
            plan.cycle_dir, plan.rubric_file, sorted(EXPECTATIONS_DIR.glob("*.json")),
            [NOTEBOOKS_DIR / n for n in (*notebooks, TRACE_NOTEBOOK) if (NOTEBOOKS_DIR / n).exists()],
        )  # fmt: skip
        for i, name in enumerate(notebooks, start=1):
            say(f"[{i}/{len(notebooks)}] {name} …")
            with kernels.kernel() as km:
                ex = execute(name, params[name], stage_out / "notebooks", cwd=PROJECT_ROOT, km=km, render=render)
            executed.append(ex)
            say(f"[{i}/{len(notebooks)}] {name} done in {ex.seconds:.1f} s")
    return inputs, executed


def _import_in_background(module: str) -> None:
    """Import ``module`` in a thread (Python's import lock makes a later ``import`` wait for it)."""
    import importlib
    import threading

    threading.Thread(target=importlib.import_module, args=(module,), name=f"import {module}", daemon=True).start()


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


def _check_replaceable(final: Path, kind: str, cycle_dir: Path) -> None:
    """Refuse to replace a folder that holds anything but an earlier run's outputs, or the inputs.

    A run replaces its output folders whole; pointed by mistake at a folder of documents or at the
    cycle itself, it would delete them. Such a folder is refused, naming it.
    """
    if final == cycle_dir or cycle_dir.is_relative_to(final) or final.is_relative_to(cycle_dir):
        raise RunError(f"--{kind} {final} overlaps the cycle folder {cycle_dir}: outputs never go inside the inputs")
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


def _files_under(root: Path) -> list[str]:
    """The files under ``root`` (not following links), relative, as the manifest names them."""
    out = []
    for folder, _dirs, files in os.walk(root, followlinks=False):
        out += [(Path(folder) / f).relative_to(root).as_posix() for f in files if f != ".gitkeep"]
    return out


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
                    f"another run (pid {owner}) is writing {out}; wait for it to finish, or if it died, remove {lock}"
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


TRACED_TABLES = ("scores.csv", "values.csv", "values_submitted.csv", "corrections.csv", "issues.csv", "trail.csv",
                 "criteria.csv")  # fmt: skip


def default_trace_dir(run_dir: Path) -> Path:
    """Where ``ictaudit trace`` writes by default: beside the run folder, never inside it (``outputs/2017-traces``)."""
    run_dir = Path(run_dir).resolve()
    return run_dir.parent / f"{run_dir.name}-traces"


def trace_agency(agency_id: str, run_dir: Path, out: Path | None = None) -> Path:
    """Execute the trace notebook for one agency of a finished run; returns the Vietnamese trace page.

    The page (``<agency_id>.html``) and the executed notebook (``<agency_id>.ipynb``, the record) go to
    ``out`` (default :func:`default_trace_dir`), which must lie outside the run's output and scored
    folders: a run folder holds exactly what its manifest lists, so ``ictaudit verify`` stays green.
    The trace reads the run's scored tables only if they still have the hashes the run recorded.
    """
    import tempfile

    from ictaudit.report.trace import UnknownAgency, known_agency

    run_dir = Path(run_dir).resolve()
    manifest = mf.read_manifest(run_dir)
    scored = Path(manifest["paths"]["scored"])
    out = Path(out).resolve() if out is not None else default_trace_dir(run_dir)
    for folder, what in ((run_dir, "output"), (scored, "scored")):
        if out == folder or out.is_relative_to(folder) or folder.is_relative_to(out):
            raise RunError(
                f"--out {out} overlaps the run's {what} folder {folder}: a trace goes outside the audited run "
                f"(which holds exactly what its manifest lists), e.g. the default {default_trace_dir(run_dir)}"
            )
    _check_traced_tables(scored, manifest)
    try:
        known_agency(scored, agency_id)
    except UnknownAgency as exc:
        raise RunError(str(exc)) from None
    out.mkdir(parents=True, exist_ok=True)
    page = out / f"{agency_id}.html"
    params = {"agency_id": agency_id, "scored_dir": str(scored), "rubric_id": manifest["rubric"]["file"],
              "run_dir": str(run_dir), "page_file": str(page)}  # fmt: skip
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    with tempfile.TemporaryDirectory(prefix=f".{agency_id}-", dir=out) as tmp:  # two traces at once never collide
        ex = execute(TRACE_NOTEBOOK, params, Path(tmp), cwd=PROJECT_ROOT, render=lambda notebook: None)
        ex.output.replace(out / f"{agency_id}.ipynb")
    return page


def _check_traced_tables(scored: Path, manifest: dict) -> None:
    """The scored tables a trace reads, against the hashes the run recorded: a trace shows what the run computed."""
    recorded = manifest.get("outputs", {})
    for name in TRACED_TABLES:
        path, want = scored / name, recorded.get(f"scored/{name}")
        if want is None:
            continue
        if not path.exists():
            raise RunError(f"{path}: missing; the run recorded it (run `ictaudit verify`, or run the cycle again)")
        if mf.sha256_file(path) != want:
            raise RunError(
                f"{path}: changed since the run (sha256 no longer the one manifest.json recorded); a trace of it would "
                "not show what the run computed: run `ictaudit verify`, or run the cycle again"
            )

"""The year's status from a cycle folder and the last run of it: ``ictaudit status`` and the run's summary.

:func:`ictaudit.report.status.run_status` reads what one run wrote (its scored tables, the confirmation
workbooks it prepared): ``ictaudit run`` prints its summary at the end (:func:`ictaudit.run.suite.run_summary`),
and notebook 04 writes the page ``status.html`` into the run's outputs
(:func:`ictaudit.run.pipeline.report_step`). :func:`cycle_status` is ``ictaudit status
--cycle DIR``: the cycle folder as it is now (roster, register, corrections) and, when there is one, the
last run of it — ``--run OUT``, else the project's ``outputs/<year>`` when its manifest names this cycle
folder — with a note for every input that changed since that run. It works before any run, and before
the deadline is set.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ictaudit.report.status import YearStatus, run_status, year_status
from ictaudit.run import manifest as mf


@dataclass(frozen=True)
class StatusRun:
    """The run a status was read from: its output folder, scored folder and start, or none."""

    out: Path | None = None
    scored: Path | None = None
    started: str = ""  # dd/mm/yyyy hh:mm on the cycle's clock

    def note(self) -> str:
        if self.out is None:
            return ""  # the status says it was not run
        return f"Số liệu của lần chạy bắt đầu lúc {self.started} ({self.out})."


def cycle_status(cycle_dir: Path | str, run_dir: Path | str | None = None) -> tuple[YearStatus, StatusRun]:
    """``ictaudit status``: the cycle folder now, with the last run of it when there is one (module docstring).

    A ``run_dir`` that is not a run, or a run of another cycle folder, raises
    :class:`~ictaudit.run.suite.RunError` naming it.
    """
    from ictaudit.intake.cycle import load_cycle
    from ictaudit.rules.rubric import load_rubric
    from ictaudit.run.suite import default_dirs

    cycle_dir = Path(cycle_dir).resolve()
    cycle = load_cycle(cycle_dir, for_run=False)  # a status is wanted before the deadline is set, too
    rubric = load_rubric(cycle.rubric_id)
    manifest, out = _last_run(cycle_dir, Path(run_dir) if run_dir else default_dirs(cycle_dir, cycle.year)[0], run_dir)
    if manifest is None:
        return year_status(cycle, {g.id: g.label_vi for g in rubric.groups}), StatusRun()
    scored = Path(manifest["paths"]["scored"])
    run = StatusRun(out, scored, _local_time(manifest.get("run", {}).get("started_utc", ""), cycle.timezone))
    return run_status(cycle, rubric, scored, out, tuple(changed_since(manifest, cycle_dir))), run


def _last_run(cycle_dir: Path, out: Path, asked) -> tuple[dict | None, Path]:
    """The manifest of the run in ``out`` when it is a run of ``cycle_dir``; an explicit ``--run``
    (``asked``) that is not one is an error, the default folder is simply not used."""
    from ictaudit.run.suite import RunError

    out = out.resolve()
    if not (out / "manifest.json").exists():
        if asked:
            raise RunError(f"{out}: no manifest.json — is it the output folder of `ictaudit run`?")
        return None, out
    manifest = mf.read_manifest(out)
    ran_on = Path(manifest.get("cycle", {}).get("dir", "")).resolve()
    if ran_on != cycle_dir:
        if asked:
            raise RunError(f"{out} is a run of the cycle folder {ran_on}, not of {cycle_dir}")
        return None, out
    return manifest, out


def changed_since(manifest: dict, cycle_dir: Path) -> list[str]:
    """A note naming the cycle's files added, changed or removed since the run, or none."""
    recorded = manifest.get("inputs", {}).get("cycle", {})
    current = mf.hash_tree(cycle_dir)
    added = sorted(set(current) - set(recorded))
    changed = sorted(n for n in set(current) & set(recorded) if current[n] != recorded[n])
    removed = sorted(set(recorded) - set(current))
    parts = [f"{label}: {', '.join(names[:6])}{' …' if len(names) > 6 else ''}"
             for label, names in (("thay đổi", changed), ("mới", added), ("đã xóa", removed)) if names]  # fmt: skip
    if not parts:
        return []
    return [
        "Thư mục kỳ đã thay đổi sau lần chạy (" + "; ".join(parts) + "): trạng thái, vấn đề và hiệu chỉnh dưới đây là "
        "của lần chạy đó, phiếu mới nhận ghi „Đã nhận phiếu“. Chạy lại ictaudit run để cập nhật."
    ]


def _local_time(iso_utc: str, tz: str) -> str:
    from ictaudit.common.dates import zone

    try:
        return datetime.fromisoformat(iso_utc).astimezone(zone(tz)).strftime("%d/%m/%Y %H:%M")
    except ValueError:
        return iso_utc

"""Build the published outputs of a run: ``report.html``, the agency pages and ``report.xlsx``.

In: the scored folder (docs/contracts.md §6), the rubric and the cycle's metadata. Out: the files
:func:`build_reports` returns. Both writers read the typed inputs of :mod:`ictaudit.report.inputs`;
for large cycles the workbook is written by a forked worker beside the HTML.
"""

from __future__ import annotations

from pathlib import Path

from ictaudit.report.inputs import load_report_inputs
from ictaudit.rules.rubric import Rubric


def build_reports(
    rubric: Rubric,
    scored_dir: Path,
    out_dir: Path,
    cycle_info: dict,
    validation_index: str | None = "validation/index.html",
    status_page: str | None = None,
) -> dict[str, Path]:
    """Write ``report.html``, ``report.xlsx`` and ``agencies/<agency_id>.html`` into ``out_dir``.

    ``cycle_info``: ``year``, ``title``, ``province``, ``deadline`` (ISO text or a date), ``sample``
    (bool), optionally ``rubric_check`` (``state`` and ``message_vi`` of :mod:`ictaudit.rules.versions`). ``validation_index``: the link (relative to ``out_dir``) to the Vietnamese validation page, which is then written there too (``validation/index.html``, GX's Data Docs beside it in ``data-docs/``), or None for neither.
    ``status_page``: link to the status of the year (``status.html``, written beside), or None.
    Returns the paths written: ``{"html": …, "xlsx": …, "agency:<id>": …}``.
    """
    from ictaudit.common.timings import timed
    from ictaudit.report.html import write_html_reports
    from ictaudit.report.xlsx import write_report_xlsx

    with timed("report.load"):
        data = load_report_inputs(rubric, scored_dir, cycle_info)
        data.extra["status_page"] = status_page
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    xlsx = out_dir / "report.xlsx"
    from ictaudit.common.forked import can_fork, forked_worker

    if len(data.scores) < PARALLEL_MIN_AGENCIES or not can_fork():
        with timed("report.html"):
            paths = write_html_reports(data, out_dir, validation_index=validation_index)
        with timed("report.xlsx"):
            paths["xlsx"] = write_report_xlsx(data, xlsx)
        return paths
    # large cycles: the workbook is written by a forked copy of this process while this one renders
    # the HTML; the two writers share nothing but the (read-only) inputs, so the bytes are the same
    with forked_worker((data, xlsx)) as pool:
        pending = pool.submit(_write_forked_xlsx)
        with timed("report.html"):
            paths = write_html_reports(data, out_dir, validation_index=validation_index)
        with timed("report.xlsx_wait"):
            paths["xlsx"] = pending.result()
    return paths


#: from this many roster agencies on, report.xlsx is written in a second process, beside the HTML
PARALLEL_MIN_AGENCIES = 1000


def _write_forked_xlsx() -> Path:
    """In the forked worker: write the workbook of the inputs :func:`build_reports` handed it."""
    from ictaudit.common.forked import inherited
    from ictaudit.common.timings import timed
    from ictaudit.report.xlsx import write_report_xlsx

    data, path = inherited()
    with timed("report.forked.xlsx"):  # beside report.html; the parent records its wait as report.xlsx_wait
        return write_report_xlsx(data, path)

"""Build the published outputs of a run: ``report.html``, the agency pages, ``report.xlsx`` and the
official documents.

In: the scored folder (docs/contracts.md §6), the rubric and the cycle's metadata (and the documents'
particulars). Out: the files :func:`build_reports` returns. Every writer reads the typed inputs of
:mod:`ictaudit.report.inputs`; for large cycles the workbook is written by a forked worker beside the
HTML; the documents' PDFs are printed by LibreOffice while the HTML and the workbook are written.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ictaudit.report.inputs import load_report_inputs
from ictaudit.rules.rubric import Rubric

if TYPE_CHECKING:
    from ictaudit.report.documents.particulars import DocumentSettings


def build_reports(
    rubric: Rubric,
    scored_dir: Path,
    out_dir: Path,
    cycle_info: dict,
    validation_index: str | None = "validation/index.html",
    status_page: str | None = None,
    documents: DocumentSettings | None = None,
) -> dict[str, Path]:
    """Write ``report.html``, ``report.xlsx``, ``agencies/<agency_id>.html`` and, given the documents'
    particulars (:func:`ictaudit.report.documents.settings_for`), ``documents/`` into ``out_dir``.

    ``cycle_info``: ``year``, ``title``, ``province``, ``deadline`` (ISO text or a date), ``sample``
    (bool), optionally ``rubric_check`` (``state`` and ``message_vi`` of :mod:`ictaudit.rules.versions`). ``validation_index``: the link (relative to ``out_dir``) to the Vietnamese validation page, which is then written there too (``validation/index.html``, GX's Data Docs beside it in ``data-docs/``), or None for neither.
    ``status_page``: link to the status of the year (``status.html``, written beside), or None.
    Returns the paths written: ``{"html": …, "xlsx": …, "agency:<id>": …, "document:<file>": …}``.
    """
    from ictaudit.common.timings import timed

    with timed("report.load"):
        data = load_report_inputs(rubric, scored_dir, cycle_info)
        data.extra["status_page"] = status_page
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if documents is None:
        return _write_html_and_xlsx(data, out_dir, validation_index)
    from ictaudit.report.documents import DOCUMENTS_DIR, documents_beside

    # the .docx files first; their PDFs print in LibreOffice while the HTML and the workbook are written
    with documents_beside(data, documents, out_dir / DOCUMENTS_DIR) as written:
        paths = _write_html_and_xlsx(data, out_dir, validation_index)
    return {**paths, **written}


def _write_html_and_xlsx(data, out_dir: Path, validation_index: str | None) -> dict[str, Path]:
    from ictaudit.common.timings import timed
    from ictaudit.report.html import write_html_reports
    from ictaudit.report.xlsx import write_report_xlsx

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

"""The official documents of a run: the report to the Steering Committee and the draft decision.

In: the run's scored tables (:class:`~ictaudit.report.inputs.ReportInputs`), the cycle's particulars
(``cycle.yaml``: ``documents:``, ``notice``, ``province``, ``year``) and the wording (``wording.yaml``,
package data, with the cycle's own overrides). Out: ``documents/`` in the run's output folder —
``bao-cao.docx`` and ``quyet-dinh.docx`` in the administrative format of Nghị định 30/2020/NĐ-CP
(:mod:`.nd30`), each with its ``.pdf`` printed by LibreOffice, and ``particulars.json``: what the
documents were written from (the particulars as resolved, the ones still unset, the warnings, and
the hashes of ``cycle.yaml`` that ``ictaudit document`` checks before it writes them again).

The .docx files and ``particulars.json`` are byte-identical for the same inputs (hashed outputs of the
run); the PDFs are records (docs/documents.md says why).
"""

from __future__ import annotations

import json
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from ictaudit.report.documents.particulars import DocumentSettings, cycle_digests, read_settings

if TYPE_CHECKING:
    from collections.abc import Iterator

    from ictaudit.intake.cycle import Cycle
    from ictaudit.report.inputs import ReportInputs

DOCUMENTS_DIR = "documents"
DOCUMENT_FILES = {"bao_cao": "bao-cao.docx", "quyet_dinh": "quyet-dinh.docx"}
RECORD_FILE = "particulars.json"
#: a run prints the PDFs when at most this many agencies are ranked (a province ranks 30–100). LibreOffice
#: lays out long tables in time that grows with the square of their length: 2,200 agencies took 162 s
#: (docs/documents.md); above this the run writes the .docx only and ``ictaudit document --pdf-any-size``
#: prints them on request.
PDF_MAX_AGENCIES = 300


def settings_for(cycle: Cycle) -> DocumentSettings:
    """The documents' particulars and wording for ``cycle`` (warnings inside, never an exception)."""
    settings = read_settings(cycle.documents, year=cycle.year, province=cycle.province, notice=cycle.notice,
                             cycle_root=cycle.root)  # fmt: skip
    settings.digests = cycle_digests(cycle.root) if (Path(cycle.root) / "cycle.yaml").exists() else {}
    return settings


def write_docx(data: ReportInputs, settings: DocumentSettings, out_dir: Path) -> dict[str, Path]:
    """Write both .docx files and ``particulars.json`` into ``out_dir``; the paths by document."""
    from ictaudit.report.documents.bao_cao import write_bao_cao
    from ictaudit.report.documents.figures import compute_figures
    from ictaudit.report.documents.quyet_dinh import write_quyet_dinh

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    figures = compute_figures(data)
    paths = {
        "bao_cao": write_bao_cao(data, settings, figures, out_dir / DOCUMENT_FILES["bao_cao"]),
        "quyet_dinh": write_quyet_dinh(data, settings, figures, out_dir / DOCUMENT_FILES["quyet_dinh"]),
    }
    record = {
        "documents": {doc: {"file": DOCUMENT_FILES[doc], **settings.particulars[doc].record()} for doc in paths},
        "notice": settings.notice,
        "wording_file": settings.wording_file,
        "unset": settings.unset,
        "warnings": settings.warnings,
        "ranked_agencies": len(figures_ranked(data)),
        **settings.digests,
    }
    (out_dir / RECORD_FILE).write_text(json.dumps(record, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    for message in settings.warnings:
        warnings.warn(f"văn bản: {message}", stacklevel=2)
    return paths


def figures_ranked(data: ReportInputs):
    """The ranked agencies' rows of scores.csv."""
    return data.scores[data.scores["status"] == "ranked"]


@contextmanager
def documents_beside(data: ReportInputs, settings: DocumentSettings, out_dir: Path,
                     pdf_max_agencies: int | None = PDF_MAX_AGENCIES) -> Iterator[dict[str, Path]]:
    """Write the .docx files, print them to PDF in the background while the caller's block runs
    (the other reports), then wait: the dict yielded holds every file written once the block ends.
    ``pdf_max_agencies``: no PDF when more agencies are ranked (None: whatever the size)."""
    from ictaudit.common.timings import timed
    from ictaudit.report.documents.pdf import PdfJob

    with timed("report.documents"):
        docx = write_docx(data, settings, out_dir)
        ranked = len(figures_ranked(data))
        large = pdf_max_agencies is not None and ranked > pdf_max_agencies
        for old in (Path(out_dir) / n.replace(".docx", ".pdf") for n in DOCUMENT_FILES.values()):
            old.unlink(missing_ok=True)
        job = PdfJob([] if large else list(docx.values()))
    if large:
        warnings.warn(f"văn bản: không in PDF cho {ranked} đơn vị được xếp hạng (quá {pdf_max_agencies}: LibreOffice "
                      "cần nhiều phút); các tệp .docx đầy đủ; in bằng ictaudit document --pdf-any-size", stacklevel=3)  # fmt: skip
    written: dict[str, Path] = {f"document:{DOCUMENT_FILES[d]}": p for d, p in docx.items()}
    written[f"document:{RECORD_FILE}"] = Path(out_dir) / RECORD_FILE
    try:
        yield written
    finally:
        with timed("report.documents_pdf_wait"):
            pdfs = job.finish()
        for pdf in pdfs:
            written[f"document:{pdf.name}"] = pdf
        if job.problem:
            warnings.warn(f"văn bản: không in được PDF ({job.problem}); các tệp .docx vẫn đầy đủ", stacklevel=2)


def write_documents(data: ReportInputs, settings: DocumentSettings, out_dir: Path,
                    pdf_max_agencies: int | None = PDF_MAX_AGENCIES) -> dict[str, Path]:
    """Both documents, their PDFs and ``particulars.json`` in ``out_dir``, written now."""
    with documents_beside(data, settings, out_dir, pdf_max_agencies) as written:
        pass
    return written


def pending_note(out_dir: Path) -> list[str]:
    """What a user should know about a run's documents: the particulars still unset, PDFs not made."""
    folder = Path(out_dir) / DOCUMENTS_DIR
    record_path = folder / RECORD_FILE
    if not record_path.exists():
        return []
    record = json.loads(record_path.read_text(encoding="utf-8"))
    lines = []
    if record.get("unset"):
        keys = [k if k == "notice" else f"documents.{k}" for k in record["unset"]]
        lines.append(
            f"văn bản ({folder}): chưa có {', '.join(keys)} — in “…”; điền vào cycle.yaml rồi chạy: "
            f"ictaudit document --run {Path(out_dir)}"
        )
    others = [w for w in record.get("warnings", []) if "chưa điền" not in w and "chưa ghi" not in w]
    if others:
        lines.append("văn bản: cảnh báo (sửa cycle.yaml hoặc tệp lời văn, rồi chạy ictaudit document):")
        lines += [f"  - {w}" for w in others]
    missing = [n.replace(".docx", ".pdf") for n in DOCUMENT_FILES.values() if not (folder / n.replace(".docx", ".pdf")).exists()]
    if missing and record.get("ranked_agencies", 0) > PDF_MAX_AGENCIES:
        lines.append(f"văn bản: không in {', '.join(missing)} cho {record['ranked_agencies']} đơn vị được xếp hạng "
                     f"(LibreOffice cần nhiều phút); khi cần: ictaudit document --run {Path(out_dir)} --pdf-any-size")  # fmt: skip
    elif missing:
        lines.append(f"văn bản: chưa in được {', '.join(missing)} (cần LibreOffice Writer và phông Liberation Serif: make system)")
    return lines

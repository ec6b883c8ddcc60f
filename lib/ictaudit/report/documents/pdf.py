"""The documents printed to PDF by LibreOffice, and those PDFs made the same from run to run.

LibreOffice stamps each PDF with the time it was made (``/CreationDate``), a random file identifier
(``/ID``) and a checksum that covers that time (``/DocChecksum``). They are replaced by values of the same length — the fixed date 2000-01-01 and the MD5 of the
.docx it was made from — so the cross-reference offsets stay valid and the same .docx, converted by the
same LibreOffice with the same fonts, gives the same bytes. Other LibreOffice versions or fonts give
other bytes: the manifest keeps the PDFs as records of the run, not as reproducible outputs.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from ictaudit.common.office import Conversion, OfficeError, start_conversion

_DATE = re.compile(rb"(/(?:CreationDate|ModDate)\s*\(D:)(\d{14})")
_ID = re.compile(rb"(/ID\s*\[\s*<)([0-9A-Fa-f]{32})(>\s*<)([0-9A-Fa-f]{32})(>)")
_CHECKSUM = re.compile(rb"(/DocChecksum\s*/)([0-9A-Fa-f]{32})")
FIXED_PDF_DATE = b"20000101000000"


def normalise_pdf(pdf: Path, source: Path) -> None:
    """Replace the PDF's creation time and identifier by fixed ones of the same length (see above)."""
    data = pdf.read_bytes()
    digest = hashlib.md5(source.read_bytes(), usedforsecurity=False).hexdigest().upper().encode("ascii")
    data = _DATE.sub(lambda m: m.group(1) + FIXED_PDF_DATE, data)
    data = _ID.sub(lambda m: m.group(1) + digest + m.group(3) + digest + m.group(5), data)
    data = _CHECKSUM.sub(lambda m: m.group(1) + digest, data)
    tmp = pdf.with_name(f".{pdf.name}.partial")
    tmp.write_bytes(data)
    tmp.replace(pdf)


class PdfJob:
    """PDFs of some .docx files being made in the background; :meth:`finish` waits and normalises them.

    When LibreOffice is missing or fails, the PDFs are not made: :attr:`problem` says why (the .docx
    files are the documents; the PDFs are their print)."""

    def __init__(self, sources: list[Path]):
        self.sources = sources
        self.problem: str | None = None
        self.conversion: Conversion | None = None
        try:
            self.conversion = start_conversion(sources, sources[0].parent, "pdf") if sources else None
        except (OfficeError, OSError) as exc:
            self.problem = str(exc)

    def finish(self, timeout: float = 600) -> list[Path]:
        if self.conversion is None:
            return []
        try:
            pdfs = self.conversion.wait(timeout=timeout)
        except OfficeError as exc:
            self.problem = str(exc)
            return []
        for pdf, source in zip(pdfs, self.sources):
            normalise_pdf(pdf, source)
        return pdfs

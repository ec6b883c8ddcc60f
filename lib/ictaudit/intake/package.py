"""What a submitted file is, and whether it is safe to hand to a spreadsheet reader.

:func:`inspect_package` looks at the bytes before any reader does: an OLE2 file (``.xls``, or an
encrypted ``.xlsx``) or a zip package (``.xlsx``, ``.ods``), anything else refused with what it seems
to be. A zip is checked from its directory first (sizes, compression ratios, number of parts), then
every part is inflated once, bounded by its declared size, and checked against its size and CRC,
for DTDs in XML (entity expansion), and for the cell extent of a worksheet or an OpenDocument table
(the reader allocates the whole rectangle). Every refusal is an ``I05`` :class:`SubmissionError`
from the catalogue. The limits below are what a submission may make the reader do; a filled form is
~12 KB, 60 rows × 5 columns.

Parts that are plainly fine skip the chunked check (:func:`_inflate_once`, :func:`_plain_part`) and
the parts the uncached-formula check reads are kept (:attr:`Package.parts`), so no part is inflated
twice; tests/test_intake_single_pass.py holds the fast path to the slow one.
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass, field

from ictaudit.intake.forms import cell_address
from ictaudit.intake.problems import ERROR_CHARS, refusal, shorten

MAX_FILE_BYTES = 64 * 1024 * 1024  # a file larger than this is not read
MAX_PART_BYTES = 64 * 1024 * 1024  # one zip part, inflated (declared, and counted while inflating)
MAX_PACKAGE_BYTES = 160 * 1024 * 1024  # all parts together, inflated
MAX_RATIO = 100  # a part over RATIO_FLOOR bytes compressed more than this many times is a bomb
RATIO_FLOOR = 1024 * 1024
MAX_ZIP_ENTRIES = 10_000
MAX_SHEET_CELLS = 5_000_000  # rows × columns a worksheet's cells span (the reader allocates it all)
CHUNK = 1024 * 1024  # bytes inflated, or read from disk, at a time

_XLS_FILEPASS = re.compile(rb"\x09\x08\x10\x00\x00\x06.{14}\x2f\x00", re.DOTALL)
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# Entity declarations (the "billion laughs") or a DTD with an internal subset; a bare DOCTYPE naming
# an external DTD (old OpenOffice manifests) is harmless: nothing here fetches or expands it.
_DTD = re.compile(
    rb"<!ENTITY|<!DOCTYPE[^>\[]{0,1024}\[|<\x00!\x00E\x00N\x00T\x00I\x00T\x00Y\x00"
    rb"|<\x00!\x00D\x00O\x00C\x00T\x00Y\x00P\x00E\x00"
)
# an element's namespace prefix, if any: an XML name, so "-", "." and non-ASCII letters too (not only \w)
PREFIX = rb"(?:[^\s<>/:!?=\"']+:)?"
_CELL_REF = re.compile(rb"<" + PREFIX + rb"c\b[^>]*?\sr=\"\$?([A-Za-z]{1,3})\$?([0-9]{1,9})\"")
_ROW_REF = re.compile(rb"<" + PREFIX + rb"row\b[^>]*?\sr=\"([0-9]{1,9})\"")
# Every reference _CELL_REF or _ROW_REF can find beyond column Z or row 99,999 contains a match of
# this: two letters, or six significant digits, after r=" (the literal first, then the look-behind,
# so that the scan runs at the speed of a substring search).
_BIG_REF = re.compile(rb'r="(?<=\sr=")(?:\$?[A-Za-z](?:[A-Za-z]|\$?0*[1-9][0-9]{5})|0*[1-9][0-9]{5})')
_SMALL_EXTENT = 99_999 * 26  # the most cells a sheet without a match of _BIG_REF can span
_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")  # a zip part's local file header (zipfile.structFileHeader)


@dataclass(frozen=True, eq=False)
class Package:
    """What :func:`inspect_package` found in a file it let through.

    ``kind`` is ``"zip"`` or ``"ole2"``; for a zip, ``zip`` is its directory and ``parts`` the parts
    the checks inflated that are read again (the workbook, its relationships, the worksheets, the
    styles; an ods's content), so that no part is inflated twice
    (:func:`ictaudit.intake.formulas.uncached_formula_cells`, :func:`ictaudit.intake.cellformats.percent_cells`).
    """

    kind: str
    zip: zipfile.ZipFile | None = None
    parts: dict[str, bytes] = field(default_factory=dict)


def inspect_package(data: bytes, file_name: str) -> Package:
    """The container ``data`` is (:class:`Package`), refusing what must not be read.

    Raises :class:`SubmissionError` (I05) for: no bytes; text, HTML, PDF or anything else that is
    not a spreadsheet (said in the message); a file over :data:`MAX_FILE_BYTES`; an encrypted
    (password-protected) workbook; a damaged or truncated zip; a zip part declared or found larger
    than :data:`MAX_PART_BYTES`, all parts over :data:`MAX_PACKAGE_BYTES`, a part compressed more
    than :data:`MAX_RATIO` times (decompression bombs: sizes are checked from the zip directory
    before anything is inflated, and every part is then inflated once, bounded by its declared size,
    and checked against its size and CRC); an XML part with a DTD (``<!DOCTYPE``/``<!ENTITY``: entity
    expansion); a worksheet whose cells span more than :data:`MAX_SHEET_CELLS` (the reader allocates
    the whole rectangle).
    """
    if not data:
        raise refusal("I05", "empty", file=file_name)
    if len(data) > MAX_FILE_BYTES:
        raise refusal("I05", "too_large", file=file_name, size=len(data), limit=MAX_FILE_BYTES)
    if data.startswith(_OLE2_MAGIC):
        # an encrypted .xlsx is an OLE2 file holding "EncryptedPackage"; an encrypted .xls has a
        # FILEPASS record (0x002F) right after the workbook's BOF record
        if "EncryptedPackage".encode("utf-16-le") in data or _XLS_FILEPASS.search(data, 0, 1 << 20):
            raise refusal("I05", "password", file=file_name)
        return Package("ole2")
    if not data.startswith(b"PK\x03\x04"):
        message_id, values = what_file_is(data)
        raise refusal("I05", message_id, file=file_name, **values)
    zf = _open_zip(data, file_name)
    _check_directory(zf, file_name)
    return Package("zip", zf, _inflate_parts(data, zf, file_name))


def what_file_is(data: bytes) -> tuple[str, dict]:
    """What a file that is not a spreadsheet seems to be, from its first bytes: the catalogue's I05
    message id for it, and the values the message quotes."""
    head = data[:4096]
    if not data.strip():
        return "whitespace", {"size": len(data)}
    if head.startswith(b"%PDF"):
        return "pdf", {}
    if head.startswith(b"PK"):
        return "partial_zip", {}
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = head[2:].decode("utf-16-le" if head.startswith(b"\xff\xfe") else "utf-16-be", "replace")
        return "utf16_text", {"first_line": shorten(_first_line(text))}
    try:
        text = head.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        text = None if exc.start < len(head) - 4 else head[: exc.start].decode("utf-8-sig", "ignore")
    if text is None or "\x00" in text:
        return "unknown_content", {"size": len(data), "head": head[:8].hex(" ")}
    low = text.lstrip().lower()
    if "urn:schemas-microsoft-com:office:spreadsheet" in low:
        return "xml_spreadsheet_2003", {}
    if low.startswith(("<html", "<!doctype html", "<table", "<?xml")) or "<table" in low:
        return "html", {}
    if any(sep in _first_line(text) for sep in (",", ";", "\t")):
        return "csv", {"first_line": shorten(_first_line(text))}
    return "text", {"start": shorten(text.strip())}


def _first_line(text: str) -> str:
    lines = text.splitlines()
    return lines[0] if lines else ""


# -- the zip directory ----------------------------------------------------------------------------


def _open_zip(data: bytes, file_name: str) -> zipfile.ZipFile:
    """The zip's directory, or I05 for a damaged or truncated zip, an ``.xlsb``, a zip that is no workbook."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as exc:
        error = shorten(str(exc), ERROR_CHARS)
        raise refusal("I05", "broken_zip", file=file_name, size=len(data), error=error) from None
    names = {i.filename for i in zf.infolist()}
    if "xl/workbook.bin" in names:
        raise refusal("I05", "xlsb", file=file_name)
    if "xl/workbook.xml" not in names and "content.xml" not in names:
        inner = ", ".join(sorted(names)[:5]) + (", …" if len(names) > 5 else "")
        kind = "word_document" if "word/document.xml" in names else "zip_of_files"
        raise refusal("I05", kind, file=file_name, inner=inner)
    return zf


def _check_directory(zf: zipfile.ZipFile, file_name: str) -> None:
    """Refuse what the directory gives away before anything is inflated: too many parts, an encrypted
    part, a part declared too large or compressed too much, all parts declared too large."""
    infos = zf.infolist()
    if len(infos) > MAX_ZIP_ENTRIES:
        raise refusal("I05", "too_many_parts", file=file_name, count=len(infos), limit=MAX_ZIP_ENTRIES)
    declared = 0
    for info in infos:
        part = {"file": file_name, "part": info.filename}
        if info.flag_bits & 0x1:
            raise refusal("I05", "password", file=file_name)
        if info.file_size > MAX_PART_BYTES:
            raise refusal("I05", "part_declared_too_large", **part, size=info.file_size, limit=MAX_PART_BYTES)
        if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise refusal(
                "I05", "part_compressed_too_much", **part, compressed=info.compress_size, size=info.file_size,
                ratio=MAX_RATIO,
            )  # fmt: skip
        declared += info.file_size
    if declared > MAX_PACKAGE_BYTES:
        raise refusal("I05", "package_too_large", file=file_name, size=declared, limit=MAX_PACKAGE_BYTES)


# -- the parts ------------------------------------------------------------------------------------


def _inflate_parts(data: bytes, zf: zipfile.ZipFile, file_name: str) -> dict[str, bytes]:
    """Check every part; return the ones read again after the checks (:func:`_kept_part`).

    Each part is inflated once, bounded by its declared size. A part that is certainly fine (size,
    CRC, no DTD, a small cell extent) is kept when the uncached-formula check may read it; any other
    goes through the chunked check, which refuses it with its exact message or lets it through.
    A part found plain before, byte for byte (its local header, name, extra field and compressed
    bytes, and the directory's record of it), is not inflated or checked again (:func:`_plain_parts_key`).
    """
    parts: dict[str, bytes] = {}
    for info in zf.infolist():
        key = _plain_parts_key(data, info)
        body = _PLAIN_PARTS.get(key) if key is not None else None
        if body is None:
            body = _inflate_once(data, info)
            if body is None or not _plain_part(info.filename, body):
                _check_part(zf, info, file_name)
                continue
            _check_part_content(info.filename, body, file_name)
            if key is not None:
                if len(_PLAIN_PARTS) >= _PLAIN_PARTS_MAX:
                    _PLAIN_PARTS.clear()
                _PLAIN_PARTS[key] = body
        if _kept_part(info.filename) and zf.getinfo(info.filename) is info:  # a repeated name: the last one
            parts[info.filename] = body
    return parts


#: parts found plain (inflated, sized, CRC-checked, scanned), by :func:`_plain_parts_key` → their bytes
#: (the package checks of a 2,000-form intake: 0.96 s without the cache, 0.48 s with it)
_PLAIN_PARTS: dict[tuple, bytes] = {}
_PLAIN_PARTS_MAX = 256  # entries (emptied when full): at most 256 × (16 KB + 64 KB) kept
_PLAIN_PART_MAX_COMPRESSED = 16 * 1024
_PLAIN_PART_MAX_BYTES = 64 * 1024


def _plain_parts_key(data: bytes, info: zipfile.ZipInfo) -> tuple | None:
    """Everything the single-pass check of a part reads, or None when the part is not to be cached.

    :func:`_inflate_once` reads the directory's record (flags, method, sizes, CRC, name) and the bytes
    from the local header to the end of the compressed data; :func:`_plain_part` and
    :func:`_check_part_content` the name and the inflated bytes (a function of the former), and the
    limits. A part with the same key is found plain again, so its bytes are taken from the cache. Small
    parts only: forms of one template share most of theirs (styles, theme, workbook, relationships).
    """
    if info.compress_size > _PLAIN_PART_MAX_COMPRESSED or info.file_size > _PLAIN_PART_MAX_BYTES:
        return None
    start = info.header_offset
    header = data[start : start + _LOCAL_HEADER.size]
    if start < 0 or len(header) != _LOCAL_HEADER.size:
        return None
    fields = _LOCAL_HEADER.unpack(header)
    end = start + _LOCAL_HEADER.size + fields[10] + fields[11] + info.compress_size
    if end > len(data):
        return None
    return (
        info.filename, info.orig_filename, info.flag_bits, info.compress_type, info.compress_size, info.file_size,
        info.CRC, MAX_PART_BYTES, MAX_SHEET_CELLS, _SMALL_EXTENT, data[start:end],
    )  # fmt: skip


def _part_kind(name: str) -> tuple[bool, bool]:
    """(is XML, is a worksheet) as the checks see a part name."""
    is_xml = name.lower().endswith((".xml", ".rels", ".vml")) or name in ("content.xml", "styles.xml")
    return is_xml, is_xml and "worksheets/" in name


#: the parts read again after the checks: by the uncached-formula check (the workbook, its relationships,
#: the worksheets) and the percent-format check (the styles of an xlsx, the content of an ods)
_KEPT_PARTS = frozenset(("xl/workbook.xml", "xl/_rels/workbook.xml.rels", "xl/styles.xml", "content.xml"))


def _kept_part(name: str) -> bool:
    """A part read again after the checks (:data:`_KEPT_PARTS`, or a worksheet)."""
    return name in _KEPT_PARTS or _part_kind(name)[1]


def _inflate_once(data: bytes, info: zipfile.ZipInfo) -> bytes | None:
    """The part's bytes exactly as ``zipfile`` reads them, or None when anything is unusual.

    At most ``file_size + 1`` bytes are inflated; None (the chunked check then decides) unless the
    local header matches the directory as ``zipfile`` requires, the part is stored or deflated, the
    stream ends where the directory says, inflates to exactly the declared size and its CRC matches.
    """
    if info.flag_bits & 0x61 or info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        return None  # encrypted, patched, strong encryption: zipfile refuses; another method: its own path
    start = info.header_offset
    header = data[start : start + _LOCAL_HEADER.size]
    if start < 0 or len(header) != _LOCAL_HEADER.size:
        return None
    fields = _LOCAL_HEADER.unpack(header)
    if fields[0] != zipfile.stringFileHeader:
        return None
    name_len, extra_len = fields[10], fields[11]
    name_at = start + _LOCAL_HEADER.size
    try:
        local_name = data[name_at : name_at + name_len].decode("utf-8" if fields[3] & 0x800 else "cp437")
    except UnicodeDecodeError:
        return None
    if local_name != info.orig_filename:
        return None
    body_at = name_at + name_len + extra_len
    raw = data[body_at : body_at + info.compress_size]
    if len(raw) != info.compress_size:
        return None
    if info.compress_type == zipfile.ZIP_STORED:
        body = raw if info.compress_size == info.file_size else None
    else:
        inflater = zlib.decompressobj(-15)
        try:
            body = inflater.decompress(raw, info.file_size + 1)  # never 0, which would mean no limit
        except zlib.error:
            return None
        if not inflater.eof or inflater.unconsumed_tail or inflater.unused_data or len(body) != info.file_size:
            return None
    if body is None or zlib.crc32(body) != info.CRC or len(body) > MAX_PART_BYTES:
        return None
    return body


def _plain_part(name: str, body: bytes) -> bool:
    """True when the chunked check of :func:`_check_part` certainly passes this inflated part.

    Its regular expressions match only within the part, so none matching the whole part means none
    matched any window; a worksheet with no reference past column Z or row 99,999 spans at most
    :data:`_SMALL_EXTENT` cells. (False only means: let the chunked check decide.)
    """
    is_xml, is_sheet = _part_kind(name)
    if is_xml and b"!" in body and _DTD.search(body):  # every form of a DTD has a "!"
        return False
    return not is_sheet or (_SMALL_EXTENT <= MAX_SHEET_CELLS and not _BIG_REF.search(body))


def _check_part(zf: zipfile.ZipFile, info: zipfile.ZipInfo, file_name: str) -> None:
    """Inflate one part in bounded chunks: its real size, DTDs in XML, the cell extent of a worksheet."""
    name = info.filename
    part = {"file": file_name, "part": name}
    is_xml, is_sheet = _part_kind(name)
    total, tail, extent = 0, b"", (0, 0)
    try:
        with zf.open(info) as fh:
            while chunk := fh.read(CHUNK):
                total += len(chunk)
                if total > MAX_PART_BYTES:
                    raise refusal("I05", "part_inflates_too_large", **part, limit=MAX_PART_BYTES)
                if not is_xml:
                    continue
                window = tail + chunk
                if _DTD.search(window):
                    raise refusal("I05", "unsafe_xml_part", **part)
                if is_sheet:
                    extent = _sheet_extent(window, extent, part)
                tail = window[-256:]
    except (zipfile.BadZipFile, EOFError, OSError, zlib.error, NotImplementedError, RuntimeError) as exc:
        raise refusal("I05", "part_broken", **part, error=shorten(str(exc), ERROR_CHARS)) from None
    if name in ("META-INF/manifest.xml", "content.xml"):
        _check_part_content(name, zf.read(info), file_name)


def _sheet_extent(window: bytes, extent: tuple[int, int], part: dict) -> tuple[int, int]:
    """(rows, columns) a worksheet spans so far, with the references of one more window of its XML;
    I05 once it spans more than :data:`MAX_SHEET_CELLS` cells."""
    max_row, max_col = extent
    # the largest reference of the window, compared as (length, text): one conversion each
    refs = _CELL_REF.findall(window)
    if refs:
        max_col = max(max_col, _col_number(max((r[0].upper() for r in refs), key=_by_size)))
        max_row = max(max_row, int(max((r[1].lstrip(b"0") or b"0" for r in refs), key=_by_size)))
    rows = _ROW_REF.findall(window)
    if rows:
        max_row = max(max_row, int(max((r.lstrip(b"0") or b"0" for r in rows), key=_by_size)))
    if max_row * max(max_col, 1) > MAX_SHEET_CELLS:
        last_cell = cell_address(max_row - 1, max(max_col, 1) - 1)
        raise refusal("I05", "sheet_too_wide", **part, last_cell=last_cell, limit=MAX_SHEET_CELLS)
    return max_row, max_col


def _check_part_content(name: str, body: bytes, file_name: str) -> None:
    """The checks that need a whole part: an encrypted OpenDocument, an OpenDocument's cell extent."""
    if name == "META-INF/manifest.xml" and b"encryption-data" in body:
        raise refusal("I05", "password", file=file_name)
    if name == "content.xml":  # OpenDocument: repeated cells are expanded by the reader
        rows, cols, table = ods_extent(body)
        if rows * cols > MAX_SHEET_CELLS:
            raise refusal(
                "I05", "table_too_wide", file=file_name, part=name, table=table,
                last_cell=cell_address(rows - 1, cols - 1), limit=MAX_SHEET_CELLS,
            )  # fmt: skip


_ODS_TAG = re.compile(rb"<(/?)table:(table-row|table-cell|covered-table-cell|table)(?=[\s/>])([^>]*?)(/?)>")
_ODS_ROWS = re.compile(rb'number-rows-repeated="(\d{1,9})"')
_ODS_COLS = re.compile(rb'number-columns-repeated="(\d{1,9})"')
_ODS_NAME = re.compile(rb'table:name="([^"]*)"')


def ods_extent(content: bytes) -> tuple[int, int, str]:
    """The largest (rows, columns, table name) rectangle holding a non-empty cell of an ODS ``content.xml``.

    Repeats count (``number-rows-repeated``, ``number-columns-repeated``): a reader expands a
    repeated cell that has a value, so one cell repeated 16384 × 1048576 times is a bomb. Empty
    repeated cells (how LibreOffice pads a sheet) do not count.
    """
    worst = (0, 0, "")
    row = col = max_row = max_col = 0
    row_repeat = 1
    table = ""
    for m in _ODS_TAG.finditer(content):
        closing, tag, attrs, empty = m.group(1), m.group(2), m.group(3), m.group(4)
        if tag == b"table" and not closing:
            row = max_row = max_col = 0
            name = _ODS_NAME.search(attrs)
            table = name.group(1).decode("utf-8", "replace") if name else ""
        elif tag == b"table-row" and not closing:
            r = _ODS_ROWS.search(attrs)
            row_repeat, col = (int(r.group(1)) if r else 1), 0
        elif tag == b"table-row":
            row += row_repeat
        elif not closing:  # a cell
            c = _ODS_COLS.search(attrs)
            span = int(c.group(1)) if c else 1
            if not empty or b"value-type" in attrs:
                max_row, max_col = max(max_row, row + row_repeat), max(max_col, col + span)
                if max_row * max_col > worst[0] * worst[1]:
                    worst = (max_row, max_col, table)
            col += span
    return worst


def _by_size(digits_or_letters: bytes) -> tuple[int, bytes]:
    """Order column letters or row digits by value without converting: longer is larger, then by text."""
    return len(digits_or_letters), digits_or_letters


def _col_number(letters: bytes) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + (ch - 64)
    return n

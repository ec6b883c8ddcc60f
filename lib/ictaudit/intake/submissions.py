"""Intake (notebook 01): who sent what, and the values of every form in long form with provenance.

``intake_cycle(cycle, rubric)`` reads every submission named in the DIC's register, never writing
anything under the cycle folder, and returns an :class:`IntakeResult`:

- ``statuses``: one row per roster agency, ``agency_id, agency_name, group, status, status_reason``;
- ``values``: the ``values.csv`` columns of DESIGN §6, one row per field of the form for every agency
  whose file was read (ranked, and late or excluded ones with a readable file, so their numbers can
  be shown); ``value`` is a float (yes/no as 1/0, blank as NaN), ``raw_value`` the text as typed;
- ``problems``: every problem found, ``agency_id, file, sheet, cell, field, raw_value, code,
  severity, message_vi``;
- ``files``: every file under ``submissions/`` with its sha256 (taken from the bytes before any
  parsing), size and the agency whose receipt names it — for the manifest.

Status precedence (the first that applies wins; DOMAIN §5):

1. ``excluded`` — ``ranked: false`` on the roster (reason: the roster's note);
2. ``missing`` — no receipt in ``receipts.csv``;
3. ``late`` — the earliest receipt is after the deadline (``received_on > deadline``);
4. ``invalid`` — two or more receipts for the agency, the file named is absent, a symbolic link or a
   folder, unreadable, not a workbook (or one refused by :func:`check_package`), has no ``Số liệu``
   sheet or header row, is not this cycle's template or form, or its ``_meta`` names another agency
   or year;
5. ``ranked`` — on time and read.

Problem codes (severity E blocks the value or the file; W asks for an explanation):

==== == =================================================================================
I01  E a value that cannot be read as the field's type (see :mod:`ictaudit.intake.parsing`)
I02  E a formula without a cached value (xlsx; a viewer would show nothing, so it is not 0)
I03  E the same field code on two rows with different values (W when the values agree)
I04  E a field row of the form is missing; W a row with a field-like code the form does not have;
       W a ``Số liệu`` sheet of more than ``MANY_ROWS`` rows (rows without a field code are ignored,
       rows past ``MAX_READ_ROWS`` are not read)
I05  E the file cannot be used as a workbook: empty; text, CSV, HTML, PDF, a zip of files, a Word
       document or an ``.xlsb`` (binary, not in the contract) sent as a workbook; truncated or
       damaged; encrypted (password); over a size limit or a decompression bomb (checked from the zip
       directory and by counting while inflating, before the reader sees it); an XML part with a
       DTD (entity expansion); cells spanning more than ``MAX_SHEET_CELLS``; unreadable on disk
I06  E no ``Số liệu`` sheet, or no header row with ``Mã`` and ``Giá trị`` (the message says when the
       sheet names or header look typed with a legacy font)
I07  E not this cycle's template: no ``_meta`` sheet, unknown template version, another rubric,
       or the form of another group
I08  E ``_meta`` names another agency or another year than the roster and the cycle
I09  E more than one receipt for one agency (one accepted submission per agency, L26)
I10  E a receipt names a file that is not in ``submissions/`` (names are compared in NFC, so a
       file saved with an NFD name on macOS is found), or a name that is not a plain file name
I11  W a file in ``submissions/`` that no receipt names (not read)
I12  E a receipt for an agency that is not on the roster (not read)
I13  E a value typed with a legacy Vietnamese font encoding (TCVN3/ABC, VNI): not read, retype in
       Unicode (see :func:`ictaudit.intake.parsing.legacy_font`)
I14  E a value cell inside merged cells spanning several field rows (or starting left of the value
       column): which field the value belongs to is unclear, none of them is used
I15  E a receipt names a symbolic link or a folder in ``submissions/`` (never followed, not read);
       W such an entry that no receipt names
I16  E a receipt whose ``received_on`` is not a date (YYYY-MM-DD): whether the form was on time cannot
       be judged, so the agency is ``invalid``
==== == =================================================================================
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import math
import os
import posixpath
import re
import stat
import struct
import unicodedata
import zipfile
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import NamedTuple

import numpy as np
import pandas as pd
from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeET
from python_calamine import CalamineWorkbook, PasswordError

from ictaudit.common.numfmt import fmt_date
from ictaudit.intake.cycle import Cycle
from ictaudit.intake.forms import SHEET_DATA, SHEET_META, SUPPORTED_TEMPLATE_VERSIONS
from ictaudit.intake.parsing import legacy_font, normalize_text, parse_value, raw_text
from ictaudit.intake.values import VALUE_COLUMNS

STATUS_COLUMNS = ("agency_id", "agency_name", "group", "status", "status_reason")
PROBLEM_COLUMNS = ("agency_id", "file", "sheet", "cell", "field", "raw_value", "code", "severity", "message_vi")
FILE_COLUMNS = ("file", "agency_id", "sha256", "bytes")
STATUSES = ("ranked", "late", "missing", "excluded", "invalid")

# Limits on what a submission may make the reader do (a filled form is ~12 KB, 60 rows × 5 columns).
MAX_FILE_BYTES = 64 * 1024 * 1024  # a file larger than this is not read
MAX_PART_BYTES = 64 * 1024 * 1024  # one zip part, inflated (declared, and counted while inflating)
MAX_XML_BYTES = MAX_PART_BYTES
MAX_PACKAGE_BYTES = 160 * 1024 * 1024  # all parts together, inflated
MAX_RATIO = 100  # a part over RATIO_FLOOR bytes compressed more than this many times is a bomb
RATIO_FLOOR = 1024 * 1024
MAX_ZIP_ENTRIES = 10_000
MAX_SHEET_CELLS = 5_000_000  # rows × columns a worksheet's cells span (the reader allocates it all)
MANY_ROWS = 5_000  # a "Số liệu" sheet with more rows than this gets a warning (rows beyond the form)
MAX_READ_ROWS = 10_000  # rows of "Số liệu" read at all (a form has about 60)
_CHUNK = 1024 * 1024
_XLS_FILEPASS = re.compile(rb"\x09\x08\x10\x00\x00\x06.{14}\x2f\x00", re.DOTALL)
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_PASSWORD = (
    "Tệp {file} được đặt mật khẩu (mã hóa) nên không đọc được; đề nghị đơn vị gỡ mật khẩu "
    "(Excel: Tệp › Thông tin › Bảo vệ sổ làm việc › Mã hóa bằng mật khẩu, xóa mật khẩu), lưu rồi gửi lại."
)
_FIELD_LIKE = re.compile(r"^[FX]\d{2}[a-z]{0,2}$", re.IGNORECASE)
_UNSAFE_XML = "Tệp {file} chứa khai báo XML không an toàn (DTD/thực thể); tệp không được đọc, đề nghị đơn vị gửi lại."
_NS_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_NS_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_NS_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"


@dataclass(frozen=True, eq=False)
class IntakeResult:
    statuses: pd.DataFrame
    values: pd.DataFrame
    problems: pd.DataFrame
    files: pd.DataFrame


class SubmissionError(Exception):
    """A file-level problem: the file cannot be used at all. ``code`` is an intake code."""

    def __init__(self, code: str, message_vi: str, sheet: str = ""):
        super().__init__(message_vi)
        self.code = code
        self.message_vi = message_vi
        self.sheet = sheet

    def __reduce__(self):  # pickled whole (a forked reader hands it back), not as Exception(message)
        return SubmissionError, (self.code, self.message_vi, self.sheet)


@dataclass(frozen=True)
class Submission:
    """What one readable file gave: value rows and cell-level problems (file-level ones raise)."""

    values: list[tuple]  # rows in VALUE_COLUMNS order
    problems: list[dict]


# -- small helpers -----------------------------------------------------------------------------


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def cell_address(row: int, col: int) -> str:
    """0-based row and column as an A1 address: ``cell_address(4, 3) == "D5"``."""
    letters = ""
    col += 1
    while col:
        col, rem = divmod(col - 1, 26)
        letters = chr(65 + rem) + letters
    return f"{letters}{row + 1}"


def _key(text) -> str:
    """A header or sheet name compared loosely: NFC, spaces collapsed, case-folded."""
    if type(text) is str and len(text) <= _KEY_MAX_CHARS:  # names and headers repeat from form to form
        key = _KEYS.get(text)
        if key is None:
            if len(_KEYS) >= _KEYS_MAX:
                _KEYS.clear()
            key = _KEYS[text] = normalize_text(text).casefold()
        return key
    return normalize_text(str(text)).casefold() if text is not None else ""


_KEYS: dict[str, str] = {}  # text → _key(text), for short text (emptied when full)
_KEYS_MAX = 4096
_KEY_MAX_CHARS = 128


def _problem(agency_id, file, code, severity, message_vi, sheet="", cell="", field="", raw_value="") -> dict:
    return {
        "agency_id": agency_id,
        "file": file,
        "sheet": sheet,
        "cell": cell,
        "field": field,
        "raw_value": raw_value,
        "code": code,
        "severity": severity,
        "message_vi": message_vi,
    }


# -- reading one workbook ----------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Package:
    """What :func:`inspect_package` found in a file it let through.

    ``kind`` is ``"zip"`` or ``"ole2"``; for a zip, ``zip`` is its directory and ``parts`` the parts
    the checks inflated that the uncached-formula check reads again (the workbook, its relationships,
    the worksheets), so that no part is inflated twice (:func:`uncached_formula_cells`).
    """

    kind: str
    zip: zipfile.ZipFile | None = None
    parts: dict[str, bytes] = field(default_factory=dict)


def open_workbook(data: bytes, file_name: str) -> CalamineWorkbook:
    """Open ``.xlsx``, ``.xls`` or ``.ods`` bytes (the format is sniffed, not taken from the name).

    :func:`check_package` runs first: nothing that could exhaust memory or expand entities ever
    reaches the reader.
    """
    return _open_checked(data, file_name)[0]


def _open_checked(data: bytes, file_name: str) -> tuple[CalamineWorkbook, Package]:
    """:func:`open_workbook`, also returning what the package check inflated (read once, used twice)."""
    package = inspect_package(data, file_name)
    try:
        return CalamineWorkbook.from_filelike(io.BytesIO(data)), package
    except PasswordError:
        raise SubmissionError("I05", _PASSWORD.format(file=file_name)) from None
    except Exception as exc:  # calamine raises several types for broken files
        raise SubmissionError(
            "I05",
            f"Không mở được tệp {file_name} như một bảng tính (.xlsx, .xls, .ods): tệp hỏng hoặc bị cắt cụt "
            f"({type(exc).__name__}: {_short(exc)}); đề nghị đơn vị mở lại bằng Excel hoặc LibreOffice, lưu "
            "rồi gửi lại phiếu.",
        ) from None


def _short(exc: Exception, limit: int = 160) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def check_package(data: bytes, file_name: str) -> str:
    """What kind of container ``data`` is (``"zip"`` or ``"ole2"``), refusing what must not be read.

    See :func:`inspect_package` (which this is, keeping only the kind).
    """
    return inspect_package(data, file_name).kind


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
    size = len(data)
    if not data:
        raise SubmissionError("I05", f"Tệp {file_name} rỗng (0 byte); đề nghị đơn vị gửi lại phiếu.")
    if size > MAX_FILE_BYTES:
        raise SubmissionError(
            "I05", f"Tệp {file_name} quá lớn ({size} byte, giới hạn {MAX_FILE_BYTES} byte); một phiếu chỉ vài chục "
            "KB, tệp không được đọc. Đề nghị đơn vị gửi lại đúng biểu mẫu."
        )  # fmt: skip
    if data.startswith(_OLE2_MAGIC):
        # an encrypted .xlsx is an OLE2 file holding "EncryptedPackage"; an encrypted .xls has a
        # FILEPASS record (0x002F) right after the workbook's BOF record
        if "EncryptedPackage".encode("utf-16-le") in data or _XLS_FILEPASS.search(data, 0, 1 << 20):
            raise SubmissionError("I05", _PASSWORD.format(file=file_name))
        return Package("ole2")
    if not data.startswith(b"PK\x03\x04"):
        raise SubmissionError(
            "I05", f"Tệp {file_name} không phải bảng tính (.xlsx, .xls, .ods): {describe_non_spreadsheet(data)}; "
            "đề nghị đơn vị gửi lại phiếu đúng biểu mẫu, định dạng .xlsx."
        )  # fmt: skip
    zf, parts = _check_zip(data, file_name)
    return Package("zip", zf, parts)


def describe_non_spreadsheet(data: bytes) -> str:
    """What a file that is not a spreadsheet seems to be, in words, from its first bytes."""
    head = data[:4096]
    if not data.strip():
        return f"tệp chỉ chứa khoảng trắng ({len(data)} byte)"
    if head.startswith(b"%PDF"):
        return "đây là tệp PDF"
    if head.startswith(b"PK"):
        return "tệp nén không đầy đủ"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = head[2:].decode("utf-16-le" if head.startswith(b"\xff\xfe") else "utf-16-be", "replace")
        first = text.splitlines()[0] if text.splitlines() else ""
        return (
            f"đây là tệp văn bản Unicode UTF-16 (kiểu “Văn bản Unicode” của Excel; dòng đầu: “{_clip(first)}”), "
            "không phải bảng tính"
        )
    try:
        text = head.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        text = None if exc.start < len(head) - 4 else head[: exc.start].decode("utf-8-sig", "ignore")
    if text is not None and "\x00" not in text:
        low = text.lstrip().lower()
        if "urn:schemas-microsoft-com:office:spreadsheet" in low:
            return (
                "đây là bảng tính dạng “XML Spreadsheet 2003”, định dạng phần mềm không đọc; hãy mở bằng Excel và "
                "lưu thành .xlsx"
            )
        if low.startswith(("<html", "<!doctype html", "<table", "<?xml")) or "<table" in low:
            return "đây là tệp văn bản HTML/XML (có thể xuất từ phần mềm khác rồi đổi đuôi), không phải bảng tính"
        first = text.splitlines()[0] if text.splitlines() else ""
        if any(sep in first for sep in (",", ";", "\t")):
            return (
                f"đây là tệp văn bản CSV đã đổi đuôi thành .xlsx (dòng đầu: “{_clip(first)}”), không phải bảng tính"
            )
        return f"đây là tệp văn bản (bắt đầu bằng “{_clip(text.strip())}”), không phải bảng tính"
    return f"nội dung không nhận ra ({len(data)} byte, bắt đầu bằng {head[:8].hex(' ')})"


def _clip(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# Entity declarations (the "billion laughs") or a DTD with an internal subset; a bare DOCTYPE naming
# an external DTD (old OpenOffice manifests) is harmless: nothing here fetches or expands it.
_DTD = re.compile(
    rb"<!ENTITY|<!DOCTYPE[^>\[]{0,1024}\[|<\x00!\x00E\x00N\x00T\x00I\x00T\x00Y\x00"
    rb"|<\x00!\x00D\x00O\x00C\x00T\x00Y\x00P\x00E\x00"
)
# an element's namespace prefix, if any: an XML name, so "-", "." and non-ASCII letters too (not only \w)
_PREFIX = rb"(?:[^\s<>/:!?=\"']+:)?"
_CELL_REF = re.compile(rb"<" + _PREFIX + rb"c\b[^>]*?\sr=\"\$?([A-Za-z]{1,3})\$?([0-9]{1,9})\"")
_ROW_REF = re.compile(rb"<" + _PREFIX + rb"row\b[^>]*?\sr=\"([0-9]{1,9})\"")
# Every reference _CELL_REF or _ROW_REF can find beyond column Z or row 99,999 contains a match of
# this: two letters, or six significant digits, after r=" (the literal first, then the look-behind,
# so that the scan runs at the speed of a substring search).
_BIG_REF = re.compile(rb'r="(?<=\sr=")(?:\$?[A-Za-z](?:[A-Za-z]|\$?0*[1-9][0-9]{5})|0*[1-9][0-9]{5})')
_SMALL_EXTENT = 99_999 * 26  # the most cells a sheet without a match of _BIG_REF can span
_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")  # a zip part's local file header (zipfile.structFileHeader)


def _check_zip(data: bytes, file_name: str) -> tuple[zipfile.ZipFile, dict[str, bytes]]:
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as exc:
        raise SubmissionError(
            "I05", f"Tệp {file_name} ({len(data)} byte) là tệp nén .xlsx/.ods bị hỏng hoặc bị cắt cụt (gửi thư chưa "
            f"hết, tải về lỗi: {_short(exc)}); đề nghị đơn vị gửi lại phiếu."
        ) from None  # fmt: skip
    names = {i.filename for i in infos}
    if "xl/workbook.bin" in names:
        raise SubmissionError(
            "I05", f"Tệp {file_name} là bảng tính nhị phân .xlsb, định dạng không được nhận (chỉ .xlsx, .xls, .ods); "
            "đề nghị đơn vị mở bằng Excel, lưu thành .xlsx rồi gửi lại."
        )  # fmt: skip
    if "xl/workbook.xml" not in names and "content.xml" not in names:
        inner = ", ".join(sorted(names)[:5]) + (", …" if len(names) > 5 else "")
        kind = "văn bản Word (.docx)" if "word/document.xml" in names else "tệp nén (.zip)"
        raise SubmissionError(
            "I05", f"Tệp {file_name} không phải bảng tính mà là {kind} chứa: {inner}; đề nghị đơn vị gửi chính tệp "
            "phiếu .xlsx (không nén, không chép sang văn bản)."
        )  # fmt: skip
    if len(infos) > MAX_ZIP_ENTRIES:
        raise SubmissionError("I05", f"Tệp {file_name} có {len(infos)} phần nén (giới hạn {MAX_ZIP_ENTRIES}); tệp không được đọc.")
    declared = 0
    for info in infos:
        what = f"Tệp {file_name}: phần {info.filename}"
        if info.flag_bits & 0x1:
            raise SubmissionError("I05", _PASSWORD.format(file=file_name))
        if info.file_size > MAX_PART_BYTES:
            raise SubmissionError(
                "I05", f"{what} khai báo giải nén ra {info.file_size} byte (giới hạn {MAX_PART_BYTES}); tệp không "
                "được đọc (có thể là “bom nén”). Đề nghị đơn vị gửi lại đúng biểu mẫu."
            )  # fmt: skip
        if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise SubmissionError(
                "I05", f"{what} nén {info.compress_size} byte thành {info.file_size} byte (hơn {MAX_RATIO} lần); "
                "tệp không được đọc (có thể là “bom nén”). Đề nghị đơn vị gửi lại đúng biểu mẫu."
            )  # fmt: skip
        declared += info.file_size
    if declared > MAX_PACKAGE_BYTES:
        raise SubmissionError(
            "I05", f"Tệp {file_name}: các phần giải nén ra {declared} byte (giới hạn {MAX_PACKAGE_BYTES}); tệp không "
            "được đọc."
        )  # fmt: skip
    # Each part is inflated once, bounded by its declared size. A part that is certainly fine (size,
    # CRC, no DTD, a small cell extent) is kept when the uncached-formula check may read it; any other
    # goes through the chunked check, which refuses it with its exact message or lets it through.
    # A part found plain before, byte for byte (its local header, name, extra field and compressed
    # bytes, and the directory's record of it), is not inflated or checked again (_plain_parts_key).
    parts: dict[str, bytes] = {}
    for info in infos:
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
    return zf, parts


#: parts found plain (inflated, sized, CRC-checked, scanned), by :func:`_plain_parts_key` → their bytes
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


def _kept_part(name: str) -> bool:
    """A part :func:`uncached_formula_cells` reads: the workbook, its relationships, a worksheet."""
    return name in ("xl/workbook.xml", "xl/_rels/workbook.xml.rels") or _part_kind(name)[1]


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
    what = f"Tệp {file_name}: phần {name}"
    is_xml, is_sheet = _part_kind(name)
    total, tail, max_row, max_col = 0, b"", 0, 0
    try:
        with zf.open(info) as fh:
            while chunk := fh.read(_CHUNK):
                total += len(chunk)
                if total > MAX_PART_BYTES:
                    raise SubmissionError("I05", f"{what} giải nén ra hơn {MAX_PART_BYTES} byte; tệp không được đọc.")
                if not is_xml:
                    continue
                window = tail + chunk
                if _DTD.search(window):
                    raise SubmissionError("I05", _UNSAFE_XML.format(file=f"{file_name} (phần {name})"))
                if is_sheet:
                    # the largest reference of the chunk, compared as (length, text): one conversion each
                    refs = _CELL_REF.findall(window)
                    if refs:
                        max_col = max(max_col, _col_number(max((r[0].upper() for r in refs), key=_by_size)))
                        max_row = max(max_row, int(max((r[1].lstrip(b"0") or b"0" for r in refs), key=_by_size)))
                    rows = _ROW_REF.findall(window)
                    if rows:
                        max_row = max(max_row, int(max((r.lstrip(b"0") or b"0" for r in rows), key=_by_size)))
                    if max_row * max(max_col, 1) > MAX_SHEET_CELLS:
                        raise SubmissionError(
                            "I05", f"{what}: trang tính trải tới ô {cell_address(max_row - 1, max(max_col, 1) - 1)} "
                            f"(hơn {MAX_SHEET_CELLS} ô); tệp không được đọc. Đề nghị đơn vị xóa dữ liệu thừa ngoài "
                            "biểu mẫu rồi gửi lại."
                        )  # fmt: skip
                tail = window[-256:]
    except (zipfile.BadZipFile, EOFError, OSError, zlib.error, NotImplementedError, RuntimeError) as exc:
        raise SubmissionError(
            "I05", f"{what} không giải nén được hoặc sai kích thước đã khai báo ({_short(exc)}); tệp hỏng hoặc đã bị "
            "sửa, không được đọc. Đề nghị đơn vị gửi lại phiếu."
        ) from None  # fmt: skip
    if name in ("META-INF/manifest.xml", "content.xml"):
        _check_part_content(name, zf.read(info), file_name)


def _check_part_content(name: str, body: bytes, file_name: str) -> None:
    """The checks that need a whole part: an encrypted OpenDocument, an OpenDocument's cell extent."""
    what = f"Tệp {file_name}: phần {name}"
    if name == "META-INF/manifest.xml" and b"encryption-data" in body:
        raise SubmissionError("I05", _PASSWORD.format(file=file_name))
    if name == "content.xml":  # OpenDocument: repeated cells are expanded by the reader
        rows, cols, table = ods_extent(body)
        if rows * cols > MAX_SHEET_CELLS:
            raise SubmissionError(
                "I05", f"{what}: trang “{table}” trải tới ô {cell_address(rows - 1, cols - 1)} (hơn {MAX_SHEET_CELLS} "
                "ô có dữ liệu, kể cả ô lặp lại); tệp không được đọc. Đề nghị đơn vị xóa dữ liệu thừa ngoài biểu mẫu."
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


def find_sheet_name(wb: CalamineWorkbook, wanted: str) -> str | None:
    """The workbook's own name of a sheet, matched loosely (NFC/NFD, case, spaces)."""
    for name in wb.sheet_names:
        if _key(name) == _key(wanted):
            return name
    return None


def read_sheet_rows(wb: CalamineWorkbook, sheet_name: str, nrows: int | None = None) -> list[list]:
    """Every row from A1 (empty cells as ``""``), so that indexes are cell addresses.

    ``nrows`` (default :data:`MAX_READ_ROWS`) caps how many rows are turned into Python objects.
    """
    return wb.get_sheet_by_name(sheet_name).to_python(skip_empty_area=False, nrows=nrows or MAX_READ_ROWS)


def read_meta(wb: CalamineWorkbook) -> dict[str, str] | None:
    name = find_sheet_name(wb, SHEET_META)
    if name is None:
        return None
    meta = {}
    for row in read_sheet_rows(wb, name):
        if len(row) >= 2 and str(row[0]).strip():
            meta[_normal_text(str(row[0]))] = _normal_text(row[1])
    return meta


def _normal_text(cell) -> str:
    """``normalize_text(raw_text(cell))``; short text (keys, versions, groups repeat) is normalised once."""
    if type(cell) is str and len(cell) <= _KEY_MAX_CHARS:
        text = _NORMAL.get(cell)
        if text is None:
            if len(_NORMAL) >= _KEYS_MAX:
                _NORMAL.clear()
            text = _NORMAL[cell] = normalize_text(raw_text(cell))
        return text
    return normalize_text(raw_text(cell))


_NORMAL: dict[str, str] = {}  # text → _normal_text(text) (emptied when full)


def check_meta(meta: dict[str, str] | None, *, file_name, rubric, cycle: Cycle, agency_id: str, group: str) -> None:
    """Raise :class:`SubmissionError` (I07 wrong template/form, I08 wrong agency/year)."""
    fix = "đề nghị đơn vị dùng biểu mẫu do Sở Thông tin và Truyền thông gửi cho năm này"
    if meta is None:
        raise SubmissionError("I07", f"Tệp {file_name} không có trang “{SHEET_META}”: không phải biểu mẫu của đợt đánh giá; {fix}.")
    version = meta.get("template_version", "")
    if version not in SUPPORTED_TEMPLATE_VERSIONS:
        raise SubmissionError(
            "I07", f"Tệp {file_name}: phiên bản biểu mẫu “{version}” không được hỗ trợ; {fix}.", SHEET_META
        )
    if meta.get("rubric", "") != rubric.id:
        raise SubmissionError(
            "I07",
            f"Tệp {file_name}: biểu mẫu theo bộ tiêu chí “{meta.get('rubric', '')}”, không phải “{rubric.id}”; {fix}.",
            SHEET_META,
        )
    expected_form = rubric.form_of(group)
    if meta.get("form", "") != expected_form:
        raise SubmissionError(
            "I07",
            f"Tệp {file_name}: là phiếu {meta.get('form', '?')}, nhưng đơn vị thuộc khối {group} dùng phiếu "
            f"{expected_form}; {fix}.",
            SHEET_META,
        )
    if meta.get("agency_id", "") != agency_id:
        raise SubmissionError(
            "I08",
            f"Tệp {file_name}: phiếu của đơn vị “{meta.get('agency_id', '')}” "
            f"({meta.get('agency_name', '')}), không phải của “{agency_id}” như sổ tiếp nhận ghi; "
            "kiểm tra lại tệp đã nhận.",
            SHEET_META,
        )
    if meta.get("year", "") != str(cycle.year):
        raise SubmissionError(
            "I08",
            f"Tệp {file_name}: phiếu năm {meta.get('year', '?')}, không phải năm {cycle.year}; {fix}.",
            SHEET_META,
        )


def locate_header(rows: Sequence[Sequence], file_name: str, sheet: str) -> tuple[int, int, int]:
    """(header row, code column, value column) of the row holding ``Mã`` and ``Giá trị``.

    Tolerates what people add to a header (``Mã số``, ``Giá trị (năm 2017)``).
    """
    for r, row in enumerate(rows):
        keys = [_key(c) if isinstance(c, str) else "" for c in row]
        code_cols = [i for i, k in enumerate(keys) if k == "mã" or k.startswith("mã ")]
        value_cols = [i for i, k in enumerate(keys) if k.startswith("giá trị")]
        if code_cols and value_cols:
            return r, code_cols[0], value_cols[0]
    raise SubmissionError(
        "I06",
        f"Tệp {file_name}, trang “{sheet}”: không tìm thấy dòng tiêu đề có cột “Mã” và “Giá trị”; "
        "đề nghị đơn vị dùng đúng biểu mẫu, không sửa dòng tiêu đề.",
        sheet,
    )


def uncached_formula_cells(
    data: bytes, sheet_name: str, file_name: str = "", *, package: Package | None = None
) -> set[str]:
    """Cells of an ``.xlsx`` sheet holding a formula without a cached value (empty for non-xlsx).

    python-calamine shows such a cell as empty; only the sheet XML tells a formula from a blank.
    XML is parsed with defusedxml (no entity expansion); oversize parts are refused. ``package``
    (from :func:`inspect_package` on the same bytes) gives the parts already inflated by the checks;
    a sheet whose every formula visibly has a value is not parsed (:func:`_formulas_all_cached`).
    """
    if not data.startswith(b"PK"):
        return set()
    parts = package.parts if package is not None else {}
    try:
        zf = package.zip if package is not None and package.zip is not None else zipfile.ZipFile(io.BytesIO(data))
        if "xl/workbook.xml" not in zf.NameToInfo:
            return set()
        sheets = _workbook_sheets(_read_part(zf, "xl/workbook.xml", file_name, parts))
        if sheets is None:
            return set()
        targets = _relationship_targets(_read_part(zf, "xl/_rels/workbook.xml.rels", file_name, parts))
        if targets is None:
            return set()
    except DefusedXmlException:
        raise SubmissionError("I05", _UNSAFE_XML.format(file=file_name)) from None
    except (zipfile.BadZipFile, KeyError, SafeET.ParseError):
        return set()
    part = None
    for name, rel_id in sheets:
        if _key(name) == _key(sheet_name):
            target = targets.get(rel_id, "")
            part = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
            break
    if part is None:
        return set()
    try:
        sheet_bytes = _read_part(zf, part, file_name, parts)
        if not _has_formula_tag(sheet_bytes) and not _has_markup_declaration(sheet_bytes):  # no tree needed
            return set()
        if _formulas_all_cached(sheet_bytes):
            return set()
        return _uncached_in_tree(sheet_bytes)
    except DefusedXmlException:
        raise SubmissionError("I05", _UNSAFE_XML.format(file=file_name)) from None
    except (zipfile.BadZipFile, KeyError, SafeET.ParseError):
        return set()


def _uncached_in_tree(sheet_bytes: bytes) -> set[str]:
    """Cells of a sheet's XML (parsed with defusedxml) with an ``f`` and no ``v`` with text, nor ``is``."""
    sheet_xml = SafeET.fromstring(sheet_bytes)
    out: set[str] = set()
    for cell in sheet_xml.iter(f"{_NS_MAIN}c"):
        if cell.find(f"{_NS_MAIN}f") is None:
            continue
        v = cell.find(f"{_NS_MAIN}v")
        is_ = cell.find(f"{_NS_MAIN}is")
        if (v is None or v.text is None or v.text == "") and is_ is None:
            out.add(cell.get("r", ""))
    return out


# Forms of one template share their workbook.xml and its relationships byte for byte: each distinct
# document is parsed once per process (small ones only: a cache of large crafted ones would hold
# their bytes). A document that does not parse gives None; one defusedxml refuses raises each time
# (exceptions are not cached).
_CACHED_XML_BYTES = 64 * 1024


def _workbook_sheets(workbook_xml: bytes) -> tuple[tuple[str | None, str | None], ...] | None:
    """(name, relationship id) of every sheet of ``xl/workbook.xml``, in order; None when not XML."""
    if len(workbook_xml) <= _CACHED_XML_BYTES:
        return _workbook_sheets_cached(workbook_xml)
    return _workbook_sheets_cached.__wrapped__(workbook_xml)


@lru_cache(maxsize=256)
def _workbook_sheets_cached(workbook_xml: bytes) -> tuple[tuple[str | None, str | None], ...] | None:
    try:
        workbook = SafeET.fromstring(workbook_xml)
    except SafeET.ParseError:
        return None
    return tuple((sheet.get("name"), sheet.get(f"{_NS_REL}id")) for sheet in workbook.iter(f"{_NS_MAIN}sheet"))


def _relationship_targets(rels_xml: bytes) -> Mapping[str | None, str] | None:
    """Relationship id → target in ``xl/_rels/workbook.xml.rels`` (the last of a repeated id); None when not XML."""
    if len(rels_xml) <= _CACHED_XML_BYTES:
        return _relationship_targets_cached(rels_xml)
    return _relationship_targets_cached.__wrapped__(rels_xml)


@lru_cache(maxsize=256)
def _relationship_targets_cached(rels_xml: bytes) -> Mapping[str | None, str] | None:
    try:
        rels = SafeET.fromstring(rels_xml)
    except SafeET.ParseError:
        return None
    return MappingProxyType({rel.get("Id"): rel.get("Target", "") for rel in rels.iter(f"{_NS_PKG_REL}Relationship")})


_FORMULA_TAG = re.compile(rb"<" + _PREFIX + rb"f[\s>/]")
_F_THEN_END = re.compile(rb"f[\s>/]")  # in every match of _FORMULA_TAG; a scan for a literal first byte
# An <f> (plain or self-closing, text only) that is the first child of a <c>, followed by a <v> with
# text: the shape Excel and LibreOffice write for a formula with its cached value.
_CACHED_FORMULA = re.compile(rb"<c(?:\s[^<>]*)?(?<!/)>\s*<f(?:\s[^<>]*)?(?:/>|(?<!/)>[^<]*</f\s*>)\s*<v>[^<]+</v\s*>")
_PLAIN_F = re.compile(rb"<f[\s/>]")
_PREFIXED_F = re.compile(rb"<[^\s<>/]*:f[\s/>]")


def _has_formula_tag(sheet_xml: bytes) -> bool:
    """Whether :data:`_FORMULA_TAG` matches (a sheet's other ``<`` make it the slower scan)."""
    return _F_THEN_END.search(sheet_xml) is not None and _FORMULA_TAG.search(sheet_xml) is not None


def _has_markup_declaration(xml: bytes) -> bool:
    """Whether ``<!`` (DTD, comment, CDATA) occurs; most parts have no ``!`` at all."""
    return b"!" in xml and b"<!" in xml


def _formulas_all_cached(sheet_xml: bytes) -> bool:
    """True when every formula of the sheet certainly has a cached value (no tree needed).

    Only for a sheet without ``<!`` (comment, CDATA, DTD), processing instruction other than the XML
    declaration, NUL byte (UTF-16) or prefixed ``f`` element: there every ``<`` starts a tag and every
    ``f`` element starts with ``<f``. When each ``<f`` lies in a match of :data:`_CACHED_FORMULA`,
    every ``f`` is the first child of a ``c`` whose second child is a ``v`` with text and no
    attribute (so in the cell's namespace): the tree would find no cell (a document that is not
    well-formed gives none either). False means only: parse the sheet.
    """
    if b"<!" in sheet_xml or b"\x00" in sheet_xml or _PREFIXED_F.search(sheet_xml):
        return False
    declaration = sheet_xml.find(b"<?")  # only an XML declaration, at the start (after a byte order mark)
    if declaration != -1 and (
        not sheet_xml.startswith(b"<?xml ", declaration)
        or sheet_xml[:declaration] not in (b"", b"\xef\xbb\xbf")
        or sheet_xml.find(b"<?", declaration + 2) != -1
    ):
        return False
    return len(_CACHED_FORMULA.findall(sheet_xml)) == len(_PLAIN_F.findall(sheet_xml))


def _read_part(zf: zipfile.ZipFile, name: str, file_name: str = "", parts: dict[str, bytes] | None = None) -> bytes:
    """A part's bytes (from ``parts`` when the package check kept them); KeyError when absent."""
    info = zf.getinfo(name)
    if info.file_size > MAX_XML_BYTES:
        raise SubmissionError(
            "I05", f"Tệp {file_name}: phần {name} quá lớn ({info.file_size} byte); tệp không được đọc."
        )
    if parts and name in parts:
        return parts[name]
    return zf.read(name)


def read_submission(
    data: bytes,
    *,
    file_name: str,
    sha256: str,
    rubric,
    cycle: Cycle,
    agency_id: str,
    group: str,
) -> Submission:
    """Read one agency's workbook bytes. File-level problems raise :class:`SubmissionError`."""
    wb, package = _open_checked(data, file_name)
    sheet = find_sheet_name(wb, SHEET_DATA)
    if sheet is None:
        found = ", ".join(f"“{normalize_text(n)}”" for n in wb.sheet_names)
        hint = _legacy_hint(wb.sheet_names)
        raise SubmissionError(
            "I06",
            f"Tệp {file_name} không có trang “{SHEET_DATA}” (các trang: {found}); không đổi tên, xóa trang.{hint}",
        )
    check_meta(read_meta(wb), file_name=file_name, rubric=rubric, cycle=cycle, agency_id=agency_id, group=group)
    try:
        data_sheet = wb.get_sheet_by_name(sheet)
        rows = data_sheet.to_python(skip_empty_area=False, nrows=MAX_READ_ROWS)
        merged = data_sheet.merged_cell_ranges or []
        total_rows = data_sheet.start[0] + data_sheet.height if data_sheet.height else len(rows)
    except Exception as exc:
        raise SubmissionError(
            "I05", f"Tệp {file_name}: không đọc được trang “{SHEET_DATA}” ({_short(exc)}).", sheet
        ) from None
    try:
        header_row, code_col, value_col = locate_header(rows, file_name, sheet)
    except SubmissionError as exc:
        hint = _legacy_hint(str(c) for row in rows[:30] for c in row[:10] if isinstance(c, str))
        raise SubmissionError(exc.code, exc.message_vi + hint, exc.sheet) from None
    uncached = uncached_formula_cells(data, sheet, file_name, package=package)
    fields = _form_fields(rubric, group)
    sub = extract_values(
        rows,
        header_row=header_row,
        code_col=code_col,
        value_col=value_col,
        fields=fields,
        uncached=uncached,
        agency_id=agency_id,
        file_name=file_name,
        sha256=sha256,
        sheet=unicodedata.normalize("NFC", sheet),
        merged=merged,
    )
    if total_rows > MANY_ROWS:
        unread = (
            f"; từ dòng {MAX_READ_ROWS + 1} trở đi không được đọc (một phiếu chỉ khoảng {len(fields) + 5} dòng)"
            if total_rows > MAX_READ_ROWS else ""
        )
        sub.problems.append(
            _problem(agency_id, file_name, "I04", "W",
                     f"Tệp {file_name}, trang “{SHEET_DATA}” có {total_rows} dòng, trong khi phiếu chỉ có "
                     f"{len(fields)} dòng chỉ tiêu; chỉ đọc các dòng có mã chỉ tiêu ở cột “Mã”, các dòng khác bị bỏ "
                     f"qua{unread}. Đề nghị đơn vị xóa dữ liệu thừa ngoài biểu mẫu.",
                     unicodedata.normalize("NFC", sheet),
                     f"A{header_row + len(fields) + 2}:{cell_address(total_rows - 1, value_col)}")
        )  # fmt: skip
    return sub


_FORM_FIELDS: dict[tuple[int, str], tuple] = {}  # (id(rubric), group) → (rubric, its form's fields)
_BY_CODE: list = [None, {}]  # the last fields tuple given to _fields_by_code, and its mapping


def _form_fields(rubric, group: str) -> tuple:
    """``rubric.fields_for_form(rubric.form_of(group))``, the same tuple for every file of the group
    (the rubric is held with it, so that its id is not reused while the entry exists)."""
    hit = _FORM_FIELDS.get((id(rubric), group))
    if hit is None or hit[0] is not rubric:
        if len(_FORM_FIELDS) >= 64:
            _FORM_FIELDS.clear()
        hit = _FORM_FIELDS[(id(rubric), group)] = (rubric, rubric.fields_for_form(rubric.form_of(group)))
    return hit[1]


def _fields_by_code(fields) -> dict:
    """Case-folded code → field, built once for a run of files with the same fields tuple."""
    if type(fields) is not tuple:  # a list may change between calls
        return {f.code.casefold(): f for f in fields}
    if _BY_CODE[0] is not fields:
        _BY_CODE[:] = [fields, {f.code.casefold(): f for f in fields}]
    return _BY_CODE[1]


def _legacy_hint(texts) -> str:
    """A sentence naming a legacy-font text among ``texts`` (sheet names, header cells), or ``""``."""
    for text in texts:
        if (encoding := legacy_font(str(text))) is not None:
            return (
                f" Có chữ được gõ bằng bảng mã cũ {encoding} (“{_clip(str(text))}”): hãy dùng biểu mẫu gốc và gõ "
                "bằng bảng mã Unicode."
            )
    return ""


_ONE_ROW_PATH = True  # a field found on one row skips the general loop (tests compare both)


def extract_values(
    rows, *, header_row, code_col, value_col, fields, uncached, agency_id, file_name, sha256, sheet, merged=()
) -> Submission:
    """One value row per field of the form (in form order), found by the code in the code column.

    ``merged``: the sheet's merged ranges, ``((first_row, first_col), (last_row, last_col))`` 0-based;
    a field whose value cell lies in a range that spans several rows, or that starts left of the
    value column, is a problem (I14) and its value is not used.
    """
    by_code = _fields_by_code(fields)
    at = f"Tệp {file_name}, trang “{sheet}”"  # every message says where (STYLE 9)
    found: dict[str, list[tuple[int, object]]] = {}
    problems: list[dict] = []
    for r in range(header_row + 1, len(rows)):
        row = rows[r]
        code_cell = row[code_col] if code_col < len(row) else ""
        if type(code_cell) is str and code_cell.isascii() and code_cell.isalnum():
            code = code_cell  # what normalize_text(raw_text(...)) gives for letters and digits only
        else:
            code = normalize_text(raw_text(code_cell)) if code_cell not in (None, "") else ""
        if not code:
            continue
        spec = by_code.get(code.casefold())
        if spec is None:
            if _FIELD_LIKE.match(code):
                problems.append(
                    _problem(agency_id, file_name, "I04", "W",
                             f"{at}, ô {cell_address(r, code_col)}: dòng có mã “{code}” không thuộc phiếu này; giá trị của dòng "
                             "không được dùng.",
                             sheet, cell_address(r, code_col), code, raw_text(row[value_col] if value_col < len(row) else ""))
                )
            continue
        raw = row[value_col] if value_col < len(row) else None
        found.setdefault(spec.code, []).append((r, None if raw == "" else raw))

    merged_at = _merged_value_cells(merged, value_col)
    code_at = {r: spec_code for spec_code, hits in found.items() for r, _ in hits}
    column = cell_address(0, value_col)[:-1]  # the value column's letters: cell_address(r, value_col) == column + row
    values: list[dict] = []
    for spec in fields:
        hits = found.get(spec.code)
        if _ONE_ROW_PATH and hits is not None and len(hits) == 1:  # the usual field: the loop below, shortened
            r, raw = hits[0]
            cell = f"{column}{r + 1}"
            if r not in merged_at and (raw is not None or cell not in uncached):
                shown, value, problem, problem_code = read_cell(raw, spec.type, spec.unit_vi)
                if problem is not None:
                    problems.append(
                        _problem(agency_id, file_name, problem_code, "E", f"{at}, ô {cell} ({spec.code}): {problem}",
                                 sheet, cell, spec.code, shown)
                    )  # fmt: skip
                values.append((agency_id, spec.code, shown, float(value), file_name, sha256, sheet, cell, ""))
                continue
        if not hits:
            problems.append(
                _problem(agency_id, file_name, "I04", "E",
                         f"{at}: không tìm thấy dòng có mã {spec.code} ({spec.label_vi}) trong cột “Mã”; "
                         "đề nghị đơn vị không xóa hoặc sửa mã các dòng.", sheet, "", spec.code)
            )
            values.append(_value_row(agency_id, spec.code, "", math.nan, file_name, sha256, sheet, ""))
            continue
        readings = []
        for r, raw in hits:
            cell = f"{column}{r + 1}"
            if raw is None and cell in uncached:
                problems.append(
                    _problem(agency_id, file_name, "I02", "E",
                             f"{at}, ô {cell} ({spec.code}): chứa công thức nhưng không có giá trị đã tính; "
                             "đề nghị đơn vị nhập số trực tiếp hoặc mở tệp bằng Excel, lưu lại rồi gửi.",
                             sheet, cell, spec.code, "")
                )
                readings.append((cell, "", math.nan, False))
                continue
            if r in merged_at:
                (r0, c0), (r1, c1) = merged_at[r]
                span = f"{cell_address(r0, c0)}:{cell_address(r1, c1)}"
                anchor = rows[r0][c0] if r0 < len(rows) and c0 < len(rows[r0]) else None
                covered = ", ".join(code_at.get(i, "?") for i in range(r0, r1 + 1) if i in code_at)
                shown = raw_text(raw) if raw is not None else ""
                problems.append(
                    _problem(agency_id, file_name, "I14", "E",
                             f"{at}, ô {cell} ({spec.code}): nằm trong vùng ô gộp {span} (chỉ tiêu {covered}) có giá trị "
                             f"“{raw_text(anchor)}” ở ô {cell_address(r0, c0)}; không rõ giá trị thuộc chỉ tiêu nào "
                             "nên không dùng. Đề nghị đơn vị bỏ gộp ô và nhập riêng giá trị của từng chỉ tiêu.",
                             sheet, cell, spec.code, shown)
                )  # fmt: skip
                readings.append((cell, shown, math.nan, False))
                continue
            shown, value, problem, problem_code = read_cell(raw, spec.type, spec.unit_vi)
            if problem is not None:
                problems.append(
                    _problem(agency_id, file_name, problem_code, "E", f"{at}, ô {cell} ({spec.code}): {problem}",
                             sheet, cell, spec.code, shown)
                )
            readings.append((cell, shown, value, problem is None))
        cell, shown, value, _ok = readings[0]
        if len(readings) > 1:
            cells = ", ".join(c for c, *_ in readings)
            distinct = {("nan" if math.isnan(v) else v) for _, _, v, _ in readings}
            if len(distinct) == 1:
                problems.append(
                    _problem(agency_id, file_name, "I03", "W",
                             f"{at}: mã {spec.code} xuất hiện ở nhiều dòng ({cells}) với cùng giá trị “{shown}”; dùng ô {cell}.",
                             sheet, cell, spec.code, shown)
                )
            else:
                shown_all = "; ".join(f"{c}: “{s}”" for c, s, *_ in readings)
                problems.append(
                    _problem(agency_id, file_name, "I03", "E",
                             f"{at}: mã {spec.code} xuất hiện ở nhiều dòng với giá trị khác nhau ({shown_all}); "
                             "không tự chọn giá trị nào, đề nghị đơn vị xác nhận.",
                             sheet, cells, spec.code, shown)
                )
                value = math.nan
        values.append(_value_row(agency_id, spec.code, shown, value, file_name, sha256, sheet, cell))
    return Submission(values, problems)


#: (type, raw, field type, unit) → what :func:`read_cell` gave: most cells of a cycle repeat a value
_CELL_READINGS: dict[tuple, tuple[str, float, str | None, str | None]] = {}
_CELL_READINGS_MAX = 100_000  # entries kept at most (the cache is emptied when full)
_CELL_KEY_MAX_CHARS = 256  # longer text is read each time (a cache of pages of text would hold them)


def read_cell(raw, field_type: str, unit: str | None) -> tuple[str, float, str | None, str | None]:
    """``(shown, value, problem, code)`` of one value cell: :func:`raw_text`, :func:`parse_value`'s value
    (NaN when blank or a problem), its problem and the problem's code (``I13`` legacy font, else ``I01``).

    Each distinct raw value of each field type and unit is parsed once per process. The key holds the
    value's type (``1``, ``1.0`` and ``True`` are equal but read differently); a float zero (``-0.0``
    equals ``0.0``) or NaN, long text and anything unhashable are read each time.
    """
    kind = type(raw)
    if (kind is float and (raw == 0.0 or raw != raw)) or (kind is str and len(raw) > _CELL_KEY_MAX_CHARS):
        return _read_cell(raw, field_type, unit)
    key = (kind, raw, field_type, unit)
    try:
        hit = _CELL_READINGS.get(key)
    except TypeError:  # unhashable
        return _read_cell(raw, field_type, unit)
    if hit is None:
        if len(_CELL_READINGS) >= _CELL_READINGS_MAX:
            _CELL_READINGS.clear()
        hit = _CELL_READINGS[key] = _read_cell(raw, field_type, unit)
    return hit


def _read_cell(raw, field_type: str, unit: str | None) -> tuple[str, float, str | None, str | None]:
    """:func:`read_cell` without the cache."""
    parsed = parse_value(raw, field_type, unit)
    value = math.nan if parsed.value is None else parsed.value
    code = None if parsed.problem is None else ("I13" if parsed.legacy_font else "I01")
    return raw_text(raw), value, parsed.problem, code


def _merged_value_cells(merged, value_col: int) -> dict[int, tuple]:
    """Row → merged range, for value-column cells of a range spanning rows or starting left of it."""
    out: dict[int, tuple] = {}
    for (r0, c0), (r1, c1) in merged or ():
        if not (c0 <= value_col <= c1):
            continue
        if r1 > r0 or c0 < value_col:
            for r in range(r0, r1 + 1):
                out[r] = ((r0, c0), (r1, c1))
    return out


def _value_row(agency_id, field, raw_value, value, file_name, sha256, sheet, cell) -> tuple:
    """One row of ``values``, its cells in :data:`VALUE_COLUMNS` order."""
    return (agency_id, field, raw_value, float(value), file_name, sha256, sheet, cell, "")


# -- the whole cycle ---------------------------------------------------------------------------


def intake_cycle(cycle: Cycle, rubric) -> IntakeResult:
    """Statuses, values and problems of every roster agency; one bad file never stops the others.

    Each file of ``submissions/`` is opened once: a file a receipt names is hashed from the bytes it
    is read from (what is parsed is what is recorded), any other file is only hashed.
    """
    on_disk = list_submissions(cycle.submissions_dir)
    receipts = cycle.receipts
    roster_ids = set(cycle.agencies["agency_id"])
    problems: list[dict] = []
    values: list[list] = [[] for _ in VALUE_COLUMNS]  # the values frame's columns
    statuses: list[dict] = []

    disk_index = DiskIndex.of(on_disk)
    receipts_of = _receipts_by_agency(receipts)
    agencies = list(cycle.agencies.sort_values("agency_id").itertuples(index=False))
    mines = [receipts_of(agency.agency_id) for agency in agencies]
    # every file that is read (ranked, late or excluded: their numbers are shown), read first, in order
    found = {i: find_submission(disk_index, mine[0]["file"]) for i, mine in enumerate(mines) if len(mine) == 1}
    to_read = [i for i, (entry, _) in found.items() if entry is not None and entry.kind == "file" and not entry.error]
    jobs, slot = _jobs_by_file([(found[i][0], agencies[i].agency_id, agencies[i].group) for i in to_read])
    read = {id(job.entry) for job in jobs}
    # the files not read are only hashed (one over the size limit too, in chunks); not one whose
    # listing failed
    on_disk = [
        _hash_on_disk(e.path) if e.kind == "file" and id(e) not in read and (not e.error or e.size > MAX_FILE_BYTES)
        else e
        for e in on_disk
    ]  # fmt: skip

    receipted = set(receipts["file"])  # NFC (the cycle reader normalises every cell)
    owner = {}
    for row in receipts.itertuples(index=False):
        owner.setdefault(row.file, row.agency_id)
        if row.agency_id not in roster_ids:
            problems.append(
                _problem(row.agency_id, row.file, "I12", "E",
                         f"Sổ tiếp nhận có tệp {row.file} của đơn vị “{row.agency_id}” không có trong danh sách "
                         "đơn vị (agencies.csv); tệp không được đọc. Sửa mã đơn vị trong receipts.csv.")
            )
    for entry in on_disk:
        if entry.key in receipted:
            continue
        if entry.kind == "symlink":
            problems.append(_problem("", entry.name, "I15", "W", entry.error))
        elif entry.kind == "file":
            problems.append(
                _problem("", entry.name, "I11", "W",
                         f"Tệp {entry.name} có trong thư mục submissions nhưng không có trong sổ tiếp nhận "
                         "(receipts.csv); tệp không được đọc. Ghi vào sổ tiếp nhận nếu đây là phiếu đã nhận.")
            )
            if entry.error:
                problems.append(_problem("", entry.name, "I05", "E", entry.error))

    reads = read_submissions(jobs, cycle, rubric)
    outcomes = {i: reads[k].results[j] for i, (k, j) in zip(to_read, slot, strict=True)}
    unopened = {i for i, (k, _j) in zip(to_read, slot, strict=True) if not reads[k].opened}
    read_as = {job.entry.name: (r.sha256, r.size) for job, r in zip(jobs, reads, strict=True)}
    for i, (agency, mine) in enumerate(zip(agencies, mines, strict=True)):
        status, reason = _status_before_reading(agency, mine, cycle)
        for row in mine:
            if not pd.isna(row["received_on"]):
                continue
            problems.append(
                _problem(agency.agency_id, row["file"], "I16", "E",
                         f"Sổ tiếp nhận: ngày nhận “{row.get('received_on_text', '')}” của tệp {row['file']} không "
                         "phải ngày dạng YYYY-MM-DD; không xét được hạn nộp. Sửa receipts.csv.")
            )  # fmt: skip
        readable = None
        if len(mine) > 1:
            files = ", ".join(r["file"] for r in mine)
            problems.append(
                _problem(agency.agency_id, files, "I09", "E",
                         f"Sổ tiếp nhận có {len(mine)} phiếu của đơn vị ({files}); mỗi đơn vị chỉ được chấp nhận "
                         "một phiếu. Giữ một dòng trong receipts.csv hoặc ghi rõ phiếu thay thế.")
            )
        elif len(mine) == 1:
            file_name = mine[0]["file"]
            entry, missing = found[i]
            if i not in outcomes:
                code = "I10" if entry is None else ("I05" if entry.kind == "file" else "I15")
                problems.append(_problem(agency.agency_id, file_name, code, "E", missing))
                readable = SubmissionError(code, missing)
            elif isinstance(outcome := outcomes[i], SubmissionError):
                shown = file_name if i in unopened else entry.name  # as when listing found the problem
                problems.append(
                    _problem(agency.agency_id, shown, outcome.code, "E", outcome.message_vi, outcome.sheet)
                )
                readable = outcome
            else:
                _add_rows(values, outcome.values)
                problems.extend(outcome.problems)
                readable = outcome
        if status is None:
            if isinstance(readable, SubmissionError):
                status, reason = "invalid", f"Phiếu không hợp lệ: {readable.message_vi}"
            else:
                row = mine[0]
                status = "ranked"
                reason = f"Phiếu {row['file']} nhận ngày {fmt_date(row['received_on'])}, trong hạn."
        statuses.append(
            {"agency_id": agency.agency_id, "agency_name": agency.name, "group": agency.group,
             "status": status, "status_reason": reason}
        )

    files = pd.DataFrame(
        [{"file": e.name, "agency_id": owner.get(e.key, ""), "sha256": sha256, "bytes": size}
         for e in on_disk if e.kind == "file" for sha256, size in [read_as.get(e.name, (e.sha256, e.size))]],
        columns=list(FILE_COLUMNS),
    )  # fmt: skip
    return IntakeResult(
        statuses=pd.DataFrame(statuses, columns=list(STATUS_COLUMNS)),
        values=_values_frame(values),
        problems=_problems_frame(problems),
        files=files,
    )


@dataclass(frozen=True)
class ReadJob:
    """One file to read: its entry in ``submissions/`` and the agencies (id, group) whose receipts
    name it: one, unless several receipts name the same file (each is read from the same bytes)."""

    entry: OnDisk
    readers: tuple[tuple[str, str], ...]


class ReadOutcome(NamedTuple):
    """What reading one file gave each of its readers, and the sha256 and size of the bytes read
    (``opened`` False, "" and 0 when it could not be read: ``results`` then holds that error)."""

    opened: bool
    sha256: str
    size: int
    results: tuple[Submission | SubmissionError, ...]


def _jobs_by_file(reads: list[tuple[OnDisk, str, str]]) -> tuple[list[ReadJob], list[tuple[int, int]]]:
    """One job per distinct file of ``reads`` (entry, agency_id, group), in order of first mention,
    and where each read's outcome will be: (job, reader)."""
    at: dict[int, int] = {}
    entries: list[OnDisk] = []
    readers: list[list[tuple[str, str]]] = []
    slot = []
    for entry, agency_id, group in reads:
        k = at.setdefault(id(entry), len(entries))
        if k == len(entries):
            entries.append(entry)
            readers.append([])
        slot.append((k, len(readers[k])))
        readers[k].append((agency_id, group))
    return [ReadJob(e, tuple(r)) for e, r in zip(entries, readers, strict=True)], slot


def read_job(job: ReadJob, cycle: Cycle, rubric) -> ReadOutcome:
    """:func:`read_submission` of the job's file for each of its readers, the file opened once and
    hashed from the bytes read; a file that cannot be used gives its error (never raises)."""
    try:
        data = read_on_disk(job.entry)
    except SubmissionError as exc:
        return ReadOutcome(False, "", 0, (exc,) * len(job.readers))
    sha256 = sha256_bytes(data)
    results = tuple(_parse_job(job.entry, a, g, data, sha256, cycle, rubric) for a, g in job.readers)
    return ReadOutcome(True, sha256, len(data), results)


def _parse_job(
    entry: OnDisk, agency_id: str, group: str, data: bytes, sha256: str, cycle: Cycle, rubric
) -> Submission | SubmissionError:
    try:
        return read_submission(
            data,
            file_name=entry.name,
            sha256=sha256,
            rubric=rubric,
            cycle=cycle,
            agency_id=agency_id,
            group=group,
        )
    except SubmissionError as exc:
        return exc
    except Exception as exc:  # one bad file never stops the others
        return SubmissionError(
            "I05", f"Tệp {entry.name}: lỗi không lường trước khi đọc ({type(exc).__name__}: {_short(exc)})."
        )


#: from this many files on, a forked copy of this process reads part of them (each file is read alone)
PARALLEL_MIN_FILES = 400
_FILES_PER_TASK = 32

def read_submissions(jobs: Sequence[ReadJob], cycle: Cycle, rubric) -> list[ReadOutcome]:
    """:func:`read_job` of every job, in order; a national cycle's files are read by two processes.

    Files are independent: a forked copy of this process is given tasks of :data:`_FILES_PER_TASK`
    files from the end of the list (never more than two waiting) while this one reads tasks from the
    start, until they meet, so a busy core gets less work. Outcomes are put back in the jobs' order:
    the result is the one of reading the files one after the other. Tasks of a worker that died are
    read here.
    """
    from concurrent.futures.process import BrokenProcessPool

    from ictaudit.common.forked import can_fork, forked_worker

    if len(jobs) < PARALLEL_MIN_FILES or not can_fork():
        return [read_job(job, cycle, rubric) for job in jobs]
    tasks = [range(lo, min(lo + _FILES_PER_TASK, len(jobs))) for lo in range(0, len(jobs), _FILES_PER_TASK)]
    done: dict[int, list] = {}
    given: dict = {}  # task → the worker's future
    front, back = 0, len(tasks) - 1  # the next task this process reads, the next one the worker is given
    with forked_worker((jobs, cycle, rubric)) as pool:
        waiting: list = []
        broken = False
        while front <= back:
            waiting = [f for f in waiting if not f.done()]
            try:
                while not broken and len(waiting) < 2 and front < back:
                    given[back] = pool.submit(_forked_read, tasks[back].start, tasks[back].stop)
                    waiting.append(given[back])
                    back -= 1
            except BrokenProcessPool:
                broken = True  # give it nothing more
            done[front] = [read_job(jobs[j], cycle, rubric) for j in tasks[front]]
            front += 1
        for k, future in given.items():
            with contextlib.suppress(BrokenProcessPool):
                done[k] = future.result()
    for k, task in enumerate(tasks):  # a task the worker did not hand back
        if k not in done:
            done[k] = [read_job(jobs[j], cycle, rubric) for j in task]
    return [outcome for k in range(len(tasks)) for outcome in done[k]]


def _forked_read(start: int, stop: int) -> list[ReadOutcome]:
    """In the forked worker: :func:`read_job` of jobs ``start`` to ``stop`` of what :func:`read_submissions` handed it."""
    from ictaudit.common.forked import inherited

    jobs, cycle, rubric = inherited()
    return [read_job(jobs[j], cycle, rubric) for j in range(start, stop)]


@dataclass(frozen=True, eq=False)
class OnDisk:
    """One entry of ``submissions/``: ``kind`` is ``file``, ``symlink`` (never followed) or ``other``.

    Listing opens nothing: a file's ``size`` is the one its directory entry gives, and ``error`` says
    why it cannot be used (over :data:`MAX_FILE_BYTES`; unreadable, once :func:`_hash_on_disk` has
    tried). ``sha256`` is filled by :func:`_hash_on_disk` for a file no receipt has read; a file that
    is read is hashed from the bytes read (:func:`read_job`), so each file is opened once.
    """

    name: str
    kind: str
    sha256: str = ""
    size: int = 0
    error: str = ""
    path: Path | None = None

    @property
    def key(self) -> str:
        """The name as receipts.csv holds it (NFC): a file saved on macOS has an NFD name."""
        return unicodedata.normalize("NFC", self.name)


def list_submissions(subdir: Path) -> list[OnDisk]:
    """Every entry of ``submissions/`` (sorted by name); symbolic links are not followed, no file is opened."""
    if not subdir.is_dir():
        return []
    out = []
    for path in sorted(subdir.iterdir(), key=lambda p: p.name):
        name = path.name
        try:
            st = path.lstat()
        except OSError as exc:  # gone since the directory was listed
            out.append(OnDisk(name, "file", path=path, error=_unreadable(name, exc)))
            continue
        if stat.S_ISLNK(st.st_mode):
            try:
                target = os.readlink(path)
            except OSError:
                target = "?"
            out.append(OnDisk(name, "symlink", path=path, error=(
                f"Tệp {name} trong thư mục submissions là liên kết (symlink) tới “{target}”, không phải tệp thật; "
                "liên kết không được mở. Chép chính tệp đã nhận vào thư mục submissions.")))  # fmt: skip
        elif stat.S_ISREG(st.st_mode):
            out.append(OnDisk(name, "file", size=st.st_size, error=_too_large(name, st.st_size), path=path))
        else:
            out.append(OnDisk(name, "other", path=path))
    return out


def _open_no_follow(path: Path):
    """The file for reading, refusing a symbolic link put in its place since it was listed (and not
    waiting on a FIFO put there: the caller checks that what it opened is a regular file)."""
    return os.fdopen(os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)), "rb")


def _unreadable(name: str, exc: OSError) -> str:
    return (
        f"Không đọc được tệp {name} trong thư mục submissions ({type(exc).__name__}: {exc.strerror or exc}); "
        "kiểm tra quyền đọc tệp (chmod/thuộc tính tệp) rồi chạy lại."
    )


def _too_large(name: str, size: int) -> str:
    """The message for a file over :data:`MAX_FILE_BYTES` ("" when it is not)."""
    if size <= MAX_FILE_BYTES:
        return ""
    return (
        f"Tệp {name} quá lớn ({size} byte, giới hạn {MAX_FILE_BYTES} byte); một phiếu chỉ vài chục KB, tệp "
        "không được đọc. Đề nghị đơn vị gửi lại đúng biểu mẫu."
    )


def _not_regular(name: str) -> str:
    return (
        f"Tệp {name} trong thư mục submissions không còn là một tệp (đã bị thay bằng thư mục hoặc tệp đặc biệt "
        "trong khi chạy); tệp không được đọc. Chạy lại khi thư mục submissions không còn bị sửa."
    )


def _hash_on_disk(path: Path) -> OnDisk:
    """The entry of a file that is not read, hashed in chunks (its bytes are not kept)."""
    name = path.name
    digest, size = hashlib.sha256(), 0
    try:
        with _open_no_follow(path) as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                return OnDisk(name, "file", path=path, error=_not_regular(name))
            while chunk := fh.read(_CHUNK):
                digest.update(chunk)
                size += len(chunk)
    except OSError as exc:
        return OnDisk(name, "file", path=path, error=_unreadable(name, exc))
    return OnDisk(name, "file", digest.hexdigest(), size, _too_large(name, size), path)


def read_on_disk(entry: OnDisk) -> bytes:
    """The bytes of a listed file, read once (the caller hashes them).

    Raises :class:`SubmissionError` (I05) when it cannot be read, is no longer a regular file, or is
    over :data:`MAX_FILE_BYTES` (checked before reading, and again if it grows while read). The read
    asks for the size the open file has plus one byte, to see that it grows (a read of the whole limit
    would reserve 64 MB for each 12 KB form); growth is read in chunks.
    """
    try:
        with _open_no_follow(entry.path) as fh:
            st = os.fstat(fh.fileno())
            if not stat.S_ISREG(st.st_mode):
                raise SubmissionError("I05", _not_regular(entry.name))
            if st.st_size > MAX_FILE_BYTES:
                raise SubmissionError("I05", _too_large(entry.name, st.st_size))
            data = fh.read(st.st_size + 1)
            if len(data) > st.st_size:  # growing while read: the rest, in chunks, up to the limit
                parts, total = [data], len(data)
                while total <= MAX_FILE_BYTES and (chunk := fh.read(_CHUNK)):
                    parts.append(chunk)
                    total += len(chunk)
                data = b"".join(parts)
    except OSError as exc:
        raise SubmissionError("I05", _unreadable(entry.name, exc)) from None
    if len(data) > MAX_FILE_BYTES:
        raise SubmissionError("I05", _too_large(entry.name, len(data)))
    return data


@dataclass(frozen=True)
class DiskIndex:
    """The entries of ``submissions/`` by exact name and by NFC name, built once per cycle (a lookup per
    receipt would otherwise scan every file: quadratic at a national cycle's 10,000 agencies)."""

    by_name: dict[str, list[OnDisk]]
    by_key: dict[str, list[OnDisk]]

    @classmethod
    def of(cls, on_disk: list[OnDisk]) -> DiskIndex:
        by_name: dict[str, list[OnDisk]] = {}
        by_key: dict[str, list[OnDisk]] = {}
        for e in on_disk:
            by_name.setdefault(e.name, []).append(e)
            by_key.setdefault(e.key, []).append(e)
        return cls(by_name, by_key)


def find_submission(on_disk: list[OnDisk] | DiskIndex, file_name: str) -> tuple[OnDisk | None, str]:
    """The entry a receipt names (exactly, or the same name in another Unicode normal form), and
    when it cannot be read, the message saying why."""
    index = on_disk if isinstance(on_disk, DiskIndex) else DiskIndex.of(on_disk)
    if not file_name or "/" in file_name or "\\" in file_name or file_name in (".", ".."):
        return None, (
            f"Sổ tiếp nhận ghi “{file_name}”, không phải tên một tệp trong thư mục submissions; tệp không được "
            "đọc. Ghi đúng tên tệp (không có thư mục) trong receipts.csv."
        )
    same = index.by_name.get(file_name) or index.by_key.get(unicodedata.normalize("NFC", file_name), [])
    if not same:
        return None, f"Sổ tiếp nhận ghi tệp {file_name} nhưng không có tệp này trong thư mục submissions."
    if len(same) > 1:
        names = ", ".join(repr(e.name) for e in same)
        return None, (
            f"Sổ tiếp nhận ghi tệp {file_name} nhưng thư mục submissions có {len(same)} tệp cùng tên này ở các dạng "
            f"Unicode khác nhau ({names}); giữ lại một tệp."
        )
    entry = same[0]
    if entry.kind == "symlink":
        return entry, entry.error
    if entry.kind != "file":
        return entry, f"Sổ tiếp nhận ghi {file_name}, nhưng trong thư mục submissions đó không phải một tệp (thư mục?)."
    return entry, entry.error


def _receipts_by_agency(receipts: pd.DataFrame):
    """agency_id → its receipts as row dicts, sorted by (received_on, file) as ``sort_values`` does.

    The rows are grouped once (a frame per agency costs more than reading its file); the rare agency
    with several receipts is sorted by pandas itself, so that the order is the same by construction.
    """
    records = receipts.to_dict("records")
    at: dict[object, list[int]] = {}
    for i, agency_id in enumerate(receipts["agency_id"].tolist()):
        at.setdefault(agency_id, []).append(i)

    def receipts_of(agency_id) -> list[dict]:
        rows = at.get(agency_id, [])
        if len(rows) <= 1:
            return [records[i] for i in rows]
        return receipts.iloc[rows].sort_values(["received_on", "file"]).to_dict("records")

    return receipts_of


def _status_before_reading(agency, mine: list[dict], cycle: Cycle) -> tuple[str | None, str]:
    """excluded > missing > late > duplicate receipts; ``(None, "")`` when reading decides.

    ``mine``: the agency's receipts as row dicts, sorted by (received_on, file).
    """
    if not agency.ranked:
        return "excluded", f"Không xếp hạng theo danh sách đơn vị: {agency.note}"
    if not mine:
        return "missing", "Không nhận được phiếu (không có trong sổ tiếp nhận): không được đánh giá, xếp hạng."
    undated = [row for row in mine if pd.isna(row["received_on"])]
    if undated:
        bad = undated[0]
        return "invalid", (
            f"Phiếu không hợp lệ: sổ tiếp nhận ghi ngày nhận “{bad.get('received_on_text', '')}” cho tệp {bad['file']}, "
            "không phải ngày dạng YYYY-MM-DD, nên không xác định được phiếu nộp đúng hạn hay không. Sửa receipts.csv."
        )
    first = mine[0]
    if first["received_on"] > cycle.deadline:
        return "late", (
            f"Phiếu {first['file']} nhận ngày {fmt_date(first['received_on'])}, sau hạn cuối "
            f"{fmt_date(cycle.deadline)}: không được đánh giá, xếp hạng."
        )
    if len(mine) > 1:
        files = ", ".join(row["file"] for row in mine)
        return "invalid", f"Phiếu không hợp lệ: sổ tiếp nhận có {len(mine)} phiếu của đơn vị ({files}); chỉ chấp nhận một phiếu."
    return None, ""


def _values_frame(columns: Sequence[Sequence]) -> pd.DataFrame:
    """The ``values`` frame of its columns' cells, in :data:`VALUE_COLUMNS` order (see :func:`_add_rows`)."""
    df = pd.DataFrame(
        {
            col: pd.Series(np.array(cells, dtype=float), copy=False) if col == "value" else _object_array(cells)
            for col, cells in zip(VALUE_COLUMNS, columns, strict=True)
        },
        columns=list(VALUE_COLUMNS),
    )
    # rows arrive per agency (sorted) in the form's field order: a stable sort keeps that order (and
    # is not needed when the agencies are already in order)
    if _in_order(df["agency_id"]):
        return df
    return df.sort_values("agency_id", kind="stable").reset_index(drop=True)


def _add_rows(columns: list[list], rows: Sequence[tuple]) -> None:
    """Append one file's value rows to the cycle's columns (one small transpose per file: a transpose
    of the whole cycle's rows at once costs more than building the frame)."""
    for column, cells in zip(columns, zip(*rows), strict=False):
        column.extend(cells)


def _object_array(cells: Sequence) -> pd.Series:
    """A column of Python objects as they are (pandas 3 would otherwise infer a ``str`` column)."""
    out = np.empty(len(cells), dtype=object)
    out[:] = cells
    return pd.Series(out, dtype=object, copy=False)


def _in_order(column: pd.Series) -> bool:
    """True when ``column`` holds only text, already in the order a sort would give."""
    return pd.api.types.infer_dtype(column, skipna=False) == "string" and column.is_monotonic_increasing


def _problems_frame(rows: list[dict]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=list(PROBLEM_COLUMNS))
    return df.sort_values(["agency_id", "file"], kind="stable").reset_index(drop=True)

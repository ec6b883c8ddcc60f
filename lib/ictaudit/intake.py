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
4. ``invalid`` — two or more receipts for the agency, the file named is absent, unreadable, not a
   workbook, has no ``Số liệu`` sheet or header row, is not this cycle's template or form, or its
   ``_meta`` names another agency or year;
5. ``ranked`` — on time and read.

Problem codes (severity E blocks the value or the file; W asks for an explanation):

==== == =================================================================================
I01  E a value that cannot be read as the field's type (see :mod:`ictaudit.parsing`)
I02  E a formula without a cached value (xlsx; a viewer would show nothing, so it is not 0)
I03  E the same field code on two rows with different values (W when the values agree)
I04  E a field row of the form is missing; W a row with a field-like code the form does not have
I05  E the file cannot be opened as a workbook (truncated, not a spreadsheet, encrypted)
I06  E no ``Số liệu`` sheet, or no header row with ``Mã`` and ``Giá trị``
I07  E not this cycle's template: no ``_meta`` sheet, unknown template version, another rubric,
       or the form of another group
I08  E ``_meta`` names another agency or another year than the roster and the cycle
I09  E more than one receipt for one agency (one accepted submission per agency, L26)
I10  E a receipt names a file that is not in ``submissions/``
I11  W a file in ``submissions/`` that no receipt names (not read)
I12  E a receipt for an agency that is not on the roster (not read)
==== == =================================================================================
"""

from __future__ import annotations

import hashlib
import io
import math
import posixpath
import re
import unicodedata
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeET
from python_calamine import CalamineWorkbook

from ictaudit.cycle import Cycle
from ictaudit.forms import SHEET_DATA, SHEET_META, SUPPORTED_TEMPLATE_VERSIONS
from ictaudit.numfmt import fmt_date
from ictaudit.parsing import normalize_text, parse_value, raw_text
from ictaudit.values import VALUE_COLUMNS

STATUS_COLUMNS = ("agency_id", "agency_name", "group", "status", "status_reason")
PROBLEM_COLUMNS = ("agency_id", "file", "sheet", "cell", "field", "raw_value", "code", "severity", "message_vi")
FILE_COLUMNS = ("file", "agency_id", "sha256", "bytes")
STATUSES = ("ranked", "late", "missing", "excluded", "invalid")

MAX_XML_BYTES = 64 * 1024 * 1024  # a sheet XML larger than this is refused (zip bombs)
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


@dataclass(frozen=True)
class Submission:
    """What one readable file gave: value rows and cell-level problems (file-level ones raise)."""

    values: list[dict]
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
    return normalize_text(str(text)).casefold() if text is not None else ""


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


def open_workbook(data: bytes, file_name: str) -> CalamineWorkbook:
    """Open ``.xlsx``, ``.xls`` or ``.ods`` bytes (the format is sniffed, not taken from the name)."""
    if not data:
        raise SubmissionError("I05", f"Tệp {file_name} rỗng (0 byte); đề nghị đơn vị gửi lại phiếu.")
    try:
        return CalamineWorkbook.from_filelike(io.BytesIO(data))
    except Exception as exc:  # calamine raises several types for broken files
        raise SubmissionError(
            "I05",
            f"Không mở được tệp {file_name} như một bảng tính (.xlsx, .xls, .ods): tệp hỏng, bị cắt cụt, "
            f"có mật khẩu hoặc không phải bảng tính ({type(exc).__name__}); đề nghị đơn vị gửi lại phiếu.",
        ) from None


def find_sheet_name(wb: CalamineWorkbook, wanted: str) -> str | None:
    """The workbook's own name of a sheet, matched loosely (NFC/NFD, case, spaces)."""
    for name in wb.sheet_names:
        if _key(name) == _key(wanted):
            return name
    return None


def read_sheet_rows(wb: CalamineWorkbook, sheet_name: str) -> list[list]:
    """Every row from A1 (empty cells as ``""``), so that indexes are cell addresses."""
    return wb.get_sheet_by_name(sheet_name).to_python(skip_empty_area=False)


def read_meta(wb: CalamineWorkbook) -> dict[str, str] | None:
    name = find_sheet_name(wb, SHEET_META)
    if name is None:
        return None
    meta = {}
    for row in read_sheet_rows(wb, name):
        if len(row) >= 2 and str(row[0]).strip():
            meta[normalize_text(str(row[0]))] = normalize_text(raw_text(row[1]))
    return meta


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


def uncached_formula_cells(data: bytes, sheet_name: str, file_name: str = "") -> set[str]:
    """Cells of an ``.xlsx`` sheet holding a formula without a cached value (empty for non-xlsx).

    python-calamine shows such a cell as empty; only the sheet XML tells a formula from a blank.
    XML is parsed with defusedxml (no entity expansion); oversize parts are refused.
    """
    if not data.startswith(b"PK"):
        return set()
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        if "xl/workbook.xml" not in zf.namelist():
            return set()
        workbook = SafeET.fromstring(_read_part(zf, "xl/workbook.xml", file_name))
        rels = SafeET.fromstring(_read_part(zf, "xl/_rels/workbook.xml.rels", file_name))
    except DefusedXmlException:
        raise SubmissionError("I05", _UNSAFE_XML.format(file=file_name)) from None
    except (zipfile.BadZipFile, KeyError, SafeET.ParseError):
        return set()
    targets = {rel.get("Id"): rel.get("Target", "") for rel in rels.iter(f"{_NS_PKG_REL}Relationship")}
    part = None
    for sheet in workbook.iter(f"{_NS_MAIN}sheet"):
        if _key(sheet.get("name")) == _key(sheet_name):
            target = targets.get(sheet.get(f"{_NS_REL}id"), "")
            part = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
            break
    if part is None:
        return set()
    try:
        sheet_xml = SafeET.fromstring(_read_part(zf, part, file_name))
    except DefusedXmlException:
        raise SubmissionError("I05", _UNSAFE_XML.format(file=file_name)) from None
    except (zipfile.BadZipFile, KeyError, SafeET.ParseError):
        return set()
    out: set[str] = set()
    for cell in sheet_xml.iter(f"{_NS_MAIN}c"):
        if cell.find(f"{_NS_MAIN}f") is None:
            continue
        v = cell.find(f"{_NS_MAIN}v")
        is_ = cell.find(f"{_NS_MAIN}is")
        if (v is None or v.text is None or v.text == "") and is_ is None:
            out.add(cell.get("r", ""))
    return out


def _read_part(zf: zipfile.ZipFile, name: str, file_name: str = "") -> bytes:
    info = zf.getinfo(name)
    if info.file_size > MAX_XML_BYTES:
        raise SubmissionError("I05", f"Tệp {file_name}: phần {name} quá lớn ({info.file_size} byte); tệp không được đọc.")
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
    wb = open_workbook(data, file_name)
    sheet = find_sheet_name(wb, SHEET_DATA)
    if sheet is None:
        found = ", ".join(f"“{normalize_text(n)}”" for n in wb.sheet_names)
        raise SubmissionError(
            "I06", f"Tệp {file_name} không có trang “{SHEET_DATA}” (các trang: {found}); không đổi tên, xóa trang."
        )
    check_meta(read_meta(wb), file_name=file_name, rubric=rubric, cycle=cycle, agency_id=agency_id, group=group)
    try:
        rows = read_sheet_rows(wb, sheet)
    except Exception as exc:
        raise SubmissionError("I05", f"Tệp {file_name}: không đọc được trang “{SHEET_DATA}” ({exc}).", sheet) from None
    header_row, code_col, value_col = locate_header(rows, file_name, sheet)
    uncached = uncached_formula_cells(data, sheet, file_name)
    fields = rubric.fields_for_form(rubric.form_of(group))
    return extract_values(
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
    )


def extract_values(
    rows, *, header_row, code_col, value_col, fields, uncached, agency_id, file_name, sha256, sheet
) -> Submission:
    """One value row per field of the form (in form order), found by the code in the code column."""
    by_code = {f.code.casefold(): f for f in fields}
    found: dict[str, list[tuple[int, object]]] = {}
    problems: list[dict] = []
    for r in range(header_row + 1, len(rows)):
        row = rows[r]
        code_cell = row[code_col] if code_col < len(row) else ""
        code = normalize_text(raw_text(code_cell)) if code_cell not in (None, "") else ""
        if not code:
            continue
        spec = by_code.get(code.casefold())
        if spec is None:
            if _FIELD_LIKE.match(code):
                problems.append(
                    _problem(agency_id, file_name, "I04", "W",
                             f"Dòng có mã “{code}” không thuộc phiếu này; giá trị của dòng không được dùng.",
                             sheet, cell_address(r, code_col), code, raw_text(row[value_col] if value_col < len(row) else ""))
                )
            continue
        raw = row[value_col] if value_col < len(row) else None
        found.setdefault(spec.code, []).append((r, None if raw == "" else raw))

    values: list[dict] = []
    for spec in fields:
        hits = found.get(spec.code)
        if not hits:
            problems.append(
                _problem(agency_id, file_name, "I04", "E",
                         f"Không tìm thấy dòng có mã {spec.code} ({spec.label_vi}) trong cột “Mã”; "
                         "đề nghị đơn vị không xóa hoặc sửa mã các dòng.", sheet, "", spec.code)
            )
            values.append(_value_row(agency_id, spec.code, "", math.nan, file_name, sha256, sheet, ""))
            continue
        readings = []
        for r, raw in hits:
            cell = cell_address(r, value_col)
            if raw is None and cell in uncached:
                problems.append(
                    _problem(agency_id, file_name, "I02", "E",
                             f"Ô {cell} ({spec.code}) chứa công thức nhưng không có giá trị đã tính; "
                             "đề nghị đơn vị nhập số trực tiếp hoặc mở tệp bằng Excel, lưu lại rồi gửi.",
                             sheet, cell, spec.code, "")
                )
                readings.append((cell, "", math.nan, False))
                continue
            parsed = parse_value(raw, spec.type, spec.unit_vi)
            shown = raw_text(raw)
            if parsed.problem:
                problems.append(
                    _problem(agency_id, file_name, "I01", "E", f"Ô {cell} ({spec.code}): {parsed.problem}",
                             sheet, cell, spec.code, shown)
                )
            value = math.nan if parsed.value is None else parsed.value
            readings.append((cell, shown, value, parsed.ok))
        cell, shown, value, _ok = readings[0]
        if len(readings) > 1:
            cells = ", ".join(c for c, *_ in readings)
            distinct = {("nan" if math.isnan(v) else v) for _, _, v, _ in readings}
            if len(distinct) == 1:
                problems.append(
                    _problem(agency_id, file_name, "I03", "W",
                             f"Mã {spec.code} xuất hiện ở nhiều dòng ({cells}) với cùng giá trị; dùng ô {cell}.",
                             sheet, cell, spec.code, shown)
                )
            else:
                shown_all = "; ".join(f"{c}: “{s}”" for c, s, *_ in readings)
                problems.append(
                    _problem(agency_id, file_name, "I03", "E",
                             f"Mã {spec.code} xuất hiện ở nhiều dòng với giá trị khác nhau ({shown_all}); "
                             "không tự chọn giá trị nào, đề nghị đơn vị xác nhận.",
                             sheet, cells, spec.code, shown)
                )
                value = math.nan
        values.append(_value_row(agency_id, spec.code, shown, value, file_name, sha256, sheet, cell))
    return Submission(values, problems)


def _value_row(agency_id, field, raw_value, value, file_name, sha256, sheet, cell) -> dict:
    return {
        "agency_id": agency_id,
        "field": field,
        "raw_value": raw_value,
        "value": float(value),
        "source_file": file_name,
        "source_sha256": sha256,
        "sheet": sheet,
        "cell": cell,
        "correction_id": "",
    }


# -- the whole cycle ---------------------------------------------------------------------------


def intake_cycle(cycle: Cycle, rubric) -> IntakeResult:
    """Statuses, values and problems of every roster agency; one bad file never stops the others."""
    subdir = cycle.submissions_dir
    on_disk = sorted(p.name for p in subdir.iterdir() if p.is_file()) if subdir.is_dir() else []
    receipts = cycle.receipts
    roster_ids = set(cycle.agencies["agency_id"])
    problems: list[dict] = []
    values: list[dict] = []
    statuses: list[dict] = []

    receipted = set(receipts["file"])
    owner = {}
    for row in receipts.itertuples(index=False):
        owner.setdefault(row.file, row.agency_id)
        if row.agency_id not in roster_ids:
            problems.append(
                _problem(row.agency_id, row.file, "I12", "E",
                         f"Sổ tiếp nhận có tệp {row.file} của đơn vị “{row.agency_id}” không có trong danh sách "
                         "đơn vị (agencies.csv); tệp không được đọc. Sửa mã đơn vị trong receipts.csv.")
            )
    hashes: dict[str, tuple[str, int]] = {}
    data_of: dict[str, bytes] = {}
    for name in on_disk:
        data = (subdir / name).read_bytes()
        hashes[name] = (sha256_bytes(data), len(data))
        data_of[name] = data
        if name not in receipted:
            problems.append(
                _problem("", name, "I11", "W",
                         f"Tệp {name} có trong thư mục submissions nhưng không có trong sổ tiếp nhận "
                         "(receipts.csv); tệp không được đọc. Ghi vào sổ tiếp nhận nếu đây là phiếu đã nhận.")
            )

    for agency in cycle.agencies.sort_values("agency_id").itertuples(index=False):
        mine = receipts[receipts["agency_id"] == agency.agency_id].sort_values(["received_on", "file"])
        status, reason = _status_before_reading(agency, mine, cycle)
        readable = None
        if len(mine) > 1:
            files = ", ".join(mine["file"])
            problems.append(
                _problem(agency.agency_id, files, "I09", "E",
                         f"Sổ tiếp nhận có {len(mine)} phiếu của đơn vị ({files}); mỗi đơn vị chỉ được chấp nhận "
                         "một phiếu. Giữ một dòng trong receipts.csv hoặc ghi rõ phiếu thay thế.")
            )
        elif len(mine) == 1:
            file_name = mine.iloc[0]["file"]
            if file_name not in data_of:
                problems.append(
                    _problem(agency.agency_id, file_name, "I10", "E",
                             f"Sổ tiếp nhận ghi tệp {file_name} nhưng không có tệp này trong thư mục submissions.")
                )
                readable = SubmissionError("I10", f"không có tệp {file_name} trong thư mục submissions")
            else:
                try:
                    sub = read_submission(
                        data_of[file_name],
                        file_name=file_name,
                        sha256=hashes[file_name][0],
                        rubric=rubric,
                        cycle=cycle,
                        agency_id=agency.agency_id,
                        group=agency.group,
                    )
                    values.extend(sub.values)
                    problems.extend(sub.problems)
                    readable = sub
                except SubmissionError as exc:
                    problems.append(_problem(agency.agency_id, file_name, exc.code, "E", exc.message_vi, exc.sheet))
                    readable = exc
                except Exception as exc:  # one bad file never stops the others
                    msg = f"Tệp {file_name}: lỗi không lường trước khi đọc ({type(exc).__name__}: {exc})."
                    problems.append(_problem(agency.agency_id, file_name, "I05", "E", msg))
                    readable = SubmissionError("I05", msg)
        if status is None:
            if isinstance(readable, SubmissionError):
                status, reason = "invalid", f"Phiếu không hợp lệ: {readable.message_vi}"
            else:
                row = mine.iloc[0]
                status = "ranked"
                reason = f"Phiếu {row['file']} nhận ngày {fmt_date(row['received_on'])}, trong hạn."
        statuses.append(
            {"agency_id": agency.agency_id, "agency_name": agency.name, "group": agency.group,
             "status": status, "status_reason": reason}
        )

    files = pd.DataFrame(
        [{"file": n, "agency_id": owner.get(n, ""), "sha256": hashes[n][0], "bytes": hashes[n][1]} for n in on_disk],
        columns=list(FILE_COLUMNS),
    )
    return IntakeResult(
        statuses=pd.DataFrame(statuses, columns=list(STATUS_COLUMNS)),
        values=_values_frame(values),
        problems=_problems_frame(problems),
        files=files,
    )


def _status_before_reading(agency, mine: pd.DataFrame, cycle: Cycle) -> tuple[str | None, str]:
    """excluded > missing > late > duplicate receipts; ``(None, "")`` when reading decides."""
    if not agency.ranked:
        return "excluded", f"Không xếp hạng theo danh sách đơn vị: {agency.note}"
    if mine.empty:
        return "missing", "Không nhận được phiếu (không có trong sổ tiếp nhận): không được đánh giá, xếp hạng."
    first = mine.iloc[0]
    if first["received_on"] > cycle.deadline:
        return "late", (
            f"Phiếu {first['file']} nhận ngày {fmt_date(first['received_on'])}, sau hạn cuối "
            f"{fmt_date(cycle.deadline)}: không được đánh giá, xếp hạng."
        )
    if len(mine) > 1:
        files = ", ".join(mine["file"])
        return "invalid", f"Phiếu không hợp lệ: sổ tiếp nhận có {len(mine)} phiếu của đơn vị ({files}); chỉ chấp nhận một phiếu."
    return None, ""


def _values_frame(rows: list[dict]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=list(VALUE_COLUMNS))
    df["value"] = df["value"].astype(float)
    for col in VALUE_COLUMNS:
        if col != "value":
            df[col] = df[col].astype(object)
    # rows arrive per agency (sorted) in the form's field order: a stable sort keeps that order
    return df.sort_values("agency_id", kind="stable").reset_index(drop=True)


def _problems_frame(rows: list[dict]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=list(PROBLEM_COLUMNS))
    return df.sort_values(["agency_id", "file"], kind="stable").reset_index(drop=True)

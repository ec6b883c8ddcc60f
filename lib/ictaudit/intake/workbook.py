"""Reading one agency's workbook: is it this cycle's form, and what does each field's cell hold.

:func:`read_submission` takes the bytes of one file and the form the agency's group must send
(:class:`ExpectedForm`, looked up once per cycle). The package is checked before any reader sees it
(:mod:`ictaudit.intake.package`); then the ``Số liệu`` sheet is found by name, ``_meta`` is checked
against the cycle (template, rubric, form, agency, year), the header row (``Mã`` … ``Giá trị``)
located, and every field found **by its code** in the code column, wherever the row is
(:func:`extract_values`). File-level problems raise :class:`SubmissionError`; a problem with one cell
is a row of :attr:`Submission.problems` and the value counts as blank.
"""

from __future__ import annotations

import io
import math
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

from python_calamine import CalamineWorkbook, PasswordError

from ictaudit.intake.cellformats import as_percentage, percent_cells, shown_percent
from ictaudit.intake.forms import SHEET_DATA, SHEET_META, SUPPORTED_TEMPLATE_VERSIONS, cell_address
from ictaudit.intake.formulas import uncached_formula_cells
from ictaudit.intake.package import Package, inspect_package
from ictaudit.intake.parsing import cell_text, legacy_font, loose_key, normalize_text, parse_value, raw_text
from ictaudit.intake.problems import ERROR_CHARS, describe_error, problem, refusal, shorten

if TYPE_CHECKING:
    from ictaudit.rules.rubric import FieldSpec

MANY_ROWS = 5_000  # a "Số liệu" sheet with more rows than this gets a warning (rows beyond the form)
MAX_READ_ROWS = 10_000  # rows of "Số liệu" read at all (a form has about 60)
_FIELD_LIKE = re.compile(r"^[FX]\d{2}[a-z]{0,2}$", re.IGNORECASE)


@dataclass(frozen=True, eq=False)
class ExpectedForm:
    """The form one group's agencies must send this cycle: made once per cycle (:func:`expected_forms`)
    and handed to every read of the group's files, so nothing is looked up per file."""

    rubric_id: str
    year: int
    group: str
    form: str
    fields: tuple[FieldSpec, ...]  # in form order
    by_code: Mapping[str, FieldSpec] = field(init=False, repr=False)  # case-folded code → its field

    def __post_init__(self):
        object.__setattr__(self, "by_code", {f.code.casefold(): f for f in self.fields})


def expected_forms(rubric, year: int) -> dict[str, ExpectedForm]:
    """Group id → the form its agencies must send in ``year``."""
    out = {}
    for group in rubric.group_ids:
        form = rubric.form_of(group)
        out[group] = ExpectedForm(rubric.id, year, group, form, rubric.fields_for_form(form))
    return out


class Source(NamedTuple):
    """Where values come from: the agency, its file, the file's sha256 and the sheet's name (NFC)."""

    agency_id: str
    file: str
    sha256: str
    sheet: str


class Header(NamedTuple):
    """The header row of ``Số liệu`` and its code and value columns (0-based)."""

    row: int
    code_col: int
    value_col: int


@dataclass(frozen=True)
class Submission:
    """What one readable file gave: value rows and cell-level problems (file-level ones raise)."""

    values: list[tuple]  # rows in VALUE_COLUMNS order
    problems: list[dict]


def read_submission(data: bytes, *, file_name: str, sha256: str, expected: ExpectedForm, agency_id: str) -> Submission:
    """Read one agency's workbook bytes. File-level problems raise :class:`SubmissionError`."""
    wb, package = _open_checked(data, file_name)
    sheet = _data_sheet_name(wb, file_name)
    check_meta(read_meta(wb), file_name=file_name, expected=expected, agency_id=agency_id)
    rows, merged, total_rows = _read_data_sheet(wb, sheet, file_name)
    header = locate_header(rows)
    if header is None:
        raise _no_header(rows, file_name, sheet)
    source = Source(agency_id, file_name, sha256, unicodedata.normalize("NFC", sheet))
    uncached = uncached_formula_cells(data, sheet, file_name, package=package)
    percent = percent_cells(data, package, sheet, header.value_col)
    sub = extract_values(rows, header, expected, source, uncached, merged, percent)
    if total_rows > MANY_ROWS:
        sub.problems.append(_many_rows(total_rows, header, len(expected.fields), source))
    return sub


def _open_checked(data: bytes, file_name: str) -> tuple[CalamineWorkbook, Package]:
    """The workbook of ``.xlsx``, ``.xls`` or ``.ods`` bytes (the format is sniffed, not taken from the
    name), and what the package check inflated: nothing that could exhaust memory or expand entities
    ever reaches the reader (:func:`ictaudit.intake.package.inspect_package` runs first)."""
    package = inspect_package(data, file_name)
    try:
        return CalamineWorkbook.from_filelike(io.BytesIO(data)), package
    except PasswordError:
        raise refusal("I05", "password", file=file_name) from None
    except Exception as exc:  # calamine raises several types for broken files
        raise refusal("I05", "unopenable", file=file_name, error=describe_error(exc)) from None


def read_form_meta(data: bytes, file_name: str) -> dict[str, str] | None:
    """The ``_meta`` rows of a workbook's bytes, read after the same safety checks as
    :func:`read_submission` (a refusal raises :class:`SubmissionError`); None without a ``_meta`` sheet.
    How ``ictaudit receive`` recognises a form from its own cells, whatever its file is called."""
    wb, _package = _open_checked(data, file_name)
    return read_meta(wb)


def find_sheet_name(wb: CalamineWorkbook, wanted: str) -> str | None:
    """The workbook's own name of a sheet, matched loosely (NFC/NFD, case, spaces)."""
    for name in wb.sheet_names:
        if loose_key(name) == loose_key(wanted):
            return name
    return None


def _data_sheet_name(wb: CalamineWorkbook, file_name: str) -> str:
    """The workbook's name of ``Số liệu``; I06 naming the sheets it has (and a legacy font among them)."""
    sheet = find_sheet_name(wb, SHEET_DATA)
    if sheet is not None:
        return sheet
    sheets = ", ".join(f"“{normalize_text(n)}”" for n in wb.sheet_names)
    legacy = _legacy_text(wb.sheet_names)
    if legacy is None:
        raise refusal("I06", "no_data_sheet", file=file_name, data_sheet=SHEET_DATA, sheets=sheets)
    encoding, text = legacy
    raise refusal(
        "I06", "no_data_sheet_legacy_font", file=file_name, data_sheet=SHEET_DATA, sheets=sheets, encoding=encoding,
        text=text,
    )  # fmt: skip


def read_meta(wb: CalamineWorkbook) -> dict[str, str] | None:
    """The key/value rows of the hidden ``_meta`` sheet, as text; None when there is no such sheet."""
    name = find_sheet_name(wb, SHEET_META)
    if name is None:
        return None
    meta = {}
    for row in wb.get_sheet_by_name(name).to_python(skip_empty_area=False, nrows=MAX_READ_ROWS):
        if len(row) >= 2 and str(row[0]).strip():
            meta[cell_text(str(row[0]))] = cell_text(row[1])
    return meta


def check_meta(meta: dict[str, str] | None, *, file_name: str, expected: ExpectedForm, agency_id: str) -> None:
    """Raise :class:`SubmissionError` (I07 wrong template/form, I08 wrong agency/year)."""
    if meta is None:
        raise refusal("I07", "no_meta", file=file_name, meta_sheet=SHEET_META)
    at = {"file": file_name, "sheet": SHEET_META}
    version = meta.get("template_version", "")
    if version not in SUPPORTED_TEMPLATE_VERSIONS:
        raise refusal("I07", "unknown_version", **at, version=version)
    if meta.get("rubric", "") != expected.rubric_id:
        raise refusal("I07", "other_rubric", **at, found=meta.get("rubric", ""), rubric=expected.rubric_id)
    if meta.get("form", "") != expected.form:
        raise refusal("I07", "other_form", **at, found=meta.get("form", "?"), group=expected.group, form=expected.form)
    if meta.get("agency_id", "") != agency_id:
        raise refusal(
            "I08", "other_agency", **at, found=meta.get("agency_id", ""), found_name=meta.get("agency_name", ""),
            agency_id=agency_id,
        )  # fmt: skip
    if meta.get("year", "") != str(expected.year):
        raise refusal("I08", "other_year", **at, found=meta.get("year", "?"), year=expected.year)


def _read_data_sheet(wb: CalamineWorkbook, sheet: str, file_name: str) -> tuple[list[list], list, int]:
    """The rows of ``Số liệu`` from A1 (at most :data:`MAX_READ_ROWS`), its merged ranges, and how many
    rows it spans."""
    try:
        data_sheet = wb.get_sheet_by_name(sheet)
        rows = data_sheet.to_python(skip_empty_area=False, nrows=MAX_READ_ROWS)
        merged = data_sheet.merged_cell_ranges or []
        total_rows = data_sheet.start[0] + data_sheet.height if data_sheet.height else len(rows)
    except Exception as exc:
        error = shorten(str(exc), ERROR_CHARS)
        raise refusal(
            "I05", "sheet_unreadable", sheet=sheet, file=file_name, data_sheet=SHEET_DATA, error=error
        ) from None
    return rows, merged, total_rows


def locate_header(rows: Sequence[Sequence]) -> Header | None:
    """The row holding ``Mã`` and ``Giá trị`` and their columns; None when no row does.

    Tolerates what people add to a header (``Mã số``, ``Giá trị (năm 2017)``).
    """
    for r, row in enumerate(rows):
        keys = [loose_key(c) if isinstance(c, str) else "" for c in row]
        code_cols = [i for i, k in enumerate(keys) if k == "mã" or k.startswith("mã ")]
        value_cols = [i for i, k in enumerate(keys) if k.startswith("giá trị")]
        if code_cols and value_cols:
            return Header(r, code_cols[0], value_cols[0])
    return None


def _no_header(rows: Sequence[Sequence], file_name: str, sheet: str):
    """I06 for a sheet without a header row, naming a legacy-font text among its first cells."""
    legacy = _legacy_text(str(c) for row in rows[:30] for c in row[:10] if isinstance(c, str))
    if legacy is None:
        return refusal("I06", "no_header", sheet=sheet, file=file_name)
    encoding, text = legacy
    return refusal("I06", "no_header_legacy_font", sheet=sheet, file=file_name, encoding=encoding, text=text)


def _legacy_text(texts) -> tuple[str, str] | None:
    """(encoding, the text shortened) of the first text among ``texts`` (sheet names, header cells)
    that looks typed with a legacy Vietnamese font, or None."""
    for text in texts:
        if (encoding := legacy_font(str(text))) is not None:
            return encoding, shorten(str(text))
    return None


def _many_rows(total_rows: int, header: Header, fields: int, source: Source) -> dict:
    """I04 (W) for a ``Số liệu`` sheet of more than :data:`MANY_ROWS` rows."""
    at = {"agency_id": source.agency_id, "file": source.file, "sheet": source.sheet, "data_sheet": SHEET_DATA}
    cells = f"A{header.row + fields + 2}:{cell_address(total_rows - 1, header.value_col)}"
    if total_rows > MAX_READ_ROWS:
        return problem(
            "I04", "many_rows_unread", **at, cell=cells, rows=total_rows, fields=fields,
            first_unread=MAX_READ_ROWS + 1, form_rows=fields + 5,
        )  # fmt: skip
    return problem("I04", "many_rows", **at, cell=cells, rows=total_rows, fields=fields)


# -- the values of the form's fields ---------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class DataSheet:
    """One ``Số liệu`` sheet being read: its rows, where its values come from, the value column's
    letters, the cells holding a formula without a value, the value cells in merged ranges, and the
    value cells formatted as a percentage (address → format code)."""

    rows: Sequence[Sequence]
    source: Source
    column: str  # the value column's letters: cell_address(r, value_col) == column + str(r + 1)
    uncached: set[str]
    merged_at: dict[int, tuple]  # row → merged range, for value cells in a range across rows
    code_at: dict[int, str]  # row → field code, for the rows whose code is a field of the form
    percent: Mapping[str, str] = field(default_factory=dict)  # cell → its percentage format

    @classmethod
    def of(
        cls, rows, header: Header, source: Source, uncached: set[str], merged, found: dict, percent=None
    ) -> DataSheet:
        """The sheet of ``rows`` once :func:`rows_by_code` has ``found`` the fields' rows."""
        column = cell_address(0, header.value_col)[:-1]
        merged_at = _merged_value_cells(merged, header.value_col)
        code_at = {r: code for code, hits in found.items() for r, _ in hits}
        return cls(rows, source, column, uncached, merged_at, code_at, percent or {})

    def problem(self, code: str, message_id: str, **values) -> dict:
        source = self.source
        return problem(code, message_id, agency_id=source.agency_id, file=source.file, sheet=source.sheet, **values)

    def value_row(self, field_code: str, raw_value: str, value: float, cell: str) -> tuple:
        """One row of ``values``, its cells in ``VALUE_COLUMNS`` order."""
        s = self.source
        return (s.agency_id, field_code, raw_value, float(value), s.file, s.sha256, s.sheet, cell, "")


def extract_values(
    rows: Sequence[Sequence],
    header: Header,
    expected: ExpectedForm,
    source: Source,
    uncached: set[str],
    merged=(),
    percent: Mapping[str, str] | None = None,
) -> Submission:
    """One value row per field of the form (in form order), found by the code in the code column.

    ``merged``: the sheet's merged ranges, ``((first_row, first_col), (last_row, last_col))`` 0-based;
    a field whose value cell lies in a range that spans several rows, or that starts left of the
    value column, is a problem (I14) and its value is not used. ``percent``: the value cells whose
    number format is a percentage (:func:`ictaudit.intake.cellformats.percent_cells`), read by
    :func:`_read_percent`.
    """
    found, problems = rows_by_code(rows, header, expected.by_code, source)
    sheet = DataSheet.of(rows, header, source, uncached, merged, found, percent)
    percent = sheet.percent
    values: list[tuple] = []
    for spec in expected.fields:
        hits = found.get(spec.code)
        if hits is not None and len(hits) == 1:  # the usual field: read_field_rows, shortened
            r, raw = hits[0]
            cell = f"{sheet.column}{r + 1}"
            if r not in sheet.merged_at and (raw is not None or cell not in uncached) and cell not in percent:
                shown, value, said, code = read_cell(raw, spec.type, spec.unit_vi)
                if said is not None:
                    problems.append(
                        sheet.problem(code, "cell_value", cell=cell, field=spec.code, raw_value=shown, problem=said)
                    )
                values.append(sheet.value_row(spec.code, shown, value, cell))
                continue
        values.append(read_field_rows(sheet, spec, hits, problems))
    return Submission(values, problems)


def rows_by_code(
    rows: Sequence[Sequence], header: Header, by_code: Mapping, source: Source
) -> tuple[dict[str, list[tuple[int, object]]], list[dict]]:
    """Field code → the (row, raw value) of every row below the header carrying it, in row order, and
    an I04 warning for each row whose code looks like a field the form does not have."""
    code_col, value_col = header.code_col, header.value_col
    found: dict[str, list[tuple[int, object]]] = {}
    problems: list[dict] = []
    for r in range(header.row + 1, len(rows)):
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
                    problem("I04", "unknown_row", agency_id=source.agency_id, file=source.file, sheet=source.sheet,
                            cell=cell_address(r, code_col), field=code,
                            raw_value=raw_text(row[value_col] if value_col < len(row) else ""))
                )  # fmt: skip
            continue
        raw = row[value_col] if value_col < len(row) else None
        found.setdefault(spec.code, []).append((r, None if raw == "" else raw))
    return found, problems


def read_field_rows(
    sheet: DataSheet, spec: FieldSpec, hits: list[tuple[int, object]] | None, problems: list[dict]
) -> tuple:
    """The value row of one field from every row carrying its code (none: I04; several: I03), each
    cell read as :func:`_read_hit` reads it; its problems are appended to ``problems``."""
    if not hits:
        problems.append(sheet.problem("I04", "missing_row", field=spec.code, label=spec.label_vi))
        return sheet.value_row(spec.code, "", math.nan, "")
    readings = [_read_hit(sheet, spec, r, raw, problems) for r, raw in hits]
    cell, shown, value = readings[0]
    if len(readings) > 1:
        cells = ", ".join(c for c, *_ in readings)
        if len({("nan" if math.isnan(v) else v) for _, _, v in readings}) == 1:
            problems.append(
                sheet.problem("I03", "same_value", cell=cell, field=spec.code, raw_value=shown, cells=cells)
            )
        else:
            readings_text = "; ".join(f"{c}: “{s}”" for c, s, _ in readings)
            problems.append(
                sheet.problem(
                    "I03", "different_values", cell=cells, field=spec.code, raw_value=shown, readings=readings_text
                )
            )
            value = math.nan
    return sheet.value_row(spec.code, shown, value, cell)


def _read_hit(sheet: DataSheet, spec: FieldSpec, r: int, raw, problems: list[dict]) -> tuple[str, str, float]:
    """(cell, text shown, value) of one row carrying the field's code: NaN for a formula without a
    cached value (I02), a value cell in a merged range across rows (I14) or a value that cannot be read."""
    cell = f"{sheet.column}{r + 1}"
    if raw is None and cell in sheet.uncached:
        problems.append(sheet.problem("I02", "uncached_formula", cell=cell, field=spec.code))
        return cell, "", math.nan
    if r in sheet.merged_at:
        (r0, c0), (r1, c1) = sheet.merged_at[r]
        rows = sheet.rows
        anchor = rows[r0][c0] if r0 < len(rows) and c0 < len(rows[r0]) else None
        shown = raw_text(raw) if raw is not None else ""
        problems.append(
            sheet.problem(
                "I14", "merged_value", cell=cell, field=spec.code, raw_value=shown,
                span=f"{cell_address(r0, c0)}:{cell_address(r1, c1)}", anchor=cell_address(r0, c0),
                anchor_value=raw_text(anchor),
                covered=", ".join(sheet.code_at.get(i, "?") for i in range(r0, r1 + 1) if i in sheet.code_at),
            )
        )  # fmt: skip
        return cell, shown, math.nan
    if cell in sheet.percent and type(raw) in (int, float):
        return _read_percent(sheet, spec, cell, raw, problems)
    shown, value, said, code = read_cell(raw, spec.type, spec.unit_vi)
    if said is not None:
        problems.append(sheet.problem(code, "cell_value", cell=cell, field=spec.code, raw_value=shown, problem=said))
    return cell, shown, value


def _read_percent(sheet: DataSheet, spec: FieldSpec, cell: str, raw: float, problems: list[dict]) -> tuple[str, str, float]:
    """(cell, text shown, value) of a number formatted as a percentage: in a percentage field the
    percentage shown (0.85 → 85, shown ``85%``); in any other field a problem (I17) and no value, since
    85 and 0.85 are both possible readings."""
    code = sheet.percent[cell]
    shown = shown_percent(raw, code)
    if spec.percent:
        _, value, said, problem_code = read_cell(as_percentage(raw), spec.type, spec.unit_vi)
        if said is not None:
            problems.append(
                sheet.problem(problem_code, "cell_value", cell=cell, field=spec.code, raw_value=shown, problem=said)
            )
        return cell, shown, value
    problems.append(
        sheet.problem(
            "I17", "percent_format", cell=cell, field=spec.code, raw_value=shown, format=code, stored=raw_text(raw).replace(".", ","),
            unit=spec.unit_vi,
        )
    )  # fmt: skip
    return cell, shown, math.nan


#: (type, raw, field type, unit) → what :func:`read_cell` gave: most cells of a cycle repeat a value
#: (the 119,000 cells of a 2,000-form intake replayed: 0.43 s without the cache, 0.10 s with it)
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

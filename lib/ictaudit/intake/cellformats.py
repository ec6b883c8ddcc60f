"""Which value cells of a form are formatted as a percentage, read from the workbook's own styles.

python-calamine gives a cell's number without its format: an agency that types ``85%`` in Excel
stores 0.85 in a cell formatted ``0%``, and the reader sees 0.85. :func:`percent_cells` finds, in one
column of the data sheet, the cells whose number format is a percentage, so that intake reads them as
the percentage the agency typed (where the field is a percentage) or flags them (where it is not):

- ``.xlsx``: the number format of the cell's style (``s``) in ``xl/styles.xml`` — the built-in
  formats 9 (``0%``) and 10 (``0.00%``) or a custom ``numFmt`` with a ``%`` outside quotes;
- ``.ods``: the cell's ``office:value-type="percentage"`` (its data style gives the decimals);
- ``.xls`` (BIFF8, Excel 97–2003): the FORMAT and XF records of the workbook stream and the cell's
  XF index, read from the compound file. An Excel 5/95 workbook (BIFF5) or one whose streams cannot be
  followed is read without formats (its percent cells are then read as the number stored, 0.85);
  a file that could not be read at all never gets here.

Cost: a workbook whose styles have no percentage format costs a look at its styles — the styles part
is scanned as bytes (``%``, ``numFmtId="9"``/``"10"``), the ODS content for ``"percentage"``, the xls
FORMAT records — and the sheet is parsed only when some percentage style exists and the sheet uses
it. Style tables are parsed once per distinct styles part (forms of one template share theirs).
Every XML part is parsed with defusedxml; the parts were checked by
:func:`ictaudit.intake.package.inspect_package` before (sizes, bombs, entities).
"""

from __future__ import annotations

import posixpath
import re
import struct
import zipfile
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from types import MappingProxyType

from defusedxml import ElementTree as SafeET

from ictaudit.intake.package import Package

_NS_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_NS_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_NS_TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
_NS_OFFICE = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"
_NS_STYLE = "{urn:oasis:names:tc:opendocument:xmlns:style:1.0}"
_NS_NUMBER = "{urn:oasis:names:tc:opendocument:xmlns:datastyle:1.0}"

#: Excel's built-in number formats that are percentages (ECMA-376 §18.8.30)
BUILTIN_PERCENT = MappingProxyType({9: "0%", 10: "0.00%"})
_CACHED_BYTES = 256 * 1024  # styles parts up to this size are parsed once per distinct bytes


def percent_cells(data: bytes, package: Package, sheet: str, column: int) -> dict[str, str]:
    """Address → number format code (``0%``, ``0.0%``) of each cell of ``column`` (0-based) of ``sheet``
    whose number format is a percentage; empty when there is none or the format cannot be read (see the
    module's notes). The value as the sheet shows it is :func:`shown_percent` of the cell's number.

    Never raises for a file that :func:`~ictaudit.intake.package.inspect_package` let through: a part
    that does not parse means "no percentage known".
    """
    try:
        if package.kind == "zip" and package.zip is not None:
            names = package.zip.NameToInfo
            if "xl/workbook.xml" in names:
                return _xlsx_percent_cells(package, sheet, column)
            if "content.xml" in names:
                return _ods_percent_cells(package, sheet, column)
            return {}
        if package.kind == "ole2":
            return _xls_percent_cells(data, sheet, column)
    except (SafeET.ParseError, zipfile.BadZipFile, KeyError, ValueError, struct.error, IndexError):
        return {}
    return {}


def is_percent_format(code: str) -> bool:
    """Whether an Excel number format code shows a percentage: a ``%`` in its first section that is
    not quoted (``"%"``), escaped (``\\%``) or inside brackets (``[Red]``)."""
    section = _first_section(code)
    return "%" in _unquoted(section)


def decimals_of(code: str) -> int:
    """Digits a format shows after the decimal point (``0.00%`` → 2, ``0%`` → 0)."""
    text = _unquoted(_first_section(code))
    if "." not in text:
        return 0
    return len(re.match(r"[0#?]*", text.split(".", 1)[1]).group(0))


def shown_percent(value: float, code: str) -> str:
    """``value`` as a cell of format ``code`` shows it, Vietnamese style: 0.855, ``0.0%`` → ``85,5%``."""
    places = decimals_of(code)
    scaled = (Decimal(repr(float(value))) * 100).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return f"{scaled:f}".replace(".", ",") + "%"


def as_percentage(value: float) -> float:
    """The percentage a stored fraction stands for, exactly as typed: 0.85 → 85.0 (not 85.00000000000001)."""
    return float(Decimal(repr(float(value))) * 100)


def _first_section(code: str) -> str:
    out, quoted = [], False
    for i, ch in enumerate(code):
        if ch == '"':
            quoted = not quoted
        elif ch == ";" and not quoted and (i == 0 or code[i - 1] != "\\"):
            break
        out.append(ch)
    return "".join(out)


def _unquoted(code: str) -> str:
    """The format without quoted text, escaped characters and bracketed parts."""
    code = re.sub(r'"[^"]*"', "", code)
    code = re.sub(r"\\.", "", code)
    return re.sub(r"\[[^\]]*\]", "", code)


# -- xlsx -------------------------------------------------------------------------------------------


def _xlsx_percent_cells(package: Package, sheet: str, column: int) -> dict[str, str]:
    from ictaudit.intake.formulas import read_part, sheet_part

    zf, parts = package.zip, package.parts
    styles_name = "xl/styles.xml"  # where Excel, LibreOffice and XlsxWriter put it; else the relationships say
    if styles_name not in zf.NameToInfo:
        styles_name = _styles_part(read_part(zf, "xl/_rels/workbook.xml.rels", "", parts))
        if styles_name is None or styles_name not in zf.NameToInfo:
            return {}
    styles = read_part(zf, styles_name, "", parts)
    if not _may_be_percent(styles):  # no percentage format anywhere: the usual form
        return {}
    percent_xf = _percent_styles(styles) if len(styles) <= _CACHED_BYTES else _percent_styles.__wrapped__(styles)
    if not percent_xf:
        return {}
    part = sheet_part(zf, sheet, "", parts)
    if part is None:
        return {}
    sheet_xml = read_part(zf, part, "", parts)
    used = re.compile(rb'\ss="(' + b"|".join(str(i).encode() for i in percent_xf) + rb')"')
    if not used.search(sheet_xml):  # the sheet uses none of them
        return {}
    return _xlsx_cells_in_column(sheet_xml, column, percent_xf)


def _may_be_percent(styles_xml: bytes) -> bool:
    """Whether a styles part may hold a percentage format: a ``%`` (a custom format) or a built-in 9 or
    10 (three byte searches: ~1 µs on a form's styles, where one regular expression took ~14 µs)."""
    return b"%" in styles_xml or b'numFmtId="9"' in styles_xml or b'numFmtId="10"' in styles_xml


def _styles_part(rels_xml: bytes) -> str | None:
    """The zip name of the workbook's styles part, from its relationships."""
    rels = SafeET.fromstring(rels_xml)
    for rel in rels.iter(f"{_NS_PKG_REL}Relationship"):
        if rel.get("Type", "").endswith("/styles"):
            target = rel.get("Target", "")
            return target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
    return None


@lru_cache(maxsize=64)
def _percent_styles(styles_xml: bytes) -> MappingProxyType:
    """Cell style index (``cellXfs``) → format code, for the styles whose number format is a percentage."""
    root = SafeET.fromstring(styles_xml)
    custom = {
        int(f.get("numFmtId", "-1")): f.get("formatCode", "")
        for f in root.iter(f"{_NS_MAIN}numFmt")
        if f.get("numFmtId", "").isdigit()
    }
    out = {}
    xfs = root.find(f"{_NS_MAIN}cellXfs")
    for i, xf in enumerate(xfs if xfs is not None else ()):
        fmt_id = int(xf.get("numFmtId", "0")) if xf.get("numFmtId", "0").isdigit() else 0
        code = custom.get(fmt_id, BUILTIN_PERCENT.get(fmt_id, ""))
        if code and is_percent_format(code):
            out[i] = code
    return MappingProxyType(out)


def _xlsx_cells_in_column(sheet_xml: bytes, column: int, percent_xf) -> dict[str, str]:
    """The cells of ``column`` whose style is one of ``percent_xf``; a cell without ``r`` is placed
    after the one before it, as Excel does."""
    out: dict[str, str] = {}
    root = SafeET.fromstring(sheet_xml)
    row_no = 0
    for row in root.iter(f"{_NS_MAIN}row"):
        row_no = int(row.get("r")) if (row.get("r") or "").isdigit() else row_no + 1
        col_no = 0
        for cell in row.iter(f"{_NS_MAIN}c"):
            ref = cell.get("r")
            if ref:
                letters = re.match(r"[A-Z]+", ref).group(0)
                col_no = _column_number(letters)
            else:
                col_no += 1
            style = cell.get("s", "0")
            if col_no - 1 == column and style.isdigit() and int(style) in percent_xf:
                out[ref or f"{_column_letters(column)}{row_no}"] = percent_xf[int(style)]
    return out


def _column_number(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


def _column_letters(col: int) -> str:
    letters, col = "", col + 1
    while col:
        col, rem = divmod(col - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


# -- ods --------------------------------------------------------------------------------------------


def _ods_percent_cells(package: Package, sheet: str, column: int) -> dict[str, str]:
    from ictaudit.intake.parsing import loose_key

    zf = package.zip
    content = package.parts.get("content.xml") or zf.read("content.xml")
    if b'"percentage"' not in content:  # no percentage cell anywhere
        return {}
    root = SafeET.fromstring(content)
    styles = SafeET.fromstring(zf.read("styles.xml")) if "styles.xml" in zf.NameToInfo else None
    decimals = _ods_percent_decimals(root, styles)
    out: dict[str, str] = {}
    for table in root.iter(f"{_NS_TABLE}table"):
        if loose_key(table.get(f"{_NS_TABLE}name", "")) != loose_key(sheet):
            continue
        row_no = 0
        for row in table.iter(f"{_NS_TABLE}table-row"):
            repeat_rows = min(int(row.get(f"{_NS_TABLE}number-rows-repeated", "1")), 1_000_000)
            col_no = 0
            for cell in row:
                if cell.tag not in (f"{_NS_TABLE}table-cell", f"{_NS_TABLE}covered-table-cell"):
                    continue
                span = min(int(cell.get(f"{_NS_TABLE}number-columns-repeated", "1")), 1_000_000)
                if col_no <= column < col_no + span and cell.get(f"{_NS_OFFICE}value-type") == "percentage":
                    places = decimals.get(cell.get(f"{_NS_TABLE}style-name", ""), 0)
                    code = "0" + ("." + "0" * places if places else "") + "%"
                    for r in range(row_no, row_no + min(repeat_rows, 10_000)):
                        out[f"{_column_letters(column)}{r + 1}"] = code
                col_no += span
                if col_no > column:
                    break
            row_no += repeat_rows
        break
    return out


def _ods_percent_decimals(root, styles) -> dict[str, int]:
    """Cell style name → decimals shown, for the cell styles whose data style is a percentage (data
    styles are in the content's automatic styles or in ``styles.xml``)."""
    places = {}
    for style in (s for tree in (styles, root) if tree is not None for s in tree.iter(f"{_NS_NUMBER}percentage-style")):
        number = style.find(f"{_NS_NUMBER}number")
        text = number.get(f"{_NS_NUMBER}decimal-places", "0") if number is not None else "0"
        places[style.get(f"{_NS_STYLE}name", "")] = int(text) if text.isdigit() else 0
    return {
        s.get(f"{_NS_STYLE}name", ""): places[s.get(f"{_NS_STYLE}data-style-name")]
        for s in root.iter(f"{_NS_STYLE}style")
        if s.get(f"{_NS_STYLE}data-style-name") in places
    }


# -- xls (BIFF8 in a compound file) -----------------------------------------------------------------


def _xls_percent_cells(data: bytes, sheet: str, column: int) -> dict[str, str]:
    from ictaudit.intake.biff import percent_cells_biff8, workbook_stream

    stream = workbook_stream(data)
    if stream is None:
        return {}
    return {
        f"{_column_letters(column)}{row + 1}": code
        for row, code in percent_cells_biff8(stream, sheet, column, is_percent_format).items()
    }

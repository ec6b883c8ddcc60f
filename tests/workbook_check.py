"""An auditor's check of a workbook: throw away every cached value, let LibreOffice compute the whole
workbook from scratch, and compare each formula cell with the value the file carried.

:func:`without_cached_values` copies an .xlsx with the ``<v>`` of every formula cell removed (and the
result type of a text result), so nothing of the library's numbers is left for LibreOffice to trust;
:func:`recalculation_differences` recalculates that copy and lists every formula cell whose value
differs from the original's cached value by more than ``rel`` (relative), or in type or text.
"""

from __future__ import annotations

import math
import re
import zipfile
from pathlib import Path

import openpyxl

from ictaudit.common.office import recalculate

#: a formula cell: its opening tag, its formula and its cached value
_FORMULA_CELL = re.compile(rb"(<c [^>]*>)<f>(.*?)</f><v>.*?</v></c>", re.S)
_RESULT_TYPE = re.compile(rb' t="[a-z]+"')
#: every function a formula calls
FUNCTION_CALL = re.compile(r"([A-Za-z_][A-Za-z0-9_.]*)\(")


def without_cached_values(src: Path, dst: Path) -> int:
    """Copy ``src`` to ``dst`` with no cached value in any formula cell; returns how many were removed."""
    removed = 0
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename.startswith("xl/worksheets/sheet"):
                data, n = _FORMULA_CELL.subn(
                    lambda m: _RESULT_TYPE.sub(b"", m.group(1)) + b"<f>" + m.group(2) + b"</f></c>", data
                )
                removed += n
            zout.writestr(item, data)
    return removed


def formula_cells(path: Path) -> dict[tuple[str, str], str]:
    """``(sheet, cell) → formula`` of every formula cell of a workbook."""
    wb = openpyxl.load_workbook(path)
    out = {}
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.data_type == "f":
                    out[(ws.title, cell.coordinate)] = str(cell.value)
    return out


def _value(x):
    return None if x == "" else x


def _same(a, b, rel: float) -> bool:
    a, b = _value(a), _value(b)
    if isinstance(a, bool) or isinstance(b, bool):
        return a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b or math.isclose(a, b, rel_tol=rel, abs_tol=0.0)
    return a == b


def recalculation_differences(path: Path, work: Path, rel: float = 1e-9) -> tuple[int, list[str]]:
    """Every formula cell of ``path`` recalculated from scratch by LibreOffice against its cached value:
    ``(cells compared, differences)``; a difference names the sheet, cell, both values and the formula."""
    work.mkdir(parents=True, exist_ok=True)
    bare = work / f"{path.stem}-bare.xlsx"
    removed = without_cached_values(path, bare)
    formulas = formula_cells(path)
    assert removed == len(formulas), f"removed {removed} cached values of {len(formulas)} formula cells"
    fresh = openpyxl.load_workbook(recalculate(bare, work / "lo"), data_only=True)
    cached = openpyxl.load_workbook(path, data_only=True)
    wrong = []
    for (sheet, ref), formula in formulas.items():
        a, b = cached[sheet][ref].value, fresh[sheet][ref].value
        if not _same(a, b, rel):
            wrong.append(f"{sheet}!{ref}: cached {a!r}, LibreOffice {b!r}, {formula}")
    return len(formulas), wrong


def functions_called(path: Path) -> set[str]:
    """The names of every function any formula of the workbook calls, as stored in the file."""
    names: set[str] = set()
    with zipfile.ZipFile(path) as z:
        for name in z.namelist():
            if name.startswith("xl/worksheets/sheet"):
                for f in re.findall(rb"<f>(.*?)</f>", z.read(name), re.S):
                    text = re.sub(r'"[^"]*"', '""', f.decode("utf-8"))  # not what a text literal holds
                    names.update(FUNCTION_CALL.findall(text))
    return names


def raw_xml(path: Path) -> bytes:
    """Every XML part of a workbook, concatenated (for searching it)."""
    with zipfile.ZipFile(path) as z:
        return b"".join(z.read(n) for n in z.namelist() if n.endswith(".xml") or n.endswith(".rels"))

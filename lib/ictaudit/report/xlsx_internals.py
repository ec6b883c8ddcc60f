"""The two XlsxWriter internals the workbook writer leans on for speed, fenced here.

Both reach past XlsxWriter's public API, so XlsxWriter is pinned exactly in ``pyproject.toml``
(:data:`PINNED_XLSXWRITER`); on any other version they step aside and XlsxWriter's public calls run
(the same cells, slower or held in memory), and ``tests/test_xlsx_internals.py`` fails loudly: the
version, the source of each internal relied on, and the bytes with and without them. Their measured
gains are in ``docs/performance.md``.

- :func:`write_plain_formula`: ``Worksheet.write_formula`` searches every formula for dynamic-array
  functions (``FILTER(``, ``XLOOKUP(``…) and tries ~150 regular-expression rewrites that add the
  ``_xlfn.`` prefix of functions newer than Excel 2007 (``MAXIFS`` → ``_xlfn.MAXIFS``): ~60 µs a
  formula, ~27 s for the 450,000 formulas of a 10,000-agency workbook. A formula that calls only
  Excel 2007 functions (:func:`is_plain_formula`) comes out of all that unchanged but for its ``=``,
  so it is stored as ``write_formula`` would store it, without the searches.
- :func:`add_streamed_worksheet`: XlsxWriter's ``constant_memory`` (rows go to a temporary file as
  they are written) is an option of the whole workbook, read each time a sheet is added. Set for one
  sheet, it keeps the long sheets out of memory while another sheet holds an Excel table, which
  needs its sheet in memory.
"""

from __future__ import annotations

import re

import xlsxwriter
from xlsxwriter.worksheet import CellFormulaTuple

#: the XlsxWriter version these internals were read in (and pyproject.toml pins)
PINNED_XLSXWRITER = "3.3.1"

#: a function name followed by "(": the whole run of name characters before the parenthesis
_FUNCTION_CALL = re.compile(r"[A-Za-z0-9_.]+(?=\()")
#: functions of Excel 2007 that XlsxWriter leaves as they are (no ``_xlfn.`` prefix, no dynamic array)
PLAIN_FUNCTIONS = frozenset({
    "ABS", "AND", "AVERAGE", "COUNT", "COUNTA", "COUNTIF", "COUNTIFS", "IF", "IFERROR", "INDEX", "ISBLANK",
    "ISNUMBER", "LEN", "MATCH", "MAX", "MIN", "MOD", "NOT", "OR", "ROUND", "ROUNDDOWN", "ROUNDUP", "SUM",
    "SUMIF", "SUMIFS", "SUMPRODUCT",
})  # fmt: skip


def is_pinned_version() -> bool:
    return xlsxwriter.__version__ == PINNED_XLSXWRITER


def is_plain_formula(formula: str) -> bool:
    """Whether ``formula`` starts with ``=``, is no array formula and calls only :data:`PLAIN_FUNCTIONS`.

    Each call is judged by the whole run of name characters before its parenthesis, so a name that
    only ends like a plain one (``XSUM(``), a prefixed one (``_xlfn.SUM(``) or one inside a text
    literal all make the formula not plain: XlsxWriter's own code then handles it.
    """
    return (
        formula.startswith("=")
        and not formula.endswith("}")
        and all(name in PLAIN_FUNCTIONS for name in _FUNCTION_CALL.findall(formula))
    )


def write_plain_formula(ws, row: int, col: int, formula: str, fmt, value) -> None:
    """``ws.write_formula(row, col, formula, fmt, value)`` for a formula that :func:`is_plain_formula`.

    As ``Worksheet._write_formula`` does, without its dynamic-array search and its rewrites (which
    leave such a formula as it is but for its ``=``): check the cell's bounds, write out the previous
    rows of a streamed sheet, store the cell.
    """
    if not is_pinned_version():
        ws.write_formula(row, col, formula, fmt, value)
        return
    if ws._check_dimensions(row, col):
        return  # outside the sheet: written nowhere, as write_formula does
    if ws.constant_memory and row > ws.previous_row:
        ws._write_single_row(row)
    ws.table[row][col] = CellFormulaTuple(formula[1:], fmt, value)


def add_streamed_worksheet(wb: xlsxwriter.Workbook, name: str):
    """A new worksheet in XlsxWriter's ``constant_memory`` mode, whatever the workbook's option.

    Memory stays flat however many rows; text is stored in the cell rather than in the shared strings.
    Rows must be written in increasing order, each row's ``set_row`` before its cells.
    """
    if not is_pinned_version():
        return wb.add_worksheet(name)
    before = wb.constant_memory
    wb.constant_memory = True
    try:
        return wb.add_worksheet(name)
    finally:
        wb.constant_memory = before

"""The one XlsxWriter internal the workbook writer leans on, for speed, fenced here.

``Worksheet.write_formula`` searches every formula for dynamic-array functions (``FILTER(``,
``XLOOKUP(``…), tries ~30 regular-expression rewrites that add the ``_xlfn.`` prefix of the
dynamic-array functions and, with ``use_future_functions`` (which the report no longer sets: it calls
no function newer than Excel 2007), ~150 (``MAXIFS`` → ``_xlfn.MAXIFS``): up to ~0.4 ms a formula,
~170 s for the 450,000 formulas of a 10,000-agency workbook. A formula that calls only
Excel 2007 functions (:func:`is_plain_formula`) comes out of all that unchanged but for its ``=``,
so :func:`write_plain_formula` stores it as ``write_formula`` would, without the searches.

This reaches past XlsxWriter's public API, so XlsxWriter is pinned exactly in ``pyproject.toml``
(:data:`PINNED_XLSXWRITER`); on any other version it steps aside (XlsxWriter's ``write_formula``
runs: the same bytes, slower), and ``tests/test_xlsx_internals.py`` fails loudly: the version, the
source of the internals relied on, and the bytes with and without. Its measured gain is in
``docs/performance.md``.
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
    rows of a sheet in ``constant_memory`` mode, store the cell.
    """
    if not is_pinned_version():
        ws.write_formula(row, col, formula, fmt, value)
        return
    if ws._check_dimensions(row, col):
        return  # outside the sheet: written nowhere, as write_formula does
    if ws.constant_memory and row > ws.previous_row:
        ws._write_single_row(row)
    ws.table[row][col] = CellFormulaTuple(formula[1:], fmt, value)

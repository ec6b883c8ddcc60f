"""``report.xlsx``: the inputs and every computed number as a live formula with its cached value.

Sheets:

- ``Giới thiệu``: what the workbook is, the legal basis, the rubric's notice, a guide to the sheets;
- ``Số liệu``: the confirmed values used for scoring, one row per agency with values, one column per
  field (a value held back by an unresolved error is left blank there and listed in the last column);
- ``Điểm``: per group a row of maxima and a row of "best" values (``MAXIFS`` over a helper column
  of each ``ratio_to_best`` indicator, ranked agencies only); then one row per agency: one formula per
  indicator (``kind.excel_formula``), criterion sums, points, applicable maximum, ``score_100``,
  index, band and competition rank within the group — each formula carrying the library's number as
  its cached value;
- ``Diễn giải`` (the trail, as an Excel table), ``Nguồn số liệu`` (source cells), ``Lỗi số liệu``
  (validation problems), ``Hiệu chỉnh`` (corrections) and ``Thang điểm`` (the method).

Agency-supplied text is always a string cell: written with ``write_string`` (and the workbook refuses
to turn strings into formulas anyway), or, for the long sheets' rows, straight into the sheet XML as
the inline string ``write_string`` writes, with XlsxWriter's own escaping (see "rows written straight
into a streamed sheet's XML"). The file's bytes depend only on the inputs.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import math
import os
import re
import zipfile
from datetime import datetime
from pathlib import Path

import pandas as pd
import xlsxwriter
from xlsxwriter.utility import xl_col_to_name

from ictaudit.common.xlsx_text import write_text
from ictaudit.report.inputs import (
    CORRECTION_STATUS_VI,
    KIND_VI,
    RANKED,
    SEVERITY_VI,
    Memo,
    ReportInputs,
    bands_text,
    flags_vi,
    fmt_date_text,
    formula_vi,
    gc_paused,
    parse_inputs,
    records,
    status_vi,
)

FIXED_CREATED = datetime(2000, 1, 1, 0, 0, 0)
VALUES_SHEET = "Số liệu"
SCORES_SHEET = "Điểm"
A4 = 9


def _q(text: str) -> str:
    """A string literal inside a formula."""
    return '"' + str(text).replace('"', '""') + '"'


def _nan(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


class _Formats:
    def __init__(self, wb: xlsxwriter.Workbook):
        base = {"font_name": "Arial", "font_size": 10, "valign": "top"}
        self.text = wb.add_format(base)
        self.wrap = wb.add_format({**base, "text_wrap": True})
        self.title = wb.add_format({**base, "bold": True, "font_size": 13})
        self.notice = wb.add_format({**base, "text_wrap": True, "bg_color": "#FFF2CC", "border": 1})
        self.header = wb.add_format(
            {**base, "bold": True, "text_wrap": True, "bg_color": "#D9E1F2", "border": 1, "valign": "vcenter"}
        )
        self.header_small = wb.add_format({**base, "text_wrap": True, "bg_color": "#EDF1F9", "font_size": 8})
        self.int = wb.add_format({**base, "num_format": "#,##0"})
        self.dec = wb.add_format({**base, "num_format": "#,##0.####"})
        self.yesno = wb.add_format({**base, "num_format": '[=1]"Có";[=0]"Không";General'})
        self.held = wb.add_format({**base, "bg_color": "#F4CCCC"})
        self.na_field = wb.add_format({**base, "bg_color": "#EEEEEE"})
        self.pts = wb.add_format({**base, "num_format": "0.00"})
        self.pts_bold = wb.add_format({**base, "num_format": "0.00", "bold": True})
        self.ratio = wb.add_format({**base, "num_format": "0.0000"})
        self.index = wb.add_format({**base, "num_format": "0.000"})
        self.rank = wb.add_format({**base, "num_format": "0", "bold": True, "align": "center"})
        self.max_row = wb.add_format({**base, "num_format": "0.##", "italic": True, "bg_color": "#F2F2F2"})
        self.best_row = wb.add_format({**base, "num_format": "0.0000", "italic": True, "bg_color": "#E2EFDA"})
        self.label_row = wb.add_format({**base, "italic": True, "bg_color": "#F2F2F2"})


#: a function name followed by "(": the whole run of name characters before the parenthesis
_FUNCTION_CALL = re.compile(r"[A-Za-z0-9_.]+(?=\()")
#: functions of Excel 2007 that XlsxWriter leaves as they are (no ``_xlfn.`` prefix, no dynamic-array rewrite)
_PLAIN_FUNCTIONS = frozenset({
    "ABS", "AND", "AVERAGE", "COUNT", "COUNTA", "COUNTIF", "COUNTIFS", "IF", "IFERROR", "INDEX", "ISBLANK",
    "ISNUMBER", "LEN", "MATCH", "MAX", "MIN", "MOD", "NOT", "OR", "ROUND", "ROUNDDOWN", "ROUNDUP", "SUM",
    "SUMIF", "SUMIFS", "SUMPRODUCT",
})  # fmt: skip


def _fast_formulas(ws) -> None:
    """Skip XlsxWriter's ~150 regex rewrites per formula when a formula calls only plain functions.

    ``Worksheet._prepare_formula`` strips ``=`` and braces, then tries one regex per future or
    dynamic-array function (``MAXIFS`` → ``_xlfn.MAXIFS``). A formula whose every call is a plain
    Excel 2007 function comes out of those rewrites unchanged, so it is only stripped here; any
    other formula goes through XlsxWriter's own code. Same bytes, a fraction of the time (the
    rewrites were half of the workbook's cost at 2,200 agencies).
    """
    original = ws._prepare_formula

    def prepare(formula: str, expand_future_functions: bool = False) -> str:
        if all(name in _PLAIN_FUNCTIONS for name in _FUNCTION_CALL.findall(formula)):
            if formula.startswith("{"):
                formula = formula[1:]
            if formula.startswith("="):
                formula = formula[1:]
            if formula.endswith("}"):
                formula = formula[:-1]
            return formula
        return original(formula, expand_future_functions)

    ws._prepare_formula = prepare


#: the trail is an Excel table (banded, filterable, named) up to this many rows; above, a filtered range
#: written row by row — XlsxWriter must hold a table's sheet in memory (~1 GB at 10,000 agencies)
TABLE_MAX_ROWS = 100_000


def _add_sheet(wb, name: str, streamed: bool = False):
    """A new worksheet; ``streamed``: its rows go to a temporary file as they are written.

    XlsxWriter's ``constant_memory`` mode, per sheet: memory stays flat whatever the number of rows,
    text is stored in the cell rather than in the shared strings. Rows must then be written in
    increasing order, and ``set_row`` must come before the row's cells.
    """
    before = wb.constant_memory
    wb.constant_memory = streamed
    try:
        ws = wb.add_worksheet(name)
    finally:
        wb.constant_memory = before
    if streamed:
        _write_sheet_data(ws)
    return ws


def _write_sheet_data(ws) -> None:
    """Let a streamed sheet's rows go into its XML, when the workbook closes, without copying text twice.

    XlsxWriter copies the rows from their temporary file 64 KB at a time through UTF-8 decoding and
    encoding (~1.5 s for the 850 MB of a national workbook). Here the file is copied as bytes (the same
    bytes, except that text-mode reading turns a carriage return into a line feed: a file with one is
    copied that way), and the rows set aside by :func:`_emit_rows` follow it: they never go through
    the temporary file at all. When the workbook is closed by :func:`_closing`, rows that know their
    length are not even written into the sheet's XML file: the zip file puts them in as it deflates it.
    """

    def write() -> None:
        fh, rows = ws.fh, ws.row_data_fh
        blocks, size = getattr(ws, "_ictaudit_rows", (None, None))
        if ws.dim_rowmin is None:
            ws._xml_empty_tag("sheetData")
            return
        ws._xml_start_tag("sheetData")
        rows.flush()
        if size is not None and rows.buffer.seek(0, os.SEEK_END) != size:
            raise RuntimeError(f"{ws.name}: rows were written after the rows set aside for the end")
        as_bytes = os.linesep == "\n" and hasattr(fh, "buffer")
        fh.flush()
        start = fh.buffer.tell() if as_bytes else None
        copied = False
        if as_bytes:
            rows.buffer.seek(0)
            while chunk := rows.buffer.read(1 << 20):
                if b"\r" in chunk:  # XlsxWriter's copy turns it into \n: start again its way
                    fh.buffer.seek(start)
                    fh.buffer.truncate()
                    break
                fh.buffer.write(chunk)
            else:
                copied = True
        if not copied:
            rows.seek(0)
            while data := rows.read(65536):
                fh.write(data)
        splices = getattr(ws, "_ictaudit_splices", None)
        if blocks is not None and as_bytes and splices is not None and hasattr(blocks, "size"):
            fh.flush()  # the rows go in here when the part is deflated: never written to disk uncompressed
            splices[fh.name] = (fh.buffer.tell(), blocks, blocks.size)
        elif blocks is not None:
            fh.flush()
            for block in blocks():
                if as_bytes:
                    fh.buffer.write(block if isinstance(block, bytes) else block.encode())
                else:
                    fh.write(block.decode() if isinstance(block, bytes) else block)
        rows.close()
        os.unlink(ws.row_data_filename)
        ws._xml_end_tag("sheetData")

    ws._write_optimized_sheet_data = write


class _InRowOrder:
    """Stands in for a streamed worksheet while its header rows are written in any order.

    Cell writes (``write_*``, ``merge_range``) are recorded and :meth:`flush` replays them sorted by
    row (stably), as a streamed sheet requires; everything else goes straight to the worksheet.
    """

    def __init__(self, ws):
        self.ws = ws
        self.calls: list[tuple[int, int, object, tuple]] = []

    def __getattr__(self, name: str):
        method = getattr(self.ws, name)
        if not (name.startswith("write") or name == "merge_range"):
            return method

        def record(row: int, *args) -> None:
            self.calls.append((row, len(self.calls), method, args))

        return record

    def flush(self):
        for row, _, method, args in sorted(self.calls, key=lambda c: (c[0], c[1])):
            method(row, *args)
        self.calls = []
        return self.ws


def _print_setup(ws, repeat_to: int, landscape: bool = True) -> None:
    ws.set_paper(A4)
    if landscape:
        ws.set_landscape()
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(0, repeat_to)
    ws.set_margins(left=0.4, right=0.4, top=0.5, bottom=0.6)
    ws.set_footer("&L&A&RTrang &P/&N")


_write_text = write_text  # agency text stays text (see ictaudit.common.xlsx_text)


def _write_num(ws, row: int, col: int, value, fmt=None) -> None:
    if _nan(value):
        ws.write_blank(row, col, None, fmt)
    else:
        ws.write_number(row, col, float(value), fmt)


# -- rows written straight into a streamed sheet's XML ---------------------------------------------
#
# XlsxWriter writes a streamed sheet's cell by building an object per cell and formatting its XML in
# ``Worksheet._write_cell``: ~6 µs a cell, and a national workbook has ~15 million. The functions
# below write the same XML, byte for byte, a row at a time from templates: each cell is
# ``<c r="{column}{row}"`` and a "tail" (style, type, value, end) that depends only on the value and
# its format, so each distinct tail is built once, with XlsxWriter's own escaping functions. Anything
# off that common path (rich-text markup, an over-long text, a number XlsxWriter would refuse, rows
# with their own height) makes them write nothing and return False; the caller then writes the rows
# cell by cell. ``tests/test_report_scale.py`` holds both ways to the same bytes.

#: rows joined into one string and written at a time. A block of ~1-2 MB is joined, checksummed and
#: deflated while it is still in the processor's cache, and the allocator reuses its memory; blocks of
#: 20,000 rows (~20-40 MB) each came from fresh pages (at 10,000 agencies: 420,000 page faults instead
#: of 180,000, ~0.4 s more CPU). The bytes are the same: deflate's output does not depend on the cuts.
_ROWS_PER_WRITE = 2_000


def _style(fmt) -> str:
    """The end of a cell's ``r`` attribute and its ``s``: ``" s="3"``."""
    return f'" s="{fmt._get_xf_index()}"' if fmt is not None else '"'


class _Tails:
    """The tails of cells as XlsxWriter writes them in a streamed sheet: a cell's XML after ``<c r="A12``."""

    def __init__(self, ws):
        from xlsxwriter.utility import _preserve_whitespace
        from xlsxwriter.xmlwriter import XMLwriter

        self._control = XMLwriter._escape_control_characters
        self._escape = ws._escape_data
        self._preserve = _preserve_whitespace
        self._strmax = ws.xls_strmax // 2  # a text below this many characters is never truncated
        self._styles: dict[int, str] = {}  # by format: formats are numbered by then (see _number_formats)

    def text(self, value, fmt) -> str | None:
        """A cell of :func:`write_text` (blank for None, NaN and ""), or None when it is not a plain string."""
        if value is None or (isinstance(value, float) and math.isnan(value)) or value == "":
            return None if fmt is None else f"{_style(fmt)}/>"  # write_blank without a format writes nothing
        if not isinstance(value, str | float):  # other types: the cell-by-cell path (str(True) ≠ str(1), both keys 1)
            return None
        text = str(value)
        if (text.startswith("<r>") and text.endswith("</r>")) or len(text) > self._strmax:
            return None
        text = self._control(text)
        space = ' xml:space="preserve"' if self._preserve(text) else ""
        return f'{_style(fmt)} t="inlineStr"><is><t{space}>{self._escape(text)}</t></is></c>'

    def number(self, value, fmt) -> str | None:
        """A cell of :func:`_write_num` (blank for None and NaN), or None for what XlsxWriter would refuse."""
        if _nan(value):
            return None if fmt is None else f"{_style(fmt)}/>"
        try:
            number = float(value)
        except (TypeError, ValueError):
            return None
        if not math.isfinite(number):
            return None
        return f"{_style(fmt)}><v>{number:.16G}</v></c>"

    def formula(self, value, fmt) -> tuple[str, str]:
        """(the attributes, the cached value's text) of a formula cell, as ``Worksheet._write_cell`` gives them."""
        attrs = self._styles.get(id(fmt)) or self._styles.setdefault(id(fmt), _style(fmt))
        if type(value) is float:  # the common case: f"{value}", without _escape_data's TypeError for a non-text
            return attrs, repr(value)
        if isinstance(value, bool):
            return f'{attrs} t="b"', "1" if value else "0"
        if isinstance(value, str) and value:
            attrs += ' t="e"' if value in _ERROR_CODES else ' t="str"'
        return attrs, f"{self._escape(value)}"

    def column(self, values: list, fmt, text: bool, encode: bool = False, end: str = "") -> list | None:
        """The tails of a whole column (each distinct value's built once), followed by ``end``; as UTF-8 bytes
        with ``encode``. None if one is off the path."""
        distinct = list(dict.fromkeys(values))  # NaN objects that are not the same object are separate keys: fine
        tails = self._texts(distinct, fmt) if text else [self.number(v, fmt) for v in distinct]
        if tails is None or any(t is None for t in tails):
            return None
        if end:
            tails = [t + end for t in tails]
        if encode:
            tails = [t.encode() for t in tails]
        return list(map(dict(zip(distinct, tails)).__getitem__, values))

    def _texts(self, values: list, fmt) -> list[str | None] | None:
        """:meth:`text` of each of ``values`` (distinct), escaping only when one of them needs it."""
        from xlsxwriter.xmlwriter import re_control_chars_1, re_control_chars_2

        if not all(v is None or isinstance(v, str | float) for v in values):
            return None  # other types: the cell-by-cell path (str(True) ≠ str(1), both keys 1)
        texts = [v for v in values if isinstance(v, str) and v]
        joined = "\n".join(texts)  # no pattern below can match across a line feed
        if (
            re_control_chars_1.search(joined)
            or re_control_chars_2.search(joined)
            or "\ufffe" in joined
            or "\uffff" in joined
            or any(isinstance(v, float) and v == v for v in values)
        ):
            return [self.text(v, fmt) for v in values]  # some text has a control character: each its own way
        style = _style(fmt)
        blank = None if fmt is None else f"{style}/>"
        escape = "&" in joined or "<" in joined or ">" in joined
        preserve, strmax = self._preserve, self._strmax
        out: list[str | None] = []
        for v in values:
            if not isinstance(v, str) or not v:  # None, NaN, ""
                out.append(blank)
            elif (v.startswith("<r>") and v.endswith("</r>")) or len(v) > strmax:
                return None
            else:
                space = ' xml:space="preserve"' if preserve(v) else ""
                out.append(f'{style} t="inlineStr"><is><t{space}>{self._escape(v) if escape else v}</t></is></c>')
        return out


_ERROR_CODES = ("#DIV/0!", "#N/A", "#NAME?", "#NULL!", "#NUM!", "#REF!", "#VALUE!")


def _start_rows(ws, first: int, n: int) -> bool:
    """Whether rows ``first``… of a streamed sheet can be written directly (in the sheet, none with a
    format of its own); if so, the rows above them (title, header) go out first, as a cell write does."""
    ok = (
        n > 0
        and getattr(ws, "constant_memory", False)
        and first > ws.previous_row
        and first + n <= ws.xls_rowmax
        and not any(first <= r < first + n for r in ws.row_info)
        and ws.default_row_height == ws.original_row_height
    )
    if ok:
        ws._write_single_row(first)
    return ok


def _number_formats(rows, formats) -> None:
    """Give ``formats`` their XF index in the order the cell-by-cell path first writes them out.

    XlsxWriter numbers a format (its ``s`` in the sheet, its place in styles.xml) when a cell with it
    is first written out, row by row and column by column; ``rows``: each row's cell formats, in that
    order. Stops once every one of ``formats`` has its number (one never used keeps none).
    """
    pending = [f for f in formats if f is not None and f.xf_index is None]
    for row in rows:
        if not pending:
            return
        for fmt in row:
            if fmt is not None and fmt.xf_index is None:
                fmt._get_xf_index()
        pending = [f for f in pending if f.xf_index is None]  # one equal to another shares its number: never set


def _emit_rows(ws, first: int, n: int, first_col: int, last_col: int, blocks) -> None:
    """Rows ``first``…``first + n - 1`` of a streamed sheet (cells in columns first_col…last_col), written
    when the workbook closes: ``blocks()`` gives their XML a block of rows at a time (text or UTF-8 bytes).

    The sheet is left as XlsxWriter's own writes of those cells would leave it; no other row may be
    written after them (:func:`_write_sheet_data` checks).
    """
    last = first + n - 1
    ws.dim_rowmin = first if ws.dim_rowmin is None else min(ws.dim_rowmin, first)
    ws.dim_rowmax = last if ws.dim_rowmax is None else max(ws.dim_rowmax, last)
    ws.dim_colmin = first_col if ws.dim_colmin is None else min(ws.dim_colmin, first_col)
    ws.dim_colmax = last_col if ws.dim_colmax is None else max(ws.dim_colmax, last_col)
    ws.previous_row = last
    ws.table.clear()
    ws.fh.flush()
    ws._ictaudit_rows = (blocks, ws.fh.buffer.seek(0, os.SEEK_END) if hasattr(ws.fh, "buffer") else None)


def _text_blocks(rows, n: int):
    """``blocks`` for :func:`_emit_rows` of an iterator of ``n`` rows' XML text."""

    def blocks():
        for start in range(0, n, _ROWS_PER_WRITE):
            yield "".join(itertools.islice(rows, min(_ROWS_PER_WRITE, n - start)))

    return blocks


def _row_template(cells: list[str], close: str = "</row>") -> str:
    """A row's ``str.format`` template: ``{0}`` is the row number; ``cells``: each cell's template
    after ``<c r="`` (its column letters and the rest, with its own fields)."""
    return '<row r="{0}">' + "".join(f'<c r="{cell}' for cell in cells) + close


def _stream_rows(ws, first: int, columns: list[tuple[bool, object]], data: list[list]) -> bool:
    """Write the data rows of a streamed table sheet straight into its XML, as XlsxWriter would.

    ``columns``: (is text, format) per column; ``data``: the values, column by column. A text cell
    follows :func:`write_text`'s rules, a number :func:`_write_num`'s. Returns False, having written
    nothing, when a value is off the common path (see above); the caller then writes cell by cell.
    """
    from xlsxwriter.utility import xl_col_to_name

    n = len(data[0]) if data else 0
    if not _start_rows(ws, first, n):
        return False
    formats = [fmt for _text, fmt in columns]
    _number_formats([formats], formats)  # every row has a cell in every column, in the column's format
    as_bytes = os.linesep == "\n"  # the tails as UTF-8, as the sheet's file will have them
    cells = _Tails(ws)
    # a row: <row r="R"><c r="AR"…tail…<c r="BR"…tail…</row>; each tail carries the start of the next
    # cell (or the row's end), so that a row is 2 pieces a cell: its row number, and the tail
    ends = [f'<c r="{xl_col_to_name(j)}' for j in range(1, len(columns))] + ["</row>"]
    tails = []
    for (is_text, fmt), values, end in zip(columns, data, ends):
        column = cells.column(values, fmt, is_text, encode=as_bytes, end=end)
        if column is None:
            return False
        tails.append(column)
    numbers = [f"{r}".encode() if as_bytes else f"{r}" for r in range(first + 1, first + n + 1)]
    pieces: list = ['<row r="', numbers, f'"><c r="{xl_col_to_name(0)}']
    for column in tails:
        pieces += [numbers, column]
    _emit_rows(ws, first, n, 0, len(columns) - 1, _piece_blocks(pieces, n))
    return True


def _table_rows(ws, first: int, columns: list[tuple[bool, object]], data: list[list]) -> bool:
    """:func:`_stream_rows` for a sheet held in memory (an Excel table): its text in the shared strings.

    The texts are put in the workbook's shared strings now, in the order the cell-by-cell path would
    put them (row by row); the rows' XML is written when the workbook closes, in place of the cells
    XlsxWriter would have held (formats numbered then, as it would). Returns False, having done
    nothing, when a value is off the common path.
    """
    from xlsxwriter.utility import xl_col_to_name

    n = len(data[0]) if data else 0
    if (
        n == 0
        or getattr(ws, "constant_memory", False)
        or first + n > ws.xls_rowmax
        or any(first <= r < first + n for r in ws.row_info)
        or any(r >= first and ws.table[r] for r in list(ws.table))
        or ws.comments
        or ws.default_row_height != ws.original_row_height
    ):
        return False
    strmax = ws.xls_strmax // 2
    texts: list[list[str | None]] = []
    for (is_text, fmt), values in zip(columns, data):
        if not is_text:
            if any(_nan(v) for v in values) and fmt is None:
                return False  # a blank without a format is no cell at all
            try:
                if not all(_nan(v) or math.isfinite(float(v)) for v in values):
                    return False
            except (TypeError, ValueError):
                return False
            continue
        column: list[str | None] = []
        for v in values:
            if v is None or (isinstance(v, float) and math.isnan(v)) or v == "":
                if fmt is None:
                    return False
                column.append(None)
            elif not isinstance(v, str | float):
                return False
            else:
                text = str(v)
                if (text.startswith("<r>") and text.endswith("</r>")) or len(text) > strmax:
                    return False
                column.append(text)
        texts.append(column)
    # the shared strings, in the cell-by-cell order: row by row, column by column
    flat: list[str | None] = [None] * (n * len(texts))
    for j, column in enumerate(texts):
        flat[j :: len(texts)] = column
    strings = [t for t in flat if t is not None]
    sst = ws.str_table
    index = {t: sst._get_shared_string_index(t) for t in dict.fromkeys(strings)}
    sst.count += len(strings) - len(index)
    ws.dim_rowmin = first if ws.dim_rowmin is None else min(ws.dim_rowmin, first)
    ws.dim_rowmax = first + n - 1 if ws.dim_rowmax is None else max(ws.dim_rowmax, first + n - 1)
    ws.dim_colmin = 0 if ws.dim_colmin is None else min(ws.dim_colmin, 0)
    ws.dim_colmax = len(columns) - 1 if ws.dim_colmax is None else max(ws.dim_colmax, len(columns) - 1)
    original = ws._write_rows

    def write_rows() -> None:
        original()  # the title and the header, still held as cells
        formats = [fmt for _text, fmt in columns]
        _number_formats([formats], formats)
        as_bytes = os.linesep == "\n" and hasattr(ws.fh, "buffer")
        cells = _Tails(ws)
        ends = [f'<c r="{xl_col_to_name(j)}' for j in range(1, len(columns))] + ["</row>"]
        tails = []
        shared = iter(texts)
        for (is_text, fmt), values, end in zip(columns, data, ends):
            if is_text:
                style = _style(fmt)
                memo = {t: f'{style} t="s"><v>{i}</v></c>{end}' for t, i in index.items()}
                memo[None] = f"{style}/>{end}"
                tail = list(map(memo.__getitem__, next(shared)))
            else:
                tail = cells.column(values, fmt, False, end=end)
            tails.append([t.encode() for t in tail] if as_bytes else tail)
        numbers = [f"{r}".encode() if as_bytes else f"{r}" for r in range(first + 1, first + n + 1)]
        pieces: list = ['<row r="', numbers, f'" spans="1:{len(columns)}"><c r="{xl_col_to_name(0)}']
        for column in tails:
            pieces += [numbers, column]
        ws.fh.flush()
        write = ws.fh.buffer.write if as_bytes else ws.fh.write
        for block in _piece_blocks(pieces, n)():
            write(block)

    ws._write_rows = write_rows
    return True


def _piece_blocks(pieces: list, n: int):
    """``blocks`` for :func:`_emit_rows` of rows given as pieces: each a text that every row has, or a
    list (one per row; all str, or all UTF-8 bytes). A block is joined from one flat list filled piece
    by piece (list slice assignment: no Python loop over the cells)."""
    as_bytes = any(isinstance(p, list) and p and isinstance(p[0], bytes) for p in pieces)
    joiner = b"" if as_bytes else ""
    pieces = [p.encode() if as_bytes and isinstance(p, str) else p for p in pieces]
    stride = len(pieces)

    def blocks():
        for start in range(0, n, _ROWS_PER_WRITE):
            stop = min(start + _ROWS_PER_WRITE, n)
            flat = [joiner] * (stride * (stop - start))
            for k, p in enumerate(pieces):
                if isinstance(p, list):
                    flat[k::stride] = p[start:stop]
                elif p:
                    flat[k::stride] = [p] * (stop - start)
            yield joiner.join(flat)

    if as_bytes:  # their length in bytes, known before they are joined (see _ZipWithRows)
        lengths = {id(p): sum(map(len, p)) for p in pieces if isinstance(p, list)}  # the row numbers: once
        blocks.size = sum(lengths[id(p)] if isinstance(p, list) else n * len(p) for p in pieces)
    return blocks


def write_report_xlsx(data: ReportInputs, path: Path) -> Path:
    with gc_paused():
        return _write_report_xlsx(data, path)


def _write_report_xlsx(data: ReportInputs, path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = xlsxwriter.Workbook(
        str(path),
        {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False,
         "use_future_functions": True},
    )  # fmt: skip
    wb.set_properties(
        {
            "title": str(data.cycle_info.get("title") or data.rubric.title_vi),
            "subject": data.rubric.title_vi,
            "author": "ictaudit",
            "keywords": f"ictaudit, {data.rubric.id} {data.rubric.version}",
            "created": FIXED_CREATED,
        }
    )
    fm = _Formats(wb)
    _sheet_intro(wb, data, fm)
    input_rows, input_cols = _sheet_values(wb, data, fm)
    _sheet_scores(wb, data, fm, input_rows, input_cols)
    _sheet_trail(wb, data, fm)
    _sheet_sources(wb, data, fm)
    _sheet_issues(wb, data, fm)
    _sheet_corrections(wb, data, fm)
    _sheet_method(wb, data, fm)
    with _closing(wb):
        wb.close()
    return path


#: deflate level of the workbook's parts. XlsxWriter leaves zlib's default (6); at 10,000 agencies
#: (850 MB of sheet XML) level 2 compresses in a third of the time (~1.8 s instead of ~5.2 s) for a
#: file ~20 % larger (~100 MB instead of 85 MB). Deterministic either way.
ZIP_LEVEL = 2


@contextlib.contextmanager
def _closing(wb, level: int = ZIP_LEVEL):
    """While ``wb`` closes: its zip file deflates at ``level`` (XlsxWriter opens its ``ZipFile`` without
    one) and puts the rows :func:`_write_sheet_data` set aside into their sheets' parts."""
    import functools

    import xlsxwriter.workbook as workbook_module

    splices: dict[str, tuple] = {}
    for ws in wb.worksheets():
        ws._ictaudit_splices = splices
    original = workbook_module.ZipFile
    workbook_module.ZipFile = functools.partial(_ZipWithRows, compresslevel=level, splices=splices)
    try:
        yield
    finally:
        workbook_module.ZipFile = original
        for ws in wb.worksheets():
            ws._ictaudit_splices = None
    if splices:
        raise RuntimeError(f"rows set aside for {', '.join(splices)} were not written into the workbook")


class _ZipWithRows(zipfile.ZipFile):
    """A ``ZipFile`` that writes a sheet's part with the rows set aside for it (``splices``: the part's
    temporary file name → where the rows go in it, their blocks, their length): the bytes of the part
    XlsxWriter would have written whole, deflated as they come (deflate's output does not depend on
    how its input is cut), without 850 MB more written to disk and read back."""

    def __init__(self, *args, splices: dict[str, tuple], **kwargs):
        super().__init__(*args, **kwargs)
        self._splices = splices

    def write(self, filename, arcname=None, compress_type=None, compresslevel=None):
        splice = self._splices.pop(filename, None) if isinstance(filename, str) else None
        if splice is None:
            return super().write(filename, arcname, compress_type, compresslevel)
        at, blocks, size = splice
        # as ZipFile.write does, for the file as it would be with the rows in it
        zinfo = zipfile.ZipInfo.from_file(filename, arcname, strict_timestamps=self._strict_timestamps)
        zinfo.compress_type = self.compression if compress_type is None else compress_type
        zinfo._compresslevel = self.compresslevel if compresslevel is None else compresslevel
        zinfo.file_size += size  # decides, as there, whether the entry needs ZIP64
        with open(filename, "rb") as src, self.open(zinfo, "w") as dest:
            dest.write(src.read(at))
            for block in _ahead(blocks()):
                dest.write(block)
            while chunk := src.read(1 << 20):
                dest.write(chunk)
        return None


def _ahead(blocks):
    """The blocks, each joined in a thread while the previous one is deflated (zlib lets go of the GIL)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(next, blocks, None)
        while (block := pending.result()) is not None:
            pending = pool.submit(next, blocks, None)
            yield block


# -- Giới thiệu ---------------------------------------------------------------------------------


def _sheet_intro(wb, data: ReportInputs, fm: _Formats) -> None:
    ws = wb.add_worksheet("Giới thiệu")
    ws.set_column(0, 0, 24)
    ws.set_column(1, 1, 110)
    r = data.rubric
    ci = data.cycle_info
    _write_text(ws, 0, 0, str(ci.get("title") or r.title_vi), fm.title)
    rows = [
        ("Tỉnh", ci.get("province", "")),
        ("Năm đánh giá", str(ci.get("year", ""))),
        ("Thang điểm", f"{r.title_vi} (mã {r.id}, phiên bản {r.version})"),
        ("Căn cứ", r.legal_reference_vi),
    ]
    if data.deadline is not None:
        rows.append(("Hạn nộp phiếu", data.deadline.strftime("%d/%m/%Y")))
    row = 2
    if data.is_sample:
        _write_text(ws, row, 0, "DỮ LIỆU MẪU", fm.notice)
        _write_text(
            ws, row, 1, "Số liệu trong tệp này là dữ liệu mẫu, không phải số liệu thật của các đơn vị.", fm.notice
        )
        row += 2
    if r.status == "reconstructed" and r.notice_vi:
        _write_text(ws, row, 0, "LƯU Ý VỀ THANG ĐIỂM", fm.notice)
        _write_text(ws, row, 1, r.notice_vi, fm.notice)
        ws.set_row(row, 48)
        row += 2
    for k, v in rows:
        _write_text(ws, row, 0, k, fm.header)
        _write_text(ws, row, 1, v, fm.wrap)
        row += 1
    row += 1
    guide = [
        (VALUES_SHEET, "Số liệu đã xác nhận dùng để tính điểm: mỗi dòng một đơn vị, mỗi cột một chỉ tiêu của phiếu."),
        (SCORES_SHEET, "Điểm từng chỉ tiêu, tiêu chí, tổng điểm, điểm quy đổi 100, chỉ số, xếp loại, thứ hạng — "
                       "tất cả là công thức tính lại từ sheet Số liệu."),
        ("Diễn giải", "Từng bước tính điểm của từng đơn vị (bảng diễn giải)."),
        ("Nguồn số liệu", "Ô nguồn của từng số liệu: tệp, sheet, ô, giá trị gốc và mã hiệu chỉnh."),
        ("Lỗi số liệu", "Các lỗi, cảnh báo do kiểm tra tính logic phát hiện (vòng 1: phiếu gốc; vòng 2: sau hiệu chỉnh)."),
        ("Hiệu chỉnh", "Các hiệu chỉnh số liệu đã được đơn vị xác nhận, đã áp dụng hay không."),
        ("Thang điểm", "Phương pháp: chỉ tiêu, cách tính, điểm tối đa, xếp loại, quy tắc xếp hạng."),
    ]  # fmt: skip
    _write_text(ws, row, 0, "Sheet", fm.header)
    _write_text(ws, row, 1, "Nội dung", fm.header)
    for name, text in guide:
        row += 1
        _write_text(ws, row, 0, name, fm.text)
        _write_text(ws, row, 1, text, fm.wrap)
    _print_setup(ws, 0, landscape=False)


# -- Số liệu ------------------------------------------------------------------------------------

_VALUES_FIRST_ROW = 3
_VALUES_FIRST_FIELD_COL = 4


def _sheet_values(wb, data: ReportInputs, fm: _Formats) -> tuple[dict[str, int], dict[str, int]]:
    """One row per agency with values; returns the row of each agency and the column of each field."""
    ws = _InRowOrder(_add_sheet(wb, VALUES_SHEET, streamed=True))
    rubric = data.rubric
    fields = list(rubric.fields)
    cols = {f.code: _VALUES_FIRST_FIELD_COL + j for j, f in enumerate(fields)}
    held_col = _VALUES_FIRST_FIELD_COL + len(fields)
    _write_text(
        ws, 0, 0,
        "Số liệu đã xác nhận dùng để tính điểm. Ô tô đỏ nhạt: số liệu bị giữ lại do lỗi chưa được xác nhận "
        "(tính như thiếu số liệu); ô xám: chỉ tiêu không có trong phiếu của khối.", fm.text,
    )  # fmt: skip
    heads = ["Mã đơn vị", "Tên đơn vị", "Khối", "Trạng thái"]
    ws.set_row(1, 64)
    for j, h in enumerate(heads):
        _write_text(ws, 1, j, "", fm.header_small)
        _write_text(ws, 2, j, h, fm.header)
    for f in fields:
        _write_text(ws, 1, cols[f.code], f"{f.label_vi} ({f.unit_vi})", fm.header_small)
        _write_text(ws, 2, cols[f.code], f.code, fm.header)
    _write_text(ws, 1, held_col, "", fm.header_small)
    _write_text(ws, 2, held_col, "Số liệu bị giữ lại (giá trị đã gửi)", fm.header)
    ws = ws.flush()
    rows = {a: _VALUES_FIRST_ROW + i for i, a in enumerate(data.scored_ids)}
    if not _values_rows_direct(ws, data, fm, cols, held_col):
        _values_rows_by_cell(ws, data, fm, cols, held_col)
    last = _VALUES_FIRST_ROW + max(len(data.scored_ids), 1) - 1
    ws.set_column(0, 0, 14)
    ws.set_column(1, 1, 36)
    ws.set_column(2, 3, 16)
    ws.set_column(_VALUES_FIRST_FIELD_COL, held_col - 1, 9)
    ws.set_column(held_col, held_col, 30)
    ws.freeze_panes(_VALUES_FIRST_ROW, 2)
    ws.autofilter(2, 0, last, held_col)
    _print_setup(ws, 2)
    return rows, cols


def _values_cell_format(fm: _Formats, field) -> object:
    return fm.yesno if field.type == "yesno" else fm.int if field.type == "count" else fm.dec


def _held_text(value_of, held) -> str:
    """``F02 = 60; …``: the values held back, as sent; ``value_of(code)`` is the value or None."""
    return "; ".join(f"{code} = {_shown(value_of(code))}" for code in sorted(held))


def _values_rows_by_cell(ws, data: ReportInputs, fm: _Formats, cols: dict[str, int], held_col: int) -> None:
    rubric = data.rubric
    scores = data.scores.set_index("agency_id")
    for i, a in enumerate(data.scored_ids):
        r = _VALUES_FIRST_ROW + i
        group = scores.at[a, "group"]
        form_fields = {f.code for f in rubric.fields_for_form(rubric.form_of(group))}
        held = set(data.blocked.get(a, ()))
        _write_text(ws, r, 0, a, fm.text)
        _write_text(ws, r, 1, scores.at[a, "agency_name"], fm.text)
        _write_text(ws, r, 2, group, fm.text)
        _write_text(ws, r, 3, status_vi(scores.at[a, "status"]), fm.text)
        for f in rubric.fields:
            c = cols[f.code]
            if f.code not in form_fields:
                ws.write_blank(r, c, None, fm.na_field)
                continue
            if f.code in held:
                ws.write_blank(r, c, None, fm.held)
                continue
            _write_num(ws, r, c, data.value_of.get((a, f.code), math.nan), _values_cell_format(fm, f))
        if held:
            _write_text(ws, r, held_col, _held_text(lambda code, a=a: data.value_of.get((a, code)), held), fm.text)


def _values_rows_direct(ws, data: ReportInputs, fm: _Formats, cols: dict[str, int], held_col: int) -> bool:
    """:func:`_values_rows_by_cell`'s rows, written as whole rows (see "rows written straight into…")."""
    from xlsxwriter.utility import xl_col_to_name

    rubric = data.rubric
    fields = list(rubric.fields)
    ids = data.scored_ids
    first, n = _VALUES_FIRST_ROW, len(ids)
    if not _start_rows(ws, first, n):
        return False
    s = data.scores.drop_duplicates("agency_id", keep="last").set_index("agency_id").loc[ids]
    groups = s["group"].tolist()
    at_group: dict[str, list[int]] = {}
    for i, g in enumerate(groups):
        at_group.setdefault(g, []).append(i)
    in_form = {g: {f.code for f in rubric.fields_for_form(rubric.form_of(g))} for g in at_group}
    held = {i: set(data.blocked[a]) for i, a in enumerate(ids) if data.blocked.get(a)}
    value_formats = [_values_cell_format(fm, f) for f in fields]

    def cell_formats(i: int) -> list:
        """The formats of row ``i``'s cells, by column, as the cell-by-cell path writes them."""
        form, codes = in_form[groups[i]], held.get(i, ())
        row = [fm.text] * 4
        row += [
            fm.na_field if f.code not in form else fm.held if f.code in codes else value_formats[j]
            for j, f in enumerate(fields)
        ]  # fmt: skip
        return [*row, fm.text] if codes else row

    _number_formats(map(cell_formats, range(n)), [fm.text, fm.na_field, fm.held, *value_formats])
    tails = _Tails(ws)
    texts = [ids, s["agency_name"].tolist(), groups, [status_vi(x) for x in s["status"].tolist()]]
    columns = [tails.column(values, fm.text, True) for values in texts]
    if any(c is None for c in columns):
        return False
    # the confirmed values, one column per field, NaN where the agency has none (value_of: the last row counts)
    v = data.values
    codes = [f.code for f in fields]
    wide = (
        pd.DataFrame({"a": v["agency_id"].tolist(), "f": v["field"].tolist(), "x": data.value_floats})
        .drop_duplicates(["a", "f"], keep="last")
        .pivot(index="a", columns="f", values="x")
        .reindex(index=ids, columns=codes)
        if len(v)
        else pd.DataFrame(math.nan, index=ids, columns=codes)
    )
    for j, f in enumerate(fields):
        blank = [i for g, at in at_group.items() if f.code not in in_form[g] for i in at]
        kept = [i for i, h in held.items() if f.code in h and f.code in in_form[groups[i]]]
        if len(blank) + len(kept) < n:  # some cell shows a value: its format is numbered already
            column = tails.column(wide[f.code].tolist(), value_formats[j], False)
            if column is None:
                return False
        else:
            column = [""] * n
        if blank:
            tail = tails.text(None, fm.na_field)
            for i in blank:
                column[i] = tail
        if kept:
            tail = tails.text(None, fm.held)
            for i in kept:
                column[i] = tail
        columns.append(column)
    # the held values' text: a cell only on the rows that hold some
    held_letter = xl_col_to_name(held_col)
    held_cells = [""] * n
    for i, h in held.items():
        a = ids[i]
        tail = tails.text(_held_text(lambda code, a=a: wide.at[a, code] if code in wide.columns else None, h), fm.text)
        if tail is None:
            return False
        held_cells[i] = f'<c r="{held_letter}{first + i + 1}{tail}'
    columns.append(held_cells)
    letters = [xl_col_to_name(j) for j in range(4)] + [xl_col_to_name(cols[f.code]) for f in fields]
    template = _row_template([f"{c}{{0}}{{{k + 1}}}" for k, c in enumerate(letters)], f"{{{len(letters) + 1}}}</row>")
    rows = map(template.format, range(first + 1, first + n + 1), *columns)
    _emit_rows(ws, first, n, 0, held_col if held else held_col - 1, _text_blocks(rows, n))
    return True


def _shown(x) -> str:
    from ictaudit.common.numfmt import fmt_value

    return fmt_value(None if _nan(x) else float(x))


# -- Điểm ---------------------------------------------------------------------------------------


def _sheet_scores(wb, data: ReportInputs, fm: _Formats, input_rows: dict[str, int], input_cols: dict[str, int]):
    ws = _InRowOrder(_add_sheet(wb, SCORES_SHEET, streamed=True))
    rubric = data.rubric
    groups = list(rubric.groups)
    # union of indicators, in rubric order (contiguous per criterion)
    ind_ids: list[str] = []
    ind_crit: dict[str, str] = {}
    for c in rubric.criteria:
        for ind in c.indicators:
            ind_ids.append(ind.id)
            ind_crit[ind.id] = c.id
    kinds = {g.id: {ind.id: ind for _, ind in rubric.indicators(g.id)} for g in groups}
    best_ids = [i for i in ind_ids if any(i in kinds[g.id] and kinds[g.id][i].uses_best for g in groups)]
    crit_ids = [c.id for c in rubric.criteria]

    c_id, c_name, c_group, c_status, c_ranked = 0, 1, 2, 3, 4
    first_ind = 5
    ind_col = {iid: first_ind + j for j, iid in enumerate(ind_ids)}
    first_crit = first_ind + len(ind_ids)
    crit_col = {cid: first_crit + j for j, cid in enumerate(crit_ids)}
    c_points = first_crit + len(crit_ids)
    c_appmax, c_score, c_index, c_band, c_rank = (c_points + k for k in range(1, 6))
    first_help = c_rank + 1
    help_col = {iid: first_help + j for j, iid in enumerate(best_ids)}
    last_col = first_help + len(best_ids) - 1 if best_ids else c_rank

    _write_text(
        ws, 0, 0,
        "Điểm theo từng chỉ tiêu: mỗi ô là công thức tính từ sheet Số liệu (giá trị đã tính sẵn đi kèm). "
        "Ô trống (\"\"): chỉ tiêu không áp dụng, không tính vào điểm tối đa.", fm.text,
    )  # fmt: skip
    # maxima and best rows, per group
    max_row: dict[str, int] = {}
    best_row: dict[str, int] = {}
    r = 2
    for g in groups:
        max_row[g.id] = r
        best_row[g.id] = r + 1
        r += 2
    header_row = r + 1  # row r: criterion labels, r+1: column headers
    first_data = header_row + 1
    ids = data.scored_ids
    last_data = first_data + max(len(ids), 1) - 1

    def rng(col: int) -> str:
        return f"${xl_col_to_name(col)}${first_data + 1}:${xl_col_to_name(col)}${last_data + 1}"

    best_cached = _best_values(data)
    for g in groups:
        mr, br = max_row[g.id], best_row[g.id]
        _write_text(ws, mr, c_name, f"Điểm tối đa — {g.label_vi}", fm.label_row)
        _write_text(ws, mr, c_group, g.id, fm.label_row)
        _write_text(ws, br, c_name, f"Giá trị cao nhất trong khối (đơn vị được xếp hạng) — {g.label_vi}", fm.label_row)
        _write_text(ws, br, c_group, g.id, fm.label_row)
        for iid, ind in kinds[g.id].items():
            ws.write_number(mr, ind_col[iid], ind.max_points, fm.max_row)
        for c in rubric.criteria_for(g.id):
            ws.write_number(mr, crit_col[c.id], c.max_points[g.id], fm.max_row)
        ws.write_number(mr, c_points, g.max_points, fm.max_row)
        for iid in best_ids:
            if iid in kinds[g.id] and kinds[g.id][iid].uses_best:
                formula = f"=MAXIFS({rng(help_col[iid])},{rng(c_group)},{_q(g.id)},{rng(c_ranked)},1)"
                ws.write_formula(br, ind_col[iid], formula, fm.best_row, best_cached.get((g.id, iid), 0.0))

    # headers
    hr = header_row
    ws.set_row(hr, 45)
    ws.set_row(hr - 1, 30)
    for cid in crit_ids:
        cols = [ind_col[i] for i in ind_ids if ind_crit[i] == cid]
        label = next(c.label_vi for c in rubric.criteria if c.id == cid)
        if len(cols) > 1:
            ws.merge_range(hr - 1, cols[0], hr - 1, cols[-1], f"{cid}. {label}", fm.header_small)
        else:
            _write_text(ws, hr - 1, cols[0], f"{cid}. {label}", fm.header_small)
    heads = {
        c_id: "Mã đơn vị", c_name: "Tên đơn vị", c_group: "Khối", c_status: "Trạng thái",
        c_ranked: "Được xếp hạng (1/0)", c_points: "Tổng điểm", c_appmax: "Điểm tối đa áp dụng",
        c_score: "Điểm quy đổi (thang 100)", c_index: "Chỉ số", c_band: "Xếp loại", c_rank: "Thứ hạng trong khối",
    }  # fmt: skip
    heads |= {ind_col[i]: i for i in ind_ids}
    heads |= {crit_col[c]: f"Tiêu chí {c}" for c in crit_ids}
    heads |= {help_col[i]: f"Giá trị v của {i} (tính giá trị cao nhất)" for i in best_ids}
    for col, text in heads.items():
        _write_text(ws, hr, col, text, fm.header)
    ws = ws.flush()

    scores = {r["agency_id"]: r for r in records(data.scores)}
    t = data.trail
    trail = dict(
        zip(
            zip(t["agency_id"].tolist(), t["indicator_id"].tolist()),
            zip(t["points"].tolist(), t["applicable"].tolist(), t["inputs"].tolist()),
        )
    )
    bands = list(rubric.bands)
    dec = rubric.ranking.decimals
    letter = [xl_col_to_name(c) for c in range(last_col + 1)]
    value_letter = {code: xl_col_to_name(c) for code, c in input_cols.items()}
    crit_first_last = {
        c.id: (letter[min(cols)], letter[max(cols)])
        for c in rubric.criteria
        if (cols := [ind_col[j] for j in ind_ids if ind_crit[j] == c.id])
    }

    def formulas(g: str, x: str, vr: str) -> list[tuple[int, str, object, tuple]]:
        """The formula cells of an agency of group ``g`` in row ``x`` (1-based, as text), its values in row
        ``vr`` of the values sheet: (column, formula, format, which cached value), in column order."""
        refs = {code: f"'{VALUES_SHEET}'!${col}${vr}" for code, col in value_letter.items()}
        out = []
        for iid, kind in kinds[g].items():
            best_ref = f"${letter[ind_col[iid]]}${best_row[g] + 1}" if kind.uses_best else None
            out.append((ind_col[iid], kind.excel_formula(refs, best_ref), fm.pts, ("points", iid)))
            if kind.uses_best:
                out.append((help_col[iid], kind.excel_value(refs), fm.ratio, ("v", iid)))
        for c in rubric.criteria_for(g):
            first, last = crit_first_last[c.id]
            out.append((crit_col[c.id], f"=SUM({first}{x}:{last}{x})", fm.pts, (c.id,)))
        out.append((c_points, f"=SUM({letter[first_crit]}{x}:{letter[first_crit + len(crit_ids) - 1]}{x})",
                    fm.pts_bold, ("points",)))  # fmt: skip
        ind_span = f"{letter[first_ind]}{x}:{letter[first_crit - 1]}{x}"
        mr = max_row[g] + 1
        max_span = f"${letter[first_ind]}${mr}:${letter[first_crit - 1]}${mr}"
        out.append((c_appmax, f'=SUMPRODUCT(({ind_span}<>"")*({max_span}))', fm.pts, ("applicable_max",)))
        pts, amx, sc = f"{letter[c_points]}{x}", f"{letter[c_appmax]}{x}", f"{letter[c_score]}{x}"
        out.append((c_score, f'=IF({amx}>0,ROUND(100*{pts}/{amx},{dec}),"")', fm.pts_bold, ("score_100",)))
        out.append((c_index, f'=IF({amx}>0,ROUND({pts}/{amx},3),"")', fm.index, ("index",)))
        band_expr = _q(bands[-1].label_vi)
        for b in reversed(bands[:-1]):
            band_expr = f"IF({sc}>={b.min_score:g},{_q(b.label_vi)},{band_expr})"
        ranked_ref = f"${letter[c_ranked]}{x}"
        out.append((c_band, f'=IF(AND({ranked_ref}=1,{sc}<>""),{band_expr},"")', fm.text, ("band",)))
        rank_f = (
            f'=IF(AND({ranked_ref}=1,{sc}<>""),COUNTIFS({rng(c_group)},${letter[c_group]}{x},'
            f'{rng(c_ranked)},1,{rng(c_score)},">"&{sc})+1,"")'
        )
        out.append((c_rank, rank_f, fm.rank, ("rank",)))
        return sorted(out, key=lambda cell: cell[0])

    def cached(a: str) -> dict[tuple, object]:
        """The library's number for each formula cell of agency ``a`` (as :func:`formulas` names them)."""
        srow = scores[a]
        out: dict[tuple, object] = {}
        for iid, kind in kinds[srow["group"]].items():
            points, applicable, inputs = trail[(a, iid)]
            out["points", iid] = float(points) if bool(applicable) else ""
            if kind.uses_best:
                out["v", iid] = _v_cached(kind, inputs)
        for c in rubric.criteria_for(srow["group"]):
            out[(c.id,)] = float(srow[c.id])
        out["points",] = float(srow["points"])
        out["applicable_max",] = float(srow["applicable_max"])
        out["score_100",] = float(srow["score_100"]) if not _nan(srow["score_100"]) else ""
        out["index",] = float(srow["index"]) if not _nan(srow["index"]) else ""
        out["band",] = srow["band"] or ""
        out["rank",] = int(srow["rank"]) if not _nan_rank(srow["rank"]) else ""
        return out

    groups_of = [scores[a]["group"] for a in ids]
    texts = [ids, [scores[a]["agency_name"] for a in ids], groups_of, [status_vi(scores[a]["status"]) for a in ids]]
    ranked = [1 if scores[a]["status"] == RANKED else 0 for a in ids]
    values_rows = [str(input_rows[a] + 1) for a in ids]
    if not _scores_rows_direct(ws, fm, first_data, groups_of, texts, ranked, values_rows, formulas, cached, ids):
        _fast_formulas(ws)
        for i, a in enumerate(ids):
            row = first_data + i
            for col, values in enumerate(texts):
                _write_text(ws, row, col, values[i], fm.text)
            ws.write_number(row, c_ranked, ranked[i], fm.int)
            values = cached(a)
            for col, formula, fmt, key in formulas(groups_of[i], str(row + 1), values_rows[i]):
                ws.write_formula(row, col, formula, fmt, values[key])

    ws.set_column(c_id, c_id, 12)
    ws.set_column(c_name, c_name, 34)
    ws.set_column(c_group, c_status, 13)
    ws.set_column(c_ranked, c_ranked, 8)
    ws.set_column(first_ind, first_crit - 1, 6.5)
    ws.set_column(first_crit, c_appmax, 8)
    ws.set_column(c_score, c_rank, 10)
    if best_ids:
        ws.set_column(first_help, last_col, 12)
    ws.freeze_panes(first_data, 2)
    ws.autofilter(header_row, 0, last_data, last_col)
    _print_setup(ws, header_row)


def _scores_rows_direct(ws, fm, first: int, groups_of, texts, ranked, values_rows, formulas, cached, ids) -> bool:
    """The agency rows of the scores sheet, written as whole rows (see "rows written straight into…").

    One template per group: its formulas are built once with markers for the row numbers, prepared
    and escaped as XlsxWriter does, and checked against the real formulas of the group's first agency.
    """
    from xlsxwriter.utility import xl_col_to_name
    from xlsxwriter.worksheet import re_dynamic_function

    n = len(ids)
    if not _start_rows(ws, first, n):
        return False

    def prepared(formula: str) -> str | None:
        if re_dynamic_function.search(formula) or (formula.startswith("{") and formula.endswith("}")):
            return None  # XlsxWriter writes these as array formulas
        return ws._escape_data(ws._prepare_formula(formula))

    n_plain = len(texts) + 1  # the text cells and "ranked"
    groups: dict[str, tuple[list[str], list[tuple[int, object, tuple]]]] = {}  # group → (formula texts, cells)
    for i, g in enumerate(groups_of):
        if g in groups:
            continue
        marked, real = formulas(g, "\x02", "\x01"), formulas(g, str(first + i + 1), values_rows[i])
        texts_g = []
        for (_col, formula, _fmt, _key), (_c, check, _f, _k) in zip(marked, real):
            text, expected = prepared(formula), prepared(check)
            if text is None or expected is None:
                return False
            if text.replace("\x02", str(first + i + 1)).replace("\x01", values_rows[i]) != expected:
                return False  # a marker that is not only a row number
            texts_g.append(text.replace("{", "{{").replace("}", "}}").replace("\x02", "{0}").replace("\x01", "{1}"))
        groups[g] = (texts_g, [(col, fmt, key) for col, _f, fmt, key in marked])
    plain_formats = [fm.text] * len(texts) + [fm.int]
    _number_formats(
        ([*plain_formats, *(fmt for _c, fmt, _k in groups[g][1])] for g in groups_of),
        [*plain_formats, *(fmt for g in groups for _c, fmt, _k in groups[g][1])],
    )
    tails = _Tails(ws)
    columns = [tails.column(values, fm.text, True) for values in texts]
    columns.append(tails.column(ranked, fm.int, False))
    if any(c is None for c in columns):
        return False
    templates: dict[str, tuple[str, list]] = {}
    last_col = n_plain - 1
    for g, (texts_g, cells_g) in groups.items():
        cells = [f"{xl_col_to_name(j)}{{0}}{{{j + 2}}}" for j in range(n_plain)]
        for k, (text, (col, _fmt, _key)) in enumerate(zip(texts_g, cells_g)):
            field = n_plain + 2 + 2 * k
            cells.append(f"{xl_col_to_name(col)}{{0}}{{{field}}}><f>{text}</f><v>{{{field + 1}}}</v></c>")
            last_col = max(last_col, col)
        templates[g] = (_row_template(cells), [(fmt, key) for _col, fmt, key in cells_g])

    def rows():
        for i, a in enumerate(ids):
            template, cells = templates[groups_of[i]]
            values = cached(a)
            args = [str(first + i + 1), values_rows[i], *(c[i] for c in columns)]
            for fmt, key in cells:
                args.extend(tails.formula(values[key], fmt))
            yield template.format(*args)

    _emit_rows(ws, first, n, 0, last_col, _text_blocks(rows(), n))
    return True


def _nan_rank(x) -> bool:
    try:
        return x is None or x is __import__("pandas").NA or (isinstance(x, float) and math.isnan(x))
    except TypeError:
        return True


def _best_values(data: ReportInputs) -> dict[tuple[str, str], float]:
    """The group's best value of each ratio_to_best indicator, as the trail recorded it (0 when none)."""
    out: dict[tuple[str, str], float] = {}
    rows = data.trail[data.trail["kind"] == "ratio_to_best"]
    for g, iid, inputs in zip(rows["group"], rows["indicator_id"], rows["inputs"]):
        best = json.loads(inputs).get("best")
        out[(g, iid)] = 0.0 if best is None else float(best)
    return out


def _v_cached(kind, inputs: str):
    """``v = num / den`` as the spreadsheet sees it: blank ("") when an input is blank or held, or den = 0."""
    inputs = json.loads(inputs)
    held = set(inputs.get("blocked") or ())
    vals = {}
    for code in kind.input_fields:
        v = inputs.get(code)
        if v is None or code in held:
            return ""
        vals[code] = float(v)
    den = sum(vals[c] for c in kind.den)
    if den == 0:
        return ""
    return sum(vals[c] for c in kind.num) / den


# -- tables -------------------------------------------------------------------------------------


def _table_sheet(
    wb,
    name: str,
    fm: _Formats,
    title: str,
    columns: list[tuple[str, float, str]],
    data: list[list],
    table_name: str | None = None,
) -> None:
    """A sheet with a title line, a header row and rows; ``columns``: (header, width, kind); ``data``:
    the values, column by column.

    With ``table_name`` and at most :data:`TABLE_MAX_ROWS` rows, the rows are an Excel table; otherwise
    a range with an autofilter, streamed to disk as it is written.
    """
    n = len(data[0]) if data else 0
    use_table = bool(table_name and n and n <= TABLE_MAX_ROWS)
    ws = _add_sheet(wb, name, streamed=not use_table)
    _write_text(ws, 0, 0, title, fm.text)
    hr = 1
    ws.set_row(hr, 30)
    for j, (_head, width, _k) in enumerate(columns):
        ws.set_column(j, j, width)
    last = hr + max(n, 1)
    if use_table:
        ws.add_table(
            hr, 0, last, len(columns) - 1,
            {"name": table_name, "style": "Table Style Light 9", "autofilter": True,
             "columns": [{"header": h, "header_format": fm.header} for h, _w, _k in columns]},
        )  # fmt: skip
    else:
        for j, (head, _w, _k) in enumerate(columns):
            _write_text(ws, hr, j, head, fm.header)
        ws.autofilter(hr, 0, last, len(columns) - 1)
    formats = {"text": fm.text, "wrap": fm.wrap, "int": fm.int, "pts": fm.pts}
    column_formats = [(kind in ("text", "wrap"), formats.get(kind, fm.dec)) for _h, _w, kind in columns]
    if use_table:
        written = _table_rows(ws, hr + 1, column_formats, data)
    else:
        written = _stream_rows(ws, hr + 1, column_formats, data)
    if not written:
        for i, values in enumerate(zip(*data)):
            r = hr + 1 + i
            for j, ((is_text, fmt), v) in enumerate(zip(column_formats, values)):
                (_write_text if is_text else _write_num)(ws, r, j, v, fmt)
    ws.freeze_panes(hr + 1, 0)
    _print_setup(ws, hr)


def _sheet_trail(wb, data: ReportInputs, fm: _Formats) -> None:
    labels = {ind.id: ind.label_vi for c in data.rubric.criteria for ind in c.indicators}
    yesno = {f.code for f in data.rubric.fields if f.type == "yesno"}
    cols = [
        ("Mã đơn vị", 12, "text"), ("Tên đơn vị", 28, "text"), ("Khối", 13, "text"), ("Tiêu chí", 7, "text"),
        ("Chỉ tiêu", 7, "text"), ("Nội dung chỉ tiêu", 36, "wrap"), ("Cách tính", 16, "text"),
        ("Số liệu đầu vào", 26, "wrap"), ("Diễn giải", 60, "wrap"), ("Công thức", 36, "wrap"),
        ("Điểm", 8, "pts"), ("Điểm tối đa", 8, "pts"), ("Áp dụng", 8, "text"), ("Ghi chú", 22, "wrap"),
    ]  # fmt: skip
    t = data.trail
    order = {a: i for i, a in enumerate(data.scored_ids)}
    t = t.assign(_o=t["agency_id"].map(order)).sort_values("_o", kind="mergesort")
    ids = t["agency_id"].tolist()
    indicators = t["indicator_id"].tolist()
    columns = [
        ids, _mapped(ids, lambda a: data.names.get(a, "")), t["group"].tolist(), t["criterion_id"].tolist(),
        indicators, _mapped(indicators, lambda i: labels.get(i, "")), _mapped(t["kind"].tolist(), lambda k: KIND_VI.get(k, k)),
        _inputs_texts(t["inputs"].tolist(), yesno), t["explanation_vi"].tolist(),
        _mapped(t["formula"].tolist(), formula_vi), t["points"].tolist(), t["max_points"].tolist(),
        ["Có" if x else "Không" for x in t["applicable"].tolist()], _mapped(t["flags"].tolist(), flags_vi),
    ]  # fmt: skip
    _table_sheet(
        wb,
        "Diễn giải",
        fm,
        "Diễn giải từng bước tính điểm (một dòng cho mỗi đơn vị × chỉ tiêu).",
        cols,
        columns,
        table_name="DienGiai",
    )


def _by_column(rows: list[list], n_columns: int) -> list[list]:
    return [list(c) for c in zip(*rows)] if rows else [[] for _ in range(n_columns)]


def _mapped(values: list, fn) -> list:
    """``[fn(v) for v in values]``, with ``fn`` called once per distinct value (names, labels, codes repeat)."""
    memo = {v: fn(v) for v in dict.fromkeys(values)}
    return list(map(memo.__getitem__, values))


def _inputs_texts(inputs: list[str], yesno: set[str]) -> list[str]:
    """The "inputs" cell of each trail row: ``F02 = 64; F01 = 69`` (each distinct JSON text read once)."""
    from ictaudit.common.numfmt import fmt_value

    value = Memo(fmt_value).__getitem__
    distinct = list(dict.fromkeys(inputs))
    texts = {}
    for text, d in zip(distinct, parse_inputs(distinct)):
        parts = []
        for k, v in d.items():
            if k == "blocked":
                parts.append(f"giữ lại: {', '.join(v)}")
            elif k == "best":
                parts.append(f"cao nhất trong khối = {value(v)}")
            elif k in yesno and v in (0, 1):
                parts.append(f"{k} = {'Có' if v == 1 else 'Không'}")
            else:
                parts.append(f"{k} = {value(v)}")
        texts[text] = "; ".join(parts)
    return list(map(texts.__getitem__, inputs))


def _sheet_sources(wb, data: ReportInputs, fm: _Formats) -> None:
    labels = {f.code: f.label_vi for f in data.rubric.fields}
    cols = [
        ("Mã đơn vị", 12, "text"), ("Tên đơn vị", 28, "text"), ("Mã chỉ tiêu", 8, "text"),
        ("Chỉ tiêu", 40, "wrap"), ("Giá trị gốc (như đơn vị gửi)", 14, "text"), ("Giá trị dùng", 12, "num"),
        ("Tệp", 20, "text"), ("Sheet", 10, "text"), ("Ô", 6, "text"), ("Mã hiệu chỉnh", 10, "text"),
        ("SHA-256 của tệp", 20, "text"),
    ]  # fmt: skip
    v = data.values
    ids, fields = v["agency_id"].tolist(), v["field"].tolist()
    columns = [
        ids, _mapped(ids, lambda a: data.names.get(a, "")), fields, _mapped(fields, lambda f: labels.get(f, "")),
        v["raw_value"].tolist(), data.row_values, v["source_file"].tolist(), v["sheet"].tolist(), v["cell"].tolist(),
        v["correction_id"].tolist(), v["source_sha256"].tolist(),
    ]  # fmt: skip
    _table_sheet(wb, "Nguồn số liệu", fm, "Nguồn của từng số liệu (ô trong phiếu của đơn vị).", cols, columns)


def _sheet_issues(wb, data: ReportInputs, fm: _Formats) -> None:
    cols = [
        ("Mã đơn vị", 12, "text"), ("Tên đơn vị", 28, "text"), ("Mã kiểm tra", 9, "text"), ("Mức độ", 10, "text"),
        ("Chỉ tiêu", 12, "text"), ("Giá trị", 22, "wrap"), ("Nội dung", 50, "wrap"), ("Vòng", 6, "int"),
        ("Đã xử lý bởi hiệu chỉnh", 14, "text"),
    ]  # fmt: skip
    i = data.issues
    rows = [
        [a, data.names.get(a, ""), c, SEVERITY_VI.get(s, s), f, v, m, rd, rb]
        for a, c, s, f, v, m, rd, rb in zip(
            i["agency_id"], i["check_id"], i["severity"], i["fields"], i["values"], i["message_vi"], i["round"],
            i["resolved_by"],
        )
    ]  # fmt: skip
    _table_sheet(
        wb,
        "Lỗi số liệu",
        fm,
        "Lỗi (E) và cảnh báo (W) do kiểm tra tính logic phát hiện; vòng 1: phiếu gốc, vòng 2: sau hiệu chỉnh.",
        cols,
        _by_column(rows, len(cols)),
    )


def _sheet_corrections(wb, data: ReportInputs, fm: _Formats) -> None:
    cols = [
        ("Mã hiệu chỉnh", 10, "text"), ("Mã đơn vị", 12, "text"), ("Tên đơn vị", 28, "text"), ("Chỉ tiêu", 8, "text"),
        ("Giá trị cũ", 12, "text"), ("Giá trị mới", 12, "text"), ("Lý do", 34, "wrap"), ("Mã kiểm tra", 9, "text"),
        ("Người xác nhận", 18, "text"), ("Ngày xác nhận", 12, "text"), ("Kết quả", 14, "text"),
        ("Lý do không áp dụng", 34, "wrap"),
    ]  # fmt: skip
    c = data.corrections
    rows = [
        [cid, a, data.names.get(a, ""), f, o, n, r, ch, by, fmt_date_text(on), CORRECTION_STATUS_VI.get(st, st), sr]
        for cid, a, f, o, n, r, ch, by, on, st, sr in zip(
            c["correction_id"], c["agency_id"], c["field"], c["old_value"], c["new_value"], c["reason"],
            c["check_id"], c["confirmed_by"], c["confirmed_on"], c["status"], c["status_reason"],
        )
    ]  # fmt: skip
    _table_sheet(
        wb, "Hiệu chỉnh", fm, "Hiệu chỉnh số liệu đã được đơn vị xác nhận (không ghi đè số liệu gốc).", cols,
        _by_column(rows, len(cols)),
    )  # fmt: skip


def _sheet_method(wb, data: ReportInputs, fm: _Formats) -> None:
    r = data.rubric
    cols = [
        ("Khối", 22, "text"), ("Tiêu chí", 7, "text"), ("Nội dung tiêu chí", 30, "wrap"), ("Chỉ tiêu", 7, "text"),
        ("Nội dung chỉ tiêu", 44, "wrap"), ("Cách tính", 18, "text"), ("Công thức", 50, "wrap"),
        ("Điểm tối đa", 9, "pts"),
    ]  # fmt: skip
    rows = []
    for g in r.groups:
        for c, inds in r.scale(g.id):
            for ind in inds:
                spec = next(i for i in c.indicators if i.id == ind.id)
                rows.append(
                    [
                        g.label_vi,
                        c.id,
                        c.label_vi,
                        ind.id,
                        spec.label_vi,
                        KIND_VI.get(ind.kind, ind.kind),
                        formula_vi(ind.formula()),
                        ind.max_points,
                    ]
                )
    title = (
        f"Thang điểm: {r.title_vi} (mã {r.id}, phiên bản {r.version}). Xếp loại: {bands_text(r)}. "
        f"Xếp hạng theo điểm quy đổi 100 làm tròn {r.ranking.decimals} chữ số thập phân; bằng điểm thì cùng hạng."
    )
    _table_sheet(wb, "Thang điểm", fm, title, cols, _by_column(rows, len(cols)))

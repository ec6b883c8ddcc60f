"""The building blocks of ``report.xlsx``: the workbook, its formats, its cells and their print set-up.

Cells go through XlsxWriter's public calls: agency text always as a string cell
(:func:`ictaudit.common.workbooks.write_text`), numbers blank for NaN (``write_number``), and each
computed number as a live formula carrying its cached value (:func:`write_formula`, the one place
that writes a formula). ``print_setup`` (:mod:`ictaudit.common.workbooks`) is the print set-up every sheet shares.
"""

from __future__ import annotations

import copy
import unicodedata
from pathlib import Path

import xlsxwriter

from ictaudit.common import workbooks
from ictaudit.report.xlsx_internals import write_plain_formula


def new_workbook(path: Path, title: str, subject: str, keywords: str) -> xlsxwriter.Workbook:
    """The report workbook: text stays text, fixed properties."""
    return workbooks.new_workbook(
        path, {"title": title, "subject": subject, "author": "ictaudit", "keywords": keywords},
        **copy.deepcopy(ARIAL_10),  # XlsxWriter writes into the dict it is given
    )  # no use_future_functions: every formula calls only functions Excel 2007 had (no "_xlfn.")


#: the workbook's default font, Arial 10 (and its row height, 17 px, and column width, 64 px), the
#: font of every cell: column widths are counted in its digits, which are as wide in Excel (Arial) as
#: in LibreOffice (Liberation Sans, metric-compatible), so a sheet prints on the same pages in both;
#: Calibri, XlsxWriter's default, is not installed with LibreOffice and a wider font takes its place.
#: No font is tied to the theme's ("scheme"), whose font is Calibri: Arial stays Arial everywhere
ARIAL_10 = {
    "default_format_properties": {"font_name": "Arial", "font_size": 10, "font_scheme": "none"},
    "default_row_height": 17,
    "default_column_width": 64,
}


class Formats:
    """The workbook's cell formats, by use."""

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
        self.held_wrap = wb.add_format({**base, "bg_color": "#F4CCCC", "text_wrap": True})
        self.na_field = wb.add_format({**base, "bg_color": "#EEEEEE"})
        self.pts = wb.add_format({**base, "num_format": "0.00"})
        self.pts_bold = wb.add_format({**base, "num_format": "0.00", "bold": True})
        self.ratio = wb.add_format({**base, "num_format": "0.0000"})
        self.index = wb.add_format({**base, "num_format": "0.000"})
        self.rank = wb.add_format({**base, "num_format": "0", "bold": True, "align": "center"})
        self.max_row = wb.add_format({**base, "num_format": "0.##", "italic": True, "bg_color": "#F2F2F2"})
        self.best_row = wb.add_format({**base, "num_format": "0.0000", "italic": True, "bg_color": "#E2EFDA"})
        self.label_row = wb.add_format({**base, "italic": True, "bg_color": "#F2F2F2"})


def write_formula(ws, row: int, col: int, formula: str, fmt, cached, plain: bool = False) -> None:
    """A live formula carrying ``cached``, the library's value of it, for viewers that do not recalculate.

    ``cached``: a number, a text (``""`` for a formula that gives an empty text) or a bool. ``plain``:
    the caller knows that ``formula`` :func:`~ictaudit.report.xlsx_internals.is_plain_formula` (checked
    once for all the formulas made from one template), which spares XlsxWriter's searches of it.
    """
    if plain:
        write_plain_formula(ws, row, col, formula, fmt, cached)
    else:
        ws.write_formula(row, col, formula, fmt, cached)


#: the scale a sheet too wide to fit one page is printed at, across several pages
WIDE_SHEET_SCALE = 80
#: column width units across a landscape A4 page at 100 % (277 mm between the margins, 7 px a unit)
_A4_LANDSCAPE_UNITS = 149.0
#: what a column takes beyond its width (the cell padding), in width units
_COLUMN_PADDING = 0.75


def column_page_breaks(
    widths: list[float], repeated: tuple[int, int], allowed: set[int] | None = None, scale: int = WIDE_SHEET_SCALE
) -> list[int]:
    """The columns before which a sheet printed across several landscape A4 pages breaks: each page holds
    the columns that fit at ``scale`` %, the ``repeated`` columns (first, last) counted on every page after
    the first; a break falls only before a column of ``allowed`` (all when None) where one fits."""
    capacity = _A4_LANDSCAPE_UNITS * 100 / scale * 0.97
    first_rep, last_rep = repeated
    repeated_width = sum(w + _COLUMN_PADDING for w in widths[first_rep : last_rep + 1])
    breaks: list[int] = []
    page_start, used, candidate = 0, 0.0, None
    for col, w in enumerate(widths):
        if col > page_start and (allowed is None or col in allowed) and col > last_rep:
            candidate = col
        used += w + _COLUMN_PADDING
        if used > capacity and col > page_start:
            cut = candidate if candidate is not None and candidate > page_start else col
            breaks.append(cut)
            page_start, candidate = cut, None
            used = repeated_width + sum(w + _COLUMN_PADDING for w in widths[cut : col + 1])
    return breaks


#: advance widths of Arial (and of Liberation Sans, metric-compatible) in thousandths of an em, from the
#: standard Helvetica metrics; a letter with diacritics is as wide as its base letter
_ARIAL = dict(zip(
    " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~",
    [278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, *[556] * 10, 278, 278, 584,
     584, 584, 556, 1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778, 667, 778, 722,
     667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556, 333, 556, 556, 500, 556, 556, 278, 556, 556,
     222, 222, 500, 222, 833, 556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584],
)) | {"Đ": 722, "đ": 556, "→": 1000, "×": 584, "≥": 549, "≤": 549, "≠": 549, "…": 1000, "–": 556, "—": 1000,
      "“": 333, "”": 333, "‘": 222, "’": 222, "„": 333, "%": 889}  # fmt: skip
class _CharWidths(dict):
    """Each character's width in Arial 10, in pixels, worked out on first use."""

    def __missing__(self, ch: str) -> float:
        base = unicodedata.normalize("NFD", ch)[:1] or ch
        width = self[ch] = _ARIAL.get(ch, _ARIAL.get(base, 600)) * _EM_PX / 1000
        return width


_char_widths = _CharWidths()
#: an em of Arial 10 in pixels (10 pt at 96 dpi), and what a bold letter adds
_EM_PX, _BOLD = 10 * 96 / 72, 1.08
#: a column ``w`` wide is ``7·w + 5`` pixels (Arial 10's digit, 7 px, and the cell's padding); the text
#: gets that less its margins, and a little less again so that a line never ends up too long
_DIGIT_PX, _PADDING_PX, _MARGIN_PX = 7, 5, 8
#: the height of one line of Arial 10 in points, and the padding of a cell
_LINE_POINTS, _PAD_POINTS = 12.75, 2.25


def _char_px(ch: str) -> float:
    return _char_widths[ch]


def text_px(text: str) -> float:
    """The width of ``text`` in Arial 10, in pixels."""
    return sum(map(_char_widths.__getitem__, text))


def lines_needed(text: str, width: float, bold: bool = False) -> int:
    """How many lines ``text`` wraps to in a column ``width`` wide (each paragraph wrapped at spaces, a word
    longer than a line broken where it must be), in Arial 10."""
    text = str(text)
    room = max(1.0, width * _DIGIT_PX + _PADDING_PX - _MARGIN_PX) / (_BOLD if bold else 1.0)
    if "\n" not in text and text_px(text) <= room:
        return 1
    space = _char_px(" ")
    total = 0
    for paragraph in text.split("\n"):
        lines, used = 1, 0.0
        for word in paragraph.split(" "):
            w = text_px(word)
            if used and used + space + w <= room:
                used += space + w
                continue
            if used:
                lines += 1
            while w > room:  # a word longer than the line: broken across lines
                lines += 1
                w -= room
            used = w
        total += lines
    return total


def wrapped_height(cells: list[tuple[str, float]], minimum: float = _LINE_POINTS + _PAD_POINTS, bold: bool = False) -> float:
    """The row height (points) that shows every ``(text, column width)`` of a row wrapped in full."""
    lines = max((lines_needed(t, w, bold) for t, w in cells if t), default=1)
    return max(minimum, lines * _LINE_POINTS + _PAD_POINTS)

"""The building blocks of ``report.xlsx``: the workbook, its formats, its cells and their print set-up.

Cells go through XlsxWriter's public calls: agency text always as a string cell
(:func:`ictaudit.common.workbooks.write_text`), numbers blank for NaN (``write_number``), and each
computed number as a live formula carrying its cached value (:func:`write_formula`, the one place
that writes a formula). ``print_setup`` (:mod:`ictaudit.common.workbooks`) is the print set-up every sheet shares.
"""

from __future__ import annotations

from pathlib import Path

import xlsxwriter

from ictaudit.common import workbooks
from ictaudit.report.xlsx_internals import write_plain_formula


def new_workbook(path: Path, title: str, subject: str, keywords: str) -> xlsxwriter.Workbook:
    """The report workbook: text stays text, fixed properties."""
    return workbooks.new_workbook(
        path, {"title": title, "subject": subject, "author": "ictaudit", "keywords": keywords},
        use_future_functions=True,
    )


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

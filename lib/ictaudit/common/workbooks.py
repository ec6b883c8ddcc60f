"""What every workbook the project writes shares: fixed properties, text that stays text, blank-safe
numbers, the A4 print set-up. Used by the report workbook, the confirmation workbooks and the forms.

Text: ``write_string`` already keeps ``=cmd…`` from becoming a formula, but XlsxWriter copies a string that
starts with ``<r>`` and ends with ``</r>`` into the sheet XML as rich-text markup, unescaped. Such a
text is written as three rich-text runs instead (``<``, ``r``, the rest), each escaped: a reader shows
exactly the text the agency typed, and nothing of it reaches the XML as markup.
"""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path

import xlsxwriter

from ictaudit.common.numfmt import is_nan

#: every workbook's creation time, fixed: a file's bytes depend only on its inputs
FIXED_CREATED = datetime(2000, 1, 1, 0, 0, 0)
#: XlsxWriter's paper size code of A4
A4 = 9
#: text is only ever text: never turned into a formula, a link or a number on its way in
TEXT_STAYS_TEXT = {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}


def new_workbook(path: Path | str, properties: dict, **options) -> xlsxwriter.Workbook:
    """An XlsxWriter workbook that never turns text into formulas, links or numbers, with fixed properties.

    ``properties``: title, subject, author, keywords… (``created`` is always :data:`FIXED_CREATED`).
    """
    wb = xlsxwriter.Workbook(str(path), {**TEXT_STAYS_TEXT, **options})
    wb.set_properties({**properties, "created": FIXED_CREATED})
    return wb


def write_text(ws, row: int, col: int, value, fmt=None) -> None:
    """Any text, always as a string cell (never a formula, a number, a link or markup); blank for None/NaN/""."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value == "":
        ws.write_blank(row, col, None, fmt)
        return
    text = str(value)
    if text.startswith("<r>") and text.endswith("</r>"):
        if fmt is None:
            ws.write_rich_string(row, col, text[:1], text[1:2], text[2:])
        else:
            ws.write_rich_string(row, col, text[:1], text[1:2], text[2:], fmt)
    else:
        ws.write_string(row, col, text, fmt)


def write_number(ws, row: int, col: int, value, fmt=None) -> None:
    """A number cell; a blank (formatted) cell for None, NA and NaN."""
    if is_nan(value):
        ws.write_blank(row, col, None, fmt)
    else:
        ws.write_number(row, col, float(value), fmt)


def print_setup(
    ws, repeat_to: int, landscape: bool = True, fit_width: bool = True, repeat_columns: tuple[int, int] | None = None
) -> None:
    """A4, rows 0…``repeat_to`` repeated on every page, sheet name and page in the footer.

    ``fit_width``: the sheet is fitted to the page width (as many pages down as it takes); a sheet too
    wide for that to stay readable passes False, prints at full size across several pages with
    ``repeat_columns`` (first, last) repeated on each, and sets its own page breaks.
    """
    ws.set_paper(A4)
    if landscape:
        ws.set_landscape()
    if fit_width:
        ws.fit_to_pages(1, 0)
    ws.repeat_rows(0, repeat_to)
    if repeat_columns is not None:
        ws.repeat_columns(*repeat_columns)
    ws.set_margins(left=0.4, right=0.4, top=0.5, bottom=0.6)
    ws.set_footer("&L&A&RTrang &P/&N")

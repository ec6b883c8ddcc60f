"""Writing agency-supplied text into an XlsxWriter worksheet so that it stays text.

``write_string`` already keeps ``=cmd…`` from becoming a formula, but XlsxWriter copies a string that
starts with ``<r>`` and ends with ``</r>`` into the sheet XML as rich-text markup, unescaped. Such a
text is written as three rich-text runs instead (``<``, ``r``, the rest), each escaped: a reader shows
exactly the text the agency typed, and nothing of it reaches the XML as markup.
"""

from __future__ import annotations

import math


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

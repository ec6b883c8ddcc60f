"""The pieces the HTML pages are made of: numbers as shown, escaped text, links to agency pages, colours.

Each is what the templates give (``{{ x|num }}``, ``{{ x }}`` autoescaped by markupsafe), so that rows
assembled in Python are byte for byte the rows the templates' loops wrote; :func:`num_memo` and
:func:`escape_all` give the same texts, each distinct one computed once.
"""

from __future__ import annotations

import itertools

from markupsafe import escape

from ictaudit.common.numfmt import fmt_number, is_nan
from ictaudit.report.inputs import ReportInputs, agency_file_name

BAND_COLOURS = ["#2e7d32", "#7cb342", "#f9a825", "#e53935", "#8e24aa", "#6d4c41"]
UNRANKED_COLOUR = "#9e9e9e"
GROUP_COLOURS = ["#1f5fa8", "#e07b00", "#3a8f5c", "#8e3b8e"]


def num(x, decimals: int = 2, trim: bool = False) -> str:
    """A number as the pages show it (``1.234,50``); ``—`` for none."""
    return "—" if is_nan(x) else fmt_number(float(x), decimals, "vi", trim=trim)


def num_max(x) -> str:
    """A maximum: ``num(x, 2, trim=True)`` (``10``, ``2,5``)."""
    return num(x, 2, True)


def rank_text(x) -> str:
    return "—" if is_nan(x) else str(int(x))


def num_memo(decimals: int = 2, trim: bool = False):
    """:func:`num` with each distinct number's text kept (NaN and NA are not keys: each is a new object)."""
    memo: dict = {}

    def text(x) -> str:
        try:
            t = memo.get(x)
        except TypeError:  # unhashable
            return num(x, decimals, trim)
        if t is None:
            t = num(x, decimals, trim)
            if not is_nan(x):
                memo[x] = t
        return t

    return text


def esc(x) -> str:
    """``{{ x }}`` of an autoescaping template, as plain text."""
    return str(escape(x))


def escape_all(texts: list[str]) -> list[str]:
    """:func:`esc` of each text, escaped as one string (one call, not one per text) when none holds a NUL."""
    try:
        joined = "\x00".join(texts)
    except TypeError:  # not all text
        return [esc(t) for t in texts]
    if joined.count("\x00") != max(len(texts) - 1, 0):
        return [esc(t) for t in texts]
    return esc(joined).split("\x00") if texts else []


def encoded(texts: list[str]) -> list[bytes]:
    """Each text as UTF-8, encoded as one string when none holds a NUL."""
    joined = "\x00".join(texts)
    if joined.count("\x00") != max(len(texts) - 1, 0):
        return [t.encode() for t in texts]
    return joined.encode().split(b"\x00") if texts else []


def agency_href(agency_id: str, prefix: str = "agencies/") -> str:
    """The link from report.html to an agency's page."""
    return prefix + agency_file_name(agency_id)


def band_colour(data: ReportInputs, band_label: str) -> str:
    for i, b in enumerate(data.rubric.bands):
        if b.label_vi == band_label:
            return BAND_COLOURS[i % len(BAND_COLOURS)]
    return UNRANKED_COLOUR


def heat_colour(share) -> str:
    """Background for a share of the maximum: pale red (0) → pale yellow → green (1)."""
    if is_nan(share):
        return "#f5f5f5"
    s = max(0.0, min(float(share), 1.0))
    stops = [(0.0, (244, 199, 195)), (0.5, (255, 241, 179)), (1.0, (183, 225, 171))]
    for (a, ca), (b, cb) in itertools.pairwise(stops):
        if s <= b:
            t = (s - a) / (b - a)
            rgb = [round(ca[k] + (cb[k] - ca[k]) * t) for k in range(3)]
            return "#{:02x}{:02x}{:02x}".format(*rgb)
    return "#b7e1ab"

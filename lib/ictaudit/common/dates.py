"""Dates as the DIC writes them, read one way everywhere: ISO (``2017-11-02``) or Vietnamese (``02/11/2017``).

The tool prints dates as dd/mm/yyyy, so every register it reads (``receipts.csv``,
``corrections.csv``, the answers in a confirmation workbook) accepts them back that way, as well as
ISO. A day-first text is never read month-first: ``03/11/2017`` is the 3rd of November.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"

_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_DAY_FIRST = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")
#: how a date must be written, for messages
DATE_FORMATS_VI = "dd/mm/yyyy (ví dụ 02/11/2017) hoặc yyyy-mm-dd"


def parse_date(value) -> date | None:
    """A date from ``2017-11-02``, ``2/11/2017``, ``02.11.2017`` or a ``date``; None when it is not one.

    A ``datetime`` (a spreadsheet date cell) gives its day. Text with a time, or a date that does not
    exist (``31/11/2017``), is not a date.
    """
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        return None
    text = value.strip()
    if m := _ISO.match(text):
        y, mo, d = int(m[1]), int(m[2]), int(m[3])
    elif m := _DAY_FIRST.match(text):
        d, mo, y = int(m[1]), int(m[2]), int(m[3])
    else:
        return None
    try:
        return date(y, mo, d)
    except ValueError:
        return None


def parse_timestamp(value) -> datetime | None:
    """An ISO timestamp with its UTC offset (``2017-11-02T23:30:00+07:00``); None otherwise.

    A timestamp without an offset is refused: the deadline rule needs to know which clock it is on.
    """
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else None
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        stamp = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return stamp if stamp.tzinfo is not None else None


def zone(name: str) -> ZoneInfo:
    """The time zone ``name`` (IANA, e.g. ``Asia/Ho_Chi_Minh``); ValueError naming it when unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r} (expected an IANA name such as {DEFAULT_TIMEZONE})") from None


def local_day(stamp: datetime, tz: str = DEFAULT_TIMEZONE) -> date:
    """The calendar day of ``stamp`` on the clock of ``tz``: 2017-11-02T23:30Z is 03/11/2017 in Hà Nội."""
    return stamp.astimezone(zone(tz)).date()

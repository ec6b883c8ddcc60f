"""Dates in the DIC's registers: ISO or dd/mm/yyyy, day first, never guessed."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from ictaudit.common.dates import local_day, parse_date, parse_timestamp, zone


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2017-11-02", date(2017, 11, 2)),
        (" 2017-11-2 ", date(2017, 11, 2)),
        ("02/11/2017", date(2017, 11, 2)),  # day first, as the tool prints it
        ("3/11/2017", date(2017, 11, 3)),
        ("03.11.2017", date(2017, 11, 3)),
        ("03-11-2017", date(2017, 11, 3)),
        ("31/11/2017", None),  # no such day
        ("11/31/2017", None),  # month first is not read
        ("2017-11-02T10:00", None),  # a time is not a date
        ("", None),
        ("hôm qua", None),
        (date(2017, 11, 2), date(2017, 11, 2)),
        (datetime(2017, 11, 2, 23, 59), date(2017, 11, 2)),
        (43041, None),  # a spreadsheet serial is not guessed
    ],
)
def test_parse_date(text, expected):
    assert parse_date(text) == expected


def test_parse_timestamp_needs_an_offset():
    assert parse_timestamp("2017-11-02T23:30:00+00:00") == datetime(2017, 11, 2, 23, 30, tzinfo=UTC)
    assert parse_timestamp("2017-11-02T23:30:00") is None
    assert parse_timestamp("") is None and parse_timestamp(None) is None


def test_the_day_is_the_provinces_day():
    # 06:30 +07:00 on the day after the deadline is late, although in UTC it is still the deadline day
    stamp = parse_timestamp("2017-11-03T06:30:00+07:00")
    assert stamp.astimezone(UTC).date() == date(2017, 11, 2)
    assert local_day(stamp) == date(2017, 11, 3)
    assert local_day(parse_timestamp("2017-11-02T23:30:00+00:00"), "Asia/Ho_Chi_Minh") == date(2017, 11, 3)


def test_an_unknown_zone_is_named():
    with pytest.raises(ValueError, match="unknown time zone 'Asia/Saigonn'"):
        zone("Asia/Saigonn")

"""The table writer: stable bytes, UTF-8 with BOM, and text that stays text when Excel opens the CSV."""

import math

import pandas as pd
import pytest

from ictaudit.tables import format_cell, read_csv, write_csv


@pytest.mark.parametrize(
    "value,written",
    [
        (45.0, "45"),
        (45.5, "45.5"),
        (0.1 + 0.2, "0.3"),
        (1 / 3, "0.333333"),
        (math.nan, ""),
        (None, ""),
        (True, "true"),
        (-2.5, "-2.5"),  # a number, not text: untouched
        ("Sở Nội vụ", "Sở Nội vụ"),
        ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
        ("+84 123", "'+84 123"),
        ("-5", "'-5"),  # text as typed by an agency
        ("'quoted", "''quoted"),  # an apostrophe of its own is kept through the round trip
        ("@SUM(A1)", "'@SUM(A1)"),
        ("<script>alert(1)</script>", "<script>alert(1)</script>"),  # HTML escaping is the report's job
    ],
)
def test_format_cell(value, written):
    assert format_cell(value) == written


def test_write_csv_is_bom_utf8_with_fixed_columns(tmp_path):
    df = pd.DataFrame({"b": [1.0, 2.5, -3.0], "a": ["=cmd|' /C calc'!A0", "Thạch An", "'quoted"]})
    path = write_csv(df, tmp_path / "t.csv", ["a", "b"])
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" not in raw
    back = read_csv(path)
    assert list(back.columns) == ["a", "b"]
    assert b"'=cmd|" in raw and b"''quoted" in raw  # guarded on disk
    assert back["a"].tolist() == ["=cmd|' /C calc'!A0", "Thạch An", "'quoted"]  # exactly as before
    assert back["b"].tolist() == ["1", "2.5", "-3"]
    with pytest.raises(KeyError, match="columns c are missing"):
        write_csv(df, tmp_path / "u.csv", ["a", "c"])

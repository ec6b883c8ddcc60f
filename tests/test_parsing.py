"""The cell parser: what agencies type, and what it means (input and expected side by side)."""

from __future__ import annotations

import math
import unicodedata
from datetime import date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ictaudit.intake.parsing import format_float, parse_value, raw_text

# (raw cell, field type, expected value) — read without a problem
READS = [
    # numbers as the reader gives them
    (12, "count", 12.0),
    (12.0, "count", 12.0),
    (0, "count", 0.0),
    (45.5, "decimal", 45.5),
    (1e12, "decimal", 1e12),
    # blanks are blank, not zero
    (None, "count", None),
    ("", "count", None),
    ("   ", "decimal", None),
    ("\u00a0", "yesno", None),
    (None, "yesno", None),
    # Vietnamese thousands dot and decimal comma
    ("1234", "count", 1234.0),
    ("1.234", "count", 1234.0),
    ("12.345", "count", 12345.0),
    ("1.234.567", "count", 1234567.0),
    ("1.234,5", "decimal", 1234.5),
    ("45,5", "decimal", 45.5),
    ("0,234", "decimal", 0.234),
    ("12,50", "decimal", 12.5),
    # a dot that cannot be a thousands group is a decimal point
    ("1.5", "decimal", 1.5),
    ("45.25", "decimal", 45.25),
    ("0.234", "decimal", 0.234),
    ("1.2345", "decimal", 1.2345),
    # English grouping, only when unambiguous
    ("1,234.5", "decimal", 1234.5),
    ("1,234,567", "count", 1234567.0),
    # spaces: stray, non-breaking, grouping
    (" 12 ", "count", 12.0),
    ("1\u00a0234", "count", 1234.0),
    ("1 234 567", "count", 1234567.0),
    ("1 234,5", "decimal", 1234.5),
    # a trailing unit word is dropped
    ("12 máy", "count", 12.0),
    ("12máy", "count", 12.0),
    ("1.234 văn bản", "count", 1234.0),
    ("45,5 Mbps", "decimal", 45.5),
    ("+7", "count", 7.0),
    # yes/no
    ("Có", "yesno", 1.0),
    ("có", "yesno", 1.0),
    ("CÓ", "yesno", 1.0),
    ("co", "yesno", 1.0),
    ("x", "yesno", 1.0),
    ("X", "yesno", 1.0),
    ("1", "yesno", 1.0),
    ("yes", "yesno", 1.0),
    ("Y", "yesno", 1.0),
    ("Không", "yesno", 0.0),
    ("không", "yesno", 0.0),
    ("khong", "yesno", 0.0),
    ("0", "yesno", 0.0),
    ("no", "yesno", 0.0),
    ("N", "yesno", 0.0),
    (1, "yesno", 1.0),
    (0.0, "yesno", 0.0),
    (True, "yesno", 1.0),
    (False, "yesno", 0.0),
    # NFD text (decomposed diacritics, as some Mac tools save it)
    (unicodedata.normalize("NFD", "Có"), "yesno", 1.0),
    (unicodedata.normalize("NFD", "Không"), "yesno", 0.0),
    (unicodedata.normalize("NFD", "12 người"), "count", 12.0),
]

# (raw cell, field type, a word the Vietnamese message must contain)
PROBLEMS = [
    ("1,234", "count", "không rõ"),  # Vietnamese 1,234 or English 1234: never a guess
    ("1,234", "decimal", "không rõ"),
    ("100%", "count", "phần trăm"),
    ("45%", "decimal", "phần trăm"),
    ("1.5", "count", "số nguyên"),
    (12.5, "count", "số nguyên"),
    ("45,5", "count", "số nguyên"),
    (-3, "count", "số âm"),
    ("-3", "count", "số âm"),
    ("−3", "decimal", "số âm"),
    (-0.5, "decimal", "số âm"),
    (float("nan"), "count", "hữu hạn"),
    (float("inf"), "decimal", "hữu hạn"),
    (1e13, "decimal", "bất thường"),
    ("2.000.000.000.000", "count", "bất thường"),
    (datetime(2017, 11, 3), "count", "ngày"),
    (date(2017, 11, 3), "decimal", "ngày"),
    ("03/11/2017", "count", "ngày"),
    ("2017-11-03", "count", "ngày"),
    ("#DIV/0!", "count", "lỗi"),
    ("-", "count", "không rõ"),
    ("5 triệu", "decimal", "không rõ"),
    ("12 nghìn", "count", "không rõ"),
    ("1e5", "count", "không rõ"),
    ("abc", "count", "không phải một số"),
    ("Có", "count", "không phải một số"),
    ("1.23,4", "decimal", "dấu chấm và dấu phẩy"),
    ("12,5.3", "decimal", "dấu chấm và dấu phẩy"),
    ("1..2", "decimal", "dấu chấm"),
    ("12 34", "count", "khoảng trắng"),
    (True, "count", "logic"),
    ("2", "yesno", "Có hoặc Không"),
    (2, "yesno", "Có hoặc Không"),
    ("có thể", "yesno", "Có hoặc Không"),
]


@pytest.mark.parametrize(("raw", "field_type", "expected"), READS)
def test_reads(raw, field_type, expected):
    parsed = parse_value(raw, field_type)
    assert parsed.problem is None
    assert parsed.value == expected


@pytest.mark.parametrize(("raw", "field_type", "word"), PROBLEMS)
def test_problems_never_guess(raw, field_type, word):
    parsed = parse_value(raw, field_type)
    assert parsed.value is None
    assert parsed.problem is not None
    assert word in parsed.problem


def test_a_unit_that_is_the_fields_own_is_dropped_and_a_percent_for_a_percent_field_is_read():
    assert parse_value("5 triệu đồng", "decimal", unit="triệu đồng").value == 5.0
    assert parse_value("45%", "decimal", unit="%").value == 45.0


def test_problem_messages_quote_what_was_typed():
    assert "“-3”" in parse_value("-3", "count").problem


def test_unknown_field_type_is_a_programming_error():
    with pytest.raises(ValueError, match="unknown field type"):
        parse_value("1", "text")


@pytest.mark.parametrize(
    ("raw", "text"),
    [(None, ""), (45.0, "45"), (45.5, "45.5"), (12, "12"), (True, "TRUE"), (date(2017, 11, 3), "2017-11-03"),
     (unicodedata.normalize("NFD", "Có"), "Có")],
)
def test_raw_text(raw, text):
    assert raw_text(raw) == text


@pytest.mark.parametrize(("x", "text"), [(45.0, "45"), (45.5, "45.5"), (0.1, "0.1"), (float("nan"), ""), (1e12, "1000000000000")])
def test_format_float(x, text):
    assert format_float(x) == text


@given(st.integers(min_value=0, max_value=10**12))
def test_whole_numbers_round_trip_in_every_spelling(n):
    vi = f"{n:,}".replace(",", ".")
    assert parse_value(n, "count").value == n
    assert parse_value(str(n), "count").value == n
    assert parse_value(vi, "count").value == n


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_any_float_gives_a_value_or_a_problem(x):
    parsed = parse_value(x, "decimal")
    assert (parsed.value is None) != (parsed.problem is None)
    if parsed.value is not None:
        assert 0 <= parsed.value <= 1e12 and not math.isnan(parsed.value)


@given(st.integers(min_value=0, max_value=10**9), st.integers(min_value=0, max_value=99))
def test_vietnamese_decimals_round_trip(whole, cents):
    text = f"{whole:,}".replace(",", ".") + f",{cents:02d}"  # 1.234,05
    assert parse_value(text, "decimal").value == pytest.approx(whole + cents / 100, rel=1e-12)

"""The table writer: stable bytes, UTF-8 with BOM, and text that stays text when Excel opens the CSV."""

import csv
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ictaudit.common import tables
from ictaudit.common.tables import _may_start_a_cell, format_cell, format_column, number_texts, read_csv, write_csv


@pytest.mark.parametrize(
    "value,written",
    [
        (45.0, "45"),
        (45.5, "45.5"),
        (0.1 + 0.2, "0.30000000000000004"),  # in full: the double the library computed
        (1 / 3, "0.3333333333333333"),
        (0.620325203252032, "0.620325203252032"),
        (1e-7, "1e-07"),
        (1e15, "1000000000000000.0"),  # repr from 10**15 on
        (999999999999999.0, "999999999999999"),
        (-0.0, "0"),
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


# -- the column-wise writer and reader against the cell-by-cell ones ----------------------------
# write_csv formats whole columns and joins the rows itself; these references are the plain way
# (format_cell per cell, pandas' to_csv, str.startswith per cell) whose bytes it must reproduce.


def reference_write_csv(df: pd.DataFrame, path, columns=None):
    """pandas' to_csv, except that a field holding "\r" is quoted as well (the csv module of Python
    3.11 leaves it bare with "\n" line ends, and readers then break the row there)."""
    cols = list(columns) if columns is not None else list(df.columns)
    out = pd.DataFrame({c: [format_cell(x) for x in df[c].tolist()] for c in cols}, columns=cols)
    if len(cols) < 2 or not any("\r" in t for c in cols for t in [str(c), *out[c]]):
        quoting = csv.QUOTE_ALL if any("\r" in t for c in cols for t in [str(c), *out[c]]) else csv.QUOTE_MINIMAL
        out.to_csv(path, index=False, encoding="utf-8-sig", lineterminator="\n", quoting=quoting)
        return path

    def field(t: str) -> str:
        return '"' + t.replace('"', '""') + '"' if any(ch in t for ch in ',"\n\r') else t

    lines = [",".join(field(str(c)) for c in cols)] + [",".join(field(t) for t in row) for row in out.itertuples(index=False)]
    Path(path).write_bytes(b"\xef\xbb\xbf" + "".join(line + "\n" for line in lines).encode("utf-8"))
    return path


def reference_read_csv(path) -> pd.DataFrame:
    df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    for c in df.columns:
        col = df[c]
        guarded = col.str.startswith("'")
        if guarded.any():
            df[c] = col.where(~guarded, col.str[1:])
    return df


TRICKY_FLOATS = [
    0.0, -0.0, 45.0, 45.5, -2.5, 0.1 + 0.2, 1 / 3, 2.675, 1.005, 84.995, -84.995, 5e-7, -5e-7, 1.5e-6,
    0.0078125, 1.0000005, 2.0000015, 1234.5678905, 0.00001, 1e-4, 123456.7890125, 999999999.9999995,
    1e9, -1e9, 1e15, 1e15 + 2, 1e16, -1e20, 1.23e300, math.nan, math.inf, -math.inf, 4.637681, 0.698851,
]  # fmt: skip
TRICKY_TEXTS = [
    "", "Sở Nội vụ", "=1+1", "+84 123", "-5", "@SUM(A1)", "'quoted", "''", "\tTab", "\rCR", "a\rb",
    'say "hi"', "a,b", "line\nbreak", "Tỷ lệ = F02 / F01 = 64 / 69 = 0,9275 → 4,64 điểm", " lead", "x\x00y",
    '{"F02": 64, "F01": 69}', "=", "-", "'", "Ủy ban nhân dân huyện Thạch An",
]  # fmt: skip


def tricky_frame() -> pd.DataFrame:
    n = len(TRICKY_TEXTS)
    floats = (TRICKY_FLOATS * 2)[:n]
    return pd.DataFrame(
        {
            "text": pd.Series(TRICKY_TEXTS, dtype="str"),
            "object text": pd.Series(TRICKY_TEXTS, dtype=object),
            "mixed": pd.Series([*TRICKY_TEXTS[: n - 4], None, math.nan, 3.0, True], dtype=object),
            "with missing": pd.Series([*TRICKY_TEXTS[: n - 2], None, math.nan], dtype="str"),
            "x": floats,
            "rank": pd.array([*range(n - 3), None, None, -4], dtype="Int64"),
            "count": np.arange(n, dtype=np.int64) - 5,
            "flag": np.arange(n) % 3 == 0,
            "repeated": ["=cmd", "ranked", "a,b", 'q"q'] * (n // 4) + ["ranked"] * (n % 4),
        }
    )


@pytest.mark.parametrize("name", list(tricky_frame().columns))
def test_format_column_is_format_cell_on_every_cell(name):
    col = tricky_frame()[name]
    assert format_column(col) == [format_cell(x) for x in col.tolist()]


@pytest.mark.parametrize(
    "col",
    [
        pd.Series(["a", None, "=x", "'"], dtype="string"),  # missing as pd.NA
        pd.Series(["=a", "b", "=a"], dtype="category"),
        pd.Series([1.5, None, 2.675], dtype="Float64"),
        pd.Series([True, None, False], dtype="boolean"),
        pd.Series([np.str_("=a"), "b"], dtype=object),
        pd.Series([1.5, 2.25, -0.0], dtype="float32"),
        pd.Series([1, 2, 255], dtype="uint8"),
        pd.Series([], dtype=object),
    ],
    ids=lambda col: str(col.dtype),
)
def test_format_column_on_other_dtypes(col):
    assert format_column(col) == [format_cell(x) for x in col.tolist()]


def test_number_texts_are_format_cell_and_read_back_to_the_same_double():
    rng = np.random.default_rng(7)
    halves = (rng.integers(-(10**9), 10**9, 2000) + 0.5) / 1e6
    near = np.concatenate([np.nextafter(halves, np.inf), np.nextafter(halves, -np.inf)])
    x = np.concatenate([halves, near, rng.normal(0, 1e4, 2000), np.array(TRICKY_FLOATS)])
    texts = number_texts(x).tolist()
    assert texts == [format_cell(v) for v in x.tolist()]
    for v, t in zip(x.tolist(), texts):
        if not math.isnan(v):
            assert float(t) == v, (v, t)  # full precision: not one bit lost


@pytest.mark.parametrize(
    "columns",
    [None, ["x", "text"], ["with missing", "mixed", "rank"], ["count", "flag"], ["text"], ["x"], ["repeated", "x"]],
)
def test_write_csv_writes_the_bytes_of_the_cell_by_cell_writer(tmp_path, columns):
    df = tricky_frame()
    new = write_csv(df, tmp_path / "new.csv", columns).read_bytes()
    old = reference_write_csv(df, tmp_path / "old.csv", columns).read_bytes()
    assert new == old
    pd.testing.assert_frame_equal(read_csv(tmp_path / "new.csv"), reference_read_csv(tmp_path / "old.csv"))


def test_write_csv_without_rows_and_with_odd_headers(tmp_path):
    for df in [
        pd.DataFrame({"a": pd.Series([], dtype=float), "b": pd.Series([], dtype="str")}),
        pd.DataFrame({"a,b": [1.0], 'say "x"': ["y"], "=c": ["z"]}),
        pd.DataFrame({"only": ["", "x"]}),  # one column: the csv module quotes an empty row
    ]:
        new = write_csv(df, tmp_path / "new.csv").read_bytes()
        assert new == reference_write_csv(df, tmp_path / "old.csv").read_bytes()
        pd.testing.assert_frame_equal(read_csv(tmp_path / "new.csv"), reference_read_csv(tmp_path / "old.csv"))


@given(
    st.lists(st.tuples(st.text(max_size=12), st.floats(allow_nan=True, allow_infinity=True)), min_size=0, max_size=40)
)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_text_and_number_write_and_read_back_as_the_cell_by_cell_path(tmp_path, rows):
    df = pd.DataFrame({"t": pd.Series([t for t, _ in rows], dtype="str"), "x": [x for _, x in rows]})
    df["t2"] = df["t"].str[::-1]
    new = write_csv(df, tmp_path / "new.csv").read_bytes()
    assert new == reference_write_csv(df, tmp_path / "old.csv").read_bytes()
    back = read_csv(tmp_path / "new.csv")
    pd.testing.assert_frame_equal(back, reference_read_csv(tmp_path / "old.csv"))
    if not any("\r" in t for t in df["t"]):  # a \r inside a text is written unquoted, read as a line break
        assert back["t"].tolist() == df["t"].tolist()


@pytest.mark.parametrize(
    "data,may",
    [
        (b"\xef\xbb\xbfa,b\nx,y\n", False),
        (b"\xef\xbb\xbfa,b\nx,the group's\n", False),  # an apostrophe inside a text: no cell starts with it
        (b"\xef\xbb\xbf'a,b\nx,y\n", True),  # the first header
        (b"'a,b\n", True),  # no BOM
        (b"a,b\nx,''y\n", True),
        (b"a,b\n'x,y\n", True),
        (b'a,b\nx,"\'y, z"\n', True),  # behind the opening quote
        (b'a,b\n"\'x, y",z\n', True),
        (b'a,b\nx,"y ""\'z"""\n', False),  # behind a doubled quote inside a text
        (b"a,b\r\n'x,y\r\n", True),
    ],
)
def test_the_look_for_guards_never_misses_one(data, may):
    assert _may_start_a_cell(data, b"'") is may


@pytest.mark.parametrize("chunk", [1, 3, 7, 1000])
def test_rows_written_a_chunk_at_a_time(tmp_path, monkeypatch, chunk):
    monkeypatch.setattr(tables, "_CHUNK_ROWS", chunk)
    df = tricky_frame()
    new = write_csv(df, tmp_path / "new.csv").read_bytes()
    assert new == reference_write_csv(df, tmp_path / "old.csv").read_bytes()


@pytest.mark.parametrize("columns", [["text", "n"], ["text"]])
def test_a_carriage_return_inside_a_text_stays_inside_its_cell(tmp_path, columns):
    """An agency may type a line break in a cell; the row must not break there when read back."""
    df = pd.DataFrame({"text": ["một\rhai", "ba\r\nbốn", "năm\r"], "n": ["1", "2", "3"]})[columns]
    path = write_csv(df, tmp_path / "t.csv")
    back = read_csv(path)
    assert len(back) == 3
    assert back["text"].tolist() == ["một\rhai", "ba\r\nbốn", "năm\r"]

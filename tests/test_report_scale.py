"""The large-cycle paths of the reports, forced on the small report fixture.

From ``PARALLEL_MIN_AGENCIES`` agencies on, report.xlsx is written by a forked process beside the
HTML: the same bytes. A sheet copying a scored table of more than ``SHEET_MAX_ROWS`` rows is left out
of the workbook, and says which CSV file holds its rows; the other sheets do not change.
"""

from __future__ import annotations

import math

import openpyxl
import pytest
import xlsxwriter
from python_calamine import CalamineWorkbook

from ictaudit.common.tables import read_csv, write_csv
from ictaudit.common.workbooks import FIXED_CREATED
from ictaudit.report import build as report
from ictaudit.report import xlsx_tables
from ictaudit.report.xlsx_cells import Formats
from tests.report_fixture import CYCLE_INFO, build_scored_fixture


def _build(rubric, scored, previous, out):
    paths = report.build_reports(rubric, scored, out, CYCLE_INFO)
    return {k: p.read_bytes() for k, p in paths.items()}


def test_forked_workbook_gives_the_same_bytes(tmp_path, monkeypatch):
    rubric, scored, previous, _ = build_scored_fixture(tmp_path)
    sequential = _build(rubric, scored, previous, tmp_path / "seq")
    monkeypatch.setattr(report, "PARALLEL_MIN_AGENCIES", 0)
    forked = _build(rubric, scored, previous, tmp_path / "fork")
    assert forked.keys() == sequential.keys()
    assert all(forked[k] == sequential[k] for k in sequential), [k for k in sequential if forked[k] != sequential[k]]


def _cells(path) -> dict[str, list[list]]:
    wb = openpyxl.load_workbook(path)
    return {ws.title: [[c.value for c in row] for row in ws.iter_rows()] for ws in wb.worksheets}


def test_a_table_too_long_is_left_out_and_its_sheet_says_where_the_rows_are(tmp_path, monkeypatch):
    rubric, scored, previous, _ = build_scored_fixture(tmp_path)
    full = tmp_path / "full.xlsx"
    full.write_bytes(_build(rubric, scored, previous, tmp_path / "full")["xlsx"])
    n_trail, n_values = len(read_csv(scored / "trail.csv")), len(read_csv(scored / "values.csv"))
    assert n_trail < n_values
    monkeypatch.setattr(xlsx_tables, "SHEET_MAX_ROWS", n_trail)  # the trail just fits, the sources do not
    short = tmp_path / "short.xlsx"
    short.write_bytes(_build(rubric, scored, previous, tmp_path / "short")["xlsx"])
    a, b = _cells(full), _cells(short)
    assert list(a) == list(b)
    for sheet in a:
        if sheet not in ("Giới thiệu", "Nguồn số liệu"):
            assert a[sheet] == b[sheet], sheet
    assert list(openpyxl.load_workbook(short)["Diễn giải"].tables) == ["DienGiai"]
    title, _blank, note = (row[0] for row in b["Nguồn số liệu"])
    assert title == a["Nguồn số liệu"][0][0]
    assert f"Bảng này có {n_values:,} dòng".replace(",", ".") in note and "values.csv" in note
    guide = {row[0]: row[1] for row in b["Giới thiệu"] if row[0] in a}
    assert guide["Nguồn số liệu"].endswith("xem tệp values.csv.") and "trail.csv" not in guide["Diễn giải"]
    assert [r for r in a["Giới thiệu"] if r[0] != "Nguồn số liệu"] == [
        r for r in b["Giới thiệu"] if r[0] != "Nguồn số liệu"
    ]

    monkeypatch.setattr(xlsx_tables, "SHEET_MAX_ROWS", n_trail - 1)
    shorter = tmp_path / "shorter.xlsx"
    shorter.write_bytes(_build(rubric, scored, previous, tmp_path / "shorter")["xlsx"])
    c = _cells(shorter)
    assert "trail.csv" in c["Diễn giải"][2][0] and not openpyxl.load_workbook(shorter)["Diễn giải"].tables
    assert c["Điểm"] == a["Điểm"] and c["Số liệu"] == a["Số liệu"]


def test_rich_text_markup_in_a_name_stays_text(tmp_path):
    """A name shaped like XlsxWriter's inline rich text (``<r>…</r>``) is not copied into the XML raw."""
    rubric, scored, _previous, _ = build_scored_fixture(tmp_path)
    hostile = '<r><t>Sở "giả"</t></r>'
    scores = read_csv(scored / "scores.csv")
    scores.loc[scores["agency_id"] == "sb-script", "agency_name"] = hostile
    write_csv(scores, scored / "scores.csv")
    path = report.build_reports(rubric, scored, tmp_path / "out", CYCLE_INFO)["xlsx"]
    wb = openpyxl.load_workbook(path)
    for sheet in ("Số liệu", "Điểm", "Diễn giải", "Nguồn số liệu"):
        texts = {c.value for row in wb[sheet].iter_rows() for c in row}
        assert hostile in texts, sheet


TRICKY = [
    "plain", "", None, float("nan"), 1.5, " lead", "trail ", "\u00a0nbsp", "em\u2003", "line\n", "a \n", "x\ny",
    "A & B <c> \"d\" 'e'", "_x0041_", "_X004a_", "bell\x07", "\x00nul", "tab\tin", "cr\rin", "=SUM(A1)",
    "+1", "@A1", "Thạch An", "<r>", "<r>x", "x</r>", "<r>rich</r>",
]  # fmt: skip


@pytest.mark.parametrize("table_name", [None, "Bang"], ids=["streamed", "excel-table"])
def test_text_cells_read_back_as_the_text_written(tmp_path, table_name):
    """Each text (XML, control characters, kept spaces, formula-like, rich-text-like) reads back exactly,
    inline in a streamed sheet or in the shared strings of an Excel table; blanks stay blank."""
    path = tmp_path / "t.xlsx"
    wb = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_urls": False})
    wb.set_properties({"created": FIXED_CREATED})
    numbers = [float(i) / 3 for i in range(len(TRICKY))]
    numbers[1], numbers[2] = None, float("nan")
    columns = [("Chữ", 10, "text"), ("Số", 10, "num")]
    xlsx_tables.table_sheet(wb, "Bảng", Formats(wb), "Tiêu đề", columns, [TRICKY, numbers], table_name)
    wb.close()
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("Bảng").to_python(skip_empty_area=False)[2:]
    for value, number, (text_cell, number_cell) in zip(TRICKY, numbers, rows, strict=True):
        blank = value is None or value == "" or (isinstance(value, float) and math.isnan(value))
        assert text_cell == ("" if blank else str(value)), repr(value)
        assert number_cell == ("" if number is None or math.isnan(number) else pytest.approx(number))
    types = {c.data_type for row in openpyxl.load_workbook(path)["Bảng"].iter_rows(min_row=3, max_col=1) for c in row}
    assert types <= {"s", "n"}  # text or blank (openpyxl reads a blank as "n"), never a formula

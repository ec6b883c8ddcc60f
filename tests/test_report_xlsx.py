"""report.xlsx: every formula, recalculated by LibreOffice, gives its cached value and the library's number."""

from __future__ import annotations

import json

import openpyxl
import pytest

from ictaudit.common.office import recalculate, soffice_path
from ictaudit.report.inputs import load_report_inputs
from ictaudit.report.xlsx import NOT_EVALUATED_SHEET, write_report_xlsx
from ictaudit.report.xlsx_scores import SCORES_SHEET, VALUES_SHEET
from tests.report_fixture import CYCLE_INFO, FORMULA_NAME, SCRIPT_NAME, build_scored_fixture

# the scored tables (docs/contracts.md §6) carry 6 decimals; cached values come from them
TOL = 1e-6


@pytest.fixture(scope="module")
def workbook(tmp_path_factory):
    root = tmp_path_factory.mktemp("xlsx")
    rubric, scored, _previous, result = build_scored_fixture(root)
    data = load_report_inputs(rubric, scored, CYCLE_INFO)
    path = write_report_xlsx(data, root / "out" / "report.xlsx")
    return root, path, data, result


def _sheet_rows(ws):
    return [[c.value for c in row] for row in ws.iter_rows()]


def _scores_layout(ws):
    """Header row index, column index by header, row index by agency id (0-based, openpyxl rows)."""
    rows = _sheet_rows(ws)
    hr = next(i for i, r in enumerate(rows) if r[0] == "Mã đơn vị")
    cols = {v: j for j, v in enumerate(rows[hr]) if v is not None}
    agencies = {r[0]: i for i, r in enumerate(rows) if i > hr and r[0]}
    return rows, cols, agencies


def test_workbook_bytes_are_deterministic(workbook, tmp_path):
    _root, path, data, _ = workbook
    again = write_report_xlsx(data, tmp_path / "report.xlsx")
    assert again.read_bytes() == path.read_bytes()


def _assert_indicator_points_are_the_library(rows, cols, agencies, result) -> None:
    """Each agency's indicator cell in the scores sheet equals its trail points ("" when not applicable)."""
    for t in result.trail.itertuples():
        got = rows[agencies[t.agency_id]][cols[t.indicator_id]]
        if t.applicable:
            assert got == pytest.approx(t.points, abs=TOL), (t.agency_id, t.indicator_id)
        else:
            assert got in ("", None), (t.agency_id, t.indicator_id)


def test_cached_values_are_the_library_numbers(workbook):
    _root, path, _data, result = workbook
    ws = openpyxl.load_workbook(path, data_only=True)[SCORES_SHEET]
    rows, cols, agencies = _scores_layout(ws)
    scored = [a for a in result.scores.dropna(subset=["points"])["agency_id"]]
    assert sorted(agencies) == sorted(scored)
    _assert_indicator_points_are_the_library(rows, cols, agencies, result)


@pytest.mark.libreoffice
@pytest.mark.slow
@pytest.mark.skipif(soffice_path() is None, reason="LibreOffice (soffice) is not installed")
def test_every_formula_recalculates_to_its_cached_value_and_the_library(workbook):
    root, path, _data, result = workbook
    recalculated = recalculate(path, root / "lo")
    formulas = openpyxl.load_workbook(path)
    cached = openpyxl.load_workbook(path, data_only=True)
    fresh = openpyxl.load_workbook(recalculated, data_only=True)
    checked, wrong = 0, []
    for ws in formulas.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if not (isinstance(cell.value, str) and cell.value.startswith("=")):
                    continue
                a = cached[ws.title][cell.coordinate].value
                b = fresh[ws.title][cell.coordinate].value
                a, b = (None if a == "" else a), (None if b == "" else b)
                same = a == pytest.approx(b, abs=TOL) if isinstance(a, int | float) else a == b
                checked += 1
                if not same:
                    wrong.append(f"{ws.title}!{cell.coordinate}: cached {a!r}, LibreOffice {b!r}, {cell.value}")
    assert not wrong, "\n".join(wrong[:20])
    assert checked > 400

    # and the recalculated numbers are the library's, agency by agency
    rows, cols, agencies = _scores_layout(fresh[SCORES_SHEET])
    _assert_indicator_points_are_the_library(rows, cols, agencies, result)
    for s in result.scores.dropna(subset=["points"]).itertuples():
        r = rows[agencies[s.agency_id]]
        assert r[cols["Tổng điểm"]] == pytest.approx(s.points, abs=TOL), s.agency_id
        assert r[cols["Điểm tối đa áp dụng"]] == pytest.approx(s.applicable_max, abs=TOL), s.agency_id
        assert r[cols["Điểm quy đổi (thang 100)"]] == pytest.approx(s.score_100, abs=TOL), s.agency_id
        assert r[cols["Chỉ số"]] == pytest.approx(s.index, abs=TOL), s.agency_id
        assert (r[cols["Xếp loại"]] or "") == s.band, s.agency_id
        expected_rank = None if s.rank is None or str(s.rank) == "<NA>" else int(s.rank)
        assert r[cols["Thứ hạng trong khối"]] == expected_rank, s.agency_id
        for c in ("C1", "C2", "C3", "C4", "C5", "C6", "C7", "C8"):
            value = getattr(s, c)
            if value == value:  # not NaN
                assert r[cols[f"Tiêu chí {c}"]] == pytest.approx(value, abs=TOL), (s.agency_id, c)
    # the tie: sb-formula and sb-tie share rank 2, the next is 4
    ranks = {a: rows[i][cols["Thứ hạng trong khối"]] for a, i in agencies.items()}
    assert (ranks["sb-formula"], ranks["sb-tie"], ranks["sb-script"]) == (2, 2, 4)
    assert "sb-late" not in ranks  # not evaluated: not on the scores sheet at all (its own sheet says why)
    # the best value of C1.3 among ranked departments ignores the late agency's higher value
    best = json.loads(result.trail.query("agency_id == 'sb-tot' and indicator_id == 'C1.3'").iloc[0]["inputs"])["best"]
    best_row = next(r for r in rows if r[1] and str(r[1]).startswith("Giá trị cao nhất") and r[2] == "so_ban_nganh")
    assert best_row[cols["C1.3"]] == pytest.approx(best)


def test_agencies_not_evaluated_have_no_points_in_the_workbook_and_a_reason(workbook):
    _root, path, _data, result = workbook
    wb = openpyxl.load_workbook(path, data_only=True)
    unranked = result.scores[result.scores["status"] != "ranked"]
    for name in (VALUES_SHEET, SCORES_SHEET):  # only the agencies evaluated are computed
        ids = {row[0] for row in _sheet_rows(wb[name])}
        assert not ids & set(unranked["agency_id"]), name
    rows = _sheet_rows(wb[NOT_EVALUATED_SHEET])
    assert rows[1] == ["Mã đơn vị", "Tên đơn vị", "Khối", "Tình trạng", "Lý do"]
    listed = {r[0]: r[1:] for r in rows[2:]}
    assert sorted(listed) == sorted(unranked["agency_id"])
    assert listed["sb-late"] == ["Sở Y tế", "Sở, ban, ngành", "Gửi phiếu sau hạn", "Nhận phiếu ngày 10/11/2017, sau hạn 03/11/2017"]
    assert all(isinstance(v, str) for r in rows[2:] for v in r)  # no number for them anywhere on the sheet
    assert wb.sheetnames.index(NOT_EVALUATED_SHEET) == wb.sheetnames.index(SCORES_SHEET) + 1


def test_agency_text_is_text_never_a_formula(workbook):
    _root, path, _data, _ = workbook
    wb = openpyxl.load_workbook(path)
    names_seen = 0
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.value in (FORMULA_NAME, SCRIPT_NAME):
                    assert cell.data_type == "s", f"{ws.title}!{cell.coordinate}"
                    names_seen += 1
                if cell.data_type == "f":
                    assert "cmd" not in str(cell.value), f"{ws.title}!{cell.coordinate}"
    assert names_seen >= 4  # Số liệu, Điểm, Diễn giải…


def test_held_value_is_blank_in_the_inputs_and_listed(workbook):
    _root, path, _data, _ = workbook
    ws = openpyxl.load_workbook(path, data_only=True)[VALUES_SHEET]
    rows = _sheet_rows(ws)
    hr = next(i for i, r in enumerate(rows) if r[0] == "Mã đơn vị")
    col = rows[hr].index("F02")
    row = next(r for r in rows if r[0] == "sb-script")
    assert row[col] is None
    assert row[-1] == "F02 = 60"


def test_print_setup_and_frozen_headers(workbook):
    _root, path, _data, _ = workbook
    wb = openpyxl.load_workbook(path)
    for ws in wb.worksheets:
        assert ws.page_setup.paperSize in (9, "9"), ws.title
        assert ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
    assert wb[SCORES_SHEET].freeze_panes is not None
    assert wb[SCORES_SHEET].print_title_rows

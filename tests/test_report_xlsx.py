"""report.xlsx: every formula, recalculated by LibreOffice, gives its cached value and the library's number."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import openpyxl
import pytest

from ictaudit.common.office import convert, soffice_path
from ictaudit.report.inputs import load_report_inputs
from ictaudit.report.xlsx import NOT_EVALUATED_SHEET, write_report_xlsx
from ictaudit.report.xlsx_scores import SCORES_SHEET, VALUES_SHEET
from ictaudit.report.xlsx_tables import SOURCES_SHEET
from tests.report_fixture import CYCLE_INFO, FORMULA_NAME, SCRIPT_NAME, build_scored_fixture
from tests.workbook_check import recalculation_differences

# the scored tables (docs/contracts.md §6) carry every number in full; cached values are those numbers
REL = 1e-12


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
            assert got == pytest.approx(t.points, rel=REL, abs=1e-300), (t.agency_id, t.indicator_id)
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
def test_every_formula_recalculated_from_scratch_is_its_cached_value_and_the_library(workbook):
    root, path, _data, result = workbook
    checked, wrong = recalculation_differences(path, root / "recalc")
    assert not wrong, f"{len(wrong)} of {checked} formula cells differ:\n" + "\n".join(wrong[:20])
    assert checked > 400

    # and the recalculated numbers are the library's, agency by agency
    fresh = openpyxl.load_workbook(root / "recalc" / "lo" / "report-bare.xlsx", data_only=True)
    rows, cols, agencies = _scores_layout(fresh[SCORES_SHEET])
    _assert_indicator_points_are_the_library(rows, cols, agencies, result)
    for s in result.scores.dropna(subset=["points"]).itertuples():
        r = rows[agencies[s.agency_id]]
        assert r[cols["Tổng điểm"]] == pytest.approx(s.points, rel=REL), s.agency_id
        assert r[cols["Điểm tối đa áp dụng"]] == pytest.approx(s.applicable_max, rel=REL), s.agency_id
        assert r[cols["Điểm quy đổi (thang 100)"]] == s.score_100_published, s.agency_id  # ROUND: to the bit
        assert r[cols["Chỉ số"]] == pytest.approx(s.index, rel=REL), s.agency_id
        assert (r[cols["Xếp loại"]] or "") == s.band, s.agency_id
        expected_rank = None if s.rank is None or str(s.rank) == "<NA>" else int(s.rank)
        assert r[cols["Thứ hạng trong khối"]] == expected_rank, s.agency_id
        for c in ("C1", "C2", "C3", "C4", "C5", "C6", "C7", "C8"):
            value = getattr(s, c)
            if value == value:  # not NaN
                assert r[cols[f"Tiêu chí {c}"]] == pytest.approx(value, rel=REL), (s.agency_id, c)
    # the tie: sb-formula and sb-tie share rank 2, the next is 4
    ranks = {a: rows[i][cols["Thứ hạng trong khối"]] for a, i in agencies.items()}
    assert (ranks["sb-formula"], ranks["sb-tie"], ranks["sb-script"]) == (2, 2, 4)
    assert "sb-late" not in ranks  # not evaluated: not on the scores sheet at all (its own sheet says why)
    # the best value of C1.3 among ranked departments ignores the late agency's higher value
    best = json.loads(result.trail.query("agency_id == 'sb-tot' and indicator_id == 'C1.3'").iloc[0]["inputs"])["best"]
    best_row = next(r for r in rows if r[1] and str(r[1]).startswith("Cao nhất") and r[2] == "Sở, ban, ngành")
    assert best_row[cols["C1.3"]] == best
    holder = best_row[next(j for h, j in cols.items() if str(h).startswith("C1.3: giá trị v"))]
    assert holder == "Văn phòng UBND tỉnh"  # sb-tot: 100 Mbps for 50 staff, the highest v of a ranked agency


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


def _table(wb, sheet: str, first: str = "Mã đơn vị") -> tuple[dict[str, int], list[list]]:
    """A sheet's header (column by name) and its rows below the header."""
    rows = _sheet_rows(wb[sheet])
    hr = next(i for i, r in enumerate(rows) if r[0] == first)
    return {v: j for j, v in enumerate(rows[hr]) if v is not None}, rows[hr + 1 :]


def test_every_sheet_agrees_on_a_value_held_back(workbook):
    """sb-script's F02 (60 > F01 = 50, an unresolved error) is held back: left out of its score on every sheet."""
    _root, path, _data, result = workbook
    wb = openpyxl.load_workbook(path, data_only=True)
    cols, rows = _table(wb, VALUES_SHEET)
    row = next(r for r in rows if r[0] == "sb-script")
    assert row[cols["F02"]] is None
    assert row[-1] == "F02 (đã gửi 60)"
    cols, rows = _table(wb, SOURCES_SHEET)
    row = next(r for r in rows if r[0] == "sb-script" and r[cols["Mã chỉ tiêu"]] == "F02")
    assert row[cols["Giá trị dùng"]] is None  # not used, as on Số liệu
    assert row[cols["Giá trị gốc (như đơn vị gửi)"]] == "60"
    assert row[cols["Ghi chú"]].startswith("Bị giữ lại")
    other = next(r for r in rows if r[0] == "sb-script" and r[cols["Mã chỉ tiêu"]] == "F01")
    assert other[cols["Giá trị dùng"]] == 50 and other[cols["Ghi chú"]] in (None, "")
    cols, rows = _table(wb, SCORES_SHEET)
    held = {r[0]: r[cols["Số liệu bị giữ lại (tính như thiếu)"]] for r in rows if r[0]}
    assert held["sb-script"] == "F02" and held["sb-tot"] is None
    assert next(r for r in rows if r[0] == "sb-script")[cols["C1.1"]] == 0  # F02 / F01: scored as missing
    cols, rows = _table(wb, "Xếp hạng Sở, ban, ngành", first="Hạng")
    notes = {r[1]: r[-1] for r in rows if isinstance(r[0], int)}
    assert notes[SCRIPT_NAME].startswith("Có số liệu bị giữ lại, tính như thiếu số liệu: F02")
    assert not (notes["Văn phòng UBND tỉnh"] or "").startswith("Có số liệu bị giữ lại")
    cols, rows = _table(wb, "Diễn giải")
    row = next(r for r in rows if r[0] == "sb-script" and r[cols["Chỉ tiêu"]] == "C1.1")
    assert row[cols["Số liệu đầu vào"]] == "F02 = 60 (giữ lại, không dùng); F01 = 50"
    assert row[cols["Điểm"]] == 0 and "giữ lại" in row[cols["Ghi chú"]]
    trail = result.trail.query("agency_id == 'sb-script' and indicator_id == 'C1.1'").iloc[0]
    assert trail["flags"].split(";")[0] == "blocked" and trail["points"] == 0


def test_ranking_sheet_per_group_in_rank_order_with_live_numbers(workbook):
    _root, path, _data, result = workbook
    formulas = openpyxl.load_workbook(path)
    values = openpyxl.load_workbook(path, data_only=True)
    assert formulas.sheetnames[:3] == ["Giới thiệu", "Xếp hạng Sở, ban, ngành", "Xếp hạng UBND các huyện, thành…"]
    for group, sheet in (("so_ban_nganh", formulas.sheetnames[1]), ("ubnd_huyen", formulas.sheetnames[2])):
        cols, rows = _table(values, sheet, first="Hạng")
        assert list(cols)[:3] == ["Hạng", "Đơn vị", "C1. Hạ tầng kỹ thuật CNTT (tối đa 20)" if group == "so_ban_nganh"
                                  else "C1. Hạ tầng kỹ thuật CNTT (tối đa 15)"]
        ranked = result.scores.query("group == @group and status == 'ranked'")
        table = [r for r in rows if isinstance(r[0], int)]
        assert [r[0] for r in table] == ranked["rank"].astype(int).tolist()  # rank order, ties kept
        for r, s in zip(table, ranked.itertuples()):
            assert r[1] == s.agency_name
            assert r[cols["Điểm quy đổi (thang 100)"]] == s.score_100_published
            assert r[cols["Tổng điểm"]] == s.points and r[cols["Xếp loại"]] == s.band
        # every number is a formula on the scores sheet
        fcols, frows = _table(formulas, sheet, first="Hạng")
        for r in (r for r in frows if r[0] is not None and str(r[0]).startswith("=")):
            assert all(str(r[j]).startswith(f"='{SCORES_SHEET}'!") for h, j in fcols.items() if h not in ("Đơn vị", "Ghi chú"))
    # the late agency is listed below the departments' ranking, with its reason
    _cols, rows = _table(values, formulas.sheetnames[1], first="Hạng")
    below = {r[1]: r[2] for r in rows if r[0] is None and r[1]}
    assert below["Sở Y tế"].startswith("Gửi phiếu sau hạn: Nhận phiếu ngày 10/11/2017")


def test_print_setup_and_frozen_headers(workbook):
    """A4 everywhere; the ranking and table sheets fitted to the width; the two wide sheets at full size
    across pages, the agency's name column and the headers repeated on each, a page per set of columns."""
    _root, path, _data, _ = workbook
    wb = openpyxl.load_workbook(path)
    wide = {VALUES_SHEET, SCORES_SHEET}
    for ws in wb.worksheets:
        assert ws.page_setup.paperSize in (9, "9"), ws.title
        if ws.title in wide:
            assert not ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
            assert int(ws.page_setup.scale) == 80 and ws.print_title_cols == "$B:$B", ws.title
            assert len(ws.col_breaks.brk) >= 3, ws.title
        else:
            assert ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
            assert ws.page_setup.fitToWidth in (None, 1) and ws.page_setup.fitToHeight == 0, ws.title  # 1 wide, any tall
        if ws.title != "Giới thiệu":
            assert ws.freeze_panes is not None and ws.print_title_rows, ws.title
    ranking = wb["Xếp hạng Sở, ban, ngành"]
    assert ranking.print_title_rows == "$3:$3" and ranking.page_setup.orientation == "landscape"
    # no column break splits a criterion's indicators on the scores sheet
    rows = _sheet_rows(wb[SCORES_SHEET])
    header = next(r for r in rows if r[0] == "Mã đơn vị")
    for brk in wb[SCORES_SHEET].col_breaks.brk:
        before, after = header[brk.id - 1], header[brk.id]
        if isinstance(before, str) and isinstance(after, str) and "." in before and "." in after:
            assert before.split(".")[0] != after.split(".")[0], (before, after)


@pytest.mark.libreoffice
@pytest.mark.slow
@pytest.mark.skipif(soffice_path() is None or shutil.which("pdftotext") is None, reason="needs LibreOffice and pdftotext")
def test_the_workbook_prints_on_a4_pages_a_reader_can_use(workbook):
    """Printed by LibreOffice: each group's ranking on one page; the two wide sheets across a few pages,
    each page with the agencies' names and the column headers; every page numbered."""
    root, path, data, _ = workbook
    pdf = convert(path, root / "pdf", "pdf")
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    pages = text.split("\f")[:-1]
    total = len(pages)
    sheet_of = []
    for page in pages:
        footer = re.search(rf"^(\S.*?)\s+Trang (\d+)/{total}\s*$", page.rstrip(), re.M)
        assert footer, page[-300:]
        sheet_of.append(footer.group(1).strip())
    counts = {name: sheet_of.count(name) for name in dict.fromkeys(sheet_of)}
    assert counts["Xếp hạng Sở, ban, ngành"] == 1 and counts["Xếp hạng UBND các huyện, thành…"] == 1
    assert 3 <= counts[VALUES_SHEET] <= 6 and 3 <= counts[SCORES_SHEET] <= 6, counts
    for page, sheet in zip(pages, sheet_of):
        if sheet in (VALUES_SHEET, SCORES_SHEET):
            assert "Tên đơn vị" in page and "Văn phòng UBND tỉnh" in page, sheet  # the repeated column and rows
    # the long tables, rows as tall as their wrapped text: still many rows to a page
    assert len(data.trail) / counts["Diễn giải"] >= 15 and len(data.values) / counts["Nguồn số liệu"] >= 25, counts

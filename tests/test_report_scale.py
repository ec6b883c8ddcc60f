"""The large-cycle paths of the reports give the same files as the small-cycle ones.

From ``PARALLEL_MIN_AGENCIES`` agencies on, report.xlsx is written by a forked process beside the
HTML; above ``TABLE_MAX_ROWS`` trail rows the trail sheet is a streamed, filtered range instead of an
Excel table. Both are forced here on the small report fixture.
"""

from __future__ import annotations

import openpyxl

from ictaudit import report, report_xlsx
from tests.report_fixture import CYCLE_INFO, build_scored_fixture


def _build(rubric, scored, previous, out):
    paths = report.build_reports(rubric, scored, out, CYCLE_INFO, previous_scored_dir=previous)
    return {k: p.read_bytes() for k, p in paths.items()}


def test_forked_workbook_gives_the_same_bytes(tmp_path, monkeypatch):
    rubric, scored, previous, _ = build_scored_fixture(tmp_path)
    sequential = _build(rubric, scored, previous, tmp_path / "seq")
    monkeypatch.setattr(report, "PARALLEL_MIN_AGENCIES", 0)
    forked = _build(rubric, scored, previous, tmp_path / "fork")
    assert forked.keys() == sequential.keys()
    assert all(forked[k] == sequential[k] for k in sequential), [k for k in sequential if forked[k] != sequential[k]]


def test_long_trail_is_a_filtered_range_with_the_same_cells(tmp_path, monkeypatch):
    rubric, scored, previous, _ = build_scored_fixture(tmp_path)
    table = _build(rubric, scored, previous, tmp_path / "table")["xlsx"]
    monkeypatch.setattr(report_xlsx, "TABLE_MAX_ROWS", 0)
    streamed = _build(rubric, scored, previous, tmp_path / "streamed")["xlsx"]
    (tmp_path / "a.xlsx").write_bytes(table)
    (tmp_path / "b.xlsx").write_bytes(streamed)
    a = openpyxl.load_workbook(tmp_path / "a.xlsx")["Diễn giải"]
    b = openpyxl.load_workbook(tmp_path / "b.xlsx")["Diễn giải"]
    assert list(a.tables) == ["DienGiai"] and not list(b.tables)
    assert b.auto_filter.ref == a.tables["DienGiai"].ref
    assert [[c.value for c in r] for r in a.iter_rows()] == [[c.value for c in r] for r in b.iter_rows()]


def test_rich_text_markup_in_a_name_stays_text(tmp_path, monkeypatch):
    """A name shaped like XlsxWriter's inline rich text (``<r>…</r>``) is not copied into the XML raw."""
    from ictaudit.tables import read_csv, write_csv

    rubric, scored, previous, _ = build_scored_fixture(tmp_path)
    hostile = '<r><t>Sở "giả"</t></r>'
    scores = read_csv(scored / "scores.csv")
    scores.loc[scores["agency_id"] == "sb-script", "agency_name"] = hostile
    write_csv(scores, scored / "scores.csv")
    monkeypatch.setattr(report_xlsx, "TABLE_MAX_ROWS", 0)
    path = report.build_reports(rubric, scored, tmp_path / "out", CYCLE_INFO, previous_scored_dir=previous)["xlsx"]
    wb = openpyxl.load_workbook(path)
    for sheet in ("Số liệu", "Điểm", "Diễn giải"):
        texts = {c.value for row in wb[sheet].iter_rows() for c in row}
        assert hostile in texts, sheet


def test_streamed_rows_are_the_bytes_xlsxwriter_writes(tmp_path, monkeypatch):
    """The direct row writer of streamed table sheets gives the bytes of XlsxWriter's cell-by-cell path."""
    from ictaudit.tables import read_csv, write_csv

    rubric, scored, previous, _ = build_scored_fixture(tmp_path)
    scores = read_csv(scored / "scores.csv")
    odd = [" Sở có khoảng trắng ", "A & B <c> \"d\"", "chuông\x07_x0041_", "dòng\nhai"]
    for agency_id, name in zip(scores["agency_id"], odd):
        scores.loc[scores["agency_id"] == agency_id, "agency_name"] = name
    write_csv(scores, scored / "scores.csv")
    monkeypatch.setattr(report_xlsx, "TABLE_MAX_ROWS", 0)
    used, stream_rows = [], report_xlsx._stream_rows
    monkeypatch.setattr(report_xlsx, "_stream_rows", lambda *args: used.append(stream_rows(*args)) or used[-1])
    direct = _build(rubric, scored, previous, tmp_path / "direct")["xlsx"]
    assert used.count(True) >= 3, used  # trail, sources, issues at least took the direct path
    monkeypatch.setattr(report_xlsx, "_stream_rows", lambda *args: False)
    by_cell = _build(rubric, scored, previous, tmp_path / "by_cell")["xlsx"]
    assert direct == by_cell

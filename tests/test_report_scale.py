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

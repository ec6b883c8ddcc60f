"""`verify` compares scored tables by key: each agency's own differing cells, not a row shifted by position."""

from __future__ import annotations

import pandas as pd

from ictaudit.common.tables import write_csv
from ictaudit.run.verify import diff_tables

COLUMNS = ["agency_id", "agency_name", "group", "status", "score_100", "band", "rank"]
RECORDED = [
    ("so-gtvt", "Sở GTVT", "so_ban_nganh", "ranked", "89.45", "Tốt", "1"),
    ("so-xay-dung", "Sở Xây dựng", "so_ban_nganh", "ranked", "86.46", "Tốt", "2"),
    ("ban-qlda", "Ban QLDA", "so_ban_nganh", "ranked", "85.1", "Tốt", "3"),
]
# recomputed with a scale edited in place: Ban QLDA moves up, Sở Xây dựng down; the rows sorted by rank
RECOMPUTED = [
    ("so-gtvt", "Sở GTVT", "so_ban_nganh", "ranked", "90.45", "Tốt", "1"),
    ("ban-qlda", "Ban QLDA", "so_ban_nganh", "ranked", "87", "Tốt", "2"),
    ("so-xay-dung", "Sở Xây dựng", "so_ban_nganh", "ranked", "86.46", "Tốt", "3"),
]


def _tables(tmp_path, recorded, recomputed, name="scores.csv", columns=COLUMNS):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    write_csv(pd.DataFrame(recorded, columns=columns), tmp_path / "a" / name)
    write_csv(pd.DataFrame(recomputed, columns=columns), tmp_path / "b" / name)
    return diff_tables(tmp_path / "a" / name, tmp_path / "b" / name)


def test_shifted_ranks_show_as_each_agencys_own_cells(tmp_path):
    lines = _tables(tmp_path, RECORDED, RECOMPUTED)
    assert lines[0] == "3 rows differ (compared by agency_id)"
    assert "so-gtvt: score_100: '89.45' → '90.45'" in lines
    assert "so-xay-dung: rank: '2' → '3'" in lines
    assert "ban-qlda: score_100: '85.1' → '87'; rank: '3' → '2'" in lines
    assert not any("'so-xay-dung' → 'ban-qlda'" in line for line in lines)  # never a row compared by position
    assert lines[-1].startswith("rows in another order than recorded (the contract says the table is sorted): from row 3")


def test_the_same_rows_in_another_order_are_named_as_an_order_difference(tmp_path):
    lines = _tables(tmp_path, RECORDED, [RECORDED[0], RECORDED[2], RECORDED[1]])
    assert lines == [
        "rows in another order than recorded (the contract says the table is sorted): from row 3, "
        "recorded so-xay-dung, recomputed ban-qlda"
    ]


def test_rows_in_one_table_only_and_a_trail_by_agency_and_indicator(tmp_path):
    columns = ["agency_id", "group", "criterion_id", "indicator_id", "points"]
    recorded = [("so-a", "g", "C1", "C1.1", "5"), ("so-a", "g", "C1", "C1.2", "3"), ("so-b", "g", "C1", "C1.1", "4")]
    recomputed = [("so-a", "g", "C1", "C1.1", "5"), ("so-a", "g", "C1", "C1.2", "2.5"), ("so-c", "g", "C1", "C1.1", "1")]
    lines = _tables(tmp_path, recorded, recomputed, "trail.csv", columns)
    assert lines == [
        "3 rows differ (compared by agency_id, indicator_id)",
        "so-a × indicator_id=C1.2: points: '3' → '2.5'",
        "so-b × indicator_id=C1.1: only in the recorded table",
        "so-c × indicator_id=C1.1: only in the recomputed table",
    ]


def test_equal_tables_have_no_difference_and_other_columns_are_named(tmp_path):
    assert _tables(tmp_path, RECORDED, RECORDED) == []
    (tmp_path / "c").mkdir()
    write_csv(pd.DataFrame(RECORDED, columns=COLUMNS).drop(columns=["band"]), tmp_path / "c" / "scores.csv")
    assert diff_tables(tmp_path / "a" / "scores.csv", tmp_path / "c" / "scores.csv")[0].startswith("columns differ")

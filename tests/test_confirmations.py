"""Confirmation workbooks: only agencies with problems, problems listed, agency text stays text."""

from datetime import date

import openpyxl
import pandas as pd

from ictaudit.validate.confirmations import ANSWER_HEADERS, PROBLEM_HEADERS, open_problems, write_confirmations
from ictaudit.validate.issues import ISSUE_COLUMNS

AGENCIES = pd.DataFrame(
    {
        "agency_id": ["so-a", "so-b", "so-late"],
        "agency_name": ['=HYPERLINK("http://x")', "Sở B", "Sở nộp muộn"],
        "group": ["so_ban_nganh", "so_ban_nganh", "so_ban_nganh"],
        "status": ["ranked", "ranked", "late"],
        "status_reason": ["", "", "muộn"],
    }
)
ISSUES = pd.DataFrame(
    [
        ("so-a", "L03", "E", "F02;F01", "F02=60; F01=50", "F02 không được lớn hơn F01.", 1, ""),
        ("so-a", "L04", "W", "F02;F03", "F02=60; F03=45", "Đề nghị giải thích.", 1, ""),
        ("so-a", "L10", "E", "F12;F01", "F12=70; F01=50", "F12 không được lớn hơn F01.", 1, "K001"),
        ("so-late", "L03", "E", "F02;F01", "F02=60; F01=50", "…", 1, ""),
        ("", "I11", "W", "", "", "Tệp lạ", 1, ""),
    ],
    columns=ISSUE_COLUMNS,
)


def _values():
    rows = [
        ("so-a", "F01", "50", 50.0, "D2", ""),
        ("so-a", "F02", "=1+59", 60.0, "D3", ""),
        ("so-a", "F03", "-45", 45.0, "D4", ""),
        ("so-a", "F06", "Có", 1.0, "D5", ""),
        ("so-b", "F01", "@10", 10.0, "D2", ""),
    ]
    return pd.DataFrame(
        [
            {"agency_id": a, "field": f, "raw_value": raw, "value": v, "source_file": f"{a}.xlsx",
             "source_sha256": "0" * 64, "sheet": "Số liệu", "cell": cell, "correction_id": cid}
            for a, f, raw, v, cell, cid in rows
        ]
    )  # fmt: skip


def test_workbooks_only_for_agencies_with_open_problems(rubric, tmp_path):
    paths = write_confirmations(tmp_path, rubric, AGENCIES, _values(), ISSUES, "Kỳ đánh giá 2017", 2017)
    assert [p.name for p in paths] == ["so-a.xlsx"]  # so-b clean, so-late not evaluated, "" not an agency


def test_problems_and_text_cells(rubric, tmp_path):
    (path,) = write_confirmations(
        tmp_path, rubric, AGENCIES, _values(), ISSUES, "Kỳ đánh giá 2017", 2017, reply_by=date(2017, 11, 20)
    )
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["Xác nhận", "Số liệu"]
    ws = wb["Xác nhận"]
    cells = [c for row in ws.iter_rows() for c in row if c.value is not None]
    texts = [c.value for c in cells]
    assert '=HYPERLINK("http://x")' in texts  # the agency name, kept as text
    name_cell = next(c for c in cells if c.value == '=HYPERLINK("http://x")')
    assert name_cell.data_type == "s"
    assert any("20/11/2017" in str(t) for t in texts)
    header_row = next(c.row for c in cells if c.value == PROBLEM_HEADERS[1])
    headers = [c.value for c in ws[header_row]]
    assert headers == PROBLEM_HEADERS + ANSWER_HEADERS
    problems = [[c.value for c in row] for row in ws.iter_rows(min_row=header_row + 1)]
    assert [p[1] for p in problems] == ["L03", "L04"]  # L10 was resolved by K001
    assert problems[0][2] == "Lỗi" and problems[1][2] == "Cảnh báo"
    assert problems[0][4] == "F02=60; F01=50"
    assert all(v is None for v in problems[0][len(PROBLEM_HEADERS) :])  # answer columns empty
    assert ws.freeze_panes == f"A{header_row + 1}"
    assert ws.page_setup.paperSize == 9  # A4

    vs = wb["Số liệu"]
    rows = {r[0].value: r for r in vs.iter_rows(min_row=2)}
    assert rows["F02"][3].value == "=1+59" and rows["F02"][3].data_type == "s"
    assert rows["F03"][3].value == "-45" and rows["F03"][3].data_type == "s"
    assert rows["F02"][4].value == 60
    assert rows["F02"][6].value == "D3"
    assert "L03" in rows["F02"][8].value and "L04" in rows["F02"][8].value
    assert len(rows) == len(rubric.fields_for_form("PL1"))
    assert not any(c.data_type == "f" for row in vs.iter_rows() for c in row)
    assert not any(c.data_type == "f" for row in ws.iter_rows() for c in row)


def test_bytes_are_deterministic(rubric, tmp_path):
    a = write_confirmations(tmp_path / "a", rubric, AGENCIES, _values(), ISSUES, "Kỳ 2017", 2017)
    b = write_confirmations(tmp_path / "b", rubric, AGENCIES, _values(), ISSUES, "Kỳ 2017", 2017)
    assert [p.read_bytes() for p in a] == [p.read_bytes() for p in b]


def test_round_two_supersedes_round_one():
    issues = pd.DataFrame(
        [
            ("so-a", "L22", "W", "F41;F01", "F41=80; F01=50", "…", 1, ""),
            ("so-a", "L22", "W", "F41;F01", "F41=80; F01=50", "…", 2, ""),
            ("so-a", "L03", "E", "F02;F01", "F02=60; F01=50", "…", 1, "K001"),
            ("so-a", "I04", "E", "F05", "F05=abc", "…", 1, ""),
        ],
        columns=ISSUE_COLUMNS,
    )
    kept = open_problems(issues)
    assert list(zip(kept.check_id, kept["round"])) == [("L22", 2), ("I04", 1)]

"""Confirmation workbooks: only agencies with open problems, one answer row per problem × field, where and
when to reply, the sign-and-stamp block, the hidden record of what they were made from, text stays text."""

import re
from datetime import date

import openpyxl
import pandas as pd
import pytest

from ictaudit.validate.confirmations import (
    ANSWER_HEADERS,
    PROBLEM_HEADERS,
    SHEET_MADE_FROM,
    SHEET_META,
    TEMPLATE_VERSION,
    VALUE_HEADERS,
    Particulars,
    _per_field,
    open_problems,
    values_digest,
    write_confirmations,
)
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
        ("so-a", "L25", "E", "F12;F16;F19", "F12=trống; F16=trống; F19=trống", "Bỏ trống F12, F16, F19.", 1, ""),
        ("so-late", "L03", "E", "F02;F01", "F02=60; F01=50", "…", 1, ""),
        ("", "I11", "W", "", "", "Tệp lạ", 1, ""),
    ],
    columns=ISSUE_COLUMNS,
)
CYCLE = Particulars(
    year=2017, title="Kỳ đánh giá 2017", province="Cao Bằng", reply_by=date(2017, 11, 20),
    reply_to="Phòng CNTT, Sở TT&TT — cntt@example.vn", contact="Phòng CNTT",
)  # fmt: skip


def _values():
    rows = [
        ("so-a", "F01", "50", 50.0, "D2", ""),
        ("so-a", "F02", "=1+59", 60.0, "D3", ""),
        ("so-a", "F03", "-45", 45.0, "D4", ""),
        ("so-a", "F05", "1234.5", 1234.5, "D6", ""),
        ("so-a", "F06", "Có", 1.0, "D5", ""),
        ("so-a", "F12", "85%", float("nan"), "D16", ""),
        ("so-b", "F01", "@10", 10.0, "D2", ""),
    ]
    return pd.DataFrame(
        [
            {"agency_id": a, "field": f, "raw_value": raw, "value": v, "source_file": f"{a}.xlsx",
             "source_sha256": "0" * 64, "sheet": "Số liệu", "cell": cell, "correction_id": cid}
            for a, f, raw, v, cell, cid in rows
        ]
    )  # fmt: skip


@pytest.fixture()
def workbook(rubric, tmp_path):
    (path,) = write_confirmations(tmp_path, rubric, AGENCIES, _values(), ISSUES, CYCLE)
    return path, openpyxl.load_workbook(path)


def _texts(ws) -> list:
    return [c.value for row in ws.iter_rows() for c in row if c.value is not None]


def test_workbooks_only_for_agencies_with_open_problems(rubric, tmp_path):
    paths = write_confirmations(tmp_path, rubric, AGENCIES, _values(), ISSUES, CYCLE)
    assert [p.name for p in paths] == ["so-a.xlsx"]  # so-b clean, so-late not evaluated, "" not an agency


def test_where_and_when_to_reply_and_how(workbook):
    _, wb = workbook
    assert wb.sheetnames == ["Xác nhận", "Số liệu", SHEET_META, SHEET_MADE_FROM]
    texts = _texts(wb["Xác nhận"])
    assert "chậm nhất ngày 20/11/2017" in texts
    assert "Phòng CNTT, Sở TT&TT — cntt@example.vn" in texts
    assert not any("trong thời hạn" in str(t) for t in texts)
    how = " ".join(str(t) for t in texts)
    assert "ghi lại đúng giá trị đó" in how and "ghi giá trị đúng" in how  # confirm or correct, and why
    assert "THỦ TRƯỞNG ĐƠN VỊ" in texts and "(Ký, ghi rõ họ tên, đóng dấu)" in texts


def test_a_check_naming_several_fields_has_one_answer_row_per_field(workbook):
    _, wb = workbook
    ws = wb["Xác nhận"]
    header_row = next(c.row for row in ws.iter_rows() for c in row if c.value == PROBLEM_HEADERS[1])
    assert [c.value for c in ws[header_row]] == PROBLEM_HEADERS + ANSWER_HEADERS
    rows = [[c.value for c in row] for row in ws.iter_rows(min_row=header_row + 1, max_row=header_row + 8)]
    rows = [r for r in rows if r[1]]
    # errors first, then warnings; L10 was resolved by K001; the late agency is not asked
    assert [(r[1], r[3]) for r in rows] == [
        ("L03", "F02"), ("L03", "F01"), ("L25", "F12"), ("L25", "F16"), ("L25", "F19"), ("L04", "F02"), ("L04", "F03"),
    ]
    assert [r[0] for r in rows] == [1, 1, 2, 2, 2, 3, 3]
    assert rows[0][2] == "Lỗi" and rows[-1][2] == "Cảnh báo"
    assert rows[2][5] == "85%"  # a value that could not be read shows what was typed
    assert rows[0][5] == "60" and rows[3][5] == "trống"
    answer = len(PROBLEM_HEADERS)
    cells = [ws.cell(row=header_row + 1 + i, column=answer + 1 + k) for i in range(7) for k in range(4)]
    assert all(c.protection.locked is False and c.value is None for c in cells)  # each row answers on its own
    assert ws.cell(row=header_row + 1, column=2).protection.locked is not False
    assert ws.protection.sheet


def test_printed_on_a4_with_the_table_header_repeated(workbook):
    _, wb = workbook
    for name in ("Xác nhận", "Số liệu"):
        ws = wb[name]
        assert ws.page_setup.paperSize == 9 and ws.page_setup.orientation == "landscape"
        assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToWidth in (None, 1)
        assert ws.page_setup.fitToHeight == 0  # as many pages down as it takes, one wide
        assert ws.print_title_rows


def test_values_sheet_and_text_stays_text(workbook, rubric):
    _, wb = workbook
    name_cell = next(c for row in wb["Xác nhận"].iter_rows() for c in row if c.value == '=HYPERLINK("http://x")')
    assert name_cell.data_type == "s"
    vs = wb["Số liệu"]
    header_row = next(c.row for row in vs.iter_rows() for c in row if c.value == VALUE_HEADERS[0])
    assert [c.value for c in vs[header_row]] == VALUE_HEADERS + ANSWER_HEADERS
    rows = {r[0].value: r for r in vs.iter_rows(min_row=header_row + 1)}
    assert len(rows) == len(rubric.fields_for_form("PL1"))
    assert rows["F02"][3].value == "=1+59" and rows["F02"][3].data_type == "s"
    assert rows["F03"][3].value == "-45" and rows["F03"][3].data_type == "s"  # not a value: shown as typed
    assert rows["F05"][3].value == "1.234,5" and rows["F05"][4].value == "1.234,5"  # Vietnamese, every digit
    assert rows["F06"][4].value == "Có"
    assert rows["F12"][3].value == "85%" and rows["F12"][4].value == "trống"
    assert rows["F02"][5].value == "D3"
    assert rows["F02"][6].value == "L03, L04"
    for wsheet in (vs, wb["Xác nhận"]):
        assert not any(c.data_type == "f" for row in wsheet.iter_rows() for c in row)


def test_the_hidden_record_of_what_it_was_made_from(workbook, rubric):
    _, wb = workbook
    meta = {r[0].value: r[1].value for r in wb[SHEET_META].iter_rows()}
    assert meta["template_version"] == TEMPLATE_VERSION
    assert (meta["year"], meta["rubric"], meta["form"], meta["agency_id"]) == ("2017", rubric.id, "PL1", "so-a")
    assert wb[SHEET_META].sheet_state == "hidden" and wb[SHEET_MADE_FROM].sheet_state == "hidden"
    rows = [[c.value for c in r] for r in wb[SHEET_MADE_FROM].iter_rows(min_row=2)]
    values = [(r[1], r[2] or "", r[3] or "") for r in rows if r[0] == "value"]
    assert ("F05", "1234.5", "") in values and ("F12", "", "") in values and ("F11", "", "") in values
    assert meta["values_sha256"] == values_digest(values)
    problems = [(r[1], r[4], r[5], r[6]) for r in rows if r[0] == "problem"]
    assert ("L25", "E", "F12;F16;F19", "1") in problems and not any(p[0] == "L10" for p in problems)


def test_bytes_are_deterministic(rubric, tmp_path):
    a = write_confirmations(tmp_path / "a", rubric, AGENCIES, _values(), ISSUES, CYCLE)
    b = write_confirmations(tmp_path / "b", rubric, AGENCIES, _values(), ISSUES, CYCLE)
    assert [p.read_bytes() for p in a] == [p.read_bytes() for p in b]


def test_an_unset_reply_date_prints_as_dots(rubric, tmp_path):
    (path,) = write_confirmations(
        tmp_path, rubric, AGENCIES, _values(), ISSUES, Particulars(year=2017, title="Kỳ 2017")
    )
    texts = _texts(openpyxl.load_workbook(path)["Xác nhận"])
    assert "…" in texts and not any("chậm nhất ngày" in str(t) for t in texts)


def test_round_two_supersedes_round_one_and_a_confirmed_error_waits_for_the_dic():
    issues = pd.DataFrame(
        [
            ("so-a", "L22", "W", "F41;F01", "F41=80; F01=50", "…", 1, ""),
            ("so-a", "L22", "W", "F41;F01", "F41=80; F01=50", "…", 2, ""),
            ("so-a", "L03", "E", "F02;F01", "F02=60; F01=50", "…", 1, "K001"),
            ("so-a", "I04", "E", "F05", "F05=abc", "…", 1, ""),
            ("so-a", "L10", "E", "F12;F01", "F12=70; F01=50", "…", 2, ""),
        ],
        columns=ISSUE_COLUMNS,
    )
    kept = open_problems(issues)
    assert list(zip(kept.check_id, kept["round"])) == [("L22", 2), ("I04", 1), ("L10", 2)]
    report = pd.DataFrame(
        [("K002", "so-a", "F12", "confirmed", "agency reply", "L10")],
        columns=["correction_id", "agency_id", "field", "status", "source", "check_id"],
    )
    kept = open_problems(issues, report)
    assert list(zip(kept.check_id, kept["round"])) == [("L22", 2), ("I04", 1)]


@pytest.mark.libreoffice
def test_printed_nothing_is_cut_off(rubric, tmp_path):
    """LibreOffice prints the workbook to PDF: every label, value and message is there whole, word after
    word (a row too short for its message would lose its last words), on A4 landscape pages."""
    import shutil
    import subprocess

    from ictaudit.common.office import convert

    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed: run `make system`")
    long = (
        "Số văn bản điện tử được ký số (F17) thay đổi bất thường so với số liệu đã xác nhận năm trước (giảm quá "
        "50% hoặc tăng quá 3 lần): đề nghị kiểm tra và giải thích rõ lý do thay đổi, kèm tài liệu chứng minh."
    )
    # L24 over a dozen counts: longer than a printed page if it were one message merged over their rows
    counts = [f for f in rubric.fields_for_form("PL1") if f.type == "count"][:12]
    each = [f"{f.label_vi} ({f.code}) thay đổi bất thường so với số liệu đã xác nhận năm trước (giảm quá 50% hoặc "
            "tăng quá 3 lần): đề nghị kiểm tra và giải thích." for f in counts]  # fmt: skip
    many = ("so-a", "L24", "W", ";".join(f.code for f in counts),
            "; ".join(f"{f.code}={i} (năm trước: {100 + i})" for i, f in enumerate(counts)), " ".join(each), 1, "")  # fmt: skip
    issues = pd.concat(
        [ISSUES, pd.DataFrame([("so-a", "L24", "W", "F17", "F17=0 (năm trước: 1070)", long, 1, ""), many],
                              columns=ISSUE_COLUMNS)]
    )  # fmt: skip
    (path,) = write_confirmations(tmp_path / "x", rubric, AGENCIES, _values(), issues, CYCLE)
    pdf = convert(path, tmp_path / "pdf", "pdf")
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    words = text.split()

    def whole(sentence: str) -> bool:
        at = 0
        for w in sentence.split():
            try:
                at = words.index(w, at) + 1
            except ValueError:
                return False
        return True

    for sentence in [long, *each, "Bỏ trống F12, F16, F19.", "Đơn vị:", "Hạn gửi lại:", "chậm nhất ngày 20/11/2017",
                     "THỦ TRƯỞNG ĐƠN VỊ", "(Ký, ghi rõ họ tên, đóng dấu)", *ANSWER_HEADERS,
                     *(f.label_vi for f in rubric.fields_for_form("PL1"))]:  # fmt: skip
        assert whole(sentence), sentence
    # a cell's text cut where a page ends is still in the PDF, drawn over the footer and past the page:
    # every word must end above the footer line ("Xác nhận … Trang 1/7") of its page
    boxes = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    for page in boxes.split("<page ")[1:]:
        found = re.findall(r'yMin="([\d.]+)" xMax="[\d.]+" yMax="([\d.]+)">([^<]*)<', page)
        footer = min(float(y0) for y0, _, w in found if w == "Trang")
        below = [w for y0, y1, w in found if float(y1) > footer and abs(float(y0) - footer) > 2]
        assert not below, f"words below the footer, cut off in print: {' '.join(below[:12])}"
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    size = next(line for line in info.splitlines() if line.startswith("Page size:")).split()
    assert size[-1] == "(A4)" and float(size[2]) > float(size[4])  # A4, landscape


def test_a_rule_applied_to_each_field_gives_each_row_its_own_part():
    message = "Số máy tính (F02) thay đổi bất thường. Số máy chủ (F08) thay đổi bất thường."
    assert _per_field(message, "F02=6 (năm trước: 60); F08=1 (năm trước: 9)", ["F02", "F08"]) == {
        "F02": "Số máy tính (F02) thay đổi bất thường.\nSố liệu: F02=6 (năm trước: 60)",
        "F08": "Số máy chủ (F08) thay đổi bất thường.\nSố liệu: F08=1 (năm trước: 9)",
    }
    # about the fields together (a sentence naming both, or none): one message for the problem's rows
    assert _per_field("Số máy (F02) không được lớn hơn số người (F01).", "F02=6; F01=5", ["F02", "F01"]) is None
    assert _per_field("Bỏ trống F12, F16.", "F12=trống; F16=trống", ["F12", "F16"]) is None
    assert _per_field(message, "", ["F02"]) is None  # one field: nothing to split

"""What the reader sees: raw values as the agency saw them beside parsed values the Vietnamese way, no
internal code (group ids, 1/0 for Có/Không) in report.html, the agency pages or the workbook, the note
when shown criterion points do not add up to the shown total, and an agency scored with values held
back marked in every ranking table."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import openpyxl
import pytest

from ictaudit.report.build import build_reports
from ictaudit.report.inputs import agency_file_name, load_report_inputs, raw_shown, shown_sum_differs, vi_digits
from tests.report_fixture import CYCLE_INFO, SCRIPT_NAME, build_scored_fixture


@pytest.mark.parametrize(
    "raw,value,corrected,shown",
    [
        ("1100", 1100.0, False, "1.100"),  # a number cell: intake keeps Python's form of the number
        ("40.8", 40.8, False, "40,8"),
        ("1234567.125", 1234567.125, False, "1.234.567,125"),
        ("0", 0.0, False, "0"),
        ("1.100", 1100.0, False, "1.100"),  # text typed the Vietnamese way: as typed
        ("1.995", 1995.0, False, "1.995"),  # text read as 1995, not the number 1.995: as typed
        ("89,2", 89.2, False, "89,2"),
        ("125 máy", 125.0, False, "125 máy"),
        ("Có", 1.0, False, "Có"),
        ("1", 1.0, False, "1"),
        ("", float("nan"), False, ""),
        ("3915", 3404.0, True, "3.915"),  # corrected: the number cell as sent
        ("1.995", 2000.0, True, "1.995"),  # corrected, and could have been either: as it is
        ("1e-05", 1e-05, False, "1e-05"),
        ("-3", -3.0, False, "-3"),
    ],
)
def test_raw_values_are_shown_as_the_agency_saw_them(raw, value, corrected, shown):
    assert raw_shown(raw, value, corrected) == shown


def test_vietnamese_digits_keep_every_digit():
    assert vi_digits("1234567.0000001") == "1.234.567,0000001"
    assert vi_digits("-1000") == "-1.000"


@pytest.mark.parametrize(
    "parts,total,shown",
    [
        ([18.840922, 27.604699, 15.0, 13.900025, 5.0, 4.109091, 5.0], 89.454737, None),  # 89,45 both ways
        ([0.335, 0.335], 0.67, "0,68"),  # 0,34 + 0,34 shown, 0,67 the total
        ([10.004, 10.004, 10.004], 30.012, "30,00"),
        ([1.0, 2.0], 3.0, None),
    ],
)
def test_shown_points_that_do_not_add_up_are_found(parts, total, shown):
    assert shown_sum_differs(parts, total) == shown


class _Text(HTMLParser):
    """The text a reader sees (no markup, attributes, style or script)."""

    def __init__(self):
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        self._skip += tag in ("style", "script", "title")

    def handle_endtag(self, tag):
        self._skip -= tag in ("style", "script", "title")

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def _visible(path) -> str:
    p = _Text()
    p.feed(path.read_text(encoding="utf-8"))
    return "".join(p.parts)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("shown")
    rubric, scored, _, result = build_scored_fixture(root)  # last year linked into scored/ as intake does
    out = root / "out"
    build_reports(rubric, scored, out, CYCLE_INFO)
    data = load_report_inputs(rubric, scored, CYCLE_INFO)
    return out, data, result


def test_no_internal_code_is_shown(built):
    out, data, _ = built
    codes = [g.id for g in data.rubric.groups]
    pages = [out / "report.html", *sorted((out / "agencies").glob("*.html"))]
    for page in pages:
        text = _visible(page)
        for code in codes:
            assert code not in text, (page.name, code)
    wb = openpyxl.load_workbook(out / "report.xlsx")
    yesno = {f.code for f in data.rubric.fields if f.type == "yesno"}
    for ws in wb.worksheets:
        header = {}
        for row in ws.iter_rows():
            for cell in row:
                assert cell.value not in codes, (ws.title, cell.coordinate)
                if cell.value in ("Mã đơn vị", "Hạng"):
                    header = {c.column: c.value for c in row if c.value}
                name = header.get(cell.column)
                if isinstance(cell.value, int | float) and (name in yesno or name == "Được xếp hạng"):
                    assert cell.number_format == '[=1]"Có";[=0]"Không";General', (ws.title, cell.coordinate)


def test_parsed_values_are_shown_the_vietnamese_way(built):
    out, _data, _ = built
    page = (out / "agencies" / agency_file_name("sb-tot")).read_text(encoding="utf-8")
    # F44 typed "150,5" (text): as typed, and read as 150,5; F14, the number 1200 in a number cell
    # (raw_value "1200"), as the agency's spreadsheet showed it: 1.200, like the value read
    assert re.search(r'<td class="mono">F44</td><td>[^<]*</td><td class="n">150,5</td><td class="n">150,5</td>', page)
    assert re.search(r'<td class="mono">F14</td><td>[^<]*</td><td class="n">1.200</td><td class="n">1.200</td>', page)
    assert "150.5" not in _visible(out / "agencies" / agency_file_name("sb-tot"))


def test_held_values_are_marked_in_every_ranking_table_and_not_used(built):
    out, _data, _result = built
    report = _visible(out / "report.html")
    assert f"{SCRIPT_NAME} (*)" in report
    assert "(*) Đơn vị có số liệu bị giữ lại do lỗi chưa được xác nhận" in report and f"{SCRIPT_NAME} (F02)" in report
    page = (out / "agencies" / agency_file_name("sb-script")).read_text(encoding="utf-8")
    assert "Có số liệu bị giữ lại" in page
    row = re.search(r'<tr class="held"><td class="mono">F02</td>.*?</tr>', page).group(0)
    assert "—<small>giữ lại, không dùng để tính điểm</small>" in row and ">60<" in row
    assert "(*)" not in report.split(SCRIPT_NAME)[0][-400:]  # no other agency before it is marked

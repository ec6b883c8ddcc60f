"""The trace page: Vietnamese throughout, each rule in words, the agency holding each best value, A4.

Built on the report fixture (tests/report_fixture.py): sb-tot holds the group's best bandwidth per
member of staff (F05 / F01 = 100 / 50 = 2) — sb-late's 500 / 50 = 10 is higher but late, so not a
candidate; sb-script's F02 is held back by an unresolved error; sb-formula and sb-tie have the same values.
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from ictaudit.report.trace import SECTIONS, TracePage, UnknownAgency
from ictaudit.report.trace_sections import formula_in_words
from tests.report_fixture import FORMULA_NAME, SCRIPT_NAME, build_scored_fixture

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
RUN = {"year": 2017, "title": "Đánh giá năm 2017", "started": "20/11/2017", "scores_sha256": "ab" * 32}


@pytest.fixture(scope="module")
def fixture(tmp_path_factory):
    rubric, scored, _previous, _ = build_scored_fixture(tmp_path_factory.mktemp("trace"))
    return rubric, scored


def _page(fixture, agency_id: str) -> TracePage:
    rubric, scored = fixture
    return TracePage(scored, agency_id, rubric, RUN)


def _text(html: str) -> str:
    html = re.sub(r"<style>.*?</style>", " ", str(html), flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_best_value_names_the_ranked_agency_holding_it(fixture):
    page = _page(fixture, "sb-na")
    c13 = next(i for c in page.context()["indicators"] for i in c["indicators"] if i["id"] == "C1.3")
    assert c13["best"] == {"value": "2,00", "holders": ["Văn phòng UBND tỉnh"], "mine": False}
    text = _text(page.section("indicators"))
    assert "Đơn vị có giá trị cao nhất trong khối: Văn phòng UBND tỉnh (2,00)." in text
    mine = next(i for c in _page(fixture, "sb-tot").context()["indicators"] for i in c["indicators"] if i["id"] == "C1.3")
    assert mine["best"]["mine"] is True


def test_a_shared_best_criterion_names_every_holder(fixture):
    page = _page(fixture, "sb-tie")
    rows = {r["id"]: r for r in page.context()["criteria"]}
    assert (rows["C1"]["best"], rows["C1"]["holders"], rows["C1"]["mine"]) == ("17,69", ["Văn phòng UBND tỉnh"], False)
    assert {FORMULA_NAME, "Sở Tài chính"} <= set(rows["C4"]["holders"]) and rows["C4"]["mine"] is True  # the tie
    assert len(rows["C6"]["holders"]) == 5
    assert "và 1 đơn vị khác (có chính đơn vị này)" in _text(page.section("criteria"))


def test_every_label_status_group_and_number_is_vietnamese(fixture):
    page = _page(fixture, "sb-script")
    html = page.html()
    text = _text(html)
    for words in ("Sở, ban, ngành", "Được đánh giá, xếp hạng", "Số liệu từ phiếu", "Hiệu chỉnh số liệu",
                  "Kết quả kiểm tra số liệu", "Vòng 1 (phiếu gốc)", "Vòng 2 (sau hiệu chỉnh)", "Lỗi",
                  "Cách tính (Tỷ lệ):", "Tính với số liệu của đơn vị:", "Thứ hạng trong khối"):  # fmt: skip
        assert words in text, words
    for internal in ("so_ban_nganh", "raw_value", "value_read", "criterion_id", "ranked ", "status_reason", "True", "nan"):
        assert internal not in text, internal
    assert not re.search(r"\d\.\d{2}\b", text.replace("1.200", "")), "a decimal point where a comma belongs"
    assert "&lt;script&gt;" in html and SCRIPT_NAME not in html  # an agency's name stays text


def test_a_value_held_back_is_shown_typed_read_and_not_used(fixture):
    rows = {r["code"]: r for r in _page(fixture, "sb-script").context()["sources"]["rows"]}
    f02 = rows["F02"]
    assert (f02["typed"], f02["read"], f02["used"], f02["held"]) == ("60", "60", "không dùng", True)
    assert "giữ lại do lỗi chưa xác nhận" in f02["notes"]
    assert rows["F06"]["used"] == "Có" and rows["F10"]["used"] == "Không"  # yes/no in words, never 1/0
    corrected = {r["code"]: r for r in _page(fixture, "sb-tot").context()["sources"]["rows"]}["F05"]
    assert (corrected["typed"], corrected["read"], corrected["used"], corrected["notes"]) == ("1", "1", "100", "hiệu chỉnh K001")


@pytest.mark.parametrize(
    ("indicator", "words"),
    [
        ("C1.1", "5 điểm × tỷ lệ F02 / F01 (tỷ lệ trên 100% tính là 100%). Trong đó F02: "),
        ("C1.3", "3 điểm × (giá trị của đơn vị / giá trị cao nhất trong khối), giá trị = F05 / F01"),
        ("C1.4", "Cộng điểm từng mục đạt: 2 điểm nếu F06 = Có; 2 điểm nếu F07 = Có"),
        ("C2.4", "2 điểm nếu F16 > 0"),
        ("C2.5", "; không áp dụng khi F15 = 0"),
        ("C2.6", "1 điểm cho mỗi đơn vị của F18, tối đa 5 điểm"),
        ("C2.7", "F19 từ 6 trở lên: 4 điểm; F19 từ 3 trở lên: 2 điểm; F19 từ 1 trở lên: 1 điểm; thấp hơn: 0 điểm"),
        ("C3.2", "8 điểm × số mục trả lời Có / 10 mục (F21a, "),
        ("C4.3", "4 điểm × tỷ lệ (F29 + F30) / F27"),
    ],
)
def test_each_kind_in_words(rubric, indicator, words):
    kind = next(k for _c, k in rubric.indicators("so_ban_nganh") if k.id == indicator)
    text = formula_in_words(kind, rubric)
    assert words in text, text
    assert not re.search(r"\b(best|max|min|number of|yes|else|N/A)\b", text), text


def test_the_notebook_sections_are_the_pages_and_an_unknown_agency_is_named(fixture):
    page = _page(fixture, "h-tp")
    html = page.html()
    for name in SECTIONS:
        assert str(page.section(name)).strip()[:60] in html, name
    with pytest.raises(KeyError, match="no section"):
        page.section("raw")
    with pytest.raises(UnknownAgency, match=r"agency 'h-xx' is not in .*scores\.csv"):
        _page(fixture, "h-xx")


def test_an_agency_not_ranked_says_why_and_has_no_rank(fixture):
    page = _page(fixture, "sb-missing")
    s = page.context()["summary"]
    assert (s["status"], s["rank"], s["ranked"]) == ("Không gửi phiếu", "—", False)
    assert "Không có số liệu của đơn vị" in _text(page.section("sources"))
    assert "Đơn vị không được xếp hạng: Không gửi phiếu" in _text(page.section("ranking"))


@pytest.mark.chromium
@pytest.mark.skipif(CHROMIUM is None or shutil.which("pdfinfo") is None, reason="needs chromium and poppler")
def test_the_page_prints_on_a4_portrait(fixture, tmp_path):
    page = _page(fixture, "sb-script").write(tmp_path / "sb-script.html")
    pdf = tmp_path / "sb-script.pdf"
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", f"--user-data-dir={tmp_path / 'p'}",
           "--no-pdf-header-footer", f"--print-to-pdf={pdf}", page.as_uri()]  # fmt: skip
    subprocess.run(cmd, capture_output=True, timeout=120, check=False)
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    width, height = map(float, re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts", info).groups())
    assert (round(width), round(height)) == (595, 842)  # A4 portrait, in points
    pages = int(re.search(r"Pages:\s+(\d+)", info).group(1))
    assert 2 <= pages <= 8, pages


def test_a_correction_says_where_it_came_from_and_a_confirmation_is_not_called_a_correction(fixture, tmp_path):
    import pandas as pd

    from ictaudit.common.tables import read_csv, write_csv

    rubric, scored = fixture
    copy = tmp_path / "scored"
    shutil.copytree(scored, copy)
    corrections = read_csv(copy / "corrections.csv")
    corrections["source"] = ["on-site survey", "agency reply"]
    corrections["document"] = ["Biên bản 12/BB", ""]
    corrections["reply_file"] = ["", "tra-loi.xlsx"]
    corrections.loc[corrections["correction_id"] == "K001", "status"] = "confirmed"  # sb-tot kept its value
    write_csv(pd.DataFrame(corrections), copy / "corrections.csv")
    text = _text(TracePage(copy, "sb-tot", rubric, RUN).html())
    assert "Khảo sát thực tế — Biên bản 12/BB" in text
    assert "đã xử lý bằng xác nhận, có giải trình K001" in text and "hiệu chỉnh K001" not in text.split("Kết quả kiểm tra")[1]

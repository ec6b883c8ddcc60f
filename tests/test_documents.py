"""The official documents: read back with python-docx, held to Nghị định 30/2020 and to scores.csv.

The scored fixture (tests/report_fixture.py) has ties (rank 2, 2, 4), an agency with not-applicable
indicators (score_100 ≠ points), hostile names (``<script>``, ``=cmd|…``), late / missing / invalid
agencies and last year's scores. Every figure in a ranking table is compared with scores.csv rounded
here independently (``Decimal``, half up), never with the code under test.
"""

from __future__ import annotations

import json
import re
import zipfile
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pandas as pd
import pytest
from docx import Document
from docx.shared import Mm, RGBColor

from ictaudit.common.tables import read_csv
from ictaudit.report.documents import DOCUMENT_FILES, RECORD_FILE, pending_note, write_docx
from ictaudit.report.documents.nd30 import QUOC_HIEU, TIEU_NGU, clean, recipient_lines
from ictaudit.report.documents.particulars import read_settings
from ictaudit.report.inputs import load_report_inputs
from tests.report_fixture import CYCLE_INFO, FORMULA_NAME, SCRIPT_NAME, build_scored_fixture, score_roster

NOTICE = "Công văn số 1234/STTTT-CNTT ngày 10/10/2017 của Sở Thông tin và Truyền thông"
FILLED = {
    "bao_cao": {"number": 5, "date": "15/12/2017", "signer_name": "Nguyễn Văn A",
                "signer_title": ["KT. GIÁM ĐỐC", "PHÓ GIÁM ĐỐC"]},
    "quyet_dinh": {"number": "123", "date": "2017-12-20", "signer_name": "Trần Thị B"},
}  # fmt: skip


@pytest.fixture(scope="module")
def fixture(tmp_path_factory):
    root = tmp_path_factory.mktemp("docs")
    rubric, scored, _, _ = build_scored_fixture(root)
    data = load_report_inputs(rubric, scored, CYCLE_INFO)
    return root, data, scored


def _write(fixture, particulars=None, notice=NOTICE, out="documents", cycle_root=None):
    root, data, _ = fixture
    settings = read_settings(particulars, year=2017, province="Cao Bằng", notice=notice, cycle_root=cycle_root)
    with pytest.warns(UserWarning) if settings.warnings else _nothing():
        paths = write_docx(data, settings, root / out)
    return paths, settings


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


@pytest.fixture(scope="module")
def written(fixture):
    paths, settings = _write(fixture, FILLED)
    return {doc: Document(str(p)) for doc, p in paths.items()}, paths, settings


def _all_paragraphs(doc):
    """Every paragraph: the body's, the tables' (nested too) and the headers'."""

    def of_tables(tables):
        for t in tables:
            for row in t.rows:
                for cell in row.cells:
                    yield from cell.paragraphs
                    yield from of_tables(cell.tables)

    yield from doc.paragraphs
    yield from of_tables(doc.tables)
    for s in doc.sections:
        for part in (s.header, s.first_page_header):
            yield from part.paragraphs


def _effective(run, paragraph, what: str):
    """A run's font name, colour or size as shown: its own, else its paragraph style's (and their bases')."""

    def of(font):
        return font.color.rgb if what == "rgb" else getattr(font, what)

    value, style = of(run.font), paragraph.style
    while value is None and style is not None:
        value, style = of(style.font), style.base_style
    return value


def _ranking_tables(doc, full: bool):
    out = []
    for t in doc.tables:
        head = [c.text for c in t.rows[0].cells]
        if head[:2] == ["Xếp hạng", "Cơ quan, đơn vị"] and (len(head) > 4) == full:
            out.append([[c.text for c in row.cells] for row in t.rows[1:]])
    return out


def _mm(length) -> float:
    return round(length / Mm(1), 1)


def _published(text: str, decimals: int = 2) -> str:
    """A scores.csv number as the scale publishes it, computed here: half up, decimal comma."""
    q = Decimal(text).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    whole, _, frac = f"{q:f}".partition(".")
    return f"{int(whole):,}".replace(",", ".") + ("," + frac if frac else "")


# -- the format ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("doc", ["bao_cao", "quyet_dinh"])
def test_a4_margins_and_a_landscape_annex(written, doc):
    d = written[0][doc]
    first, *rest = d.sections
    assert (_mm(first.page_width), _mm(first.page_height)) == (210, 297)
    assert rest and (_mm(rest[-1].page_width), _mm(rest[-1].page_height)) == (297, 210), "the annex is landscape A4"
    for s in d.sections:
        assert 20 <= _mm(s.top_margin) <= 25 and 20 <= _mm(s.bottom_margin) <= 25
        assert 30 <= _mm(s.left_margin) <= 35 and 15 <= _mm(s.right_margin) <= 20


@pytest.mark.parametrize("doc", ["bao_cao", "quyet_dinh"])
def test_every_run_is_times_new_roman_black_and_the_body_14_pt(written, doc):
    d = written[0][doc]
    runs = [(r, p) for p in _all_paragraphs(d) for r in p.runs if r.text.strip()]
    assert len(runs) > 100
    assert {_effective(r, p, "name") for r, p in runs} == {"Times New Roman"}
    assert {_effective(r, p, "rgb") for r, p in runs} == {RGBColor(0, 0, 0)}
    table_sizes = {_effective(r, p, "size").pt for t in d.tables[1:] for row in t.rows for c in row.cells
                   for p in c.paragraphs for r in p.runs if p.style.name == "Ictaudit Table"}  # fmt: skip
    assert table_sizes == {12}
    sizes = {r.font.size.pt for p in d.paragraphs for r in p.runs if r.text.strip()}
    assert 14 in sizes and sizes <= {12, 14}, sizes  # body 14 pt; table legends 12 pt
    xml = zipfile.ZipFile(written[1][doc]).read("word/styles.xml").decode("utf-8")
    assert 'w:ascii="Times New Roman"' in xml and 'w:lang w:val="vi-VN"' in xml


def test_the_header_block(written):
    d = written[0]["bao_cao"]
    block = d.tables[0]
    left, right = block.rows[0].cells
    assert [p.text for p in left.paragraphs if p.text] == ["UBND TỈNH CAO BẰNG", "SỞ THÔNG TIN VÀ TRUYỀN THÔNG"]
    parent, issuer = (p.runs[0] for p in left.paragraphs[:2])
    assert not parent.bold and issuer.bold
    qh, tn = right.paragraphs[0], right.paragraphs[1]
    assert qh.text == QUOC_HIEU == "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" and tn.text == TIEU_NGU
    assert qh.runs[0].bold and qh.runs[0].font.size.pt in (12, 13)
    assert tn.runs[0].bold and tn.runs[0].font.size.pt in (13, 14)
    assert tn.alignment == 1 and qh.alignment == 1  # centred
    rules = [p for p in right.paragraphs if "w:bottom" in p.paragraph_format.element.xml and not p.text]
    assert rules, "the Tiêu ngữ is underlined by a rule"
    number, place = block.rows[1].cells
    assert number.text == "Số: 05/BC-STTTT"
    assert place.text == "Cao Bằng, ngày 15 tháng 12 năm 2017" and place.paragraphs[0].runs[0].italic
    titles = [p.text for p in d.paragraphs[:3]]
    assert titles[0] == "BÁO CÁO" and titles[1].startswith("Kết quả đánh giá, xếp hạng mức độ ứng dụng công nghệ")


def test_the_decision_header_dates_and_articles(written):
    d = written[0]["quyet_dinh"]
    left, _ = d.tables[0].rows[0].cells
    assert [p.text for p in left.paragraphs if p.text] == ["ỦY BAN NHÂN DÂN", "TỈNH CAO BẰNG"]
    number, place = d.tables[0].rows[1].cells
    assert number.text == "Số: 123/QĐ-UBND" and place.text == "Cao Bằng, ngày 20 tháng 12 năm 2017"
    texts = [p.text for p in d.paragraphs]
    assert "CHỦ TỊCH ỦY BAN NHÂN DÂN TỈNH CAO BẰNG" in texts and "QUYẾT ĐỊNH:" in texts
    bases = [p for p in d.paragraphs if p.text.startswith(("Căn cứ", "Theo đề nghị"))]
    assert all(p.runs[0].italic for p in bases)
    assert [p.text[-1] for p in bases] == [";"] * (len(bases) - 1) + ["."]
    assert "Báo cáo số 05/BC-STTTT ngày 15/12/2017" in bases[-1].text  # the report it rests on
    article = next(p for p in d.paragraphs if p.text.startswith("Điều 1."))
    assert article.runs[0].text.strip() == "Điều 1." and article.runs[0].bold and not article.runs[1].bold


@pytest.mark.parametrize("doc", ["bao_cao", "quyet_dinh"])
def test_page_numbers_centred_in_the_top_margin_from_page_two(written, doc):
    for s in written[0][doc].sections:
        assert s.different_first_page_header_footer
        assert 5 <= _mm(s.header_distance) < _mm(s.top_margin)
    first = written[0][doc].sections[0]
    xml = first.header.paragraphs[0].paragraph_format.element.xml
    assert 'w:instr=" PAGE "' in xml and '<w:jc w:val="center"/>' in xml
    assert "PAGE" not in first.first_page_header.paragraphs[0].paragraph_format.element.xml
    annex = written[0][doc].sections[-1]
    assert 'w:start="1"' in zipfile.ZipFile(written[1][doc]).read("word/document.xml").decode() and annex


def test_recipients_and_signer(written):
    d = written[0]["bao_cao"]
    signature = next(t for t in d.tables if t.rows[0].cells[0].text.startswith("Nơi nhận:"))
    left, right = signature.rows[0].cells
    title = left.paragraphs[0].runs[0]
    assert title.text == "Nơi nhận:" and title.bold and title.italic and title.font.size.pt == 12
    items = [p.text for p in left.paragraphs[1:]]
    assert items[0] == "- Như trên;" and items[-1] == "- Lưu: VT, CNTT." and all(i.startswith("- ") for i in items)
    assert {r.font.size.pt for p in left.paragraphs[1:] for r in p.runs} == {11}
    signer = [p.text for p in right.paragraphs if p.text]
    assert signer == ["KT. GIÁM ĐỐC", "PHÓ GIÁM ĐỐC", "Nguyễn Văn A"]
    assert recipient_lines(("- Như trên;", "Lưu: VT.")) == ["- Như trên;", "- Lưu: VT."]


# -- the content --------------------------------------------------------------------------------------


def _expected_rankings(scored: Path, group: str, full: bool) -> list[list[str]]:
    s = read_csv(scored / "scores.csv")  # the CSV contract's reader: text exactly as the agency wrote it
    s = s[(s["group"] == group) & (s["status"] == "ranked")]
    crits = [c for c in s.columns if re.fullmatch(r"C\d+", c) and (s[c] != "").any()]
    rows = []
    for r in s.to_dict("records"):
        cells = [r["rank"], r["agency_name"]]
        if full:
            cells += [_published(r[c]) for c in crits] + [_published(r["points"])]
        rows.append([*cells, _published(r["score_100"]), r["band"]])
    return sorted(rows, key=lambda row: (int(row[0]), row[1]))


@pytest.mark.parametrize(("doc", "full", "index"), [("bao_cao", False, 0), ("bao_cao", True, 1), ("quyet_dinh", True, 0)])
def test_every_ranking_row_equals_scores_csv_as_published(written, fixture, doc, full, index):
    tables = _ranking_tables(written[0][doc], full)
    assert len(tables) == 2, "one ranking table per group"
    for table, group in zip(tables, ("so_ban_nganh", "ubnd_huyen")):
        assert sorted(table, key=lambda row: (int(row[0]), row[1])) == _expected_rankings(fixture[2], group, full)
    ranks = [row[0] for row in tables[0]]
    assert ranks == ["1", "2", "2", "4", "5"], "ties share a rank and the next rank is skipped"


def test_hostile_agency_names_stay_text(written, fixture):
    names = {row[1] for table in _ranking_tables(written[0]["bao_cao"], False) for row in table}
    assert SCRIPT_NAME in names and FORMULA_NAME in names
    xml = zipfile.ZipFile(written[1]["bao_cao"]).read("word/document.xml").decode("utf-8")
    assert "&lt;script&gt;alert(" in xml and "<script>" not in xml and "instrText" not in xml
    assert clean("Sở\x01 Nội vụ\x0b") == "Sở\ufffd Nội vụ\ufffd"
    assert clean("Ba\u0300ng") == "Bàng"  # NFC


def test_agencies_not_ranked_with_their_reasons(written):
    d = written[0]["quyet_dinh"]
    table = next(t for t in d.tables if [c.text for c in t.rows[0].cells] == ["Cơ quan, đơn vị", "Tình trạng", "Lý do"])
    rows = {row.cells[0].text: (row.cells[1].text, row.cells[2].text) for row in table.rows[1:]}
    assert rows["Sở Y tế (sở, ban, ngành)"] == ("Gửi phiếu sau hạn", "Nhận phiếu ngày 10/11/2017, sau hạn 03/11/2017")
    assert rows["Sở Xây dựng (sở, ban, ngành)"][0] == "Không gửi phiếu"
    assert rows["UBND huyện Thạch An (UBND các huyện, thành phố)"][0] == "Phiếu không hợp lệ"


def test_the_report_states_the_process_review_and_movement(written):
    text = "\n".join(p.text for p in written[0]["bao_cao"].paragraphs)
    assert "Căn cứ Thông tư số 06/2013/TT-BTTTT" in text and "Căn cứ Quyết định số 2310/QĐ-UBND" in text
    assert f"Căn cứ {NOTICE};" in text and "hết ngày 03/11/2017" in text
    assert "tới 11 cơ quan, đơn vị thuộc diện đánh giá (sở, ban, ngành: 7; UBND các huyện, thành phố: 4)" in text
    assert "Kết quả: 10 cơ quan, đơn vị gửi phiếu, trong đó 8 phiếu gửi đúng hạn và hợp lệ, 1 phiếu gửi sau" in text
    assert "phát hiện 4 trường hợp (2 lỗi, 2 cảnh báo) tại 4 cơ quan, đơn vị" in text
    assert "1 số liệu được điều chỉnh, 0 số liệu được xác nhận giữ nguyên, 1 nội dung không được chấp nhận" in text
    assert "(1 chỉ tiêu của 1 đơn vị) không được tính điểm" in text
    # sb-formula was renamed from sb-tp-cu: it compares with its predecessor
    assert "So với năm 2016, trong 4 cơ quan, đơn vị được xếp hạng cả hai năm, 2 đơn vị tăng hạng, 2 đơn vị giảm" in text
    assert "[Phần này do Sở Thông tin và Truyền thông viết" in text  # marked for the DIC
    assert "Lưu ý về thang điểm: Thang điểm này được dựng lại" in text  # the reconstructed scale
    assert "DỮ LIỆU MẪU" in text
    yoy = next(t for t in written[0]["bao_cao"].tables if t.rows[0].cells[1].text == "Hạng năm 2016")
    assert [c.text for c in yoy.rows[1].cells] == ["Văn phòng UBND tỉnh", "2", "72,56", "1", "74,06", "tăng 1"]


def test_criteria_averages_strengths_and_weaknesses(written, fixture):
    text = "\n".join(p.text for p in written[0]["bao_cao"].paragraphs)
    s = pd.read_csv(fixture[2] / "scores.csv", encoding="utf-8-sig")
    ranked = s[(s["group"] == "so_ban_nganh") & (s["status"] == "ranked")]
    table = next(t for t in written[0]["bao_cao"].tables if t.rows[0].cells[-1].text == "Tỷ lệ đạt (%)")
    c1 = [c.text for c in table.rows[1].cells]
    assert c1[:3] == ["C1 – Hạ tầng kỹ thuật CNTT", "20", _published(str(float(ranked["C1"].mean())))]
    assert "(điểm mạnh): C7 – Cơ chế, chính sách, đầu tư cho CNTT (100,0%)" in text


# -- particulars and wording as data ---------------------------------------------------------------------


def test_unset_particulars_print_an_ellipsis_with_a_warning_never_a_crash(fixture):
    odd = {"issuer": 5, "bao_cao": {"number": [1, 2], "date": "31/11/2017", "recipients": 7, "singer_name": "x"},
           "typo": 1, "quyet_dinh": "not a mapping"}  # fmt: skip
    paths, settings = _write(fixture, odd, notice="", out="odd")
    warnings = "\n".join(settings.warnings)
    for needed in ("documents.bao_cao.number", "31/11/2017", "documents.bao_cao.singer_name", "documents.typo",
                   "documents.quyet_dinh:", "cycle.yaml, notice", "documents.issuer:"):
        assert needed in warnings, needed
    d = Document(str(paths["bao_cao"]))
    number, place = d.tables[0].rows[1].cells
    assert number.text == "Số: …/BC-STTTT" and place.text == "Cao Bằng, ngày … tháng … năm …"
    assert [p.text for p in d.tables[0].rows[0].cells[0].paragraphs if p.text][-1] == "…"
    assert "Căn cứ …;" in [p.text for p in d.paragraphs]
    record = json.loads((paths["bao_cao"].parent / RECORD_FILE).read_text(encoding="utf-8"))
    assert record["documents"]["bao_cao"]["number"] is None and "bao_cao.number" in record["unset"]


def test_the_pending_note_names_what_is_unset(fixture, tmp_path):
    _, data, _ = fixture
    settings = read_settings({}, year=2017, province="Cao Bằng", notice=NOTICE)
    with pytest.warns(UserWarning):
        write_docx(data, settings, tmp_path / "documents")
    note = "\n".join(pending_note(tmp_path))
    assert "documents.bao_cao.number, documents.bao_cao.date, documents.bao_cao.signer_name" in note
    assert "ictaudit document --run" in note


def test_a_wording_file_in_the_cycle_folder_changes_the_words(fixture, tmp_path):
    (tmp_path / "van-ban.yaml").write_text(
        "bao_cao:\n  type: BÁO CÁO TỔNG HỢP\n  opening: '{issuer_name} xin báo cáo năm {year}{unknown}:'\n"
        "  no_such_entry: x\ncommon:\n  unset: '......'\n",
        encoding="utf-8",
    )
    paths, settings = _write(fixture, {"wording": "van-ban.yaml"}, out="worded", cycle_root=tmp_path)
    texts = [p.text for p in Document(str(paths["bao_cao"])).paragraphs]
    assert "BÁO CÁO TỔNG HỢP" in texts
    assert "Sở Thông tin và Truyền thông xin báo cáo năm 2017{unknown}:" in texts
    assert Document(str(paths["bao_cao"])).tables[0].rows[1].cells[0].text == "Số: ....../BC-STTTT"
    warnings = "\n".join(settings.warnings)
    assert "{unknown}" in warnings and "no_such_entry" in warnings
    assert settings.wording_file == "van-ban.yaml"


def test_a_particular_with_braces_is_printed_as_written(fixture):
    paths, _ = _write(fixture, {**FILLED, "issuer_name": "Sở {year} TT&TT"}, out="braces")
    assert "Sở {year} TT&TT báo cáo kết quả" in "\n".join(p.text for p in Document(str(paths["bao_cao"])).paragraphs)


# -- reproducible --------------------------------------------------------------------------------------


def test_the_same_inputs_give_the_same_bytes(fixture, written):
    again, _ = _write(fixture, FILLED, out="again")
    for doc, path in written[1].items():
        assert again[doc].read_bytes() == path.read_bytes(), doc
        with zipfile.ZipFile(path) as z:
            assert {i.date_time for i in z.infolist()} == {(2000, 1, 1, 0, 0, 0)}
            assert "docProps/thumbnail.jpeg" not in z.namelist()
            assert z.namelist()[0] == "[Content_Types].xml"
        props = Document(str(path)).core_properties
        assert props.created.year == 2000 and props.modified == props.created and props.revision == 1
    assert (again["bao_cao"].parent / RECORD_FILE).read_bytes() == (written[1]["bao_cao"].parent / RECORD_FILE).read_bytes()
    assert set(DOCUMENT_FILES.values()) == {p.name for p in written[1].values()}


# -- cycles not seen before ------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_on_unseen_cycles_the_tables_hold_the_independently_computed_ranks_and_scores(tmp_path, rubric, seed):
    import numpy as np

    from ictaudit.common.tables import write_csv
    from ictaudit.score.scoring import write_score_tables

    rng = np.random.default_rng(seed)
    roster = []
    for i in range(14):
        group = "so_ban_nganh" if i < 9 else "ubnd_huyen"
        overrides = {"F02": int(rng.integers(10, 50)), "F05": float(rng.integers(1, 400)), "F12": int(rng.integers(0, 50)),
                     "F18": int(rng.integers(0, 7)), "F41": int(rng.integers(0, 50))}  # fmt: skip
        if i in (3, 4, 11, 12):  # twins: equal values, a tie
            overrides = {"F02": 30, "F05": 120.0, "F12": 25, "F18": 2, "F41": 10}
        roster.append((f"a{i:02d}", f"Đơn vị {i} “thử”", group, "ranked", "", overrides))
    result, _ = score_roster(rubric, roster)
    scored = tmp_path / "scored"
    write_score_tables(result, scored)
    write_csv(pd.DataFrame(columns=["agency_id", "check_id", "severity", "fields", "values", "message_vi", "round",
                                    "resolved_by"]), scored / "issues.csv")  # fmt: skip
    data = load_report_inputs(rubric, scored, CYCLE_INFO)
    settings = read_settings(FILLED, year=2017, province="Cao Bằng", notice=NOTICE)
    paths = write_docx(data, settings, tmp_path / "documents")
    s = read_csv(scored / "scores.csv")
    for doc in ("bao_cao", "quyet_dinh"):
        tables = _ranking_tables(Document(str(paths[doc])), full=True)
        for table, group in zip(tables, ("so_ban_nganh", "ubnd_huyen")):
            g = s[s["group"] == group]
            score = {r["agency_name"]: (Decimal(r["points"]) / Decimal(r["applicable_max"]) * 100).quantize(
                Decimal("0.01"), rounding=ROUND_HALF_UP) for r in g.to_dict("records")}  # fmt: skip
            rank = {n: 1 + sum(v > p for v in score.values()) for n, p in score.items()}
            assert {row[1]: int(row[0]) for row in table} == rank
            assert {row[1]: row[-2] for row in table} == {n: _published(str(p)) for n, p in score.items()}
            assert len(set(rank.values())) < len(rank), "the twins tie"


# -- printed by LibreOffice --------------------------------------------------------------------------


def _pdf_pages(pdf: Path) -> list[tuple[float, float]]:
    import subprocess

    out = subprocess.run(["pdfinfo", "-f", "1", "-l", "9999", str(pdf)], capture_output=True, text=True, check=True).stdout
    return [(float(w), float(h)) for w, h in re.findall(r"Page\s+\d+ size:\s+([\d.]+) x ([\d.]+) pts", out)]


@pytest.mark.libreoffice
@pytest.mark.slow
def test_every_pdf_page_is_a4_in_times_metrics_and_the_pdf_is_the_same_twice(fixture, tmp_path):
    import shutil
    import subprocess

    from ictaudit.common.office import soffice_path
    from ictaudit.report.documents import write_documents

    if soffice_path() is None or shutil.which("pdfinfo") is None:
        pytest.skip("needs LibreOffice and poppler-utils (make system)")
    _, data, _ = fixture
    settings = read_settings(FILLED, year=2017, province="Cao Bằng", notice=NOTICE)
    first = write_documents(data, settings, tmp_path / "one")
    again = write_documents(data, settings, tmp_path / "two")
    pdfs = [p for k, p in first.items() if k.endswith(".pdf")]
    assert {p.name for p in pdfs} == {"bao-cao.pdf", "quyet-dinh.pdf"}
    for pdf in pdfs:
        pages = _pdf_pages(pdf)
        assert len(pages) >= 2
        for w, h in pages:
            assert {round(w), round(h)} == {595, 842}, f"{pdf.name}: a page of {w} × {h} pt is not A4"
        assert pages[0][0] < pages[0][1] and pages[-1][0] > pages[-1][1], "portrait body, landscape annex"
        fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout
        names = {line.split()[0].split("+")[-1] for line in fonts.splitlines()[2:] if line.strip()}
        assert names and all(n.startswith("LiberationSerif") for n in names), names  # Times New Roman's metrics
        assert again[f"document:{pdf.name}"].read_bytes() == pdf.read_bytes(), f"{pdf.name} differs run to run"
        text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
        assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in text and "Độc lập - Tự do - Hạnh phúc" in text


def test_above_the_pdf_limit_the_run_writes_the_docx_only_and_says_so(fixture, tmp_path):
    from ictaudit.report.documents import write_documents

    _, data, _ = fixture
    settings = read_settings(FILLED, year=2017, province="Cao Bằng", notice=NOTICE)
    with pytest.warns(UserWarning, match="không in PDF cho 8 đơn vị"):
        written = write_documents(data, settings, tmp_path / "documents", pdf_max_agencies=7)
    assert sorted(written) == ["document:bao-cao.docx", "document:particulars.json", "document:quyet-dinh.docx"]
    assert not list((tmp_path / "documents").glob("*.pdf"))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("ictaudit.report.documents.PDF_MAX_AGENCIES", 7)
        note = "\n".join(pending_note(tmp_path))
    assert "không in bao-cao.pdf, quyet-dinh.pdf cho 8 đơn vị" in note and "--pdf-any-size" in note


def test_the_documents_scenario_an_auditor_can_read(tmp_path):
    """tests/scenarios/documents/*.yaml: the printed rows, written by hand from a scoring scenario."""
    import yaml

    from ictaudit.common.tables import write_csv
    from ictaudit.score.scoring import score_cycle, write_score_tables
    from tests.scenarios import HERE, load_scenario

    for path in sorted((HERE / "documents").glob("*.yaml")):
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
        _, rubric, values, agencies = load_scenario((path.parent / spec["scenario"]).resolve())
        scored = tmp_path / path.stem / "scored"
        write_score_tables(score_cycle(rubric, values, agencies), scored)
        write_csv(pd.DataFrame(columns=["agency_id", "check_id", "severity", "fields", "values", "message_vi",
                                        "round", "resolved_by"]), scored / "issues.csv")  # fmt: skip
        data = load_report_inputs(rubric, scored, CYCLE_INFO)
        settings = read_settings(FILLED, year=2017, province="Cao Bằng", notice=NOTICE)
        paths = write_docx(data, settings, tmp_path / path.stem / "documents")
        report, decision = (Document(str(paths[d])) for d in ("bao_cao", "quyet_dinh"))
        groups = [g.id for g in rubric.groups]
        for group, rows in spec["ranking"].items():
            assert _ranking_tables(report, full=False)[groups.index(group)] == rows, f"{path.name}: {group}"
        for group, rows in spec["annex"].items():
            for doc in (report, decision):
                printed = {row[1]: row for row in _ranking_tables(doc, full=True)[groups.index(group)]}
                for agency, row in rows.items():
                    assert printed[agency] == row, f"{path.name}: {group} {agency}"
        table = next(t for t in decision.tables if [c.text for c in t.rows[0].cells] == ["Cơ quan, đơn vị", "Tình trạng", "Lý do"])
        printed = [[r.cells[0].text.split(" (")[0], r.cells[1].text] for r in table.rows[1:]]
        assert printed == spec["not_ranked"], path.name


def test_the_manifest_hashes_the_docx_as_outputs_and_the_pdfs_as_records(tmp_path):
    from ictaudit.run.manifest import output_hashes

    (tmp_path / "scored").mkdir()
    (tmp_path / "out" / "documents").mkdir(parents=True)
    for name in ("bao-cao.docx", "bao-cao.pdf", "particulars.json"):
        (tmp_path / "out" / "documents" / name).write_bytes(name.encode())
    outputs, records = output_hashes(tmp_path / "scored", tmp_path / "out")
    assert set(outputs) == {"out/documents/bao-cao.docx", "out/documents/particulars.json"}
    assert set(records) == {"out/documents/bao-cao.pdf"}


def test_a_group_without_ranked_agencies_and_a_clean_review_read_sensibly(tmp_path, rubric):
    from ictaudit.common.tables import write_csv
    from ictaudit.score.scoring import write_score_tables

    roster = [("a1", "Sở A", "so_ban_nganh", "ranked", "", {}), ("a2", "Sở B", "so_ban_nganh", "ranked", "", {"F02": 20}),
              ("h1", "Huyện C", "ubnd_huyen", "late", "Nhận phiếu sau hạn", {})]  # fmt: skip
    result, _ = score_roster(rubric, roster)
    scored = tmp_path / "scored"
    write_score_tables(result, scored)
    write_csv(pd.DataFrame(columns=["agency_id", "check_id", "severity", "fields", "values", "message_vi", "round",
                                    "resolved_by"]), scored / "issues.csv")  # fmt: skip
    data = load_report_inputs(rubric, scored, {**CYCLE_INFO, "sample": False})
    settings = read_settings(FILLED, year=2017, province="Cao Bằng", notice=NOTICE)
    paths = write_docx(data, settings, tmp_path / "documents")
    text = "\n".join(p.text for p in Document(str(paths["bao_cao"])).paragraphs)
    assert "không phát hiện trường hợp nào cần các cơ quan, đơn vị xác nhận lại" in text
    assert text.count("Không có cơ quan, đơn vị nào được xếp hạng.") >= 2  # the districts' ranking and criteria
    assert "DỮ LIỆU MẪU" not in text
    assert "khối UBND các huyện, thành phố: 0 đơn vị được xếp hạng" in "\n".join(
        p.text for p in Document(str(paths["quyet_dinh"])).paragraphs
    )


def test_the_wording_and_the_documents_are_nfc(written):
    import unicodedata

    import yaml

    from ictaudit.report.documents.particulars import WORDING_FILE

    text = WORDING_FILE.read_text(encoding="utf-8")
    assert unicodedata.is_normalized("NFC", text)
    assert yaml.safe_load(text)["common"]["unset"] == "…"
    for path in written[1].values():
        xml = zipfile.ZipFile(path).read("word/document.xml").decode("utf-8")
        assert unicodedata.is_normalized("NFC", xml), path.name


def test_a_rank_of_another_group_is_not_compared_and_a_changed_scale_is_said(fixture, tmp_path):
    """sb-tie was ranked in the other group last year: its rank then is no rank in this group's table (it is
    named instead); and when last year's scale differs, the report says so beside the comparison."""
    from dataclasses import replace

    from ictaudit.report.documents.figures import compute_figures

    _, data, _ = fixture
    links = data.previous_links.copy()
    links.loc[links["agency_id"] == "sb-tie", "predecessor_group"] = "ubnd_huyen"
    info = {**data.previous_info, "scale_differences": ["phiên bản 1.0.0 → 1.1.0"]}
    changed = replace(data, previous_links=links, previous_info=info)
    sb = next(g for g in compute_figures(changed).groups if g.id == "so_ban_nganh")
    assert "sb-tie" not in [r.agency_id for r in sb.yoy] and "Sở Tài chính" in sb.yoy_new
    settings = read_settings(FILLED, year=2017, province="Cao Bằng", notice=NOTICE)
    paths = write_docx(changed, settings, tmp_path / "documents")
    text = "\n".join(p.text for p in Document(str(paths["bao_cao"])).paragraphs)
    assert "So với năm 2016, trong 3 cơ quan, đơn vị" in text
    assert "Lưu ý: thang điểm năm 2016 khác thang điểm năm nay (phiên bản 1.0.0 → 1.1.0)" in text
    assert "thuộc khối khác): Sở Tài chính" in text

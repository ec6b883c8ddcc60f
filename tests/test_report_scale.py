"""The large-cycle paths of the reports give the same files as the small-cycle ones.

From ``PARALLEL_MIN_AGENCIES`` agencies on, report.xlsx is written by a forked process beside the
HTML; above ``TABLE_MAX_ROWS`` trail rows the trail sheet is a streamed, filtered range instead of an
Excel table. Both are forced here on the small report fixture.
"""

from __future__ import annotations

import openpyxl
import pytest

from ictaudit.report import build as report
from ictaudit.report import xlsx as report_xlsx
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
    from ictaudit.common.tables import read_csv, write_csv

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


def _odd_texts_in_the_tables(scored) -> None:
    """Names, raw values, files and cells that need XML escaping, control-character escaping or kept spaces."""
    from ictaudit.common.tables import read_csv, write_csv

    scores = read_csv(scored / "scores.csv")
    odd = [" Sở có khoảng trắng ", 'A & B <c> "d"', "chuông\x07_x0041_", "dòng\nhai"]
    for agency_id, name in zip(scores["agency_id"], odd):
        scores.loc[scores["agency_id"] == agency_id, "agency_name"] = name
    write_csv(scores, scored / "scores.csv")
    values = read_csv(scored / "values.csv")
    values.loc[0, "raw_value"] = "<b>1</b> & 'x'"
    values.loc[1, "raw_value"] = "\u00a02\u00a0"
    values.loc[2, "source_file"] = "a&b\x1f.xlsx"
    values.loc[3, "cell"] = "D<3>"
    write_csv(values, scored / "values.csv")


def _cell_by_cell(monkeypatch) -> None:
    """Every row through XlsxWriter's own calls and its own copy of the rows at close."""
    monkeypatch.setattr(report_xlsx, "_start_rows", lambda *args: False)
    monkeypatch.setattr(report_xlsx, "_table_rows", lambda *args: False)
    monkeypatch.setattr(report_xlsx, "_write_sheet_data", lambda ws: None)


def test_streamed_rows_are_the_bytes_xlsxwriter_writes(tmp_path, monkeypatch):
    """The direct row writers (tables, values, scores) give the bytes of XlsxWriter's cell-by-cell path."""
    rubric, scored, previous, _ = build_scored_fixture(tmp_path)
    _odd_texts_in_the_tables(scored)
    monkeypatch.setattr(report_xlsx, "TABLE_MAX_ROWS", 0)
    used, start_rows = [], report_xlsx._start_rows
    monkeypatch.setattr(report_xlsx, "_start_rows", lambda *args: used.append(start_rows(*args)) or used[-1])
    direct = _build(rubric, scored, previous, tmp_path / "direct")["xlsx"]
    assert used.count(True) >= 5, used  # values, scores, trail, sources, issues at least took the direct path
    _cell_by_cell(monkeypatch)
    by_cell = _build(rubric, scored, previous, tmp_path / "by_cell")["xlsx"]
    assert direct == by_cell


def test_direct_rows_keep_the_excel_table_bytes(tmp_path, monkeypatch):
    """With the trail as an Excel table (its texts shared strings), the direct rows give the same file."""
    rubric, scored, previous, _ = build_scored_fixture(tmp_path)
    _odd_texts_in_the_tables(scored)
    used, table_rows = [], report_xlsx._table_rows
    monkeypatch.setattr(report_xlsx, "_table_rows", lambda *args: used.append(table_rows(*args)) or used[-1])
    direct = _build(rubric, scored, previous, tmp_path / "direct")["xlsx"]
    assert used == [True]
    _cell_by_cell(monkeypatch)
    assert _build(rubric, scored, previous, tmp_path / "by_cell")["xlsx"] == direct


TRICKY = [
    "plain", "", None, float("nan"), 1.5, " lead", "trail ", "\u00a0nbsp", "em\u2003", "line\n", "a \n", "x\ny",
    "A & B <c> \"d\" 'e'", "_x0041_", "_X004a_", "bell\x07", "\x00nul", "tab\tin", "cr\rin", "\ufffe\uffff",
    "=SUM(A1)", "Thạch An", "<r>", "<r>x", "x</r>",
]  # fmt: skip


def _table(path, texts: list, numbers: list, table_name: str | None = None) -> bytes:
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_urls": False})
    wb.set_properties({"created": report_xlsx.FIXED_CREATED})  # no clock in the bytes
    fm = report_xlsx._Formats(wb)
    intro = wb.add_worksheet("Giới thiệu")  # formats and shared strings used before the table's, and after
    report_xlsx._write_text(intro, 0, 0, "Có", fm.wrap)
    columns = [("Chữ", 10, "text"), ("Số", 10, "num"), ("Bọc", 10, "wrap")]
    data = [texts, numbers, list(reversed(texts))]
    report_xlsx._table_sheet(wb, "Bảng", fm, "Tiêu đề", columns, data, table_name=table_name)
    with report_xlsx._closing(wb):
        wb.close()
    return path.read_bytes()


@pytest.mark.parametrize(
    "texts",
    [
        [t for t in TRICKY if not (isinstance(t, str) and ("\x07" in t or "\x00" in t or "_x" in t or "\t" in t
                                                            or "\r" in t or "\uffff" in t))],
        TRICKY,
    ],
    ids=["no-control-characters", "control-characters"],
)  # fmt: skip
@pytest.mark.parametrize("table_name", [None, "Bang"], ids=["streamed", "excel-table"])
def test_direct_text_cells_are_xlsxwriters(tmp_path, monkeypatch, texts, table_name):
    """Each text escaped (XML, control characters, kept spaces) exactly as XlsxWriter's write_string does,
    inline in a streamed sheet or in the shared strings of an Excel table."""
    numbers = [float(i) / 3 for i in range(len(texts))]
    numbers[1], numbers[2] = None, float("nan")
    used = []
    for name in ("_start_rows", "_table_rows"):
        real = getattr(report_xlsx, name)
        monkeypatch.setattr(report_xlsx, name, lambda *args, real=real: used.append(real(*args)) or used[-1])
    direct = _table(tmp_path / "a.xlsx", texts, numbers, table_name)
    assert used == [True]
    _cell_by_cell(monkeypatch)
    assert _table(tmp_path / "b.xlsx", texts, numbers, table_name) == direct


@pytest.mark.parametrize(
    "odd", ["<r>rich</r>", "x" * 40_000, True, float("inf")], ids=["rich-text", "over-long", "bool", "infinite"]
)
def test_what_the_direct_path_cannot_write_goes_cell_by_cell(tmp_path, monkeypatch, odd):
    texts, numbers = ["a", "b"], [1.0, 2.0]
    if isinstance(odd, float):
        numbers[1] = odd
        with pytest.raises(
            TypeError
        ):  # XlsxWriter refuses NaN/inf in a number cell; so does the direct path's fallback
            _table(tmp_path / "a.xlsx", texts, numbers)
        return
    texts[1] = odd
    for table_name in (None, "Bang"):
        with monkeypatch.context() as m:
            direct = _table(tmp_path / "a.xlsx", texts, numbers, table_name)
            _cell_by_cell(m)
            assert _table(tmp_path / "b.xlsx", texts, numbers, table_name) == direct, table_name


def test_rows_copied_as_bytes_unless_a_carriage_return(tmp_path, monkeypatch):
    """At close the rows' temporary file is copied as bytes; XlsxWriter's text copy turns \\r into \\n, kept."""
    import xlsxwriter

    def book(path):
        wb = xlsxwriter.Workbook(str(path))
        wb.set_properties({"created": report_xlsx.FIXED_CREATED})
        ws = report_xlsx._add_sheet(wb, "s", streamed=True)
        ws.write_string(0, 0, "Số liệu\r\nhai dòng")
        ws.write_formula(1, 0, '="a\r\nb"&"c\rd"', None, "a\nbc\nd")
        ws.write_number(2, 0, 3)
        wb.close()
        return path.read_bytes()

    fast = book(tmp_path / "a.xlsx")
    monkeypatch.setattr(report_xlsx, "_write_sheet_data", lambda ws: None)
    assert book(tmp_path / "b.xlsx") == fast

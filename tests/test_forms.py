"""The blank forms: the layout of docs/contracts.md §4, checked by reading them back with openpyxl."""

from __future__ import annotations

from datetime import date

import openpyxl
import pytest

from ictaudit.intake.forms import HEADER, SHEET_DATA, SHEET_GUIDE, SHEET_META, TEMPLATE_VERSION, write_form, write_forms
from ictaudit.year.sample import write_sample_cycle


@pytest.fixture(scope="module")
def pl2_form(tmp_path_factory, rubric):
    path = tmp_path_factory.mktemp("forms") / "huyen-bao-lam.xlsx"
    write_form(path, rubric, "ubnd_huyen", "huyen-bao-lam", "UBND huyện Bảo Lâm", 2017, deadline=date(2017, 11, 2))
    return path


@pytest.fixture(scope="module")
def pl2_book(pl2_form):
    return openpyxl.load_workbook(pl2_form)


def data_rows(ws):
    header = next(r for r in range(1, ws.max_row + 1) if ws.cell(r, 1).value == "Mã")
    return header, range(header + 1, ws.max_row + 1)


def test_sheets_in_order_and_meta_hidden(pl2_book):
    assert pl2_book.sheetnames == [SHEET_GUIDE, SHEET_DATA, SHEET_META]
    assert pl2_book[SHEET_META].sheet_state == "hidden"
    assert pl2_book[SHEET_GUIDE].sheet_state == "visible"


def test_meta_rows(pl2_book):
    meta = {r[0]: r[1] for r in pl2_book[SHEET_META].iter_rows(values_only=True)}
    assert meta == {
        "template_version": TEMPLATE_VERSION,
        "rubric": "caobang-2310-2016",
        "year": "2017",
        "group": "ubnd_huyen",
        "form": "PL2",
        "agency_id": "huyen-bao-lam",
        "agency_name": "UBND huyện Bảo Lâm",
    }


def test_one_row_per_field_in_catalogue_order_with_vietnamese_labels(pl2_book, rubric):
    ws = pl2_book[SHEET_DATA]
    header, rows = data_rows(ws)
    assert tuple(ws.cell(header, c).value for c in range(1, 6)) == HEADER
    fields = rubric.fields_for_form("PL2")
    assert [ws.cell(r, 1).value for r in rows] == [f.code for f in fields]
    assert [ws.cell(r, 2).value for r in rows] == [f.label_vi for f in fields]
    assert [ws.cell(r, 3).value for r in rows] == [f.unit_vi for f in fields]
    assert all(ws.cell(r, 4).value is None for r in rows)


def test_only_value_cells_are_unlocked_and_highlighted(pl2_book):
    ws = pl2_book[SHEET_DATA]
    assert ws.protection.sheet is True
    assert not ws.protection.password
    header, rows = data_rows(ws)
    for r in rows:
        assert ws.cell(r, 4).protection.locked is False
        assert ws.cell(r, 4).fill.fgColor.rgb.endswith("FFF2CC")
        for c in (1, 2, 3, 5):
            assert ws.cell(r, c).protection.locked is True
    assert ws.cell(header, 4).protection.locked is True


def test_data_validation_per_field_type(pl2_book, rubric):
    ws = pl2_book[SHEET_DATA]
    _header, rows = data_rows(ws)
    by_cell = {str(dv.sqref): dv for dv in ws.data_validations.dataValidation}
    expected = {"count": ("whole", "greaterThanOrEqual", "0"), "decimal": ("decimal", "greaterThanOrEqual", "0"),
                "yesno": ("list", None, '"Có,Không"')}  # fmt: skip
    for r, spec in zip(rows, rubric.fields_for_form("PL2")):
        dv = by_cell[f"D{r}"]
        assert (dv.type, dv.operator, dv.formula1) == expected[spec.type], spec.code


def test_print_setup(pl2_book):
    ws = pl2_book[SHEET_DATA]
    header, _ = data_rows(ws)
    assert ws.page_setup.paperSize == 9  # A4
    assert ws.sheet_properties.pageSetUpPr.fitToPage is True
    assert ws.page_setup.fitToHeight == 0  # fit to width, as many pages down as needed
    assert ws.print_title_rows == f"${header}:${header}"


def test_instructions_in_vietnamese_with_deadline(pl2_book):
    text = "\n".join(str(c.value) for row in pl2_book[SHEET_GUIDE].iter_rows() for c in row if c.value)
    for needle in ("02/11/2017", "Có hoặc Không", "Liên hệ", "Không đổi tên, di chuyển", "UBND huyện Bảo Lâm"):
        assert needle in text


def test_agency_names_stay_text_never_formulas(tmp_path, rubric):
    name = '=HYPERLINK("http://x","Sở")'
    path = write_form(tmp_path / "x.xlsx", rubric, "so_ban_nganh", "so-x", name, 2017)
    wb = openpyxl.load_workbook(path)
    meta = {r[0]: r[1] for r in wb[SHEET_META].iter_rows(values_only=True)}
    assert meta["agency_name"] == name
    assert wb[SHEET_META]["B7"].data_type == "s"


def test_same_inputs_same_bytes(tmp_path, rubric):
    a = write_form(tmp_path / "a.xlsx", rubric, "so_ban_nganh", "so-tttt", "Sở TT&TT", 2017, deadline=date(2017, 11, 2))
    b = write_form(tmp_path / "b.xlsx", rubric, "so_ban_nganh", "so-tttt", "Sở TT&TT", 2017, deadline=date(2017, 11, 2))
    assert a.read_bytes() == b.read_bytes()


def test_values_for_fields_not_on_the_form_are_refused(tmp_path, rubric):
    with pytest.raises(ValueError, match="X00"):
        write_form(tmp_path / "x.xlsx", rubric, "so_ban_nganh", "so-x", "Sở X", 2017, values={"X00": 3})


def test_write_forms_one_per_ranked_agency(tmp_path):
    cycle = write_sample_cycle(2017, tmp_path / "cycle", agencies=5, seed=1)
    paths = write_forms(cycle, tmp_path / "forms")
    assert [p.name for p in paths] == sorted(p.name for p in paths)
    roster = (cycle / "agencies.csv").read_text(encoding="utf-8").splitlines()[1:]
    ranked = sorted(line.split(",")[0] for line in roster if ",true," in line)
    assert [p.stem for p in paths] == ranked
    assert "cong-an-tinh" not in {p.stem for p in paths}


def test_every_wrapping_row_is_as_tall_as_its_text(pl2_book, rubric):
    """A writer stores no row height and LibreOffice then prints wrapped lines over each other: each
    row of the guide and of the data sheet carries the height its longest wrapped cell needs."""
    from ictaudit.intake.forms import DATA_WIDTHS, GUIDE_WIDTH, LINE_POINTS, wrapped_lines

    guide = pl2_book[SHEET_GUIDE]
    assert guide.column_dimensions["A"].width <= GUIDE_WIDTH + 1  # one column that fits A4 at 100 %
    for (cell,) in guide.iter_rows(min_col=1, max_col=1):
        if cell.value:
            height = guide.row_dimensions[cell.row].height
            assert height is not None and height >= wrapped_lines(cell.value, GUIDE_WIDTH) * LINE_POINTS, cell.value
    long_line = next(c.value for (c,) in guide.iter_rows(min_col=1, max_col=1) if c.value and len(c.value) > 150)
    assert guide.row_dimensions[next(c.row for (c,) in guide.iter_rows() if c.value == long_line)].height >= 2 * LINE_POINTS
    ws = pl2_book[SHEET_DATA]
    _header, rows = data_rows(ws)
    for r in rows:
        need = max(wrapped_lines(str(ws.cell(r, c).value or ""), DATA_WIDTHS[c - 1]) for c in (2, 3, 5))
        assert ws.row_dimensions[r].height >= need * LINE_POINTS, ws.cell(r, 1).value
    # the title rows span the five columns instead of wrapping inside the narrow code column
    assert {str(m) for m in ws.merged_cells.ranges} == {"A1:E1", "A2:E2", "A3:E3"}
    assert ws["A2"].value == "Cơ quan, đơn vị: UBND huyện Bảo Lâm"
    assert ws.page_setup.orientation == "portrait"


@pytest.mark.parametrize(
    ("text", "width", "lines"),
    [("", 10, 1), ("abc", 10, 1), ("Chọn Có hoặc Không", 21, 1), ("một hai ba bốn năm sáu bảy", 12, 3),
     ("x" * 25, 10, 3), ("dòng một\ndòng hai", 40, 2)],
)  # fmt: skip
def test_wrapped_lines_counts_as_a_spreadsheet_wraps(text, width, lines):
    from ictaudit.intake.forms import wrapped_lines

    assert wrapped_lines(text, width) == lines


def test_forms_need_only_the_cycle_yaml_and_the_roster(tmp_path):
    """Blank forms go out before anything comes back: no receipts.csv, no submissions/, no deadline yet."""
    from ictaudit.intake.cycle import CycleError

    cycle = tmp_path / "2018"
    cycle.mkdir()
    (cycle / "cycle.yaml").write_text(
        "year: 2018\nrubric: caobang-2310-2016\ndeadline:\ntitle: Đánh giá 2018\nprovince: Cao Bằng\n"
        "reply_to: phieu-cntt@caobang.gov.vn\n",
        encoding="utf-8",
    )
    (cycle / "agencies.csv").write_text(
        "agency_id,name,group,ranked,note\nso-tttt,Sở Thông tin và Truyền thông,so_ban_nganh,true,\n"
        "cong-an-tinh,Công an tỉnh,so_ban_nganh,false,Đơn vị an ninh\n",
        encoding="utf-8",
    )
    paths = write_forms(cycle, tmp_path / "forms")
    assert [p.name for p in paths] == ["so-tttt.xlsx"]
    guide = "\n".join(str(c.value) for row in openpyxl.load_workbook(paths[0])[SHEET_GUIDE].iter_rows() for c in row if c.value)
    assert "theo văn bản đề nghị" in guide and "qua thư điện tử tới phieu-cntt@caobang.gov.vn" in guide
    assert sorted(p.name for p in cycle.iterdir()) == ["agencies.csv", "cycle.yaml"]  # nothing written there
    with pytest.raises(CycleError, match="nằm trong thư mục đợt đánh giá"):
        write_forms(cycle, cycle / "submissions")

"""Agency text written into workbooks comes back exactly as typed, never as markup or a formula."""

import openpyxl
import pytest
import xlsxwriter
from python_calamine import CalamineWorkbook

from ictaudit.common.workbooks import write_text
from ictaudit.intake.forms import SHEET_META, write_form

HOSTILE = [
    "<r><t>x</t></r>",  # XlsxWriter would copy this into the XML as rich-text markup
    "<r>Sở Nội vụ</r>",
    "=cmd|' /C calc'!A0",
    "@SUM(1+1)",
    "Thạch An",
]


def test_write_text_keeps_every_hostile_text_as_typed(tmp_path):
    path = tmp_path / "t.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("s")
    for i, text in enumerate(HOSTILE):
        write_text(ws, i, 0, text)
    write_text(ws, len(HOSTILE), 0, None)
    wb.close()
    cells = openpyxl.load_workbook(path)["s"]
    assert [cells.cell(i + 1, 1).value for i in range(len(HOSTILE))] == HOSTILE
    assert all(cells.cell(i + 1, 1).data_type == "s" for i in range(len(HOSTILE)))
    assert cells.cell(len(HOSTILE) + 1, 1).value is None
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("s").to_python()
    assert [r[0] for r in rows[: len(HOSTILE)]] == HOSTILE


@pytest.mark.parametrize("name", ["<r><t>x</t></r>", "=HYPERLINK(\"http://x\",\"y\")"])
def test_a_form_for_an_agency_with_a_hostile_name_keeps_it_as_text(tmp_path, rubric, name):
    path = write_form(tmp_path / "f.xlsx", rubric, "so_ban_nganh", "so-x", name, 2017)
    meta = dict(openpyxl.load_workbook(path)[SHEET_META].iter_rows(values_only=True))
    assert meta["agency_name"] == name

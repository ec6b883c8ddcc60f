"""Each kind's Excel formula, recalculated by LibreOffice, gives the points ``compute`` gave (docs/contracts.md §5).

One workbook holds every case: the inputs of each row in columns B…, the kind's formula in the last
column; ratio_to_best gets a best cell computed by a formula over the ranked rows only. Blank inputs
are left as empty cells, exactly as report.xlsx writes them.
"""

import math

import numpy as np
import pandas as pd
import pytest
import xlsxwriter
from python_calamine import CalamineWorkbook
from xlsxwriter.utility import xl_rowcol_to_cell

from ictaudit.common.office import recalculate, soffice_path
from ictaudit.rules.kinds import Checklist, CountCapped, Ratio, RatioToBest, ShareOfItems, Tiers
from ictaudit.rules.rubric import ChecklistItem, Tier

pytestmark = [pytest.mark.libreoffice, pytest.mark.skipif(soffice_path() is None, reason="LibreOffice not installed")]
NAN = math.nan

CASES = [
    # kind object, input columns, rows of inputs, ranked flags (ratio_to_best only)
    (Ratio("r", 5, ["A"], ["B"]), ["A", "B"], [[45, 50], [60, 50], [0, 50], [NAN, 50], [3, 0], [0, 0]], None),
    (Ratio("rn", 4, ["A", "C"], ["B"], True), ["A", "C", "B"], [[3, 2, 10], [0, 0, 0], [1, NAN, 5], [9, 9, 6]], None),
    (RatioToBest("b", 3, ["A"], ["B"]), ["A", "B"], [[100, 50], [150, 50], [50, 100], [NAN, 10], [1000, 10]], [1, 1, 1, 1, 0]),
    (RatioToBest("b0", 3, ["A"], ["B"]), ["A", "B"], [[0, 10], [0, 20], [5, 0]], [1, 1, 1]),
    (Checklist("c", 3, (ChecklistItem(field="A", points=2), ChecklistItem(field="B", op=">", value=0, points=1))),
     ["A", "B"], [[1, 3], [0, 0], [NAN, 2], [1, NAN], [0, -1]], None),
    (ShareOfItems("s", 8, ["A", "B", "C", "D"]), ["A", "B", "C", "D"], [[1, 1, 1, 1], [1, 0, 1, 0], [NAN, 1, 1, 1], [0, 0, 0, 0]], None),
    (CountCapped("k", 2, "A", 0.5), ["A"], [[3], [10], [0], [NAN]], None),
    (Tiers("t", 4, "A", (Tier(at_least=6, points=4), Tier(at_least=3, points=2), Tier(at_least=1, points=1))),
     ["A"], [[0], [1], [3], [5.5], [6], [100], [NAN]], None),
]


def test_formulas_recalculated_by_libreoffice_equal_compute(tmp_path):
    path = tmp_path / "kinds.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("cases")
    expected: list[tuple[int, int, float | None, str]] = []
    row = 0
    for kind, cols, rows, ranked in CASES:
        values = pd.DataFrame(rows, columns=cols, dtype=float)
        mask = np.array(ranked, bool) if ranked is not None else None
        result = kind.compute(values, mask)
        first = row
        best_ref = None
        if kind.uses_best:
            # helper column with v, and one best cell over the ranked rows
            helper_col = len(cols) + 2
            for i in range(len(rows)):
                refs = {c: xl_rowcol_to_cell(first + i, j) for j, c in enumerate(cols)}
                ws.write_formula(first + i, helper_col, kind.excel_value(refs))
            ranked_cells = [xl_rowcol_to_cell(first + i, helper_col) for i in range(len(rows)) if ranked[i]]
            best_row = first + len(rows)
            ws.write_formula(best_row, helper_col, f"=MAX(0,{','.join(ranked_cells)})")
            best_ref = xl_rowcol_to_cell(best_row, helper_col, row_abs=True, col_abs=True)
        for i, inputs in enumerate(rows):
            for j, x in enumerate(inputs):
                if not math.isnan(x):
                    ws.write_number(first + i, j, x)
            refs = {c: xl_rowcol_to_cell(first + i, j) for j, c in enumerate(cols)}
            ws.write_formula(first + i, len(cols), kind.excel_formula(refs, best_ref))
            want = None if not result.applicable[i] else float(result.points[i])
            expected.append((first + i, len(cols), want, f"{kind.id} row {i}: {inputs}"))
        row = first + len(rows) + 2
    wb.close()

    recalculated = recalculate(path, tmp_path / "lo")
    sheet = CalamineWorkbook.from_path(str(recalculated)).get_sheet_by_name("cases").to_python(skip_empty_area=False)
    checked = 0
    for r, c, want, label in expected:
        got = sheet[r][c] if r < len(sheet) and c < len(sheet[r]) else ""
        if want is None:
            assert got in ("", None), f"{label}: N/A must be an empty text, LibreOffice gave {got!r}"
        else:
            assert isinstance(got, int | float), f"{label}: LibreOffice gave {got!r}"
            assert got == pytest.approx(want, abs=1e-9), label
        checked += 1
    assert checked == sum(len(rows) for _, _, rows, _ in CASES)

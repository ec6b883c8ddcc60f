"""The auditor's check of report.xlsx, on the bundled sample year and on a cycle never seen before:
every cached value thrown away, the whole workbook recalculated by LibreOffice, and every formula cell
(not a sample) compared with the value the file carried — at 1e-9 relative, and not one may differ.
Also: no workbook the project writes (report, confirmations, forms) calls a function Excel 2010 does
not know — nothing with the ``_xlfn.`` prefix of later functions.

The runs call the pipeline's steps (docs/contracts.md §9's notebooks call the same functions).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ictaudit.common.office import soffice_path
from ictaudit.intake.forms import write_forms
from ictaudit.report.xlsx_internals import PLAIN_FUNCTIONS
from ictaudit.run.pipeline import intake_step, report_step, score_step, validate_step
from ictaudit.year.sample import write_sample_cycle

from .conftest import ROOT
from .workbook_check import functions_called, raw_xml, recalculation_differences

pytestmark = [
    pytest.mark.slow,
    pytest.mark.libreoffice,
    pytest.mark.skipif(soffice_path() is None, reason="LibreOffice (soffice) is not installed"),
]


def _run(cycle: Path, root: Path) -> Path:
    scored, out = root / "scored", root / "out"
    intake_step(cycle, scored)
    validate_step(cycle, scored, out)
    score_step(cycle, scored)
    report_step(cycle, scored, out)
    return out


@pytest.fixture(scope="module")
def sample_year(tmp_path_factory) -> Path:
    """The bundled sample year 2017 (with 2016 beside it, for last year's comparison)."""
    root = tmp_path_factory.mktemp("sample")
    return _run(ROOT / "data" / "raw" / "2017", root)


@pytest.fixture(scope="module")
def unseen_cycle(tmp_path_factory) -> Path:
    """``ictaudit sample --agencies 200 --seed 99``: a cycle nobody tuned anything on."""
    root = tmp_path_factory.mktemp("unseen")
    cycle = write_sample_cycle(2017, root / "raw" / "2017", agencies=200, seed=99)
    return _run(cycle, root)


@pytest.mark.parametrize("run", ["sample_year", "unseen_cycle"])
def test_no_formula_cell_differs_from_libreoffices_recalculation(run, request, tmp_path):
    out = request.getfixturevalue(run)
    checked, wrong = recalculation_differences(out / "report.xlsx", tmp_path)
    assert not wrong, f"{len(wrong)} of {checked} formula cells differ:\n" + "\n".join(wrong[:30])
    assert checked > 1000  # every formula cell of the workbook, not a sample


@pytest.mark.parametrize("run", ["sample_year", "unseen_cycle"])
def test_no_workbook_calls_a_function_excel_2010_does_not_know(run, request, tmp_path):
    out = request.getfixturevalue(run)
    forms = write_forms(ROOT / "data" / "raw" / "2017", tmp_path / "forms")
    workbooks = [out / "report.xlsx", *sorted((out / "confirmations").glob("*.xlsx")), *forms]
    assert len(workbooks) > 3 and any(p.parent.name == "confirmations" for p in workbooks)
    for path in workbooks:
        xml = raw_xml(path)
        assert b"_xlfn" not in xml and b"_xlws" not in xml, path.name
        assert functions_called(path) <= PLAIN_FUNCTIONS, (path.name, sorted(functions_called(path) - PLAIN_FUNCTIONS))
    assert {"ROUND", "SUM", "MAX", "COUNTIFS", "SUMPRODUCT"} <= functions_called(out / "report.xlsx")
    shutil.rmtree(tmp_path / "forms")

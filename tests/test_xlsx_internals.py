"""The XlsxWriter internals of ``report/xlsx_internals.py`` still are what that module was written against.

Fails loudly when XlsxWriter changes: its version against the exact pin, the source of each internal
relied on against the fingerprint it had when the module was written, and the workbook with the
tricks against the workbook XlsxWriter's public calls write. After an upgrade, read the new sources,
adapt the module, then update the pin and the fingerprints here.
"""

from __future__ import annotations

import hashlib
import inspect
import re
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter
import xlsxwriter.workbook
import xlsxwriter.worksheet
from hypothesis import given, settings
from hypothesis import strategies as st

from ictaudit.report import xlsx_cells, xlsx_internals
from ictaudit.report.inputs import load_report_inputs
from ictaudit.report.xlsx import write_report_xlsx
from ictaudit.report.xlsx_internals import PINNED_XLSXWRITER, is_plain_formula
from tests.report_fixture import CYCLE_INFO, build_scored_fixture

ROOT = Path(__file__).resolve().parents[1]

#: sha256 of the source of each XlsxWriter internal relied on, in the pinned version
FINGERPRINTS = {
    "Worksheet.write_formula": "55a08a79222520741f6434b9383792fbc68527eee590407b3abfafe5513c066a",
    "Worksheet._write_formula": "64ca483eea19cd9be335d8a5c63df5a0fa131d371ec1ffb501427776c2f8f13e",
    "Worksheet._prepare_formula": "28917ac4d0b752d5a36c73d3ca6069c89336988f2361b90981c88226bee181c8",
    "Workbook._add_sheet": "0e4df96b48240bb5b82518cf6a844d1975407635b1b749a65df5b4286d937210",
    "re_dynamic_function": "2e64b72160124f2e34240d170242fe4a281146e99fc3d0c098c266da29e5149e",
}


def _source(name: str) -> str:
    if name == "re_dynamic_function":
        return xlsxwriter.worksheet.re_dynamic_function.pattern
    cls, method = name.split(".")
    owner = xlsxwriter.worksheet.Worksheet if cls == "Worksheet" else xlsxwriter.workbook.Workbook
    return inspect.getsource(getattr(owner, method))


def test_xlsxwriter_is_the_pinned_version():
    assert xlsxwriter.__version__ == PINNED_XLSXWRITER, (
        f"XlsxWriter {xlsxwriter.__version__} is installed; report/xlsx_internals.py was written against "
        f"{PINNED_XLSXWRITER}: re-read the internals it uses before moving the pin"
    )
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert f'"xlsxwriter=={PINNED_XLSXWRITER}"' in pyproject, "pyproject.toml must pin XlsxWriter exactly"
    assert f"xlsxwriter=={PINNED_XLSXWRITER}\n" in (ROOT / "requirements.lock").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(FINGERPRINTS))
def test_the_internals_relied_on_are_unchanged(name):
    digest = hashlib.sha256(_source(name).encode()).hexdigest()
    assert digest == FINGERPRINTS[name], f"XlsxWriter's {name} changed: check report/xlsx_internals.py against it"


@pytest.fixture(scope="module")
def report_data(tmp_path_factory):
    root = tmp_path_factory.mktemp("internals")
    rubric, scored, previous, _ = build_scored_fixture(root)
    return load_report_inputs(rubric, scored, CYCLE_INFO, previous)


def _public_formulas(ws, row, col, formula, fmt, value):
    ws.write_formula(row, col, formula, fmt, value)


def test_plain_formulas_written_directly_give_the_bytes_of_write_formula(report_data, tmp_path, monkeypatch):
    written = []
    direct = xlsx_internals.write_plain_formula
    monkeypatch.setattr(xlsx_cells, "write_plain_formula", lambda *args: written.append(args[3]) or direct(*args))
    fast = write_report_xlsx(report_data, tmp_path / "fast.xlsx").read_bytes()
    assert len(written) > 300 and all(is_plain_formula(f) for f in written)
    monkeypatch.setattr(xlsx_cells, "write_plain_formula", _public_formulas)
    assert write_report_xlsx(report_data, tmp_path / "public.xlsx").read_bytes() == fast


def _cells(path: Path) -> dict[str, list[list[tuple]]]:
    """Each cell's value, type and look (formats are numbered in the order cells are written out: not compared)."""
    wb = openpyxl.load_workbook(path)
    return {
        ws.title: [
            [(c.value, c.data_type, c.number_format, c.font.b, c.font.i, c.fill.fgColor.rgb, c.alignment.wrap_text)
             for c in r]
            for r in ws.iter_rows()
        ]
        for ws in wb.worksheets
    }  # fmt: skip


def test_streamed_sheets_hold_the_cells_of_sheets_held_in_memory(report_data, tmp_path, monkeypatch):
    made = []
    streamed = xlsx_internals.add_streamed_worksheet
    monkeypatch.setattr(
        xlsx_cells, "add_streamed_worksheet", lambda wb, name: made.append(streamed(wb, name)) or made[-1]
    )
    fast = write_report_xlsx(report_data, tmp_path / "fast.xlsx")
    assert {ws.name for ws in made} >= {"Số liệu", "Điểm", "Nguồn số liệu"}
    assert all(ws.constant_memory for ws in made)
    monkeypatch.setattr(xlsx_cells, "add_streamed_worksheet", lambda wb, name: wb.add_worksheet(name))
    held = write_report_xlsx(report_data, tmp_path / "held.xlsx")
    assert _cells(fast) == _cells(held)
    assert list(openpyxl.load_workbook(fast)["Diễn giải"].tables) == ["DienGiai"]  # held in memory beside them


def test_only_the_streamed_sheet_is_streamed(tmp_path):
    wb = xlsxwriter.Workbook(str(tmp_path / "a.xlsx"))
    streamed = xlsx_internals.add_streamed_worksheet(wb, "long")
    held = wb.add_worksheet("table")
    assert streamed.constant_memory and not held.constant_memory and not wb.constant_memory
    wb.close()


def test_on_another_version_the_tricks_step_aside(report_data, tmp_path, monkeypatch):
    fast = write_report_xlsx(report_data, tmp_path / "fast.xlsx")
    monkeypatch.setattr(xlsxwriter, "__version__", "0.0.0")
    wb = xlsxwriter.Workbook(str(tmp_path / "a.xlsx"))
    assert not xlsx_internals.add_streamed_worksheet(wb, "s").constant_memory
    wb.close()
    public = write_report_xlsx(report_data, tmp_path / "public.xlsx")
    assert _cells(public) == _cells(fast)


NOT_PLAIN = [
    "=MAXIFS(A1:A3,B1:B3,1)", "=_xlfn.MAXIFS(A1:A3,B1:B3,1)", "=XSUM(1)", "=SUM.X(1)", "=SORT(A1:A3)",
    "=FILTER(A1:A3,B1:B3)", "=sum(1)", "={1,2}", '="a"&SINGLE(1)', '="XLOOKUP("&1', "=ốSORT(1)", "SUM(1)",
    '=SUM(1)&"}"&"{"&"}"' + "}",
]  # fmt: skip


@pytest.mark.parametrize("formula", NOT_PLAIN)
def test_formulas_xlsxwriter_may_rewrite_are_not_plain(formula):
    assert not is_plain_formula(formula)


_PIECES = st.sampled_from([
    *sorted(xlsx_internals.PLAIN_FUNCTIONS), "MAXIFS", "XLOOKUP", "SORT", "SINGLE", "INGLE", "BETAxDIST", "_xlfn.",
    "(", ")", "(", ")", ",", "&", '"', "{", "}", "=", " ", "A1", "$B$2", "'Số liệu'!$C$3", "x", ".", "_", "1",
    "ố", "<>", '""',
])  # fmt: skip


#: a sheet of a workbook never closed (nothing is written): its formula preparation, future functions on
_FUTURE_FUNCTIONS_SHEET = xlsxwriter.Workbook("never-written.xlsx", {"use_future_functions": True}).add_worksheet()


@settings(max_examples=2000, deadline=None)
@given(st.lists(_PIECES, max_size=12))
def test_a_plain_formula_is_one_xlsxwriter_leaves_as_it_is(pieces):
    """What the direct write skips would have changed nothing: no dynamic-array function, no rewrite."""
    formula = "=" + "".join(pieces)
    if not is_plain_formula(formula):
        return
    ws = _FUTURE_FUNCTIONS_SHEET
    assert xlsxwriter.worksheet.re_dynamic_function.search(formula) is None
    assert ws._prepare_formula(formula) == formula[1:]
    assert not re.match(r"\{.*\}\Z", formula)

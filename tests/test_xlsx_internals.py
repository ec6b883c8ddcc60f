"""The XlsxWriter internals of ``report/xlsx_internals.py`` still are what that module was written against.

Fails loudly when XlsxWriter changes: its version against the exact pin, the source of each internal
relied on against the fingerprint it had when the module was written, and the workbook written with
the trick against the workbook XlsxWriter's ``write_formula`` writes. After an upgrade, read the new
sources, adapt the module, then update the pin and the fingerprints here.
"""

from __future__ import annotations

import hashlib
import inspect
import re
from pathlib import Path

import pytest
import xlsxwriter
import xlsxwriter.worksheet
from hypothesis import given, settings
from hypothesis import strategies as st

from ictaudit.common.workbooks import FIXED_CREATED
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
    "re_dynamic_function": "2e64b72160124f2e34240d170242fe4a281146e99fc3d0c098c266da29e5149e",
}


def _source(name: str) -> str:
    if name == "re_dynamic_function":
        return xlsxwriter.worksheet.re_dynamic_function.pattern
    return inspect.getsource(getattr(xlsxwriter.worksheet.Worksheet, name.removeprefix("Worksheet.")))


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
    rubric, scored, _previous, _ = build_scored_fixture(root)
    return load_report_inputs(rubric, scored, CYCLE_INFO)


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


@pytest.mark.parametrize("constant_memory", [False, True], ids=["held", "constant-memory"])
def test_plain_formulas_in_any_sheet_give_the_bytes_of_write_formula(tmp_path, constant_memory):
    """Rows of formulas and other cells, out of bounds included, in a sheet held in memory or streamed."""

    def book(path, write) -> bytes:
        wb = xlsxwriter.Workbook(str(path), {"constant_memory": constant_memory, "use_future_functions": True})
        wb.set_properties({"created": FIXED_CREATED})
        ws = wb.add_worksheet()
        fmt = wb.add_format({"num_format": "0.00"})
        for row in range(4):  # a formula first in its row: the row before it is written out then
            write(ws, row, 1, f"=SUM(A{row + 1}:A{row + 2})", fmt, row / 3)
            ws.write_string(row, 0, f"đơn vị {row}")
            write(ws, row, 2, '=IF(B1>0,"Có","")', None, "Có")
            ws.write_number(row, 3, row)
        write(ws, 1_048_576, 0, "=SUM(1)", None, 1)  # beyond the last row: nothing
        wb.close()
        return path.read_bytes()

    assert book(tmp_path / "a.xlsx", xlsx_internals.write_plain_formula) == book(tmp_path / "b.xlsx", _public_formulas)


def test_on_another_version_the_trick_steps_aside(report_data, tmp_path, monkeypatch):
    fast = write_report_xlsx(report_data, tmp_path / "fast.xlsx").read_bytes()
    monkeypatch.setattr(xlsxwriter, "__version__", "0.0.0")
    calls = []
    public = xlsxwriter.worksheet.Worksheet.write_formula
    monkeypatch.setattr(xlsxwriter.worksheet.Worksheet, "write_formula", lambda *a: calls.append(a) or public(*a))
    assert write_report_xlsx(report_data, tmp_path / "public.xlsx").read_bytes() == fast
    assert len(calls) > 300


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

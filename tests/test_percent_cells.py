"""Percent cells: a number formatted as a percentage is read as the percentage the agency typed where the
field is a percentage (unit %), and is a problem naming the cell and its format (I17) everywhere else.

The office-made forms of ``tests/fixtures/percent/`` (how they were made: the README there) carry, on a
form of ``percent-rubric.yaml``: F01 = 50 (plain), F02 = 0.8 shown ``80%``, F05 = 0.85 shown ``85%``
(both ``0%``) and F45 = 0.855 shown ``85,5%`` (``0.0%``). F45 is the percentage field.
"""

from __future__ import annotations

import hashlib
import math
import shutil
from pathlib import Path

import openpyxl
import pytest

from ictaudit.intake import cellformats
from ictaudit.intake.biff import percent_cells_biff8, workbook_stream
from ictaudit.intake.cellformats import as_percentage, decimals_of, is_percent_format, percent_cells, shown_percent
from ictaudit.intake.cycle import load_cycle
from ictaudit.intake.forms import write_form
from ictaudit.intake.package import inspect_package
from ictaudit.intake.submissions import intake_cycle
from ictaudit.intake.workbook import expected_forms, read_submission
from ictaudit.rules.rubric import RubricError, load_rubric

FIXTURES = Path(__file__).parent / "fixtures" / "percent"
RUBRIC_FILE = FIXTURES / "percent-rubric.yaml"
OFFICE_FILES = ["percent-so-tttt.xls", "percent-so-tttt.ods", "percent-so-tttt-libreoffice.xlsx"]
#: field → (cell, value typed, number format) of the forms; and what intake must make of each
TYPED = {"F01": ("D5", 50, None), "F02": ("D6", 0.8, "0%"), "F05": ("D7", 0.85, "0%"), "F45": ("D8", 0.855, "0.0%")}
READ = {  # field: (raw_value, value, problem code or None)
    "F01": ("50", 50.0, None),
    "F02": ("80%", math.nan, "I17"),
    "F05": ("85%", math.nan, "I17"),
    "F45": ("85,5%", 85.5, None),
}


@pytest.fixture(scope="module")
def rubric():
    return load_rubric(RUBRIC_FILE)


def fill(path: Path, rubric, typed: dict[str, tuple]) -> Path:
    """A form of the percent rubric filled with openpyxl (as Excel writes: built-in format 9 for ``0%``)."""
    write_form(path, rubric, "so_ban_nganh", "so-tttt", "Sở Thông tin và Truyền thông", 2017)
    wb = openpyxl.load_workbook(path)
    ws = wb["Số liệu"]
    rows = {ws.cell(r, 1).value: r for r in range(1, ws.max_row + 1)}
    for code, (_cell, value, number_format) in typed.items():
        cell = ws.cell(rows[code], 4)
        cell.value = value
        if number_format:
            cell.number_format = number_format
    wb.save(path)
    return path


def read(path: Path, rubric):
    data = path.read_bytes()
    expected = expected_forms(rubric, 2017)["so_ban_nganh"]
    sha = hashlib.sha256(data).hexdigest()
    return read_submission(data, file_name=path.name, sha256=sha, expected=expected, agency_id="so-tttt")


def form_files(tmp_path: Path, rubric) -> list[Path]:
    return [fill(tmp_path / "percent-so-tttt.xlsx", rubric, TYPED), *(FIXTURES / name for name in OFFICE_FILES)]


@pytest.mark.parametrize("name", ["openpyxl.xlsx", *OFFICE_FILES])
def test_percent_cells_are_found_in_every_format(tmp_path, rubric, name):
    path = fill(tmp_path / name, rubric, TYPED) if name == "openpyxl.xlsx" else FIXTURES / name
    data = path.read_bytes()
    found = percent_cells(data, inspect_package(data, path.name), "Số liệu", 3)
    assert found == {cell: fmt for cell, _v, fmt in TYPED.values() if fmt}


@pytest.mark.parametrize("name", ["openpyxl.xlsx", *OFFICE_FILES])
def test_a_percentage_field_reads_the_percentage_typed_and_other_fields_are_flagged(tmp_path, rubric, name):
    path = fill(tmp_path / name, rubric, TYPED) if name == "openpyxl.xlsx" else FIXTURES / name
    sub = read(path, rubric)
    values = {row[1]: row for row in sub.values}
    for code, (raw_value, value, _problem) in READ.items():
        got = values[code]
        assert got[2] == raw_value, code  # the value as the sheet shows it, Vietnamese style
        assert (math.isnan(got[3]) and math.isnan(value)) or got[3] == value, (code, got[3])
        assert got[7] == TYPED[code][0]
    assert values["F45"][3] == 85.5  # exactly: 0.855 × 100 is 85.49999999999999 in binary arithmetic
    problems = {p["field"]: p for p in sub.problems}
    assert sorted(problems) == ["F02", "F05"]
    f05 = problems["F05"]
    assert (f05["code"], f05["severity"], f05["cell"], f05["raw_value"]) == ("I17", "E", "D7", "85%")
    assert f05["message_vi"].startswith(
        f"Tệp {path.name}, trang “Số liệu”, ô D7 (F05): ô định dạng phần trăm (0%) hiển thị 85% (giá trị lưu 0,85), "
        "nhưng chỉ tiêu này cần con số (Mbps)"
    )
    assert "ô D6 (F02): ô định dạng phần trăm (0%) hiển thị 80%" in problems["F02"]["message_vi"]
    assert "không phải số nguyên" not in problems["F02"]["message_vi"]  # the issue's misleading message


def test_the_issues_case_mbps_and_a_count_on_the_shipped_rubric(tmp_path):
    """The issue: 85 % in F05 (Mbps) was read as 0.85 Mbps, and in F12 (persons) called "không phải số
    nguyên". Both are now I17, naming the cell and its format, and neither value is used."""
    shipped = load_rubric("caobang-2310-2016")
    path = tmp_path / "so-tttt.xlsx"
    write_form(path, shipped, "so_ban_nganh", "so-tttt", "Sở Thông tin và Truyền thông", 2017)
    wb = openpyxl.load_workbook(path)
    ws = wb["Số liệu"]
    rows = {ws.cell(r, 1).value: r for r in range(1, ws.max_row + 1)}
    for code in ("F05", "F12"):
        ws.cell(rows[code], 4).value = 0.85
        ws.cell(rows[code], 4).number_format = "0%"
    wb.save(path)
    sub = read(path, shipped)
    assert [(p["code"], p["field"], p["raw_value"]) for p in sub.problems] == [("I17", "F05", "85%"), ("I17", "F12", "85%")]
    assert all(math.isnan(row[3]) for row in sub.values if row[1] in ("F05", "F12"))
    assert f"ô D{rows['F05']} (F05): ô định dạng phần trăm (0%) hiển thị 85%" in sub.problems[0]["message_vi"]


def test_a_form_without_any_percentage_format_never_parses_a_sheet_or_styles(tmp_path, rubric, monkeypatch):
    """The usual form costs a scan of its styles as bytes: no XML tree is built."""
    path = fill(tmp_path / "plain.xlsx", rubric, {"F01": ("D5", 50, None), "F45": ("D8", 85, None)})

    def no_parse(*_a, **_k):
        raise AssertionError("a styles part or a sheet was parsed")

    monkeypatch.setattr(cellformats.SafeET, "fromstring", no_parse)
    cellformats._percent_styles.cache_clear()
    data = path.read_bytes()
    assert percent_cells(data, inspect_package(data, path.name), "Số liệu", 3) == {}
    sub = read(path, rubric)  # and the values are read as before
    assert {row[1]: row[3] for row in sub.values}["F45"] == 85.0
    assert sub.problems == []


def test_a_percentage_style_the_value_cells_do_not_use_is_not_a_problem(tmp_path, rubric):
    path = fill(tmp_path / "elsewhere.xlsx", rubric, {"F01": ("D5", 50, None)})
    wb = openpyxl.load_workbook(path)
    wb["Số liệu"]["E5"].number_format = "0%"  # a note cell, not a value cell
    wb["Số liệu"]["E5"].value = 0.5
    wb.save(path)
    data = path.read_bytes()
    assert percent_cells(data, inspect_package(data, path.name), "Số liệu", 3) == {}
    assert read(path, rubric).problems == []


def test_text_typed_with_a_percent_sign_follows_the_same_rule(tmp_path, rubric):
    """``85%`` typed as text (a cell formatted as text) is read by the parser of form text, by the field."""
    path = fill(tmp_path / "text.xlsx", rubric, {"F05": ("D7", "85%", None), "F45": ("D8", "85,5%", None)})
    sub = read(path, rubric)
    values = {row[1]: row[3] for row in sub.values}
    assert values["F45"] == 85.5 and math.isnan(values["F05"])
    assert [(p["code"], p["field"]) for p in sub.problems] == [("I01", "F05")]


def test_through_intake_the_problem_is_an_issue_row_with_its_receipts_line(tmp_path, rubric):
    root = tmp_path / "cycle"
    (root / "submissions").mkdir(parents=True)
    (root / "cycle.yaml").write_text(
        f"year: 2017\nrubric: {RUBRIC_FILE}\ndeadline: 2017-11-02\ntitle: Kiểm thử\nprovince: Cao Bằng\n", encoding="utf-8"
    )
    (root / "agencies.csv").write_text(
        "agency_id,name,group,ranked,note\nso-tttt,Sở Thông tin và Truyền thông,so_ban_nganh,true,\n", encoding="utf-8"
    )
    (root / "receipts.csv").write_text(
        "agency_id,file,received_on,channel,note\nso-tttt,phieu.xls,2017-10-30,Bưu chính,\n", encoding="utf-8"
    )
    shutil.copy(FIXTURES / "percent-so-tttt.xls", root / "submissions" / "phieu.xls")
    result = intake_cycle(load_cycle(root), rubric)  # cycle.yaml names the rubric by its path
    assert result.statuses["status"].tolist() == ["ranked"]  # a cell's problem never changes the status
    problems = result.problems
    assert problems[["code", "field", "cell", "line"]].values.tolist() == [["I17", "F02", "D6", "2"], ["I17", "F05", "D7", "2"]]
    assert not problems["message_vi"].str.startswith("receipts.csv").any()  # the agency's words, as they are


# -- the pieces ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "percent", "decimals"),
    [
        ("0%", True, 0), ("0.00%", True, 2), ("#,##0.0%", True, 1), ("[Red]0%", True, 0), ("0%;[Red]-0%", True, 0),
        ('0"%"', False, 0), ("0\\%", False, 0), ("General", False, 0), ("0.00", False, 2), ('0;"%"', False, 0),
        ("[$%-409]0", False, 0),
    ],
)  # fmt: skip
def test_which_number_formats_are_percentages(code, percent, decimals):
    assert is_percent_format(code) is percent
    assert decimals_of(code) == decimals


def test_the_percentage_shown_and_read_is_exact():
    assert shown_percent(0.855, "0.0%") == "85,5%"
    assert shown_percent(0.85, "0.00%") == "85,00%"
    assert shown_percent(0.8549, "0%") == "85%"
    assert shown_percent(1.5, "0%") == "150%"
    assert [as_percentage(x) for x in (0.85, 0.855, 0.07, 0.1, 1.0)] == [85.0, 85.5, 7.0, 10.0, 100.0]


def test_the_rubric_declares_a_percentage_by_its_unit_and_checks_it(tmp_path, rubric):
    assert [f.code for f in rubric.fields if f.percent] == ["F45"]
    text = RUBRIC_FILE.read_text(encoding="utf-8")
    broken = text.replace('unit_vi: "%", unit_en: "%", type: decimal', 'unit_vi: "%", unit_en: "%", type: yesno')
    broken = broken.replace('unit_vi: Mbps, unit_en: Mbps', 'unit_vi: "%", unit_en: Mbps')
    path = tmp_path / "broken.yaml"
    path.write_text(broken, encoding="utf-8")
    with pytest.raises(RubricError) as err:
        load_rubric(path)
    assert "field F45: unit % on a yes/no field" in str(err.value)
    assert "field F05: a percentage has unit % in both unit_vi and unit_en" in str(err.value)


def test_a_damaged_xls_is_read_without_formats_never_with_an_error():
    data = (FIXTURES / "percent-so-tttt.xls").read_bytes()
    stream = workbook_stream(data)
    assert stream is not None and percent_cells_biff8(stream, "Số liệu", 3, is_percent_format) == {5: "0%", 6: "0%", 7: "0.0%"}
    assert percent_cells_biff8(stream, "Hướng dẫn", 3, is_percent_format) == {}  # another sheet: none
    cuts = [data[:600], data[:4096], data[: len(data) // 2], data[:512] + b"\xff" * (len(data) - 512)]
    sector_loop = bytearray(data)
    sector_loop[0x4C:0x50] = (0).to_bytes(4, "little")  # the allocation table pointing at itself
    for damaged in [*cuts, bytes(sector_loop), b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600]:
        assert percent_cells(damaged, inspect_package(data, "x.xls"), "Số liệu", 3) in ({}, {"D6": "0%", "D7": "0%", "D8": "0.0%"})
    assert percent_cells_biff8(b"\x09\x08\x02\x00\x00\x05", "Số liệu", 3, is_percent_format) == {}  # BIFF5: not read

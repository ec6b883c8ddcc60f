"""Intake: one fixture per failure mode, a round trip through a separate writer, the bundled cycle."""

from __future__ import annotations

import hashlib
import math
import shutil
import unicodedata
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from ictaudit.common.paths import DATA_DIR
from ictaudit.intake.cycle import load_cycle
from ictaudit.intake.forms import HEADER_ROW, cell_address, write_form
from ictaudit.intake.problems import PROBLEM_COLUMNS
from ictaudit.intake.submissions import STATUS_COLUMNS, intake_cycle
from ictaudit.intake.values import VALUE_COLUMNS, to_wide
from ictaudit.intake.values import write_values as write_values_csv

FIXTURES = Path(__file__).parent / "fixtures" / "intake"
# the values the office-suite fixtures were made from (see fixtures/intake/README.md)
OFFICE_VALUES = {"F01": 48, "F02": 45, "F03": 50, "F04": "1.234", "F05": "45,5", "F06": "Có", "F07": "Không",
                 "F08": "12 máy", "F44": 120.5}  # fmt: skip
OFFICE_EXPECTED = {"F01": 48.0, "F02": 45.0, "F03": 50.0, "F04": 1234.0, "F05": 45.5, "F06": 1.0, "F07": 0.0,
                   "F08": 12.0, "F44": 120.5}  # fmt: skip

CYCLE_YAML = """\
year: 2017
rubric: caobang-2310-2016
deadline: 2017-11-02
title: Kiểm thử
province: Cao Bằng
"""
ROSTER = [
    ("so-tttt", "Sở Thông tin và Truyền thông", "so_ban_nganh", "true", ""),
    ("huyen-bao-lam", "UBND huyện Bảo Lâm", "ubnd_huyen", "true", ""),
    ("cong-an-tinh", "Công an tỉnh", "so_ban_nganh", "false", "Không xếp hạng vì lý do an ninh"),
]
NAMES = {r[0]: r[1] for r in ROSTER}
GROUPS = {r[0]: r[2] for r in ROSTER}


def make_cycle(root: Path, receipts: list[tuple[str, str, str]]) -> Path:
    """A three-agency cycle folder; ``receipts`` are (agency_id, file, received_on)."""
    (root / "submissions").mkdir(parents=True, exist_ok=True)
    (root / "cycle.yaml").write_text(CYCLE_YAML, encoding="utf-8")
    lines = ["agency_id,name,group,ranked,note"] + [",".join(r) for r in ROSTER]
    (root / "agencies.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    lines = ["agency_id,file,received_on,channel,note"] + [f"{a},{f},{d},Thư điện tử," for a, f, d in receipts]
    (root / "receipts.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


def blank_form(path: Path, rubric, agency_id="so-tttt", *, group=None, year=2017, values=None) -> Path:
    group = group or GROUPS.get(agency_id, "so_ban_nganh")
    return write_form(path, rubric, group, agency_id, NAMES.get(agency_id, agency_id), year, values=values)


def fill_with_openpyxl(path: Path, values: dict[str, object]) -> None:
    """Fill column D by field code with a different writer than the form's (as an agency would)."""
    wb = openpyxl.load_workbook(path)
    ws = wb["Số liệu"]
    rows = {ws.cell(r, 1).value: r for r in range(1, ws.max_row + 1)}
    for code, value in values.items():
        ws.cell(rows[code], 4).value = value
    wb.save(path)


def run(root: Path, rubric):
    return intake_cycle(load_cycle(root, rubric), rubric)


def status_of(result, agency_id: str) -> tuple[str, str]:
    row = result.statuses.set_index("agency_id").loc[agency_id]
    return row["status"], row["status_reason"]


def values_of(result, agency_id: str) -> pd.DataFrame:
    return result.values[result.values["agency_id"] == agency_id].set_index("field")


def codes_of(result, agency_id: str) -> list[str]:
    return list(result.problems.loc[result.problems["agency_id"] == agency_id, "code"])


@pytest.fixture
def one_file(tmp_path):
    """A cycle where so-tttt sent ``so-tttt.xlsx`` on time; tests put what they want in that file."""
    root = make_cycle(tmp_path / "cycle", [("so-tttt", "so-tttt.xlsx", "2017-10-30")])
    return root, root / "submissions" / "so-tttt.xlsx"


# -- the round trip ------------------------------------------------------------------------------


def typed_value(spec, i: int):
    if spec.type == "yesno":
        return ("Có", "Không")[i % 2]
    if spec.type == "decimal":
        return 10.5 + i
    return 100 + i


def test_round_trip_every_value_and_source_cell(one_file, rubric):
    root, path = one_file
    blank_form(path, rubric)
    fields = rubric.fields_for_form("PL1")
    fill_with_openpyxl(path, {f.code: typed_value(f, i) for i, f in enumerate(fields)})
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    result = run(root, rubric)
    assert status_of(result, "so-tttt")[0] == "ranked"
    got = values_of(result, "so-tttt")
    assert list(got.index) == [f.code for f in fields]
    for i, spec in enumerate(fields):
        row = got.loc[spec.code]
        typed = typed_value(spec, i)
        expected = {"Có": 1.0, "Không": 0.0}.get(typed, typed)
        assert row["value"] == expected, spec.code
        assert row["raw_value"] == (typed if isinstance(typed, str) else f"{typed:g}")
        assert row["cell"] == cell_address(HEADER_ROW + 1 + i, 3)
        assert (row["sheet"], row["source_file"], row["source_sha256"]) == ("Số liệu", "so-tttt.xlsx", sha)
        assert row["correction_id"] == ""
    assert result.problems.empty


def test_frames_have_the_contract_columns(one_file, rubric):
    root, path = one_file
    blank_form(path, rubric)
    result = run(root, rubric)
    assert tuple(result.values.columns) == VALUE_COLUMNS
    assert tuple(result.statuses.columns) == STATUS_COLUMNS
    assert tuple(result.problems.columns) == PROBLEM_COLUMNS
    assert list(result.statuses["agency_id"]) == sorted(r[0] for r in ROSTER)
    assert result.values["value"].dtype == float
    assert result.values["value"].isna().all()  # a blank form is blank, not zero


def test_text_numbers_the_vietnamese_way(one_file, rubric):
    root, path = one_file
    blank_form(path, rubric)
    fill_with_openpyxl(path, {"F03": "12 máy", "F04": "1.234", "F05": "45,5", "F06": "Có", "F07": "x",
                              "F14": "1.234.567", "F44": "1.234,5"})  # fmt: skip
    got = values_of(run(root, rubric), "so-tttt")
    assert got.loc[["F03", "F04", "F05", "F06", "F07", "F14", "F44"], "value"].tolist() == [
        12.0, 1234.0, 45.5, 1.0, 1.0, 1234567.0, 1234.5,
    ]  # fmt: skip
    assert got.loc["F04", "raw_value"] == "1.234"


def test_unreadable_values_are_problems_with_cell_and_raw_text(one_file, rubric):
    root, path = one_file
    blank_form(path, rubric)
    fill_with_openpyxl(path, {"F01": -3, "F02": "1,234", "F03": "100%", "F06": "có thể"})
    result = run(root, rubric)
    problems = result.problems.set_index("field")
    assert set(problems.index) == {"F01", "F02", "F03", "F06"}
    assert (problems["code"] == "I01").all() and (problems["severity"] == "E").all()
    assert problems.loc["F01", "cell"] == "D5" and problems.loc["F01", "raw_value"] == "-3"
    assert problems.loc["F02", "raw_value"] == "1,234"
    assert values_of(result, "so-tttt").loc[["F01", "F02", "F03", "F06"], "value"].isna().all()
    assert status_of(result, "so-tttt")[0] == "ranked"  # value problems go to validation, not the status


# -- file-level failure modes ---------------------------------------------------------------------


def test_truncated_file(one_file, rubric):
    root, path = one_file
    data = blank_form(path, rubric).read_bytes()
    path.write_bytes(data[: len(data) // 2])
    result = run(root, rubric)
    status, reason = status_of(result, "so-tttt")
    assert status == "invalid" and "so-tttt.xlsx" in reason
    assert codes_of(result, "so-tttt") == ["I05"]
    assert values_of(result, "so-tttt").empty


@pytest.mark.parametrize("content", [b"", b"%PDF-1.4 not a spreadsheet", "Số liệu;F01;12\n".encode()])
def test_not_a_workbook(one_file, rubric, content):
    root, path = one_file
    path.write_bytes(content)
    result = run(root, rubric)
    assert status_of(result, "so-tttt")[0] == "invalid"
    assert codes_of(result, "so-tttt") == ["I05"]


def test_missing_sheet(one_file, rubric):
    root, path = one_file
    blank_form(path, rubric)
    wb = openpyxl.load_workbook(path)
    wb["Số liệu"].title = "Sheet1"
    wb.save(path)
    result = run(root, rubric)
    status, reason = status_of(result, "so-tttt")
    assert status == "invalid" and "Số liệu" in reason and "Sheet1" in reason
    assert codes_of(result, "so-tttt") == ["I06"]


def test_no_header_row(one_file, rubric):
    root, path = one_file
    blank_form(path, rubric)
    wb = openpyxl.load_workbook(path)
    wb["Số liệu"].cell(HEADER_ROW + 1, 4).value = "Số liệu năm 2017"
    wb.save(path)
    assert codes_of(run(root, rubric), "so-tttt") == ["I06"]


def test_wrong_template_without_meta(one_file, rubric):
    root, path = one_file
    blank_form(path, rubric, values={"F01": 10})
    wb = openpyxl.load_workbook(path)
    del wb["_meta"]
    wb.save(path)
    result = run(root, rubric)
    assert status_of(result, "so-tttt")[0] == "invalid"
    assert codes_of(result, "so-tttt") == ["I07"]


@pytest.mark.parametrize(("key", "value"), [("template_version", "phieu-cu/0"), ("rubric", "laocai-2016")])
def test_wrong_template_version_or_rubric(one_file, rubric, key, value):
    root, path = one_file
    blank_form(path, rubric)
    wb = openpyxl.load_workbook(path)
    ws = wb["_meta"]
    next(r for r in ws.iter_rows() if r[0].value == key)[1].value = value
    wb.save(path)
    result = run(root, rubric)
    assert codes_of(result, "so-tttt") == ["I07"]
    assert value in status_of(result, "so-tttt")[1]


def test_wrong_form_for_the_group(one_file, rubric):
    root, path = one_file
    blank_form(path, rubric, group="ubnd_huyen")  # a district form sent by a department
    result = run(root, rubric)
    assert codes_of(result, "so-tttt") == ["I07"]
    assert "PL2" in status_of(result, "so-tttt")[1]


def test_wrong_agency(one_file, rubric):
    root, path = one_file
    blank_form(path, rubric, agency_id="so-noi-vu")
    result = run(root, rubric)
    status, reason = status_of(result, "so-tttt")
    assert status == "invalid" and "so-noi-vu" in reason
    assert codes_of(result, "so-tttt") == ["I08"]


def test_wrong_year(one_file, rubric):
    root, path = one_file
    blank_form(path, rubric, year=2016)
    result = run(root, rubric)
    assert codes_of(result, "so-tttt") == ["I08"]
    assert "2016" in status_of(result, "so-tttt")[1]


# -- what survives re-saving and hand editing ------------------------------------------------------


def test_moved_rows_and_columns(one_file, rubric):
    root, path = one_file
    blank_form(path, rubric)
    fill_with_openpyxl(path, {"F01": 48, "F02": 45, "F03": 50})
    wb = openpyxl.load_workbook(path)
    ws = wb["Số liệu"]
    ws.insert_rows(1, 2)  # two rows above the title
    ws.insert_cols(1)  # a column before Mã
    # swap the rows of F02 and F03 (codes and values move together)
    r2, r3 = HEADER_ROW + 1 + 2 + 1, HEADER_ROW + 1 + 2 + 2
    for col in range(2, 7):
        a, b = ws.cell(r2 + 1, col), ws.cell(r3 + 1, col)
        a.value, b.value = b.value, a.value
    wb.save(path)
    got = values_of(run(root, rubric), "so-tttt")
    assert got.loc[["F01", "F02", "F03"], "value"].tolist() == [48.0, 45.0, 50.0]
    assert got.loc[["F01", "F02", "F03"], "cell"].tolist() == ["E7", "E9", "E8"]


def test_formula_without_cached_value(one_file, rubric):
    root, path = one_file
    blank_form(path, rubric)
    fill_with_openpyxl(path, {"F01": "=40+8", "F02": 45})  # openpyxl stores formulas without a value
    result = run(root, rubric)
    problems = result.problems
    assert problems[["field", "cell", "code", "severity"]].values.tolist() == [["F01", "D5", "I02", "E"]]
    got = values_of(result, "so-tttt")
    assert math.isnan(got.loc["F01", "value"]) and got.loc["F02", "value"] == 45.0


def test_nfd_text_and_sheet_name(one_file, rubric):
    root, path = one_file
    blank_form(path, rubric)
    nfd = lambda s: unicodedata.normalize("NFD", s)  # noqa: E731
    fill_with_openpyxl(path, {"F06": nfd("Có"), "F07": nfd("Không"), "F01": nfd("48 người")})
    wb = openpyxl.load_workbook(path)
    wb["Số liệu"].title = nfd("Số liệu")
    wb.save(path)
    result = run(root, rubric)
    got = values_of(result, "so-tttt")
    assert got.loc[["F01", "F06", "F07"], "value"].tolist() == [48.0, 1.0, 0.0]
    assert got.loc["F06", "raw_value"] == "Có"  # stored as NFC
    assert got.loc["F06", "sheet"] == "Số liệu"
    assert result.problems.empty


def test_duplicate_field_rows(one_file, rubric):
    root, path = one_file
    blank_form(path, rubric)
    fill_with_openpyxl(path, {"F01": 48, "F02": 45})
    wb = openpyxl.load_workbook(path)
    ws = wb["Số liệu"]
    last = ws.max_row
    ws.cell(last + 1, 1).value, ws.cell(last + 1, 4).value = "F01", 50  # F01 again, another value
    ws.cell(last + 2, 1).value, ws.cell(last + 2, 4).value = "F02", 45  # F02 again, the same value
    ws.cell(last + 3, 1).value, ws.cell(last + 3, 4).value = "F99", 1  # a code the form does not have
    wb.save(path)
    result = run(root, rubric)
    problems = result.problems.set_index("field")
    assert problems.loc["F01", ["code", "severity"]].tolist() == ["I03", "E"]
    assert problems.loc["F02", ["code", "severity"]].tolist() == ["I03", "W"]
    assert problems.loc["F99", ["code", "severity"]].tolist() == ["I04", "W"]
    got = values_of(result, "so-tttt")
    assert math.isnan(got.loc["F01", "value"]) and got.loc["F02", "value"] == 45.0


def test_missing_field_row(one_file, rubric):
    root, path = one_file
    blank_form(path, rubric)
    wb = openpyxl.load_workbook(path)
    wb["Số liệu"].cell(HEADER_ROW + 2, 1).value = None  # the F01 row loses its code
    wb.save(path)
    result = run(root, rubric)
    assert result.problems[["field", "code", "severity"]].values.tolist() == [["F01", "I04", "E"]]
    assert values_of(result, "so-tttt").loc["F01", "cell"] == ""


@pytest.mark.parametrize("fixture", ["filled-so-tttt.xls", "filled-so-tttt.ods", "filled-so-tttt-libreoffice.xlsx"])
def test_forms_saved_by_an_office_suite(tmp_path, rubric, fixture):
    root = make_cycle(tmp_path / "cycle", [("so-tttt", fixture, "2017-10-30")])
    shutil.copy(FIXTURES / fixture, root / "submissions" / fixture)
    result = run(root, rubric)
    assert status_of(result, "so-tttt")[0] == "ranked"
    got = values_of(result, "so-tttt")
    assert {k: got.loc[k, "value"] for k in OFFICE_EXPECTED} == OFFICE_EXPECTED
    assert got.loc["F01", "cell"] == "D5" and got.loc["F04", "raw_value"] == "1.234"
    assert got["value"].notna().sum() == len(OFFICE_EXPECTED)
    assert result.problems.empty


# -- receipts, deadline, precedence ------------------------------------------------------------------


def test_late_missing_excluded_and_their_values(tmp_path, rubric):
    root = make_cycle(
        tmp_path / "cycle",
        [("huyen-bao-lam", "huyen-bao-lam.xlsx", "2017-11-03"), ("cong-an-tinh", "cong-an-tinh.xlsx", "2017-10-20")],
    )
    blank_form(root / "submissions" / "huyen-bao-lam.xlsx", rubric, "huyen-bao-lam", values={"F01": 120})
    blank_form(root / "submissions" / "cong-an-tinh.xlsx", rubric, "cong-an-tinh", values={"F01": 300})
    result = run(root, rubric)
    assert status_of(result, "huyen-bao-lam") == (
        "late",
        "Phiếu huyen-bao-lam.xlsx nhận ngày 03/11/2017, sau hạn cuối 02/11/2017: không được đánh giá, xếp hạng.",
    )
    assert status_of(result, "so-tttt")[0] == "missing"
    assert status_of(result, "cong-an-tinh") == ("excluded", "Không xếp hạng theo danh sách đơn vị: Không xếp hạng vì lý do an ninh")
    assert values_of(result, "huyen-bao-lam").loc["F01", "value"] == 120
    assert values_of(result, "cong-an-tinh").loc["F01", "value"] == 300
    assert len(values_of(result, "huyen-bao-lam")) == len(rubric.fields_for_form("PL2"))
    assert values_of(result, "so-tttt").empty


def test_on_the_deadline_is_on_time(one_file, rubric):
    root, path = one_file
    blank_form(path, rubric)
    (root / "receipts.csv").write_text(
        "agency_id,file,received_on,channel,note\nso-tttt,so-tttt.xlsx,2017-11-02,,\n", encoding="utf-8"
    )
    assert status_of(run(root, rubric), "so-tttt")[0] == "ranked"


def test_late_wins_over_invalid(tmp_path, rubric):
    root = make_cycle(tmp_path / "cycle", [("so-tttt", "so-tttt.xlsx", "2017-11-10")])
    (root / "submissions" / "so-tttt.xlsx").write_bytes(b"garbage")
    result = run(root, rubric)
    assert status_of(result, "so-tttt")[0] == "late"
    assert codes_of(result, "so-tttt") == ["I05"]


def test_receipt_without_file_and_file_without_receipt(tmp_path, rubric):
    root = make_cycle(
        tmp_path / "cycle", [("so-tttt", "so-tttt.xlsx", "2017-10-30"), ("so-khong-co", "x.xlsx", "2017-10-30")]
    )
    blank_form(root / "submissions" / "so-tttt-ban-nhap.xlsx", rubric)
    result = run(root, rubric)
    assert status_of(result, "so-tttt")[0] == "invalid"
    problems = result.problems.set_index("code")
    assert problems.loc["I10", ["agency_id", "file", "severity"]].tolist() == ["so-tttt", "so-tttt.xlsx", "E"]
    assert problems.loc["I11", ["agency_id", "file", "severity"]].tolist() == ["", "so-tttt-ban-nhap.xlsx", "W"]
    assert problems.loc["I12", ["agency_id", "file", "severity"]].tolist() == ["so-khong-co", "x.xlsx", "E"]
    # the register's problems name their receipts.csv line, in a column and in the message; a file no
    # receipt names has none
    assert problems.loc[["I10", "I11", "I12"], "line"].tolist() == ["2", "", "3"]
    assert problems.loc["I10", "message_vi"].startswith("receipts.csv dòng 2: Sổ tiếp nhận ghi tệp so-tttt.xlsx")
    assert problems.loc["I12", "message_vi"].startswith("receipts.csv dòng 3: ")
    assert not problems.loc["I11", "message_vi"].startswith("receipts.csv")
    assert list(result.files["file"]) == ["so-tttt-ban-nhap.xlsx"]


def test_one_bad_file_never_stops_the_others(tmp_path, rubric):
    root = make_cycle(
        tmp_path / "cycle",
        [("so-tttt", "so-tttt.xlsx", "2017-10-30"), ("huyen-bao-lam", "huyen-bao-lam.xlsx", "2017-10-30")],
    )
    (root / "submissions" / "so-tttt.xlsx").write_bytes(b"PK\x03\x04 broken zip")
    blank_form(root / "submissions" / "huyen-bao-lam.xlsx", rubric, "huyen-bao-lam", values={"F01": 99})
    result = run(root, rubric)
    assert status_of(result, "so-tttt")[0] == "invalid"
    assert status_of(result, "huyen-bao-lam")[0] == "ranked"
    assert values_of(result, "huyen-bao-lam").loc["F01", "value"] == 99


def test_the_cycle_folder_is_never_modified(one_file, rubric):
    root, path = one_file
    blank_form(path, rubric, values={"F01": 1})

    def snapshot():
        return {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in sorted(root.rglob("*")) if p.is_file()}

    before = snapshot()
    result = run(root, rubric)
    assert snapshot() == before
    assert result.files.loc[0, "sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_form_read_is_the_one_of_the_rubric_given_each_time(one_file, rubric):
    """The fields a file is read against are looked up from the rubric of each call: a rubric whose
    form lacks F44 reads F44's row as a row the form does not have, and the first rubric, given
    again, reads it again (no memo keyed by anything but the rubric itself)."""
    root, path = one_file
    blank_form(path, rubric, values={"F01": 45, "F44": 120.5})
    without_f44 = rubric.model_copy(update={"fields": tuple(f for f in rubric.fields if f.code != "F44")})
    first, other, again = run(root, rubric), run(root, without_f44), run(root, rubric)
    assert values_of(first, "so-tttt").loc["F44", "value"] == 120.5
    assert "F44" not in values_of(other, "so-tttt").index and len(values_of(other, "so-tttt")) == len(first.values) - 1
    extra = other.problems.set_index("field").loc["F44"]
    assert (extra["code"], extra["severity"], extra["raw_value"]) == ("I04", "W", "120.5")
    pd.testing.assert_frame_equal(again.values, first.values)
    assert first.problems.empty and again.problems.empty


# -- outputs ------------------------------------------------------------------------------------


def test_to_wide_and_values_csv(one_file, rubric, tmp_path):
    root, path = one_file
    blank_form(path, rubric, values={"F01": 45, "F05": 45.5, "F06": "Có"})
    result = run(root, rubric)
    wide = to_wide(result.values)
    assert list(wide.index) == ["so-tttt"]
    assert list(wide.columns) == [f.code for f in rubric.fields_for_form("PL1")]
    assert wide.loc["so-tttt", ["F01", "F05", "F06"]].tolist() == [45.0, 45.5, 1.0]
    out = write_values_csv(result.values, tmp_path / "scored" / "values.csv")
    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    lines = data.decode("utf-8-sig").splitlines()
    assert lines[0] == ",".join(VALUE_COLUMNS)
    assert lines[1].startswith("so-tttt,F01,45,45,so-tttt.xlsx,")
    assert ",F05,45.5,45.5," in lines[5]
    assert ",F06,Có,1," in lines[6]
    assert lines[2].split(",")[2:4] == ["", ""]
    assert write_values_csv(result.values, tmp_path / "again.csv").read_bytes() == data


# -- the bundled sample year -----------------------------------------------------------------------


@pytest.mark.parametrize("year", [2016, 2017])
def test_bundled_cycle_gives_the_statuses_it_was_built_with(rubric, year):
    root = DATA_DIR / "raw" / str(year)
    result = run(root, rubric)
    planted = pd.read_csv(root / "planted.csv", dtype=str, keep_default_na=False)
    expected = planted[planted["kind"] == "status"].set_index("agency_id")["expected"].sort_index()
    got = result.statuses.set_index("agency_id")["status"].sort_index()
    assert got.to_dict() == expected.to_dict()
    assert result.problems.empty
    text = planted[planted["kind"] == "text"]
    got_values = result.values.set_index(["agency_id", "field"])
    for row in text.itertuples():
        assert got_values.loc[(row.agency_id, row.field), "value"] == float(row.expected)
        assert got_values.loc[(row.agency_id, row.field), "raw_value"] == row.raw_value
        assert got_values.loc[(row.agency_id, row.field), "cell"] == row.cell


def test_xml_entities_are_never_expanded(one_file, rubric):
    """A 'billion laughs' DTD in the sheet XML makes the file invalid; nothing is expanded."""
    import zipfile

    root, path = one_file
    blank_form(path, rubric, values={"F01": 1})
    with zipfile.ZipFile(path) as zf:
        parts = {n: zf.read(n) for n in zf.namelist()}
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
        b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
    )
    sheet = "xl/worksheets/sheet2.xml"
    parts[sheet] = bomb + parts[sheet].split(b"?>", 1)[1].replace(b"<c r=\"D5\"", b"<c r=\"D5\" x=\"&c;\"", 1)
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    result = run(root, rubric)
    assert status_of(result, "so-tttt")[0] == "invalid"
    assert codes_of(result, "so-tttt") == ["I05"]


def test_header_words_added_by_people_are_tolerated(one_file, rubric):
    root, path = one_file
    blank_form(path, rubric, values={"F01": 48})
    wb = openpyxl.load_workbook(path)
    ws = wb["Số liệu"]
    ws.cell(HEADER_ROW + 1, 1).value = "Mã số"
    ws.cell(HEADER_ROW + 1, 4).value = "Giá trị (năm 2017)"
    wb.save(path)
    assert values_of(run(root, rubric), "so-tttt").loc["F01", "value"] == 48


def test_a_receipt_naming_the_file_with_another_extension_says_which_file_is_there(tmp_path, rubric):
    """The register says .xlsx where an .ods was received: the message names the file that is there."""
    root = make_cycle(tmp_path / "cycle", [("so-tttt", "so-tttt.xlsx", "17/10/2017")])
    (root / "submissions" / "so-tttt.ods").write_bytes(b"x")
    result = run(root, rubric)
    assert status_of(result, "so-tttt")[0] == "invalid"
    message = result.problems.set_index("code").loc["I10", "message_vi"]
    assert "thư mục có so-tttt.ods (cùng tên, khác phần mở rộng)" in message

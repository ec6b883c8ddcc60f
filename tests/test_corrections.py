"""The corrections overlay: applied, rejected (and why), round 2 resolving or keeping issues."""

import math

import pandas as pd
import pytest

from ictaudit.validate.corrections import (
    REPORT_COLUMNS,
    apply_corrections,
    blocked_fields,
    parse_value,
    read_corrections_csv,
    resolve_rounds,
)
from ictaudit.validate.gx import make_context, validate_values

from .plausible import plausible_values

AGENCIES = pd.DataFrame(
    {
        "agency_id": ["so-a", "so-b", "huyen-c"],
        "agency_name": ["Sở A", "Sở B", "UBND huyện C"],
        "group": ["so_ban_nganh", "so_ban_nganh", "ubnd_huyen"],
        "status": ["ranked"] * 3,
        "status_reason": [""] * 3,
    }
)


def long_values(rubric, changes: dict[str, dict[str, float]]) -> pd.DataFrame:
    """Long values as intake gives them: plausible agencies with some values changed."""
    rows = []
    for agency in AGENCIES.itertuples():
        values = plausible_values(rubric, rubric.form_of(agency.group)) | changes.get(agency.agency_id, {})
        for i, (code, value) in enumerate(values.items()):
            raw = "" if math.isnan(value) else (f"{value:g}".replace(".", ","))
            rows.append(
                {"agency_id": agency.agency_id, "field": code, "raw_value": raw, "value": value,
                 "source_file": f"{agency.agency_id}.xlsx", "source_sha256": "0" * 64, "sheet": "Số liệu",
                 "cell": f"D{i + 2}", "correction_id": ""}
            )  # fmt: skip
    return pd.DataFrame(rows)


COLS = ["agency_id", "field", "old_value", "new_value", "reason", "check_id", "confirmed_by", "confirmed_on"]
# what a row leaves out: an auditable reason, check, who and when
DEFAULTS = ("gõ nhầm", "", "Chánh Văn phòng", "2017-11-20")



def corrections(*rows) -> pd.DataFrame:
    filled = [(*r, *DEFAULTS[len(r) - 4 :]) if len(r) >= 4 else r for r in rows]
    return pd.DataFrame([dict(zip(COLS, r)) for r in filled], columns=COLS)


def _value(frame, agency_id, code):
    return frame[(frame.agency_id == agency_id) & (frame.field == code)].iloc[0]


@pytest.mark.parametrize(
    ("text", "expected"),
    [("45,5", 45.5), ("45.5", 45.5), ("1.234,5", 1234.5), ("1,234.5", 1234.5), ("1.234.567", 1234567),
     ("Có", 1), ("không", 0), ("x", 1), ("", math.nan), (" 60 ", 60), ("abc", None)],
)  # fmt: skip
def test_parse_value(text, expected):
    got = parse_value(text)
    if expected is None:
        assert got is None
    elif math.isnan(expected):
        assert math.isnan(got)
    else:
        assert got == expected


def test_applied_and_rejected(rubric):
    values = long_values(rubric, {"so-a": {"F02": 60.0, "F05": 45.5}})
    before = values.copy()
    corr = corrections(
        ("so-a", "F02", "60", "48", "Nhầm số liệu", "L03", "Nguyễn Văn A", "2017-11-10"),
        ("so-a", "F05", "45,5", "50", "Nâng cấp đường truyền", "", "Nguyễn Văn A", "2017-11-10"),
        ("so-b", "F02", "41", "30", "", "", "", ""),  # old value wrong: current is 40
        ("so-x", "F02", "40", "30", "", "", "", ""),  # unknown agency
        ("so-b", "X01", "", "30", "", "", "", ""),  # X01 is not on PL1
        ("so-b", "F13", "Có", "Không", "Không dùng nữa", "", "Trần Thị B", "2017-11-12"),  # yes/no words against 1/0
    )
    corrected, report = apply_corrections(values, corr, rubric, AGENCIES)
    pd.testing.assert_frame_equal(values, before)  # input untouched
    assert list(report.columns) == REPORT_COLUMNS
    assert report.correction_id.tolist() == ["K001", "K002", "K003", "K004", "K005", "K006"]
    assert report.status.tolist() == ["applied", "applied", "rejected", "rejected", "rejected", "applied"]
    assert "không khớp" in report.status_reason[2] and "40" in report.status_reason[2]
    assert "không có trong danh sách" in report.status_reason[3]
    assert "X01" in report.status_reason[4] and "PL1" in report.status_reason[4]
    f02 = _value(corrected, "so-a", "F02")
    assert (f02.value, f02.raw_value, f02.correction_id) == (48.0, "60", "K001")
    assert _value(corrected, "so-a", "F05").value == 50.0
    assert _value(corrected, "so-b", "F02").value == 40.0 and _value(corrected, "so-b", "F02").correction_id == ""
    assert _value(corrected, "so-b", "F13").value == 0.0
    assert len(corrected) == len(values)


def test_correcting_a_field_the_form_did_not_carry_adds_a_row(rubric):
    values = long_values(rubric, {})
    values = values[~((values.agency_id == "so-a") & (values.field == "F11"))]
    corrected, report = apply_corrections(values, corrections(("so-a", "F11", "", "3")), rubric, AGENCIES)
    assert report.status.tolist() == ["applied"]
    row = _value(corrected, "so-a", "F11")
    assert (row.value, row.raw_value, row.correction_id) == (3.0, "", "K001")



def test_padded_ids_and_a_second_correction_of_the_same_value(rubric):
    """Ids and codes typed with spaces still find their row; a second correction starts from the first's
    new value; an agency that no correction names is never touched."""
    values = long_values(rubric, {"so-a": {"F02": 60.0}, "so-b": {"F02": 60.0}})
    corr = corrections(
        (" so-a ", " F02", "60", "50"),
        ("so-a", "F02", "50", "48"),
        ("so-a", "F02", "60", "47"),  # stale: the value is 48 now
        ("  huyen-c", "F01 ", "50", "51"),  # the only row naming huyen-c, padded
    )
    corrected, report = apply_corrections(values, corr, rubric, AGENCIES)
    assert report.status.tolist() == ["applied", "applied", "rejected", "applied"]
    assert "48" in report.status_reason[2]
    row = _value(corrected, "so-a", "F02")
    assert (row.value, row.correction_id) == (48.0, "K002")
    assert _value(corrected, "huyen-c", "F01").value == 51.0
    assert _value(corrected, "so-b", "F02").value == 60.0
    pd.testing.assert_frame_equal(
        corrected[corrected.agency_id == "so-b"].reset_index(drop=True),
        values[values.agency_id == "so-b"].reset_index(drop=True),
    )

def test_read_corrections_csv_with_bom(tmp_path):
    path = tmp_path / "corrections.csv"
    path.write_bytes("agency_id,field,old_value,new_value,reason\nso-a,F02,60,48,Nhầm\n".encode("utf-8-sig"))
    frame = read_corrections_csv(path)
    assert frame.iloc[0].agency_id == "so-a" and frame.iloc[0].confirmed_by == ""


@pytest.fixture(scope="module")
def context():
    return make_context()


def test_round_two_resolves_and_keeps(rubric, context):
    values = long_values(
        rubric,
        {"so-a": {"F02": 60.0}, "so-b": {"F12": 70.0, "F41": 80.0}, "huyen-c": {"X02": 120.0}},
    )

    def wide(v):
        return v.pivot(index="agency_id", columns="field", values="value").astype(float)

    round1 = validate_values(rubric, wide(values), AGENCIES, round=1, context=context)
    assert set(zip(round1.agency_id, round1.check_id)) >= {
        ("so-a", "L03"), ("so-a", "L04"), ("so-b", "L10"), ("so-b", "L22"), ("huyen-c", "L23"),
    }  # fmt: skip
    corr = corrections(
        ("so-a", "F02", "60", "45", "Nhầm", "L03", "Trần B", "2017-11-12"),  # fixes L03 and L04
        ("so-b", "F12", "70", "50", "Nhầm", "L10", "Lê C", "2017-11-12"),  # fixes L10, L22 remains
        ("huyen-c", "X02", "100", "90", "", "L23", "", ""),  # wrong old value: rejected, L23 remains
    )
    corrected, report = apply_corrections(values, corr, rubric, AGENCIES)
    round2 = validate_values(rubric, wide(corrected), AGENCIES, round=2, context=context)
    issues = resolve_rounds(round1, round2, report)

    def row(agency_id, check_id, rnd):
        found = issues[(issues.agency_id == agency_id) & (issues.check_id == check_id) & (issues["round"] == rnd)]
        return found.iloc[0] if len(found) else None

    assert row("so-a", "L03", 1).resolved_by == "K001"
    assert row("so-a", "L04", 1).resolved_by == "K001"
    assert row("so-a", "L03", 2) is None
    assert row("so-b", "L10", 1).resolved_by == "K002"
    assert row("so-b", "L22", 1).resolved_by == "" and row("so-b", "L22", 2) is not None
    assert row("huyen-c", "L23", 1).resolved_by == "" and row("huyen-c", "L23", 2) is not None
    assert issues[["agency_id", "check_id", "round"]].equals(
        issues.sort_values(["agency_id", "check_id", "round"])[["agency_id", "check_id", "round"]]
    )
    blocked = blocked_fields(issues, rubric)
    assert blocked == {("huyen-c", "X02"), ("huyen-c", "X01")}  # L22 is only a warning; so-a, so-b fixed
    assert blocked_fields(issues, rubric, final_round=1) >= {("so-a", "F02"), ("so-a", "F01")}


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (("so-a", "F02", "60", "48", "", "L03", "Chánh Văn phòng", "2017-11-20"), "Thiếu reason"),
        (("so-a", "F02", "60", "48", "gõ nhầm", "L03", "", "2017-11-20"), "Thiếu confirmed_by"),
        (("so-a", "F02", "60", "48", "gõ nhầm", "L03", "Chánh Văn phòng", ""), "Thiếu confirmed_on"),
        (("so-a", "F02", "60", "48", "gõ nhầm", "L03", "Chánh Văn phòng", "20/11/2017"), "không phải ngày hợp lệ"),
    ],
)
def test_a_correction_without_who_why_or_a_real_date_is_rejected_not_fatal(rubric, row, reason):
    values = long_values(rubric, {"so-a": {"F02": 60.0}})
    corrected, report = apply_corrections(values, corrections(row), rubric, AGENCIES)
    assert report.iloc[0]["status"] == "rejected" and reason in report.iloc[0]["status_reason"]
    assert _value(corrected, "so-a", "F02").value == 60  # unchanged

"""The corrections overlay: one parser with the forms, applied / confirmed / rejected (and why), conflicts,
and round 2 resolving or keeping the problems (tests/scenarios/corrections/overlay.yaml holds the single-row cases)."""

import math
from pathlib import Path

import pandas as pd
import pytest
import yaml

from ictaudit.validate.corrections import REPORT_COLUMNS, apply_corrections, rejected_lines
from ictaudit.validate.gx import make_context, validate_values
from ictaudit.validate.resolution import awaiting_decision, blocked_fields, resolve_issues, resolve_rounds

from .plausible import plausible_values

SCENARIOS = yaml.safe_load((Path(__file__).parent / "scenarios" / "corrections" / "overlay.yaml").read_text(encoding="utf-8"))
AGENCIES = pd.DataFrame(
    {
        "agency_id": ["so-a", "so-b", "huyen-c"],
        "agency_name": ["Sở A", "Sở B", "UBND huyện C"],
        "group": ["so_ban_nganh", "so_ban_nganh", "ubnd_huyen"],
        "status": ["ranked"] * 3,
        "status_reason": [""] * 3,
    }
)
COLS = ["agency_id", "field", "old_value", "new_value", "reason", "check_id", "confirmed_by", "confirmed_on"]
DEFAULTS = ("gõ nhầm", "", "Chánh Văn phòng", "2017-11-20")  # what a short row leaves out: why, check, who, when


def long_values(rubric, changes: dict[str, dict[str, float]], typed: dict | None = None) -> pd.DataFrame:
    """Long values as intake gives them: plausible agencies with some values changed (and typed as)."""
    rows = []
    for agency in AGENCIES.itertuples():
        values = plausible_values(rubric, rubric.form_of(agency.group)) | changes.get(agency.agency_id, {})
        for i, (code, value) in enumerate(values.items()):
            raw = (typed or {}).get((agency.agency_id, code))
            if raw is None:
                raw = "" if value is None or math.isnan(value) else f"{value:g}".replace(".", ",")
            rows.append(
                {"agency_id": agency.agency_id, "field": code, "raw_value": raw,
                 "value": math.nan if value is None else value, "source_file": f"{agency.agency_id}.xlsx",
                 "source_sha256": "0" * 64, "sheet": "Số liệu", "cell": f"D{i + 2}", "correction_id": ""}
            )  # fmt: skip
    return pd.DataFrame(rows)


def corrections(*rows, **columns) -> pd.DataFrame:
    filled = [(*r, *DEFAULTS[len(r) - 4 :]) if len(r) >= 4 else r for r in rows]
    frame = pd.DataFrame([dict(zip(COLS, r)) for r in filled], columns=COLS)
    for name, cells in columns.items():
        frame[name] = cells
    return frame


def _value(frame, agency_id, code):
    return frame[(frame.agency_id == agency_id) & (frame.field == code)].iloc[0]


@pytest.mark.parametrize("case", SCENARIOS["cases"], ids=[c["name"] for c in SCENARIOS["cases"]])
def test_one_correction(rubric, case):
    held = math.nan if case["held"] is None else float(case["held"])
    typed = {("so-a", case["field"]): case["typed"]} if "typed" in case else None
    values = long_values(rubric, {"so-a": {case["field"]: held}}, typed)
    row = {**SCENARIOS["defaults"], "field": case["field"], "check_id": "", **case["row"]}
    corrected, report = apply_corrections(values, pd.DataFrame([row]), rubric, AGENCIES)
    got = report.iloc[0]
    assert got["status"] == case["status"], got["status_reason"]
    value = _value(corrected, "so-a", case["field"]).value
    assert value == case["value"]
    for words in case.get("says", []):
        assert words in got["status_reason"], got["status_reason"]
    if case["status"] != "rejected":
        assert got["status_reason"] == ""
    if "old_value" in case:
        assert got["old_value"] == case["old_value"]
    cid = _value(corrected, "so-a", case["field"]).correction_id
    assert cid == ("K001" if case["status"] == "applied" else "")


def test_applied_and_rejected(rubric):
    values = long_values(rubric, {"so-a": {"F02": 60.0, "F05": 45.5}})
    before = values.copy()
    corr = corrections(
        ("so-a", "F02", "60", "48", "Nhầm số liệu", "L03", "Nguyễn Văn A", "2017-11-10"),
        ("so-a", "F05", "45,5", "50", "Nâng cấp đường truyền", "", "Nguyễn Văn A", "2017-11-10"),
        ("so-b", "F02", "41", "30", "", "", "", ""),  # old value wrong (current is 40), no who/why/when
        ("so-x", "F02", "40", "30", "", "", "", ""),  # unknown agency
        ("so-b", "X01", "", "30", "", "", "", ""),  # X01 is not on PL1
        ("so-b", "F13", "Có", "Không", "Không dùng nữa", "", "Trần Thị B", "2017-11-12"),
    )
    corrected, report = apply_corrections(values, corr, rubric, AGENCIES)
    pd.testing.assert_frame_equal(values, before)  # input untouched
    assert list(report.columns) == REPORT_COLUMNS
    assert report.correction_id.tolist() == ["K001", "K002", "K003", "K004", "K005", "K006"]
    assert report.line.tolist() == ["2", "3", "4", "5", "6", "7"]  # the file's lines when none are given
    assert report.status.tolist() == ["applied", "applied", "rejected", "rejected", "rejected", "applied"]
    assert "không khớp" in report.status_reason[2] and "“40”" in report.status_reason[2]
    assert "Thiếu lý do" in report.status_reason[2]  # every reason at once
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
    assert "48" in report.status_reason[2] and "K002" in report.status_reason[2]
    row = _value(corrected, "so-a", "F02")
    assert (row.value, row.correction_id) == (48.0, "K002")
    assert _value(corrected, "huyen-c", "F01").value == 51.0
    assert _value(corrected, "so-b", "F02").value == 60.0
    pd.testing.assert_frame_equal(
        corrected[corrected.agency_id == "so-b"].reset_index(drop=True),
        values[values.agency_id == "so-b"].reset_index(drop=True),
    )


def test_an_imported_reply_never_overwrites_what_the_dic_decided(rubric):
    """The DIC's on-site survey set F04; the agency's reply says otherwise: refused as a conflict, the
    DIC's value stays; a reply that agrees is a confirmation; the DIC may then take the agency's value."""
    values = long_values(rubric, {"so-a": {"F04": 40.0}})
    corr = corrections(
        ("so-a", "F04", "40", "35", "khảo sát", "L05", "Đoàn khảo sát", "2017-11-25"),
        ("so-a", "F04", "35", "38", "đếm lại", "L05", "Văn phòng Sở A", "2017-11-28"),
        ("so-a", "F04", "35", "35", "đồng ý", "L05", "Văn phòng Sở A", "2017-11-28"),
        ("so-a", "F04", "35", "38", "Sở chấp nhận số của đơn vị", "", "Phòng CNTT", "2017-11-30"),
        source=["on-site survey", "agency reply", "agency reply", "DIC review"],
        document=["BB 12/2017", "", "", "Tờ trình 3/2017"],
        reply_sha256=["", "a" * 64, "b" * 64, ""],
    )
    corrected, report = apply_corrections(values, corr, rubric, AGENCIES)
    assert report.status.tolist() == ["applied", "rejected", "confirmed", "applied"]
    assert report.status_reason[1].startswith("Xung đột:") and "K001" in report.status_reason[1]
    assert "DIC review" in report.status_reason[1]
    assert _value(corrected, "so-a", "F04").value == 38.0
    assert report.source.tolist() == ["on-site survey", "agency reply", "agency reply", "DIC review"]


def test_rejected_lines_name_the_line_and_the_reason(rubric):
    values = long_values(rubric, {})
    corr = corrections(("so-a", "F12", "40", "85%"), ("so-a", "F02", "40", "38"), line=["5", "9"])
    _, report = apply_corrections(values, corr, rubric, AGENCIES)
    lines = rejected_lines(report)
    assert len(lines) == 1
    assert lines[0].startswith("corrections.csv dòng 5 (K001, so-a F12): Giá trị mới “85%”")


@pytest.fixture(scope="module")
def context():
    return make_context()


def _wide(v):
    return v.pivot(index="agency_id", columns="field", values="value").astype(float)


def _row(issues, agency_id, check_id, rnd):
    found = issues[(issues.agency_id == agency_id) & (issues.check_id == check_id) & (issues["round"] == rnd)]
    return found.iloc[0] if len(found) else None


def test_round_two_resolves_and_keeps(rubric, context):
    values = long_values(
        rubric,
        {"so-a": {"F02": 60.0}, "so-b": {"F12": 70.0, "F41": 80.0}, "huyen-c": {"X02": 120.0}},
    )
    round1 = validate_values(rubric, _wide(values), AGENCIES, round=1, context=context)
    assert set(zip(round1.agency_id, round1.check_id)) >= {
        ("so-a", "L03"), ("so-a", "L04"), ("so-b", "L10"), ("so-b", "L22"), ("huyen-c", "L23"),
    }  # fmt: skip
    corr = corrections(
        ("so-a", "F02", "60", "45", "Nhầm", "L03", "Trần B", "2017-11-12"),  # fixes L03 and L04
        ("so-b", "F12", "70", "50", "Nhầm", "L10", "Lê C", "2017-11-12"),  # fixes L10, L22 remains
        ("huyen-c", "X02", "100", "90", "", "L23", "", ""),  # wrong old value: rejected, L23 remains
    )
    corrected, report = apply_corrections(values, corr, rubric, AGENCIES)
    round2 = validate_values(rubric, _wide(corrected), AGENCIES, round=2, context=context)
    issues = resolve_rounds(round1, round2, report)
    assert _row(issues, "so-a", "L03", 1).resolved_by == "K001"
    assert _row(issues, "so-a", "L04", 1).resolved_by == "K001"
    assert _row(issues, "so-a", "L03", 2) is None
    assert _row(issues, "so-b", "L10", 1).resolved_by == "K002"
    assert _row(issues, "so-b", "L22", 1).resolved_by == "" and _row(issues, "so-b", "L22", 2) is not None
    assert _row(issues, "huyen-c", "L23", 1).resolved_by == "" and _row(issues, "huyen-c", "L23", 2) is not None
    assert issues[["agency_id", "check_id", "round"]].equals(
        issues.sort_values(["agency_id", "check_id", "round"])[["agency_id", "check_id", "round"]]
    )
    blocked = blocked_fields(issues, rubric)
    assert blocked == {("huyen-c", "X02"), ("huyen-c", "X01")}  # L22 is only a warning; so-a, so-b fixed
    assert blocked_fields(round1, rubric, final_round=1) >= {("so-a", "F02"), ("so-a", "F01")}  # no round 2 run


def test_a_confirmation_settles_a_warning_and_an_error_waits_for_the_dic(rubric, context):
    """so-a's F02 > F03 (L04, W) is explained: resolved in both rounds. so-b's F12 > F01 (L10, E) is
    confirmed by the agency: still open, blocked, waiting for the DIC; huyen-c's X02 > X01 (L23, E) was
    confirmed by the DIC's review: resolved, no longer blocked."""
    values = long_values(rubric, {"so-a": {"F03": 35.0}, "so-b": {"F12": 70.0}, "huyen-c": {"X02": 120.0}})
    round1 = validate_values(rubric, _wide(values), AGENCIES, round=1, context=context)
    corr = corrections(
        ("so-a", "F02", "40", "40", "5 máy dùng chung cho 2 người", "L04", "Trần B", "2017-11-12"),
        ("so-b", "F12", "70", "70", "có cả hợp đồng", "L10", "Lê C", "12/11/2017"),
        ("huyen-c", "X02", "120", "120", "đã kiểm tra tại chỗ", "L23", "Đoàn kiểm tra", "2017-11-20"),
        source=["agency reply", "agency reply", "on-site survey"], document=["", "", "BB 3/2017"],
    )
    corrected, report = apply_corrections(values, corr, rubric, AGENCIES)
    assert report.status.tolist() == ["confirmed"] * 3
    round2 = validate_values(rubric, _wide(corrected), AGENCIES, round=2, context=context)
    issues = resolve_rounds(round1, round2, report)
    assert (_row(issues, "so-a", "L04", 1).resolved_by, _row(issues, "so-a", "L04", 2).resolved_by) == ("K001", "K001")
    assert (_row(issues, "so-b", "L10", 1).resolved_by, _row(issues, "so-b", "L10", 2).resolved_by) == ("", "")
    assert _row(issues, "huyen-c", "L23", 2).resolved_by == "K003"
    assert awaiting_decision(issues, report) == {("so-b", "L10", 1): "K002", ("so-b", "L10", 2): "K002"}
    blocked = blocked_fields(issues, rubric)
    assert ("so-b", "F12") in blocked and not any(a == "huyen-c" for a, _ in blocked)


def test_intake_problems_are_resolved_by_a_correction_of_their_value(rubric):
    """I01 (unreadable) on F12 and F19 are answered by K001 and K002; an I03 warning by a confirmation;
    a problem with the whole file stays as it is; a rejected correction resolves nothing."""
    empty = pd.DataFrame(columns=["agency_id", "check_id", "severity", "fields", "values", "message_vi", "round", "resolved_by"])
    intake = pd.DataFrame(
        [("so-a", "I01", "E", "F12", "F12=85%", "…", 1, ""), ("so-a", "I01", "E", "F19", "F19=2018-10-15", "…", 1, ""),
         ("so-a", "I03", "W", "F05", "F05=20", "…", 1, ""), ("so-a", "I04", "W", "", "", "…", 1, ""),
         ("so-b", "I01", "E", "F12", "F12=abc", "…", 1, "")],
        columns=empty.columns,
    )  # fmt: skip
    report = pd.DataFrame(
        [("K001", "so-a", "F12", "applied", ""), ("K002", "so-a", "F19", "applied", ""),
         ("K003", "so-a", "F05", "confirmed", "agency reply"), ("K004", "so-b", "F12", "rejected", "")],
        columns=["correction_id", "agency_id", "field", "status", "source"],
    ).assign(check_id="")  # fmt: skip
    issues = resolve_issues(empty, empty, report, intake)
    assert issues.set_index(["agency_id", "check_id", "fields"])["resolved_by"].to_dict() == {
        ("so-a", "I01", "F12"): "K001", ("so-a", "I01", "F19"): "K002", ("so-a", "I03", "F05"): "K003",
        ("so-a", "I04", ""): "", ("so-b", "I01", "F12"): "",
    }  # fmt: skip

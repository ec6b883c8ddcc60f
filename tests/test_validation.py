"""Validation's machinery: the frames, the committed suites, GX results, issues.csv.

What each logic check finds, passing and failing, is in tests/scenarios/checks/*.yaml
(tests/test_check_scenarios.py); here the parts around it. A case is the plausible agency of
tests/plausible.py with a few values changed.
"""

import json
import math

import pandas as pd
import pytest

from ictaudit.rules.checks import FIELD_ROW_COLUMNS, shipped_checks
from ictaudit.validate.frames import derive_columns, field_rows
from ictaudit.validate.gx import make_context, validate_values
from ictaudit.validate.issues import ISSUE_COLUMNS, write_issues_csv
from ictaudit.validate.suites import ValidationSetupError, build_suite, suite_json, suite_path

from .plausible import plausible_values

NAN = math.nan
CHECKS = shipped_checks()


def _frames(rubric, cases):
    """(values, last year's values, roster) of cases ``(id, group, changed values, last year's or None)``."""
    rows, prev_rows, groups = {}, {}, {}
    for case_id, group, changed, previous in cases:
        form = rubric.form_of(group)
        rows[case_id] = plausible_values(rubric, form) | changed
        if previous is not None:
            prev_rows[case_id] = plausible_values(rubric, form) | previous
        groups[case_id] = group
    wide = pd.DataFrame.from_dict(rows, orient="index").astype(float).rename_axis("agency_id")
    prev = pd.DataFrame.from_dict(prev_rows, orient="index").astype(float).rename_axis("agency_id")
    agencies = pd.DataFrame(
        {"agency_id": list(groups), "agency_name": list(groups), "group": list(groups.values()), "status": "ranked",
         "status_reason": ""}
    )  # fmt: skip
    return wide, prev, agencies


@pytest.fixture(scope="module")
def context():
    return make_context()


def test_a_suite_with_field_rules_needs_the_fields_frame(rubric, context):
    from ictaudit.validate.gx import run_suite

    wide, _prev, _agencies = _frames(rubric, [("x", "so_ban_nganh", {}, None)])
    agencies_frame = derive_columns(wide, rubric.fields_for_form("PL1"), CHECKS).reset_index()
    with pytest.raises(ValidationSetupError, match="'fields' frame"):
        run_suite(context, build_suite(rubric, "PL1"), {"agencies": agencies_frame}, "no_fields")


def test_agencies_without_values_are_not_validated(rubric, context):
    wide, _prev, agencies = _frames(rubric, [("empty", "so_ban_nganh", {}, None)])
    wide.loc[:, :] = NAN
    assert validate_values(rubric, wide, agencies, context=context).empty


def test_committed_suites_equal_the_builder(rubric):
    for form in rubric.forms:
        committed = json.loads(suite_path(form.id).read_text(encoding="utf-8"))
        assert committed == suite_json(build_suite(rubric, form.id)), (
            f"expectations/{form.id}.json is stale: run `python -m ictaudit.validate.suites` and commit"
        )
        assert committed["meta"]["rubric_id"] == rubric.id
        assert committed["meta"]["rubric_version"] == rubric.version
        assert committed["meta"]["template_version"]
        assert committed["meta"]["checks_version"] == CHECKS.version
        assert committed["meta"]["parameters"] == CHECKS.parameter_values
        assert committed["meta"]["derived"] == CHECKS.derived
        assert committed["meta"]["not_in_suite"] == {"L26": CHECKS.outside_the_suites[0].note_vi}
        for e in committed["expectations"]:
            assert {"check_id", "severity", "message_vi", "fields"} <= set(e["meta"]), e
            assert e["description"]


def test_derive_columns_keeps_blanks_blank(rubric):
    specs = rubric.fields_for_form("PL1")
    wide = pd.DataFrame([{"F29": 1.0, "F30": NAN, "F01": 0.0, "F05": 3.0}], index=["a"])
    derived = derive_columns(wide, specs, CHECKS)
    assert math.isnan(derived.at["a", "F29_F30"])
    assert math.isnan(derived.at["a", "F05_per_F01"])  # F01 = 0 is L02's business, not a division by zero
    assert "F05" in wide and "F29_F30" not in wide  # the input is not modified


def test_field_rows_put_each_value_in_the_column_of_its_type(rubric):
    specs = [s for s in rubric.fields_for_form("PL1") if s.code in ("F01", "F05", "F06", "F18")]
    assert [(s.code, s.type) for s in specs] == [("F01", "count"), ("F05", "decimal"), ("F06", "yesno"), ("F18", "count")]
    wide = pd.DataFrame(
        [{"F01": 50.5, "F05": -2.0, "F06": 2.0, "F18": NAN}, {"F01": 40.0, "F05": 0.5, "F06": 1.0, "F18": 3.0}],
        index=pd.Index(["a", "b"], name="agency_id"),
    )
    rows = field_rows(wide, specs, CHECKS)
    assert rows.index.tolist() == ["a"] * 4 + ["b"] * 4  # agencies in order, each agency's fields in form order
    assert rows.field.tolist() == ["F01", "F05", "F06", "F18"] * 2
    a = rows.loc["a"].set_index("field")
    assert a.at["F01", "count"] == 50.5 and a.at["F01", "count_fraction"] == 0.5
    assert math.isnan(a.at["F01", "decimal"]) and math.isnan(a.at["F01", "yesno"])
    assert a.at["F05", "decimal"] == -2.0 and math.isnan(a.at["F05", "count"])
    assert a.at["F06", "yesno"] == 2.0 and math.isnan(a.at["F06", "count"])
    assert math.isnan(a.at["F18", "value"]) and math.isnan(a.at["F18", "count"])  # a blank stays blank
    assert math.isnan(a.at["F18", "count_fraction"])
    required = {s.code: int(s.required) for s in specs}
    assert a["required"].to_dict() == required
    assert rows["yoy_ratio"].isna().all()  # no last year, no ratio
    assert list(rows.columns) == FIELD_ROW_COLUMNS
    assert "F18" in wide and "field" not in wide  # the input is not modified


def test_field_rows_year_over_year_ratio(rubric):
    specs = [s for s in rubric.fields_for_form("PL1") if s.code in ("F05", "F18")]
    index = pd.Index(["small", "fell", "grew", "from0", "blank", "big"], name="agency_id")
    now = pd.DataFrame({"F18": [2.0, 4.0, 40.0, 20.0, NAN, 10.0], "F05": [1.0] * 6}, index=index)
    last = pd.DataFrame({"F18": [9.0, 10.0, 10.0, 0.0, 10.0, 10.0], "F05": [100.0] * 6}, index=index)
    rows = field_rows(now, specs, CHECKS, last)
    ratio = rows[rows.field == "F18"]["yoy_ratio"]
    assert math.isnan(ratio["small"])  # 2 against 9: both below YOY_MIN_BASE
    assert ratio["fell"] == 0.4 and ratio["grew"] == 4.0 and ratio["big"] == 1.0
    assert math.isnan(ratio["from0"])  # growth from nothing has no ratio
    assert math.isnan(ratio["blank"])
    assert rows[rows.field == "F05"]["yoy_ratio"].isna().all()  # L24 is about counts only


def test_field_rows_match_last_year_by_agency_and_field(rubric):
    specs = [s for s in rubric.fields_for_form("PL1") if s.code in ("F06", "F18", "F19")]
    now = pd.DataFrame({"F18": [20.0, 20.0, 20.0], "F19": [20.0] * 3, "F06": [1.0] * 3},
                       index=pd.Index(["a", "b", "c"], name="agency_id"))
    # other order, an agency not in this year, "c" missing, F19 missing, text in a yes/no column
    last = pd.DataFrame({"F06": ["Có", "Có", "Có"], "F18": [40.0, 10.0, 5.0]},
                        index=pd.Index(["b", "gone", "a"], name="agency_id"))
    rows = field_rows(now, specs, CHECKS, last).reset_index()
    ratio = rows.set_index(["agency_id", "field"])["yoy_ratio"]
    assert ratio["a", "F18"] == 4.0 and ratio["b", "F18"] == 0.5
    assert math.isnan(ratio["c", "F18"])  # no last year for c
    assert math.isnan(ratio["a", "F19"]) and math.isnan(ratio["b", "F19"])  # no F19 last year


def test_docs_results_and_issues_csv(rubric, context, tmp_path):
    wide, _prev, agencies = _frames(rubric, [("x", "so_ban_nganh", {"F02": 51}, None)])
    docs = tmp_path / "validation"
    issues = validate_values(rubric, wide, agencies, round=1, docs_dir=docs, context=context)
    assert (docs / "data-docs" / "index.html").exists()  # GX's Data Docs, the appendix (validation/index.html is the report's)
    results = json.loads((docs / "results_PL1_round1.json").read_text(encoding="utf-8"))
    assert results["success"] is False
    # one result per expectation of the committed suite, in its order, though GX ran two frames
    committed = json.loads(suite_path("PL1").read_text(encoding="utf-8"))["expectations"]
    assert [r["expectation_config"]["meta"] for r in results["results"]] == [e["meta"] for e in committed]
    assert results["statistics"]["evaluated_expectations"] == len(committed)
    failed = [r["expectation_config"]["meta"]["check_id"] for r in results["results"] if not r["success"]]
    assert failed == ["L03", "L04"]  # F02 = 51 exceeds F01 = 50 and F03 = 45
    assert results["statistics"]["unsuccessful_expectations"] == 2
    assert {p: v["expectations"] for p, v in results["meta"]["parts"].items()} == {
        "agencies": sum(e["meta"].get("frame") != "fields" for e in committed),
        "fields": sum(e["meta"].get("frame") == "fields" for e in committed),
    }
    l01 = next(r for r in results["results"] if r["expectation_config"]["kwargs"]["column"] == "count_fraction")
    assert l01["result"]["unexpected_index_column_names"] == ["agency_id", "field"]
    assert l01["result"]["element_count"] == len(rubric.fields_for_form("PL1"))  # one row per field of the agency
    path = write_issues_csv(issues, tmp_path / "issues.csv")
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    back = pd.read_csv(path, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert list(back.columns) == ISSUE_COLUMNS
    assert back.check_id.tolist() == sorted(back.check_id)
    write_issues_csv(issues.iloc[::-1], tmp_path / "again.csv")
    assert (tmp_path / "again.csv").read_bytes() == raw


def test_a_stale_committed_suite_stops_the_run(rubric, tmp_path):
    from ictaudit.validate.suites import check_committed_suite

    suite = build_suite(rubric, "PL1")
    stale = suite_json(suite)
    stale["expectations"] = stale["expectations"][:-1]
    (tmp_path / "PL1.json").write_text(json.dumps(stale), encoding="utf-8")
    with pytest.raises(ValidationSetupError, match=r"out of date.*`python -m ictaudit\.validate\.suites`"):
        check_committed_suite(rubric, "PL1", suite, tmp_path)
    other_arithmetic = suite_json(suite)  # the same expectations, but F29_F30 computed otherwise
    other_arithmetic["meta"]["derived"] = other_arithmetic["meta"]["derived"] | {"F29_F30": "F29 + F30 + F28"}
    (tmp_path / "PL1.json").write_text(json.dumps(other_arithmetic), encoding="utf-8")
    with pytest.raises(ValidationSetupError, match="out of date"):
        check_committed_suite(rubric, "PL1", suite, tmp_path)
    meta_only = suite_json(suite)
    meta_only["meta"]["rubric_version"] = "0.9.0"
    (tmp_path / "PL1.json").write_text(json.dumps(meta_only), encoding="utf-8")
    with pytest.warns(UserWarning, match="rubric_version"):
        check_committed_suite(rubric, "PL1", suite, tmp_path)


def test_issues_csv_guards_formula_text_and_keeps_line_breaks_in_their_cell(tmp_path):
    from ictaudit.run.pipeline import read_issues

    row = {"agency_id": "x", "check_id": "I05", "severity": "E", "fields": "F03",
           "values": "=HYPERLINK(\"http://x\")", "message_vi": "ô C12: '1\r2'", "round": 1, "resolved_by": ""}  # fmt: skip
    path = write_issues_csv(pd.DataFrame([row]), tmp_path / "issues.csv")
    assert b"'=HYPERLINK" in path.read_bytes()  # a spreadsheet shows it as text, never runs it
    back = read_issues(path)
    assert len(back) == 1 and back.loc[0, "values"] == row["values"] and back.loc[0, "message_vi"] == row["message_vi"]


def test_gx_is_given_the_columns_its_expectations_read(rubric):
    from ictaudit.validate.gx import _columns_read

    by_check = {}
    for e in build_suite(rubric, "PL1").expectations:
        by_check.setdefault(e.meta["check_id"], []).append(_columns_read(e))
    assert by_check["L09"] == [{"F06", "F07"}]  # the column and the column of the row condition
    assert {"F29_F30", "F33"} in by_check["L15"]  # a pair: both columns, derived ones by their own name
    assert {"value", "required"} in by_check["L25"]  # on the fields frame
    import great_expectations.expectations as gxe

    # what cannot be told sees the whole frame: a table-level expectation, a column list
    assert _columns_read(gxe.ExpectTableRowCountToBeBetween(min_value=1)) is None
    assert _columns_read(gxe.ExpectCompoundColumnsToBeUnique(column_list=["a", "b"])) is None

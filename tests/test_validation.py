"""Every logic check of DOMAIN.md §5, passing and failing, through the real GX suites.

All cases are rows of one wide frame per form, validated once (module fixture): the same single
validation per form that a run does. Each case is one agency: a plausible agency with a few values
changed. A case says whether its check must appear for that agency.
"""

import json
import math

import pandas as pd
import pytest

from ictaudit.rules.checks import (
    _WEB_ITEMS,
    FIELD_ROW_COLUMNS,
    build_suite,
    derive_columns,
    field_rows,
    plausible_values,
    rules_for_form,
    suite_json,
    suite_path,
)
from ictaudit.validate.gx import ISSUE_COLUMNS, make_context, validate_values, write_issues_csv

NAN = math.nan
WEB_ITEMS = _WEB_ITEMS  # every F21*, F22* item: what L20 checks when there is no website
NO_WEB = dict.fromkeys(WEB_ITEMS, 0)

# case id, check, group, changed values, last year's values (L24) or None, check expected?
CASES = [
    ("l01-count-ok", "L01", "so_ban_nganh", {"F18": 0}, None, False),
    ("l01-count-negative", "L01", "so_ban_nganh", {"F18": -1}, None, True),
    ("l01-count-decimal", "L01", "so_ban_nganh", {"F11": 2.5}, None, True),
    ("l01-decimal-ok", "L01", "so_ban_nganh", {"F05": 0.5, "F44": 0}, None, False),
    ("l01-decimal-negative", "L01", "so_ban_nganh", {"F44": -3}, None, True),
    ("l01-yesno-bad", "L01", "so_ban_nganh", {"F06": 2}, None, True),
    ("l02-ok", "L02", "so_ban_nganh", {"F01": 1}, None, False),
    ("l02-zero", "L02", "so_ban_nganh", {"F01": 0}, None, True),
    ("l03-equal", "L03", "so_ban_nganh", {"F02": 50}, None, False),
    ("l03-more", "L03", "so_ban_nganh", {"F02": 51}, None, True),
    ("l04-equal", "L04", "so_ban_nganh", {"F02": 45}, None, False),
    ("l04-more", "L04", "so_ban_nganh", {"F02": 46}, None, True),
    ("l05-equal", "L05", "so_ban_nganh", {"F04": 45, "F08": 45}, None, False),
    ("l05-f04", "L05", "so_ban_nganh", {"F04": 46}, None, True),
    ("l05-f08", "L05", "so_ban_nganh", {"F08": 46}, None, True),
    ("l06-3x", "L06", "so_ban_nganh", {"F03": 150}, None, False),
    ("l06-over-3x", "L06", "so_ban_nganh", {"F03": 151}, None, True),
    ("l07-none", "L07", "so_ban_nganh", {"F04": 0, "F05": 0}, None, False),
    ("l07-no-computer", "L07", "so_ban_nganh", {"F04": 0}, None, True),
    ("l07-no-bandwidth", "L07", "so_ban_nganh", {"F05": 0}, None, True),
    ("l08-low-edge", "L08", "so_ban_nganh", {"F05": 2.5}, None, False),
    ("l08-too-low", "L08", "so_ban_nganh", {"F05": 2.4}, None, True),
    ("l08-too-high", "L08", "so_ban_nganh", {"F05": 5001}, None, True),
    ("l09-neither", "L09", "so_ban_nganh", {"F06": 0, "F07": 0}, None, False),
    ("l09-wan-no-lan", "L09", "so_ban_nganh", {"F06": 0, "F07": 1}, None, True),
    ("l10-equal", "L10", "so_ban_nganh", {"F12": 50}, None, False),
    ("l10-more", "L10", "so_ban_nganh", {"F12": 51}, None, True),
    ("l11-equal", "L11", "so_ban_nganh", {"F15": 100, "F17": 100}, None, False),
    ("l11-f15", "L11", "so_ban_nganh", {"F15": 101}, None, True),
    ("l11-f17", "L11", "so_ban_nganh", {"F17": 81}, None, True),
    ("l12-half", "L12", "so_ban_nganh", {"F13": 0, "F15": 50}, None, False),
    ("l12-most-without-software", "L12", "so_ban_nganh", {"F13": 0, "F15": 51}, None, True),
    ("l13-none-signed", "L13", "so_ban_nganh", {"F16": 0, "F17": 0}, None, False),
    ("l13-signed-without-cert", "L13", "so_ban_nganh", {"F16": 0}, None, True),
    ("l14-equal", "L14", "so_ban_nganh", {"F28": 35}, None, False),
    ("l14-more", "L14", "so_ban_nganh", {"F28": 36}, None, True),
    ("l15-equal", "L15", "so_ban_nganh", {"F33": 15}, None, False),
    ("l15-more", "L15", "so_ban_nganh", {"F33": 16}, None, True),
    ("l16-equal", "L16", "so_ban_nganh", {"F32": 50, "F31": 100}, None, False),
    ("l16-f32", "L16", "so_ban_nganh", {"F32": 51}, None, True),
    ("l16-f31", "L16", "so_ban_nganh", {"F31": 101}, None, True),
    ("l17-no-services-no-dossiers", "L17", "so_ban_nganh", {"F29": 0, "F30": 0, "F32": 0, "F33": 0}, None, False),
    ("l17-dossiers-without-services", "L17", "so_ban_nganh", {"F29": 0, "F30": 0, "F33": 0}, None, True),
    ("l18-none", "L18", "so_ban_nganh", {"F32": 0, "F33": 0}, None, False),
    ("l18-dossiers-no-service", "L18", "so_ban_nganh", {"F33": 0}, None, True),
    ("l18-services-over-dossiers", "L18", "so_ban_nganh", {"F32": 4}, None, True),
    ("l19-no-software-no-dossiers", "L19", "so_ban_nganh", {"F24": 0, "F26": 0}, None, False),
    ("l19-more", "L19", "so_ban_nganh", {"F26": 101}, None, True),
    ("l19-no-software", "L19", "so_ban_nganh", {"F24": 0}, None, True),
    ("l20-no-site-nothing", "L20", "so_ban_nganh", {"F20": 0, **NO_WEB, "F23": 0}, None, False),
    ("l20-no-site-item", "L20", "so_ban_nganh", {"F20": 0, **NO_WEB, "F21k": 1, "F23": 0}, None, True),
    ("l20-no-site-posts", "L20", "so_ban_nganh", {"F20": 0, **NO_WEB, "F23": 5}, None, True),
    ("l21-equal", "L21", "so_ban_nganh", {"F39": 50, "F40": 50}, None, False),
    ("l21-f39", "L21", "so_ban_nganh", {"F39": 51}, None, True),
    ("l21-f40", "L21", "so_ban_nganh", {"F40": 3}, None, True),
    ("l22-equal", "L22", "so_ban_nganh", {"F41": 50}, None, False),
    ("l22-more", "L22", "so_ban_nganh", {"F41": 51}, None, True),
    (
        "l23-equal",
        "L23",
        "ubnd_huyen",
        {"X02": 100, "X05": 100, "X04": 10, "X06": 10, "X07": 10, "X08": 10},
        None,
        False,
    ),
    ("l23-x02", "L23", "ubnd_huyen", {"X02": 101}, None, True),
    ("l23-x05", "L23", "ubnd_huyen", {"X05": 101}, None, True),
    ("l23-x04", "L23", "ubnd_huyen", {"X04": 11}, None, True),
    ("l23-x06", "L23", "ubnd_huyen", {"X06": 11}, None, True),
    ("l23-x07", "L23", "ubnd_huyen", {"X07": 11}, None, True),
    ("l23-x08", "L23", "ubnd_huyen", {"X08": 11}, None, True),
    ("l23-x00", "L23", "ubnd_huyen", {"X00": 0}, None, True),
    ("l24-half-and-triple", "L24", "so_ban_nganh", {"F18": 5, "F01": 150}, {"F18": 10, "F01": 50}, False),
    ("l24-fell", "L24", "so_ban_nganh", {"F18": 3}, {"F18": 10}, True),
    ("l24-grew", "L24", "so_ban_nganh", {"F01": 50, "F02": 40}, {"F01": 16, "F02": 40}, True),
    ("l24-new-agency", "L24", "so_ban_nganh", {}, None, False),
    ("l24-small-counts", "L24", "so_ban_nganh", {"F11": 0, "F19": 9}, {"F11": 2, "F19": 1}, False),
    ("l24-fell-to-zero", "L24", "so_ban_nganh", {"F23": 0}, {"F23": 100}, True),
    ("l25-optional-blank", "L25", "so_ban_nganh", {"F11": NAN}, None, False),
    ("l25-blank", "L25", "so_ban_nganh", {"F05": NAN}, None, True),
    ("l25-blank-pl2", "L25", "ubnd_huyen", {"X03": NAN}, None, True),
]


def _frames(rubric, cases):
    rows, prev_rows, groups = {}, {}, {}
    for case_id, _check, group, changed, previous, _fails in cases:
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


@pytest.fixture(scope="module")
def case_issues(rubric, context):
    baseline = [
        ("baseline-pl1", "", "so_ban_nganh", {}, None, False),
        ("baseline-pl2", "", "ubnd_huyen", {}, None, False),
    ]
    wide, prev, agencies = _frames(rubric, CASES + baseline)
    return validate_values(rubric, wide, agencies, previous_wide=prev, round=1, context=context)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_check(case, case_issues):
    case_id, check_id, _group, _changed, _previous, fails = case
    found = case_issues[(case_issues.agency_id == case_id) & (case_issues.check_id == check_id)]
    assert len(found) == (1 if fails else 0), case_issues[case_issues.agency_id == case_id].to_string()


def test_plausible_agencies_pass_every_check(case_issues):
    assert case_issues[case_issues.agency_id.str.startswith("baseline")].empty


def test_every_check_of_the_domain_is_exercised(rubric):
    covered = {c[1] for c in CASES}
    in_suites = {r.check_id for form in ("PL1", "PL2") for r in rules_for_form(rubric, form)}
    assert in_suites == {f"L{i:02d}" for i in range(1, 26)}
    assert covered == in_suites
    for check_id in in_suites:
        assert any(c[1] == check_id and c[5] for c in CASES), check_id
        assert any(c[1] == check_id and not c[5] for c in CASES), check_id


def test_issue_rows_name_fields_values_and_message(case_issues):
    row = case_issues[(case_issues.agency_id == "l03-more") & (case_issues.check_id == "L03")].iloc[0]
    assert row.severity == "E"
    assert row.fields == "F02;F01"
    assert row["values"] == "F02=51; F01=50"
    assert "(F02)" in row.message_vi and "(F01)" in row.message_vi
    assert row["round"] == 1 and row.resolved_by == ""
    assert list(case_issues.columns) == ISSUE_COLUMNS


def test_two_sub_rules_of_one_check_make_one_row(rubric, context):
    wide, _prev, agencies = _frames(rubric, [("both", "L05", "so_ban_nganh", {"F04": 46, "F08": 47}, None, True)])
    issues = validate_values(rubric, wide, agencies, context=context)
    row = issues[issues.check_id == "L05"]
    assert len(row) == 1
    assert row.iloc[0].fields == "F04;F03;F08"
    assert row.iloc[0]["values"] == "F04=46; F03=45; F08=47"


def test_per_field_failures_keep_the_order_of_the_form(rubric, context):
    # F02 fails the whole-number rule and F11 the not-negative one: two expectations on the fields
    # frame, each checking every count. The issue lists the fields in form order (F02 before F11),
    # as when each field had its own expectations, and each field's message once.
    # F02 = -2.5 fails both (F02's two sub-rules share one message, said once).
    wide, _prev, agencies = _frames(rubric, [("mixed", "L01", "so_ban_nganh", {"F11": -1, "F02": -2.5}, None, True)])
    issues = validate_values(rubric, wide, agencies, context=context)
    row = issues[issues.check_id == "L01"].iloc[0]
    assert row.fields == "F02;F11"
    assert row["values"] == "F02=-2.5; F11=-1"
    assert row.message_vi.index("(F02)") < row.message_vi.index("(F11)")
    assert row.message_vi.count("(F02)") == 1


@pytest.mark.parametrize(
    ("group", "changed", "check_id", "fields"),
    [
        # L19: F26 ≤ F25, then F26 = 0 when there is no one-stop software (F24 = 0)
        ("so_ban_nganh", {"F24": 0, "F26": 1e6}, "L19", "F26;F25;F24"),
        # L23: X04 … X08 ≤ X00, then X00 > 0
        ("ubnd_huyen", {"X00": 0, "X04": 11}, "L23", "X04;X00;X06;X07;X08"),
    ],
)
def test_sub_rules_of_a_check_are_listed_in_rule_table_order(rubric, context, group, changed, check_id, fields):
    # GX returns row-conditioned expectations last; issues follow the rule table, not GX's order
    wide, _prev, agencies = _frames(rubric, [("x", check_id, group, changed, None, True)])
    issues = validate_values(rubric, wide, agencies, context=context)
    assert issues[issues.check_id == check_id].iloc[0].fields == fields


def test_a_suite_with_field_rules_needs_the_fields_frame(rubric, context):
    from ictaudit.validate.gx import ValidationSetupError, run_suite

    wide, _prev, _agencies = _frames(rubric, [("x", "", "so_ban_nganh", {}, None, False)])
    agencies_frame = derive_columns(wide, rubric.fields_for_form("PL1")).reset_index()
    with pytest.raises(ValidationSetupError, match="'fields' frame"):
        run_suite(context, build_suite(rubric, "PL1"), {"agencies": agencies_frame}, "no_fields")


def test_yes_no_values_and_last_year_are_shown(case_issues):
    l09 = case_issues[(case_issues.agency_id == "l09-wan-no-lan") & (case_issues.check_id == "L09")].iloc[0]
    assert l09["values"] == "F07=Có; F06=Không"
    assert l09.severity == "W"
    l24 = case_issues[(case_issues.agency_id == "l24-fell") & (case_issues.check_id == "L24")].iloc[0]
    assert l24["values"] == "F18=3 (năm trước: 10)"


def test_a_blank_fails_only_l25(rubric, context):
    wide, _prev, agencies = _frames(rubric, [("blank", "L25", "so_ban_nganh", {"F02": NAN, "F29": NAN}, None, True)])
    issues = validate_values(rubric, wide, agencies, context=context)
    assert issues.check_id.tolist() == ["L25"]
    assert issues.iloc[0].fields == "F02;F29"
    assert issues.iloc[0]["values"] == "F02=trống; F29=trống"


def test_agencies_without_values_are_not_validated(rubric, context):
    wide, _prev, agencies = _frames(rubric, [("empty", "L25", "so_ban_nganh", {}, None, False)])
    wide.loc[:, :] = NAN
    assert validate_values(rubric, wide, agencies, context=context).empty


def test_committed_suites_equal_the_builder(rubric):
    for form in rubric.forms:
        committed = json.loads(suite_path(form.id).read_text(encoding="utf-8"))
        assert committed == suite_json(build_suite(rubric, form.id)), (
            f"expectations/{form.id}.json is stale: run `python -m ictaudit.rules.checks` and commit"
        )
        assert committed["meta"]["rubric_id"] == rubric.id
        assert committed["meta"]["rubric_version"] == rubric.version
        assert committed["meta"]["template_version"]
        for e in committed["expectations"]:
            assert {"check_id", "severity", "message_vi", "fields"} <= set(e["meta"]), e
            assert e["description"]


def test_derive_columns_keeps_blanks_blank(rubric):
    specs = rubric.fields_for_form("PL1")
    wide = pd.DataFrame([{"F29": 1.0, "F30": NAN, "F01": 0.0, "F05": 3.0}], index=["a"])
    derived = derive_columns(wide, specs)
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
    rows = field_rows(wide, specs)
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
    rows = field_rows(now, specs, last)
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
    rows = field_rows(now, specs, last).reset_index()
    ratio = rows.set_index(["agency_id", "field"])["yoy_ratio"]
    assert ratio["a", "F18"] == 4.0 and ratio["b", "F18"] == 0.5
    assert math.isnan(ratio["c", "F18"])  # no last year for c
    assert math.isnan(ratio["a", "F19"]) and math.isnan(ratio["b", "F19"])  # no F19 last year


def test_docs_results_and_issues_csv(rubric, context, tmp_path):
    wide, _prev, agencies = _frames(rubric, [("x", "L03", "so_ban_nganh", {"F02": 51}, None, True)])
    docs = tmp_path / "validation"
    issues = validate_values(rubric, wide, agencies, round=1, docs_dir=docs, context=context)
    assert (docs / "index.html").exists()
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


def test_a_stale_committed_suite_stops_the_run(rubric, monkeypatch, tmp_path):
    from ictaudit.validate import gx as validation

    suite = build_suite(rubric, "PL1")
    stale = suite_json(suite)
    stale["expectations"] = stale["expectations"][:-1]
    (tmp_path / "PL1.json").write_text(json.dumps(stale), encoding="utf-8")
    monkeypatch.setattr(validation, "suite_path", lambda form_id: tmp_path / f"{form_id}.json")
    with pytest.raises(validation.ValidationSetupError, match=r"python -m ictaudit\.rules\.checks"):
        validation.check_committed_suite(rubric, "PL1", suite)
    meta_only = suite_json(suite)
    meta_only["meta"]["rubric_version"] = "0.9.0"
    (tmp_path / "PL1.json").write_text(json.dumps(meta_only), encoding="utf-8")
    with pytest.warns(UserWarning, match="rubric_version"):
        validation.check_committed_suite(rubric, "PL1", suite)


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

"""The logic checks as an auditor reads them: tests/scenarios/checks/*.yaml, inputs → every expected issue.

All agencies of all files are rows of one wide frame per form, validated once (module fixture) by
the real validation: the Great Expectations suites of the shipped check table, as a run does. Each
agency must get exactly the issues its file lists (check, severity, fields and values shown, and
the message where the file gives it), and no other.
"""

import pandas as pd
import pytest
import yaml

from ictaudit.rules.checks import CHECKS_PATH, load_checks
from ictaudit.validate.gx import make_context, validate_values
from ictaudit.validate.issues import ISSUE_COLUMNS
from ictaudit.validate.suites import ValidationSetupError, rules_for_form, write_suites

from .plausible import plausible_values
from .scenarios import CHECK_SCENARIOS, load_check_scenarios


def _cases() -> list[tuple[str, dict]]:
    out = []
    for path in CHECK_SCENARIOS:
        for case in yaml.safe_load(path.read_text(encoding="utf-8"))["agencies"]:
            out.append((f"{path.stem}/{case['id']}", case))
    return out


CASES = _cases()


@pytest.fixture(scope="module")
def context():
    return make_context()


@pytest.fixture(scope="module")
def scenario_issues(context):
    rubric, wide, last_year, agencies, _cases = load_check_scenarios()
    return validate_values(rubric, wide, agencies, previous_wide=last_year, round=1, context=context)


def _found(issues, agency_id: str, with_message: list[bool]) -> list[dict]:
    rows = issues[issues.agency_id == agency_id].to_dict("records")
    out = []
    for row, message in zip(rows, with_message + [False] * len(rows)):
        item = {"check": row["check_id"], "severity": row["severity"], "fields": row["fields"].split(";"),
                "values": row["values"]}  # fmt: skip
        out.append(item | ({"message_vi": row["message_vi"]} if message else {}))
    return out


@pytest.mark.parametrize(("agency_id", "case"), CASES, ids=[a for a, _ in CASES])
def test_scenario_issues(agency_id, case, scenario_issues):
    expected = case["issues"]
    found = _found(scenario_issues, agency_id, ["message_vi" in e for e in expected])
    assert found == expected
    mine = scenario_issues[scenario_issues.agency_id == agency_id]
    assert (mine["round"] == 1).all() and (mine["resolved_by"] == "").all()


def test_issues_have_the_columns_of_issues_csv(scenario_issues):
    assert list(scenario_issues.columns) == ISSUE_COLUMNS
    assert len(scenario_issues) == sum(len(case["issues"]) for _, case in CASES)


def test_every_check_has_a_passing_and_a_failing_case(rubric):
    in_suites = {r.check_id for form in ("PL1", "PL2") for r in rules_for_form(rubric, form)}
    assert in_suites == {f"L{i:02d}" for i in range(1, 26)}
    about = {case["check"] for _, case in CASES if "check" in case}
    assert about == in_suites
    for check_id in sorted(in_suites):
        outcomes = {
            any(i["check"] == check_id for i in case["issues"]) for _, case in CASES if case.get("check") == check_id
        }
        assert outcomes == {True, False}, f"{check_id}: needs a case where it fails and one where it passes"


def test_a_changed_threshold_changes_the_outcome_with_no_python_change(rubric, context, tmp_path):
    """A copy of checks.yaml with two thresholds changed: L06's factor (read by a derived column) from
    3 to 2 and L24's smallest count compared (read by the fields frame) from 10 to 20."""
    text = CHECKS_PATH.read_text(encoding="utf-8")
    changed = text.replace("computers_per_staff_max:\n    value: 3\n", "computers_per_staff_max:\n    value: 2\n")
    changed = changed.replace("yoy_min_base:\n    value: 10\n", "yoy_min_base:\n    value: 20\n")
    assert changed.count("value: 2\n") == text.count("value: 2\n") + 1 and "value: 20\n" in changed
    (tmp_path / "checks.yaml").write_text(changed, encoding="utf-8")
    checks = load_checks(tmp_path / "checks.yaml", rubric)
    # 120 computers for 50 staff (2.4 each); 3 applications against last year's 10
    wide = pd.DataFrame([plausible_values(rubric, "PL1") | {"F03": 120.0, "F18": 3.0}],
                        index=pd.Index(["a"], name="agency_id"))  # fmt: skip
    last_year = pd.DataFrame([plausible_values(rubric, "PL1") | {"F03": 120.0, "F18": 10.0}], index=wide.index)
    agencies = pd.DataFrame([{"agency_id": "a", "agency_name": "a", "group": "so_ban_nganh", "status": "ranked"}])

    shipped = validate_values(rubric, wide, agencies, previous_wide=last_year, context=context)
    assert shipped[["check_id", "values"]].values.tolist() == [["L24", "F18=3 (năm trước: 10)"]]  # 2.4 ≤ 3

    # the committed suites are the shipped table's: the run refuses until they are regenerated
    with pytest.raises(ValidationSetupError, match=r"python -m ictaudit\.validate\.suites"):
        validate_values(rubric, wide, agencies, previous_wide=last_year, context=context, checks=checks)
    write_suites(rubric, tmp_path / "expectations", checks)
    issues = validate_values(rubric, wide, agencies, previous_wide=last_year, context=context, checks=checks,
                             suites_dir=tmp_path / "expectations")  # fmt: skip
    assert issues[["check_id", "values"]].values.tolist() == [["L06", "F03=120; F01=50"]]  # 2.4 > 2; 10 < 20
    assert "lớn hơn 2 lần tổng số CBCCVC" in issues.iloc[0].message_vi

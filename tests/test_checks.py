"""The check table: the shipped one loads and matches docs/domain.md §5; every broken fixture is
refused, naming the offender; its arithmetic and conditions are read safely."""

import math
from pathlib import Path

import pandas as pd
import pytest

from ictaudit.rules.checks import CHECKS_PATH, ChecksError, load_checks, shipped_checks
from ictaudit.rules.expressions import ExpressionError, evaluate, parse_condition, parse_expression

BROKEN = Path(__file__).parent / "fixtures" / "checks"

# fixture                        → words the error must contain (the offender and the rule)
BROKEN_CASES = {
    "duplicate_check_id": ["duplicate check ids: L03"],
    "malformed_check_id": ["check ids must read L and two digits (L01): L-25"],
    "severity_not_e_or_w": ["check L06.severity: Input should be 'E' or 'W'"],
    "unknown_key": ["check L03.rule 1.colour: Extra inputs are not permitted"],
    "unknown_field": ["check L03 rule 1: F99 not on form PL1, PL2 of rubric caobang-2310-2016"],
    "field_not_on_form": ["check L03 rule 1: X02, X01 not on form PL1 of rubric caobang-2310-2016"],
    "form_not_in_rubric": ["check L06: forms PL3 are not forms of rubric caobang-2310-2016"],
    "unknown_derived_column": ["check L06 rule 1: le: unknown derived columns F03_limit"],
    "derived_not_arithmetic": ["derived column F03_max: 'max(F01, F03)': only names, numbers, + − × ÷"],
    "condition_syntax": ["check L03 rule 1: when: condition 'F01 greater than 0' must read 'COLUMN OP AMOUNT'"],
    "two_conditions": ["check L03 rule 1: needs exactly one condition", "has le, ge"],
    "unknown_parameter": ["derived column F03_max: unknown parameters computer_per_staff_max"],
    "unused_parameter": ["parameters used by no rule: bandwidth_per_staff_min"],
    "missing_frame_parameter": ["missing parameters: yoy_min_base"],
    "unknown_placeholder": ["check L06 rule 1: message_vi: unknown placeholders {factor}"],
    "fields_not_what_it_reads": ["check L06 rule 1: fields [F03] are not the fields it reads [F03, F01]"],
    "fields_frame_column_unknown": ["check L25 rule 1: not_blank: 'values' is not a column of the fields frame"],
}


def test_every_broken_fixture_has_a_case():
    assert sorted(p.stem for p in BROKEN.glob("*.yaml") if p.stem != "valid") == sorted(BROKEN_CASES)


def test_the_small_table_itself_is_valid(rubric):
    load_checks(BROKEN / "valid.yaml", rubric)


@pytest.mark.parametrize("name", sorted(BROKEN_CASES))
def test_broken_table_is_refused_naming_the_offender(name, rubric):
    path = BROKEN / f"{name}.yaml"
    with pytest.raises(ChecksError) as info:
        load_checks(path, rubric)
    message = str(info.value)
    assert str(path) in message
    assert len(info.value.problems) == 1, info.value.problems  # the fault, and nothing it drags along
    for words in BROKEN_CASES[name]:
        assert words in message


def test_a_table_that_is_no_mapping_or_no_yaml_is_refused(tmp_path):
    (tmp_path / "list.yaml").write_text("- L01\n", encoding="utf-8")
    with pytest.raises(ChecksError, match="a mapping at the top level"):
        load_checks(tmp_path / "list.yaml")
    (tmp_path / "bad.yaml").write_text("checks: [\n", encoding="utf-8")
    with pytest.raises(ChecksError, match="not valid YAML"):
        load_checks(tmp_path / "bad.yaml")
    with pytest.raises(ChecksError, match="cannot read the file"):
        load_checks(tmp_path / "missing.yaml")


# -- the shipped table -----------------------------------------------------------------------

#: docs/domain.md §5: the checks that only warn (W); every other one is an error (E)
WARNINGS = {"L04", "L06", "L08", "L09", "L12", "L22", "L24"}


def test_shipped_table_matches_the_domain_brief(rubric):
    checks = load_checks(CHECKS_PATH, rubric)
    assert [c.id for c in checks.checks] == [f"L{i:02d}" for i in range(1, 26)]
    assert [c.id for c in checks.outside_the_suites] == ["L26"]
    assert {c.id for c in checks.checks if c.severity == "W"} == WARNINGS
    assert all(c.reference == "docs/domain.md §5" for c in (*checks.checks, *checks.outside_the_suites))
    assert {c.id: c.forms for c in checks.checks if c.forms != ("PL1", "PL2")} == {"L23": ("PL2",)}
    assert shipped_checks() == checks


def test_every_threshold_is_a_named_parameter():
    checks = shipped_checks()
    assert checks.parameter_values == {
        "computers_per_staff_max": 3,  # L06
        "bandwidth_per_staff_min": 0.05,  # L08
        "bandwidth_per_staff_max": 100.0,
        "electronic_share_without_software_max": 0.5,  # L12
        "yoy_max_fall": 0.5,  # L24
        "yoy_max_growth": 3.0,
        "yoy_min_base": 10,
    }
    assert checks.derived == {
        "F03_max": "computers_per_staff_max × F01",
        "F05_per_F01": "F05 ÷ F01",
        "F15_per_F14": "F15 ÷ F14",
        "F29_F30": "F29 + F30",
        "F28_F29_F30": "F28 + F29 + F30",
    }
    (l24,) = next(c for c in checks.checks if c.id == "L24").rules
    assert checks.requirement(l24).amounts == (0.5, 3.0)  # 1 - yoy_max_fall, yoy_max_growth


def test_messages_print_parameters_as_a_vietnamese_reader_writes_them():
    checks = shipped_checks()
    l08 = next(c for c in checks.checks if c.id == "L08").rules[0]
    assert "nằm ngoài khoảng 0,05–100 Mbps/người" in checks.message(l08.message_vi)
    l12 = next(c for c in checks.checks if c.id == "L12").rules[0]
    assert "hơn 50% văn bản đi" in checks.message(l12.message_vi)
    l24 = next(c for c in checks.checks if c.id == "L24").rules[0]
    assert checks.message(l24.message_vi, name="Số máy chủ (F11)").startswith("Số máy chủ (F11) thay đổi bất thường")
    assert "giảm quá 50% hoặc tăng quá 3 lần, khi năm nay hoặc năm trước từ 10 trở lên" in checks.message(
        l24.summary_vi
    )


# -- expressions and conditions --------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["max(F01, F03)", "F01.real", "F01 ** 2", "F01 > 3", "'F01'", "True + F01", "F01 // 2", "[F01]", "F01 +", ""],
)
def test_only_arithmetic_is_an_expression(text):
    with pytest.raises(ExpressionError):
        parse_expression(text)


def test_expressions_read_names_in_reading_order_and_any_operator_sign():
    assert parse_expression("F28 + F29 + F30").names == ("F28", "F29", "F30")
    assert parse_expression("(F29 + F30) ÷ F27").names == ("F29", "F30", "F27")
    assert parse_expression("k × F01 − F02").names == ("k", "F01", "F02")
    assert parse_expression(3).names == ()


def test_evaluate_is_vectorised_blank_in_blank_out_and_divides_only_by_positive_values():
    frame = pd.DataFrame({"F05": [20.0, 3.0, math.nan, 6.0, 5.0], "F01": [50.0, 0.0, 10.0, -2.0, math.nan]})
    per_staff = evaluate(parse_expression("F05 ÷ F01"), frame.__getitem__)
    assert per_staff.iloc[0] == 0.4
    assert per_staff.iloc[1:].isna().all()  # ÷ 0, a blank numerator, ÷ a negative value, ÷ a blank
    total = evaluate(parse_expression("k × F01 + F05"), lambda n: 2 if n == "k" else frame[n])
    assert total.tolist()[:2] == [120.0, 3.0] and math.isnan(total.iloc[4])
    assert evaluate(parse_expression("1 - x"), {"x": 0.5}.__getitem__) == 0.5
    assert math.isnan(evaluate(parse_expression("1 / x"), {"x": 0}.__getitem__))
    assert evaluate(parse_expression("-x"), {"x": 2}.__getitem__) == -2


def test_conditions_compare_a_column_with_an_amount():
    condition = parse_condition("F13 = 0")
    assert (condition.column, condition.op, condition.amount.text) == ("F13", "==", "0")
    assert parse_condition("F33 >= 1").op == ">="
    assert parse_condition("F29_F30 == limit - 1").amount.names == ("limit",)
    for text in ("F13", "= 0", "F13 ≥ 0", "F13 = "):
        with pytest.raises(ExpressionError):
            parse_condition(text)


VOCABULARY = """
  - id: L02
    severity: E
    forms: [PL1]
    reference: docs/domain.md §5
    rules:
      - {lt: [F02, F01], fields: [F02, F01], message_vi: "lt pair", why: "-"}
      - {ge: [F01, F02], fields: [F01, F02], message_vi: "ge pair", why: "-"}
      - {gt: [F01, F02], fields: [F01, F02], message_vi: "gt pair", why: "-"}
      - {lt: [F01, 1000], fields: [F01], message_vi: "lt amount", why: "-"}
      - {ge: [F01, 1], fields: [F01], message_vi: "ge amount", why: "-"}
      - {gt: [F01, 0], fields: [F01], message_vi: "gt amount", why: "-"}
      - {eq: [F11, 0], fields: [F11], message_vi: "eq", why: "-"}
      - {between: [F01, 1, computers_per_staff_max × 100], fields: [F01], message_vi: "between", why: "-"}
      - {in: [F06, [0, 1]], when: F07 = 1, fields: [F07, F06], message_vi: "in", why: "-"}
"""


def test_every_condition_of_the_vocabulary_becomes_its_expectation(rubric, tmp_path):
    from ictaudit.validate.suites import build_suite, suite_json

    text = (BROKEN / "valid.yaml").read_text(encoding="utf-8").replace("checks:\n", "checks:" + VOCABULARY, 1)
    (tmp_path / "checks.yaml").write_text(text, encoding="utf-8")
    suite = suite_json(build_suite(rubric, "PL1", load_checks(tmp_path / "checks.yaml", rubric)))
    got = {
        e["meta"]["message_vi"]: (e["type"], e["kwargs"])
        for e in suite["expectations"]
        if e["meta"]["check_id"] == "L02"
    }
    pair, between = "expect_column_pair_values_a_to_be_greater_than_b", "expect_column_values_to_be_between"
    missing = {"ignore_row_if": "either_value_is_missing"}
    assert got == {
        "lt pair": (pair, {"column_A": "F01", "column_B": "F02", "or_equal": False, **missing}),  # F02 < F01
        "ge pair": (pair, {"column_A": "F01", "column_B": "F02", "or_equal": True, **missing}),
        "gt pair": (pair, {"column_A": "F01", "column_B": "F02", "or_equal": False, **missing}),
        "lt amount": (between, {"column": "F01", "max_value": 1000.0, "strict_max": True}),
        "ge amount": (between, {"column": "F01", "min_value": 1.0}),
        "gt amount": (between, {"column": "F01", "min_value": 0.0, "strict_min": True}),
        "eq": (between, {"column": "F11", "min_value": 0.0, "max_value": 0.0}),
        "between": (between, {"column": "F01", "min_value": 1.0, "max_value": 300.0}),
        "in": ("expect_column_values_to_be_in_set", {
            "column": "F06", "value_set": [0.0, 1.0],
            "row_condition": {"column": {"name": "F07"}, "operator": "==", "parameter": 1, "type": "comparison"},
        }),
    }  # fmt: skip

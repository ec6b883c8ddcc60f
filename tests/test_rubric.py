"""The shipped rubric loads and matches DOMAIN §3; every broken fixture is refused, naming the offender."""

from pathlib import Path

import pytest

from ictaudit.cli import main
from ictaudit.rules.rubric import RubricError, load_rubric

BROKEN = Path(__file__).parent / "fixtures" / "rubrics"

# fixture                          → words the error must contain (the offender and the rule)
BROKEN_CASES = {
    "duplicate_indicator_id": ["duplicate indicator ids: C1.1"],
    "indicator_maxima_not_criterion": ["criterion C2 (group so_ban_nganh): indicator maxima sum to 7", "C2.5 3"],
    "criteria_not_group_total": ["group so_ban_nganh: criteria maxima sum to 21", "C3 5", "not the group total 20"],
    "input_not_on_form": ["indicator C1.1 (group so_ban_nganh): inputs X04 are not fields of form PL1"],
    "undeclared_input": ["indicator C2.5 (group so_ban_nganh): inputs F99 are not fields of form PL1"],
    "unknown_kind": ["indicator C2.6: unknown kind 'count_capped_sqrt'", "known kinds: checklist, count_capped"],
    "bands_not_ordered": ["bands must be ordered from the highest threshold down", "kha ≥ 90"],
    "unknown_key": ["forms PL1.colour: Extra inputs are not permitted"],
    "duplicate_field_code": ["duplicate field codes: F06"],
    "checklist_points_not_maximum": ["indicator C1.4 (group ubnd_huyen): item points sum to 2 (F06 2), not the maximum 3"],
    "yesno_field_in_ratio": ["indicator C1.1 (group so_ban_nganh): input F06 is of type yesno"],
    "kind_parameter_for_other_kind": ["indicator C3.2 (group so_ban_nganh): parameters field do not belong to kind share_of_items"],
}


def test_every_broken_fixture_has_a_case():
    assert sorted(p.stem for p in BROKEN.glob("*.yaml")) == sorted(BROKEN_CASES)


@pytest.mark.parametrize("name", sorted(BROKEN_CASES))
def test_broken_rubric_is_refused_naming_the_offender(name):
    path = BROKEN / f"{name}.yaml"
    with pytest.raises(RubricError) as info:
        load_rubric(path)
    message = str(info.value)
    assert str(path) in message
    for words in BROKEN_CASES[name]:
        assert words in message


def test_the_mini_scale_itself_is_valid():
    load_rubric(Path(__file__).parent / "scenarios" / "mini-rubric.yaml")


def test_shipped_rubric_matches_the_domain_brief(rubric):
    assert rubric.status == "reconstructed" and "dựng lại" in rubric.notice_vi
    assert {g.id: g.form for g in rubric.groups} == {"so_ban_nganh": "PL1", "ubnd_huyen": "PL2"}
    dept = {c.id: c.max_points.get("so_ban_nganh") for c in rubric.criteria}
    dist = {c.id: c.max_points.get("ubnd_huyen") for c in rubric.criteria}
    assert dept == {"C1": 20, "C2": 30, "C3": 15, "C4": 20, "C5": 5, "C6": 5, "C7": 5, "C8": None}
    assert dist == {"C1": 15, "C2": 25, "C3": 10, "C4": 20, "C5": 5, "C6": 5, "C7": 5, "C8": 15}
    kinds = {ind.kind for _, ind in rubric.indicators("so_ban_nganh")}
    assert kinds == {"ratio", "ratio_to_best", "checklist", "share_of_items", "count_capped", "tiers"}
    assert len(rubric.fields_for_form("PL1")) == 56 and len(rubric.fields_for_form("PL2")) == 65
    assert all(ind.source for c in rubric.criteria for ind in c.indicators)
    assert [(b.label_vi, b.min_score) for b in rubric.bands] == [("Tốt", 85), ("Khá", 70), ("Trung bình", 50), ("Yếu", 0)]


@pytest.mark.parametrize(
    "group,indicator,formula",
    [
        ("so_ban_nganh", "C2.7", "F19 ≥ 6 → 4, F19 ≥ 3 → 2, F19 ≥ 1 → 1, else 0"),
        ("ubnd_huyen", "C2.7", "F19 ≥ 6 → 3, F19 ≥ 3 → 2, F19 ≥ 1 → 1, else 0"),
        ("ubnd_huyen", "C1.6", "1 × [F09 = Có]"),
        ("so_ban_nganh", "C1.6", "1 × [F09 = Có] + 1 × [F10 = Có]"),
        ("so_ban_nganh", "C4.6", "3 × min(F33 / (F29 + F30), 1); N/A when (F29 + F30) = 0"),
        ("ubnd_huyen", "C8.4", "3 × min(X06 / X00, 1)"),
    ],
)
def test_per_group_parameters(rubric, group, indicator, formula):
    found = {ind.id: ind for _, ind in rubric.indicators(group)}
    assert found[indicator].formula() == formula


def test_rubric_command_prints_the_summary(capsys):
    assert main(["rubric", "caobang-2310-2016"]) == 0
    out = capsys.readouterr().out
    assert "C2.7  tiers" in out and "passes every check" in out


def test_rubric_command_fails_on_a_broken_file(capsys):
    assert main(["rubric", str(BROKEN / "unknown_kind.yaml")]) == 1
    assert "unknown kind" in capsys.readouterr().err

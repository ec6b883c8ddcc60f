"""The shipped rubric loads and matches docs/domain.md §3; every broken fixture is refused, naming the offender."""

import shutil
from pathlib import Path
from unittest.mock import patch

import pytest
import yaml

from ictaudit.cli import main
from ictaudit.common.paths import EXPECTATIONS_DIR
from ictaudit.rules.files import load_yaml
from ictaudit.rules.rubric import RubricError, derived_rubric_data, load_rubric, rubric_files
from ictaudit.run.manifest import input_hashes
from ictaudit.run.verify import check_inputs

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


# -- derived rubrics: a base and what changes ------------------------------------------------------

DERIVED = Path(__file__).parent / "fixtures" / "rubrics" / "derived"
SHIPPED = Path(__file__).resolve().parents[1] / "rubrics"

# fixture                 → words the error must contain (the offender and the rule)
DERIVED_CASES = {
    "base_not_found": ["base caobang-2310-2015: there is no rubric file caobang-2310-2015.yaml beside this one"],
    "base_is_derived": ["base caobang-whatif-online-services is itself derived (from caobang-2310-2016)"],
    "base_not_an_id": ["base: '../caobang-2310-2016.yaml' is not a rubric id"],
    "same_id_as_base": ["id: a derived rubric needs an id of its own, not its base's (caobang-2310-2016)"],
    "unknown_criterion": ["criterion C9: base caobang-2310-2016 has no such criterion"],
    "unknown_indicator": ["criterion C4, indicator C4.7: base caobang-2310-2016 has no such indicator"],
    "unknown_field": ["field F99: base caobang-2310-2016 has no such field"],
    "entry_without_id": ["bands, entry 2: gives no id; name the base's band it changes"],
    "changed_twice": ["criterion C7: changed twice"],
    "change_breaks_a_sum": ["group so_ban_nganh: criteria maxima sum to 105", "C1 25"],
}


def beside_the_shipped_rubrics(tmp_path: Path, fixture: Path) -> Path:
    """``fixture`` copied into a folder that also holds the shipped rubrics (its base lies beside it)."""
    for path in SHIPPED.glob("*.yaml"):
        shutil.copy(path, tmp_path / path.name)
    return Path(shutil.copy(fixture, tmp_path / fixture.name))


def test_every_broken_derived_fixture_has_a_case():
    assert sorted(p.stem for p in (DERIVED / "broken").glob("*.yaml")) == sorted(DERIVED_CASES)


@pytest.mark.parametrize("name", sorted(DERIVED_CASES))
def test_broken_derived_rubric_is_refused_naming_the_offender(name, tmp_path):
    path = beside_the_shipped_rubrics(tmp_path, DERIVED / "broken" / f"{name}.yaml")
    with pytest.raises(RubricError) as info:
        load_rubric(path)
    message = str(info.value)
    assert str(path) in message
    for words in DERIVED_CASES[name]:
        assert words in message


def test_the_shipped_whatif_is_its_base_plus_changes_and_loads_to_the_same_model():
    whatif = load_rubric("caobang-whatif-online-services")
    in_full = load_rubric(DERIVED / "whatif_in_full.yaml")  # the file before it named a base
    assert whatif.model_dump() == in_full.model_dump()
    text = (SHIPPED / "caobang-whatif-online-services.yaml").read_text(encoding="utf-8")
    assert "base: caobang-2310-2016" in text and len(text.splitlines()) < 100


def test_a_base_that_is_broken_is_named_itself(tmp_path):
    shutil.copy(BROKEN / "unknown_kind.yaml", tmp_path / "unknown_kind.yaml")
    derived = tmp_path / "derived.yaml"
    derived.write_text("base: unknown_kind\nid: derived\n", encoding="utf-8")
    with pytest.raises(RubricError) as info:
        load_rubric(derived)
    assert str(tmp_path / "unknown_kind.yaml") in str(info.value) and "unknown kind" in str(info.value)


def test_a_base_file_holding_another_rubric_is_refused(tmp_path):
    shutil.copy(SHIPPED / "caobang-2310-2016.yaml", tmp_path / "caobang-copy.yaml")
    derived = tmp_path / "derived.yaml"
    derived.write_text("base: caobang-copy\nid: derived\n", encoding="utf-8")
    with pytest.raises(RubricError) as info:
        load_rubric(derived)
    assert "base caobang-copy: the file caobang-copy.yaml holds the rubric id 'caobang-2310-2016'" in str(info.value)


# base, change → merged: how a DIC officer's change is read (tests/fixtures/rubrics/derived shows it in a file)
MERGES = [
    # a mapping changes key by key; the keys not written stay
    ({"ranking": {"decimals": 2, "ties": "competition"}}, {"ranking": {"decimals": 3}},
     {"ranking": {"decimals": 3, "ties": "competition"}}),
    # a list of things with an id changes entry by entry; order and the other entries stay
    ({"bands": [{"id": "tot", "min_score": 85}, {"id": "yeu", "min_score": 0}]}, {"bands": [{"id": "tot", "min_score": 80}]},
     {"bands": [{"id": "tot", "min_score": 80}, {"id": "yeu", "min_score": 0}]}),
    # fields are named by code
    ({"fields": [{"code": "F01", "required": True}]}, {"fields": [{"code": "F01", "required": False}]},
     {"fields": [{"code": "F01", "required": False}]}),
    # indicators inside a criterion, and the per-group points inside an indicator
    ({"criteria": [{"id": "C1", "indicators": [{"id": "C1.1", "groups": {"a": {"max_points": 5, "per_item": 1}, "b": {"max_points": 4}}}]}]},
     {"criteria": [{"id": "C1", "indicators": [{"id": "C1.1", "groups": {"a": {"max_points": 3}}}]}]},
     {"criteria": [{"id": "C1", "indicators": [{"id": "C1.1", "groups": {"a": {"max_points": 3, "per_item": 1}, "b": {"max_points": 4}}}]}]}),
    # any other value replaces the base's whole: a checklist's items, a list of numbers, a text
    ({"items": [{"field": "F06", "points": 2}, {"field": "F07", "points": 2}], "years": [2016, 2017], "title_vi": "A"},
     {"items": [{"field": "F06", "points": 1}], "years": [2018], "title_vi": "B"},
     {"items": [{"field": "F06", "points": 1}], "years": [2018], "title_vi": "B"}),
]  # fmt: skip


@pytest.mark.parametrize("base,change,merged", MERGES)
def test_how_a_change_is_read(base, change, merged, tmp_path):
    (tmp_path / "base.yaml").write_text(yaml.safe_dump({"id": "base", **base}), encoding="utf-8")
    derived = tmp_path / "derived.yaml"
    derived.write_text(yaml.safe_dump({"base": "base", "id": "derived", **change}), encoding="utf-8")
    with patch("ictaudit.rules.rubric.load_rubric"):  # the tiny base is no whole rubric: skip its own check
        assert derived_rubric_data(derived, load_yaml(derived.read_text(encoding="utf-8"))) == {"id": "derived", **merged}
    assert (tmp_path / "base.yaml").read_text(encoding="utf-8") == yaml.safe_dump({"id": "base", **base})


def test_a_run_with_a_derived_rubric_hashes_its_base_too(tmp_path):
    derived = beside_the_shipped_rubrics(tmp_path, SHIPPED / "caobang-whatif-online-services.yaml")
    assert rubric_files(derived) == [derived, tmp_path / "caobang-2310-2016.yaml"]
    assert rubric_files(tmp_path / "caobang-2310-2016.yaml") == [tmp_path / "caobang-2310-2016.yaml"]
    cycle = tmp_path / "cycle"
    cycle.mkdir()
    (cycle / "cycle.yaml").write_text("year: 2017\n", encoding="utf-8")
    suites = sorted(EXPECTATIONS_DIR.glob("*.json"))
    inputs = input_hashes(cycle, derived, suites, [])
    # the derived rubric, its base, and the version registry both are checked against (copied beside them)
    assert sorted(inputs["rubric"]) == ["caobang-2310-2016.yaml", "caobang-whatif-online-services.yaml", "versions.yaml"]
    manifest = {"inputs": inputs, "cycle": {"dir": str(cycle)}, "rubric": {"file": str(derived)}}
    assert check_inputs(manifest) == []
    base = tmp_path / "caobang-2310-2016.yaml"
    base.write_text(base.read_text(encoding="utf-8").replace("min_score: 85", "min_score: 80"), encoding="utf-8")
    assert [p.split(":")[0] for p in check_inputs(manifest)] == ["rubric caobang-2310-2016.yaml"]

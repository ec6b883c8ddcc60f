"""Rank robustness and what-if analysis (issue 7): seeded weight perturbation, leave one criterion out,
rubric against rubric, the report section and notebook 06.

The hand-checked example (mini scale of tests/scenarios/mini-rubric.yaml, group so_ban_nganh, 20 points:
C1 10 = C1.1 4 + C1.3 3 + C1.4 3; C2 6 = C2.5 2 + C2.6 2 + C2.7 2; C3 4 = C3.2 4):

    agency  C1  C2  C3  total  score_100  rank
    a       10   0   0   10    50         1
    b        0   6   4   10    50         1
    c        4   2   0    6    30         3
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from ictaudit.common.tables import read_csv, write_csv
from ictaudit.intake.values import to_wide
from ictaudit.report.robustness import report_section
from ictaudit.rules.rubric import load_rubric
from ictaudit.score import robustness as rb
from ictaudit.score.ranking import rank_competition
from ictaudit.score.scoring import score_cycle, write_score_tables
from ictaudit.year.sample import random_values

from .scenarios import load_scenario

SCENARIOS = Path(__file__).parent / "scenarios"
MINI = SCENARIOS / "mini-rubric.yaml"
MINI_RUBRIC = load_rubric(MINI)


# -- data ---------------------------------------------------------------------------------------


def scenario_inputs(name: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(values_wide, agencies) of a scenario file of tests/scenarios."""
    _, _, values, agencies = load_scenario(name)
    return values, agencies


def scenarios_combined() -> tuple[pd.DataFrame, pd.DataFrame]:
    v1, a1 = scenario_inputs("mini-departments.yaml")
    v2, a2 = scenario_inputs("mini-districts.yaml")
    return pd.concat([v1, v2]), pd.concat([a1, a2], ignore_index=True)


# the hand-checked example of the module docstring
_FULL_C1 = {"F01": 10, "F02": 10, "F05": 20, "F06": 1, "F07": 1}
_ZERO_C1 = {"F01": 10, "F02": 0, "F05": 0, "F06": 0, "F07": 0}
_NO_SITE = {"F21a": 0, "F21b": 0, "F21c": 0, "F21d": 0}
_FULL_SITE = {"F21a": 1, "F21b": 1, "F21c": 1, "F21d": 1}
HAND_VALUES = pd.DataFrame.from_dict(
    {
        "a": {**_FULL_C1, "F15": 10, "F17": 0, "F18": 0, "F19": 0, **_NO_SITE},
        "b": {**_ZERO_C1, "F15": 10, "F17": 10, "F18": 2, "F19": 6, **_FULL_SITE},
        "c": {**_ZERO_C1, "F02": 10, "F15": 10, "F17": 0, "F18": 2, "F19": 0, **_NO_SITE},
    },
    orient="index",
).astype(float)
HAND_AGENCIES = pd.DataFrame(
    {
        "agency_id": ["a", "b", "c"],
        "agency_name": ["Đơn vị A", "Đơn vị B", "Đơn vị C"],
        "group": "so_ban_nganh",
        "status": "ranked",
        "status_reason": "",
    }
)


def synthetic_cycle(rubric, departments: int = 20, districts: int = 15, seed: int = 7, ties: int = 2):
    """Plausible random values for every field of both forms; the last ``ties`` agencies of each group
    copy the first ones, so that ties happen; one late agency per group is not ranked."""
    rng = np.random.default_rng(seed)
    rows, roster = {}, []
    for group, n in (("so_ban_nganh", departments), ("ubnd_huyen", districts)):
        form = rubric.form_of(group)
        fields = rubric.fields_for_form(form)
        ids = [f"{group[:3]}-{i:02d}" for i in range(n + 1)]
        for i, a in enumerate(ids):
            row = random_values(fields, rng)
            if i >= n - ties and i < n:
                row = dict(rows[ids[i - (n - ties)]])
            rows[a] = row
            status = "late" if i == n else "ranked"
            roster.append({"agency_id": a, "agency_name": f"Đơn vị {a}", "group": group, "status": status})
    agencies = pd.DataFrame(roster).assign(status_reason="")
    return pd.DataFrame.from_dict(rows, orient="index"), agencies


@pytest.fixture(scope="module")
def mini():
    return load_rubric(MINI)


@pytest.fixture(scope="module")
def caobang():
    return load_rubric("caobang-2310-2016")


# -- 1. Monte Carlo ----------------------------------------------------------------------------


def test_same_seed_gives_identical_bytes_and_another_seed_other_samples(mini, tmp_path):
    values, agencies = scenarios_combined()
    first = rb.monte_carlo(mini, values, agencies, draws=300, seed=11)
    again = rb.monte_carlo(mini, values, agencies, draws=300, seed=11)
    other = rb.monte_carlo(mini, values, agencies, draws=300, seed=12)
    p1 = rb.write_robustness_csv(first, tmp_path / "one" / "robustness.csv")
    p2 = rb.write_robustness_csv(again, tmp_path / "two" / "robustness.csv")
    assert p1.read_bytes() == p2.read_bytes()
    assert p1.read_bytes().startswith(b"\xef\xbb\xbf")
    assert first.seed == 11 and first.parameters()["seed"] == 11
    assert first.parameters()["percentile_method"] == "inverted_cdf"
    for g in first.score_samples:
        assert np.array_equal(first.score_samples[g], again.score_samples[g], equal_nan=True)
        assert not np.array_equal(first.score_samples[g], other.score_samples[g], equal_nan=True)


def test_every_sampled_draw_is_the_competition_ranking_of_its_rounded_scores(caobang):
    values, agencies = synthetic_cycle(caobang)
    result = rb.monte_carlo(caobang, values, agencies, draws=400, seed=8)
    for g, ranks in result.rank_samples.items():
        scores = result.score_samples[g]
        assert ranks.shape == (400, len(result.sample_agency_ids[g]))
        assert np.array_equal(scores, np.round(scores, 2))  # rounded as published
        for d in range(0, 400, 7):
            assert ranks[d].tolist() == rank_competition(pd.Series(scores[d])).tolist()
        assert (ranks.min(axis=1) == 1).all()


def test_table_columns_follow_design_then_one_probability_per_band(mini):
    values, agencies = scenarios_combined()
    table = rb.monte_carlo(mini, values, agencies, draws=50).table
    assert list(table.columns) == [
        "agency_id", "group", "nominal_rank", "median_rank", "p05_rank", "p95_rank",
        "p_tot", "p_kha", "p_trung_binh", "p_yeu",
    ]  # fmt: skip
    assert np.allclose(table[["p_tot", "p_kha", "p_trung_binh", "p_yeu"]].sum(axis=1), 1.0)
    # ranked agencies only: the late and missing agencies of the scenarios are absent
    ranked = agencies.loc[agencies["status"] == "ranked", "agency_id"]
    assert sorted(table["agency_id"]) == sorted(ranked)


@pytest.mark.parametrize("source", ["scenarios", "synthetic"])
def test_nominal_rank_is_the_published_rank_with_ties(source, mini, caobang):
    if source == "scenarios":
        rubric, (values, agencies) = mini, scenarios_combined()
    else:
        rubric, (values, agencies) = caobang, synthetic_cycle(caobang)
    published = score_cycle(rubric, values, agencies, with_explanations=False).scores
    published = published[published["status"] == "ranked"].set_index("agency_id")["rank"]
    table = rb.monte_carlo(rubric, values, agencies, draws=200, spread=0.3).table.set_index("agency_id")
    assert published.duplicated().any(), "the example must contain a tie"
    assert table["nominal_rank"].reindex(published.index).tolist() == published.tolist()
    assert (
        rb.rank_mismatches(
            rb.monte_carlo(rubric, values, agencies, draws=5),
            score_cycle(rubric, values, agencies, with_explanations=False).scores,
        )
        == []
    )
    assert (table["p05_rank"] <= table["median_rank"]).all() and (table["median_rank"] <= table["p95_rank"]).all()


def test_nominal_rank_honours_blocked_values(mini):
    values, agencies = scenario_inputs("mini-departments.yaml")
    blocked = {("s1", "F02"), ("s1", "F21a")}  # s1: 17.1 − 3.6 (C1.1) − 1 (C3.2) = 12.5 → 62.5, behind s2, s4, s5
    published = score_cycle(mini, values, agencies, blocked, with_explanations=False).scores
    result = rb.monte_carlo(mini, values, agencies, draws=20, blocked=blocked)
    assert rb.rank_mismatches(result, published) == []
    assert result.table.set_index("agency_id").loc["s1", "nominal_rank"] == 4


@pytest.mark.parametrize("source", ["scenarios", "synthetic"])
def test_zero_spread_collapses_every_interval_to_the_published_rank_and_band(source, mini, caobang):
    if source == "scenarios":
        rubric, (values, agencies) = mini, scenarios_combined()
    else:
        rubric, (values, agencies) = caobang, synthetic_cycle(caobang)
    result = rb.monte_carlo(rubric, values, agencies, draws=40, spread=0.0)
    t = result.table
    assert (t["p05_rank"] == t["nominal_rank"]).all()
    assert (t["median_rank"] == t["nominal_rank"]).all()
    assert (t["p95_rank"] == t["nominal_rank"]).all()
    scores = score_cycle(rubric, values, agencies, with_explanations=False).scores.set_index("agency_id")
    band_id = {b.label_vi: b.id for b in rubric.bands}
    for row in t.itertuples(index=False):
        expected = band_id[scores.loc[row.agency_id, "band"]]
        for b in rubric.bands:
            assert getattr(row, f"p_{b.id}") == (1.0 if b.id == expected else 0.0), (row.agency_id, b.id)


def test_a_group_without_ranked_agencies_gives_no_rows(mini, tmp_path):
    values, agencies = scenario_inputs("mini-departments.yaml")  # no district at all
    late = agencies.assign(status="late")
    result = rb.monte_carlo(mini, values, late, draws=20)
    assert result.table.empty and list(result.table.columns) == rb.robustness_columns(mini)
    assert result.rank_samples["ubnd_huyen"].shape == (20, 0)
    assert rb.leave_one_out(mini, values, late).empty
    rb.write_robustness_csv(result, tmp_path / "robustness.csv")
    assert read_csv(tmp_path / "robustness.csv").columns.tolist() == rb.robustness_columns(mini)


def test_perturbation_keeps_the_group_total_and_the_spread(mini):
    ids, factors = rb.weight_factors(mini, draws=500, spread=0.25, seed=1)
    assert ids == [c.id for c in mini.criteria]
    assert factors.min() >= 0.75 and factors.max() <= 1.25
    maxima = np.array([10.0, 6.0, 4.0])
    scale = rb.renormalised_scale(maxima, factors[:, :3])
    assert np.allclose((scale * maxima).sum(axis=1), 20.0)
    with pytest.raises(ValueError, match="spread"):
        rb.weight_factors(mini, 10, 1.0, 1)


def test_a_coin_toss_shows_up_in_the_band_probabilities(mini):
    """a and b tie at 50,00, exactly on the Trung bình threshold: perturbing the weights splits them either way."""
    result = rb.monte_carlo(mini, HAND_VALUES, HAND_AGENCIES, draws=2000, spread=0.25, seed=3)
    t = result.table.set_index("agency_id")
    assert t.loc["a", "nominal_rank"] == 1 and t.loc["b", "nominal_rank"] == 1
    assert t.loc["a", "p05_rank"] == 1 and t.loc["a", "p95_rank"] == 2
    assert 0.2 < t.loc["a", "p_trung_binh"] < 0.8  # 50 sits on the threshold: half the draws fall to Yếu
    assert t.loc["c", "p05_rank"] == t.loc["c", "p95_rank"] == 3


# -- bands ------------------------------------------------------------------------------------


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(st.floats(0, 100), st.sampled_from([0.0, 49.99, 50.0, 69.99, 70.0, 85.0])), min_size=1))
def test_band_index_agrees_with_the_rubric(scores):
    rubric = MINI_RUBRIC
    idx = rb.band_index(np.array(scores), rubric)
    assert [rubric.bands[i].id for i in idx] == [rubric.band_for(s).id for s in scores]


# -- 2. leave one criterion out ----------------------------------------------------------------


def test_leave_one_out_by_hand(mini):
    published = score_cycle(mini, HAND_VALUES, HAND_AGENCIES, with_explanations=False).scores.set_index("agency_id")
    assert published["score_100"].to_dict() == {"a": 50.0, "b": 50.0, "c": 30.0}
    assert published["rank"].to_dict() == {"a": 1, "b": 1, "c": 3}

    loo = rb.leave_one_out(mini, HAND_VALUES, HAND_AGENCIES)
    assert list(loo.columns) == rb.LOO_COLUMNS
    got = {
        (r.agency_id, r.criterion_id): (r.score_100_without, r.rank_without, r.rank_change) for r in loo.itertuples()
    }
    assert got == {
        # without C1 (10 points): a 0/10, b 10/10, c 2/10
        ("a", "C1"): (0.0, 3, 2), ("b", "C1"): (100.0, 1, 0), ("c", "C1"): (20.0, 2, -1),
        # without C2 (6 points): a 10/14, b 4/14, c 4/14
        ("a", "C2"): (71.43, 1, 0), ("b", "C2"): (28.57, 2, 1), ("c", "C2"): (28.57, 2, -1),
        # without C3 (4 points): a 10/16, b 6/16, c 6/16
        ("a", "C3"): (62.5, 1, 0), ("b", "C3"): (37.5, 2, 1), ("c", "C3"): (37.5, 2, -1),
    }  # fmt: skip

    summary = rb.summarise_leave_one_out(loo, mini)
    assert list(summary.columns) == rb.LOO_SUMMARY_COLUMNS
    assert summary.set_index("criterion_id")["mean_abs_rank_change"].to_dict() == {
        "C1": 1.0,
        "C2": 2 / 3,  # in full: the table keeps the mean as computed
        "C3": 2 / 3,
    }
    assert summary.set_index("criterion_id")["max_abs_rank_change"].tolist() == [2, 1, 1]
    assert summary["agencies_moved"].tolist() == [2, 2, 2]


def test_leave_one_out_files(mini, tmp_path):
    loo = rb.leave_one_out(mini, HAND_VALUES, HAND_AGENCIES)
    paths = rb.write_leave_one_out(loo, mini, tmp_path)
    back = read_csv(paths["robustness_loo"])
    assert list(back.columns) == rb.LOO_COLUMNS and len(back) == 9
    assert read_csv(paths["robustness_loo_summary"])["mean_abs_rank_change"].tolist() == ["1", "0.6666666666666666", "0.6666666666666666"]


# -- 3. rubric against rubric ------------------------------------------------------------------


def whatif_mini(tmp_path: Path) -> Path:
    """The mini scale with C1 cut from 10 to 5 (C1.1 4 → 1, C1.3 3 → 1) and C3.2 raised from 4 to 9."""
    data = yaml.safe_load(MINI.read_text(encoding="utf-8"))
    data["id"] = "scenario-mini-whatif"
    for c in data["criteria"]:
        if c["id"] == "C1":
            c["max_points"]["so_ban_nganh"] = 5
            for ind in c["indicators"]:
                if ind["id"] in ("C1.1", "C1.3"):
                    ind["groups"]["so_ban_nganh"]["max_points"] = 1
        if c["id"] == "C3":
            c["max_points"]["so_ban_nganh"] = 9
            c["indicators"][0]["groups"]["so_ban_nganh"]["max_points"] = 9
    path = tmp_path / "scenario-mini-whatif.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def test_same_rubric_changes_nothing(caobang):
    values, agencies = synthetic_cycle(caobang)
    df = rb.compare_rubrics(caobang, caobang, values, agencies)
    assert list(df.columns) == rb.COMPARE_COLUMNS
    assert (df["score_change"] == 0).all()
    assert (df["rank_change"].dropna() == 0).all()
    assert not df["band_changed"].any()
    assert (df["score_100_a"] == df["score_100_b"]).all()


def test_whatif_rubric_by_hand(mini, tmp_path):
    whatif = load_rubric(whatif_mini(tmp_path))
    df = rb.compare_rubrics(mini, whatif, HAND_VALUES, HAND_AGENCIES).set_index("agency_id")
    # a: C1 5 → 5/20 = 25 Yếu; b: C2 6 + C3 9 = 15/20 = 75 Khá; c: C1.1 1 + C2 2 = 3/20 = 15 Yếu
    assert df["score_100_b"].to_dict() == {"a": 25.0, "b": 75.0, "c": 15.0}
    assert df["score_change"].to_dict() == {"a": -25.0, "b": 25.0, "c": -15.0}
    assert df["rank_b"].to_dict() == {"a": 2, "b": 1, "c": 3}
    assert df["rank_change"].to_dict() == {"a": 1, "b": 0, "c": 0}
    assert df["band_a"].to_dict() == {"a": "Trung bình", "b": "Trung bình", "c": "Yếu"}
    assert df["band_b"].to_dict() == {"a": "Yếu", "b": "Khá", "c": "Yếu"}
    assert df["band_changed"].to_dict() == {"a": True, "b": True, "c": False}


def test_the_shipped_whatif_rubric_is_a_labelled_what_if(caobang):
    whatif = load_rubric("caobang-whatif-online-services")
    assert whatif.status == "reconstructed"
    assert "KHÔNG PHẢI QUYẾT ĐỊNH" in whatif.notice_vi and "NOT A DECISION" in whatif.notice_en
    assert [c.max_points for c in whatif.criteria] != [c.max_points for c in caobang.criteria]
    for g in caobang.group_ids:
        assert sum(c.max_points[g] for c in whatif.criteria_for(g)) == 100
    values, agencies = synthetic_cycle(caobang)
    df = rb.compare_rubrics(caobang, whatif, values, agencies)
    assert (df["score_change"] != 0).any()


def test_compare_refuses_a_rubric_without_the_group(mini, tmp_path):
    data = yaml.safe_load(MINI.read_text(encoding="utf-8"))
    data["groups"] = [g for g in data["groups"] if g["id"] == "so_ban_nganh"]
    data["criteria"] = [c for c in data["criteria"] if "so_ban_nganh" in c["max_points"]]
    for c in data["criteria"]:
        c["max_points"].pop("ubnd_huyen", None)
        for ind in c["indicators"]:
            ind["groups"].pop("ubnd_huyen", None)
    path = tmp_path / "departments-only.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    values, agencies = scenarios_combined()
    with pytest.raises(ValueError, match="ubnd_huyen"):
        rb.compare_rubrics(mini, load_rubric(path), values, agencies)


# -- reading a scored folder, the report section -----------------------------------------------


def write_scored_folder(rubric, values: pd.DataFrame, agencies: pd.DataFrame, scored: Path) -> None:
    """values.csv (docs/contracts.md §6 columns, long) and the score tables, as notebooks 01–03 would leave them."""
    long = values.rename_axis("agency_id").reset_index().melt("agency_id", var_name="field", value_name="value")
    long = long.sort_values(["agency_id", "field"]).reset_index(drop=True)
    for col in ("raw_value", "source_file", "source_sha256", "sheet", "cell", "correction_id"):
        long[col] = ""
    cols = [
        "agency_id",
        "field",
        "raw_value",
        "value",
        "source_file",
        "source_sha256",
        "sheet",
        "cell",
        "correction_id",
    ]
    write_csv(long, scored / "values.csv", cols)
    write_score_tables(score_cycle(rubric, values, agencies), scored)


def test_scored_folder_round_trip_and_blocked_from_trail(mini, tmp_path):
    values, agencies = scenario_inputs("mini-departments.yaml")
    write_scored_folder(mini, values, agencies, tmp_path)
    wide, roster, blocked = rb.read_scored_inputs(tmp_path)
    assert blocked == set()
    assert wide.loc["s3"].isna().sum() == values.loc["s3"].isna().sum()
    assert rb.monte_carlo(mini, wide, roster, draws=10).table["nominal_rank"].tolist() == [1, 2, 3, 3, 5]
    trail = pd.DataFrame({"agency_id": ["s1", "s2"], "inputs": ['{"F02": null, "blocked": ["F02"]}', '{"F01": 4}']})
    assert rb.blocked_from_trail(trail) == {("s1", "F02")}
    assert rb.blocked_from_trail(pd.DataFrame({"agency_id": [], "inputs": []})) == set()  # float columns
    with_blank = pd.DataFrame({"agency_id": ["s1", "s2"], "inputs": [float("nan"), '{"blocked": ["F05"]}']})
    assert rb.blocked_from_trail(with_blank) == {("s2", "F05")}


def test_report_section_escapes_names_and_explains(mini, tmp_path):
    agencies = HAND_AGENCIES.assign(agency_name=["<script>alert(1)</script>", "Sở Y tế", "Ban Dân tộc & Miền núi"])
    write_scored_folder(mini, HAND_VALUES, agencies, tmp_path)
    assert report_section(tmp_path, mini) == ""  # no robustness.csv yet
    result = rb.monte_carlo(mini, HAND_VALUES, agencies, draws=500, seed=5)
    rb.write_robustness_csv(result, tmp_path / rb.ROBUSTNESS_FILE)
    rb.write_parameters_json(result, tmp_path / rb.PARAMETERS_FILE)
    rb.write_leave_one_out(rb.leave_one_out(mini, HAND_VALUES, agencies), mini, tmp_path)
    html = report_section(tmp_path, mini)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "Ban Dân tộc &amp; Miền núi" in html
    assert html.count("<svg") == 1 and "<circle" in html
    assert html.startswith("<div") and "±25%" in html and "<h3>Sở</h3>" in html
    assert "Thứ hạng vững" in html  # c is 3rd in every draw
    assert "Xếp loại chưa chắc chắn" in html and "đã công bố: Trung bình" in html  # a, b: on 50
    assert "C1 Hạ tầng" in html  # dropping C1 moves ranks most
    for external in ("src=", "href=", "<link", "@import", "url("):
        assert external not in html


def test_values_to_wide_refuses_duplicates():
    long = pd.DataFrame({"agency_id": ["a", "a"], "field": ["F01", "F01"], "value": ["1", "2"]})
    with pytest.raises(ValueError, match="a/F01"):
        to_wide(long)


# -- 4. notebook 06 ----------------------------------------------------------------------------


@pytest.mark.slow
def test_notebook_06_runs_on_a_small_scored_folder(caobang, tmp_path, monkeypatch):
    import papermill

    values, agencies = synthetic_cycle(caobang, departments=6, districts=5, ties=1)
    scored = tmp_path / "data" / "scored" / "2017"
    write_scored_folder(caobang, values, agencies, scored)
    notebook = Path(__file__).resolve().parents[1] / "notebooks" / "06_robustness.ipynb"
    params = {
        "scored_dir": "data/scored/2017",
        "rubric_id": "caobang-2310-2016",
        "whatif_rubric": "caobang-whatif-online-services",
        "draws": 200,
        "spread": 0.25,
        "seed": 99,
        "out_dir": "outputs/2017",
    }
    assert set(params) == set(papermill.inspect_notebook(str(notebook)))
    monkeypatch.chdir(tmp_path)
    papermill.execute_notebook(
        str(notebook), str(tmp_path / "06.ipynb"), parameters=params, kernel_name="ictaudit", cwd=str(tmp_path),
        progress_bar=False,
    )  # fmt: skip
    for name in ("robustness.csv", "robustness_loo.csv", "robustness_loo_summary.csv", "robustness_whatif.csv"):
        assert (scored / name).exists(), name
    assert (tmp_path / "outputs" / "2017" / "robustness_section.html").exists()
    expected = rb.monte_carlo(caobang, *rb.read_scored_inputs(scored)[:2], draws=200, spread=0.25, seed=99)
    rb.write_robustness_csv(expected, tmp_path / "expected.csv")
    assert (scored / "robustness.csv").read_bytes() == (tmp_path / "expected.csv").read_bytes()


def test_notebook_06_is_stored_thin_and_without_outputs():
    import nbformat

    nb = nbformat.read(Path(__file__).resolve().parents[1] / "notebooks" / "06_robustness.ipynb", as_version=4)
    assert nb.metadata["kernelspec"] == {"name": "ictaudit", "display_name": "Python (ictaudit)", "language": "python"}
    assert nb.cells[0].cell_type == "markdown"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert [c for c in code if "parameters" in c.metadata.get("tags", [])] == [code[0]]
    for c in code:
        assert c.outputs == [] and c.execution_count is None
        assert "def " not in c.source and "class " not in c.source and "lambda" not in c.source

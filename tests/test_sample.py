"""The synthetic cycle: deterministic, realistic, and honest about what it planted."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from ictaudit.common.paths import DATA_DIR
from ictaudit.intake.cycle import CycleError, load_cycle
from ictaudit.intake.submissions import intake_cycle
from ictaudit.intake.values import to_wide
from ictaudit.year.sample import planted_errors, sample_roster, write_sample_cycle

BUNDLED_SEEDS = {2016: 2016, 2017: 2017}


def files_of(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def sample_2017(tmp_path_factory):
    return write_sample_cycle(2017, tmp_path_factory.mktemp("sample") / "2017", seed=2017)


@pytest.fixture(scope="module")
def intake_2017(sample_2017, rubric):
    cycle = load_cycle(sample_2017, rubric)
    return cycle, intake_cycle(cycle, rubric)


def test_same_seed_same_bytes(sample_2017, tmp_path):
    again = write_sample_cycle(2017, tmp_path / "again", seed=2017)
    assert files_of(again) == files_of(sample_2017)


def test_another_seed_other_data(sample_2017, tmp_path):
    other = write_sample_cycle(2017, tmp_path / "other", seed=7)
    assert files_of(other)["receipts.csv"] != files_of(sample_2017)["receipts.csv"]


def generated_part(root: Path) -> dict[str, bytes]:
    """The files of a bundled year the generator writes: all but last year's linked results (``previous/``
    and the ``previous:`` block of cycle.yaml, which ``make sample-years`` adds from a run of the year before)."""
    from ictaudit.year.link import strip_previous_block

    files = {k: v for k, v in files_of(root).items() if not k.startswith("previous/")}
    files["cycle.yaml"] = strip_previous_block(files["cycle.yaml"].decode("utf-8")).encode("utf-8")
    return files


@pytest.mark.parametrize("year", sorted(BUNDLED_SEEDS))
def test_the_bundled_years_are_what_the_generator_writes(tmp_path, year):
    regenerated = write_sample_cycle(year, tmp_path / str(year), seed=BUNDLED_SEEDS[year])
    assert files_of(regenerated) == generated_part(DATA_DIR / "raw" / str(year))


def test_the_bundled_2017_links_last_years_results_and_2016_links_none():
    assert load_cycle(DATA_DIR / "raw" / "2016").previous is None
    previous = load_cycle(DATA_DIR / "raw" / "2017").previous
    assert previous is not None and previous.year == 2016
    assert sorted(previous.sha256) == ["agencies.csv", "manifest.json", "scores.csv", "values.csv"]


def test_the_2017_roster():
    roster = sample_roster()
    groups = pd.Series([a.group for a in roster if a.ranked]).value_counts().to_dict()
    assert groups == {"so_ban_nganh": 20, "ubnd_huyen": 13}
    assert {a.agency_id for a in roster if not a.ranked} == {"cong-an-tinh", "bo-chqs-tinh"}
    assert all(a.note for a in roster if not a.ranked)
    assert {"so-noi-vu", "huyen-bao-lam", "tp-cao-bang"} <= {a.agency_id for a in roster}
    assert all(re.fullmatch(r"[a-z0-9-]+", a.agency_id) for a in roster)


@pytest.mark.parametrize(("n", "depts", "districts"), [(66, 40, 26), (40, 24, 16), (5, 3, 2)])
def test_other_sizes_keep_the_proportion(n, depts, districts):
    ranked = [a for a in sample_roster(n) if a.ranked]
    assert sum(a.group == "so_ban_nganh" for a in ranked) == depts
    assert sum(a.group == "ubnd_huyen" for a in ranked) == districts
    assert len({a.agency_id for a in ranked}) == n


def test_cycle_files_say_it_is_a_sample(sample_2017, rubric):
    cycle = load_cycle(sample_2017, rubric)
    assert cycle.sample is True and cycle.year == 2017
    assert str(cycle.deadline) == "2017-11-02"
    assert "MẪU" in cycle.title
    assert (sample_2017 / "SAMPLE.md").exists()


def test_planted_csv_is_what_planted_errors_returns(sample_2017):
    on_disk = pd.read_csv(sample_2017 / "planted.csv", dtype=str, keep_default_na=False)
    assert on_disk.equals(planted_errors(2017, seed=2017).astype(str))


def test_what_is_planted(sample_2017):
    planted = planted_errors(2017, seed=2017)
    statuses = planted[planted["kind"] == "status"]["expected"].value_counts().to_dict()
    assert statuses == {"ranked": 31, "excluded": 2, "late": 1, "missing": 1}
    logic = planted[planted["kind"] == "logic"]
    assert 5 <= len(logic) <= 8
    assert set(logic["check_id"]) == {"L03", "L05", "L11", "L15", "L20", "L25"}
    assert logic["agency_id"].is_unique
    corrected = logic[logic["correction_id"] != ""]
    assert 0 < len(corrected) < len(logic)
    corrections = pd.read_csv(sample_2017 / "corrections.csv", dtype=str, keep_default_na=False)
    assert len(corrections) == len(corrected)
    assert set(zip(corrections["agency_id"], corrections["field"], corrections["check_id"])) == set(
        zip(corrected["agency_id"], corrected["field"], corrected["check_id"])
    )
    assert (corrections[["reason", "confirmed_by", "confirmed_on"]] != "").all().all()
    text = planted[planted["kind"] == "text"]["raw_value"].tolist()
    assert any(re.fullmatch(r"\d{1,3}\.\d{3}", t) for t in text)  # 1.234
    assert any(re.fullmatch(r"\d+,\d", t) for t in text)  # 45,5
    assert any(t.endswith(" máy") for t in text)  # 12 máy


def test_intake_reads_the_sample_as_planted(intake_2017):
    _cycle, result = intake_2017
    planted = planted_errors(2017, seed=2017)
    expected = planted[planted["kind"] == "status"].set_index("agency_id")["expected"]
    assert result.statuses.set_index("agency_id")["status"].to_dict() == expected.to_dict()
    assert result.problems.empty
    values = result.values.set_index(["agency_id", "field"])
    for row in planted[planted["kind"] == "logic"].itertuples():
        assert values.loc[(row.agency_id, row.field), "cell"] == row.cell
        assert values.loc[(row.agency_id, row.field), "raw_value"] == row.raw_value


def test_clean_agencies_keep_the_hard_rules(intake_2017):
    """A few E rules of docs/domain.md §5 hold wherever no error was planted (validation tests the rest)."""
    _, result = intake_2017
    wide = to_wide(result.values)
    planted = planted_errors(2017, seed=2017)
    clean = wide.drop(index=planted.loc[planted["kind"] == "logic", "agency_id"])
    assert (clean["F02"] <= clean["F01"]).all()
    assert (clean["F04"] <= clean["F03"]).all() and (clean["F08"] <= clean["F03"]).all()
    assert (clean["F15"] <= clean["F14"]).all() and (clean["F17"] <= clean["F15"]).all()
    assert (clean["F33"] <= clean["F29"] + clean["F30"]).all()
    assert ((clean["F32"] <= clean["F31"]) & (clean["F31"] <= clean["F25"])).all()
    assert (clean["F28"] + clean["F29"] + clean["F30"] <= clean["F27"]).all()
    assert ((clean["F04"] > 0) == (clean["F05"] > 0)).all()
    site = clean[clean["F20"] == 0]
    assert (site.filter(regex="^F2[12]") == 0).all().all()
    districts = clean.dropna(subset=["X00"])
    assert (districts["X02"] <= districts["X01"]).all() and (districts["X08"] <= districts["X00"]).all()
    assert clean.drop(columns=[c for c in clean if c.startswith("X")]).notna().all().all()


def test_districts_are_weaker_and_scores_spread_over_the_four_bands(intake_2017, rubric):
    scoring = pytest.importorskip("ictaudit.score.scoring")
    _cycle, result = intake_2017
    scores = scoring.score_cycle(rubric, to_wide(result.values), result.statuses, with_explanations=False).scores
    ranked = scores[scores["status"] == "ranked"]
    assert set(ranked["band"]) == {"Tốt", "Khá", "Trung bình", "Yếu"}
    by_group = ranked.groupby("group")["score_100"].median()
    assert by_group["ubnd_huyen"] < by_group["so_ban_nganh"]


def test_refuses_to_overwrite_real_data(tmp_path):
    real = tmp_path / "2017"
    real.mkdir()
    (real / "cycle.yaml").write_text("year: 2017\n", encoding="utf-8")
    with pytest.raises(CycleError, match="không phải đợt đánh giá mẫu"):
        write_sample_cycle(2017, real)
    assert (real / "cycle.yaml").read_text(encoding="utf-8") == "year: 2017\n"



def test_refuses_a_year_the_rubric_does_not_cover(tmp_path):
    with pytest.raises(CycleError, match="chỉ áp dụng cho các năm 2016, 2017, 2018, 2019"):
        write_sample_cycle(2030, tmp_path / "2030")

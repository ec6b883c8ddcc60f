"""Last year as published: predecessor links, last year's values on this year's ids, the scale compared.

Tiny explicit rosters: each table lists this year's ``predecessor`` column, last year's published
rows, and what the link must be.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from ictaudit.common.paths import DATA_DIR
from ictaudit.common.tables import read_csv
from ictaudit.intake.cycle import CycleError, load_cycle
from ictaudit.intake.previous import (
    INFO_FILE,
    LINKS_FILE,
    VALUES_FILE,
    predecessor_links,
    previous_notes_vi,
    previous_values,
    previous_wide,
    scale_differences,
    write_previous_tables,
)
from ictaudit.rules.rubric import rubric_path

# last year's published scores: agency_id, name, group, status, rank, score_100, band
LAST_YEAR = [
    ("so-a", "Sở A", "so_ban_nganh", "ranked", "1", "90.5", "Tốt"),
    ("so-b-cu", "Sở B (tên cũ)", "so_ban_nganh", "ranked", "2", "80.25", "Khá"),
    ("huyen-x", "UBND huyện X", "ubnd_huyen", "ranked", "1", "70", "Khá"),
    ("huyen-y", "UBND huyện Y", "ubnd_huyen", "ranked", "2", "60", "Trung bình"),
    ("huyen-z", "UBND huyện Z", "ubnd_huyen", "missing", "", "", ""),
    ("so-c", "Sở C", "so_ban_nganh", "ranked", "3", "50", "Trung bình"),
    ("so-d", "Sở D (giải thể)", "so_ban_nganh", "ranked", "4", "40", "Yếu"),
]
# this year's roster: agency_id → predecessor, and the link it must get
THIS_YEAR = {
    "so-a": ("", "same"),
    "so-b": ("so-b-cu", "renamed"),
    "huyen-xy": ("huyen-x;huyen-y", "merged"),
    "huyen-z": ("", "same"),
    "so-c1": ("so-c", "split"),
    "so-c2": ("so-c", "split"),
    "so-moi": ("", "new"),
}


def _scores() -> pd.DataFrame:
    cols = ["agency_id", "agency_name", "group", "status", "rank", "score_100", "band"]
    return pd.DataFrame(LAST_YEAR, columns=cols)


def _roster_then() -> pd.DataFrame:
    return pd.DataFrame({"agency_id": [r[0] for r in LAST_YEAR], "name": [r[1] for r in LAST_YEAR],
                         "group": [r[2] for r in LAST_YEAR]})  # fmt: skip


def _roster_now() -> pd.DataFrame:
    return pd.DataFrame({"agency_id": list(THIS_YEAR), "predecessor": [p for p, _ in THIS_YEAR.values()]})


@pytest.fixture
def links() -> pd.DataFrame:
    return predecessor_links(_roster_now(), _scores(), _roster_then())


def test_each_agency_gets_its_link_and_last_years_published_rank(links):
    got = links[links["agency_id"] != ""].groupby("agency_id")["link"].first().to_dict()
    assert got == {a: link for a, (_, link) in THIS_YEAR.items()}
    renamed = links[links["agency_id"] == "so-b"].iloc[0]
    assert (renamed["predecessor_id"], renamed["predecessor_rank"], renamed["predecessor_score_100"]) == ("so-b-cu", "2", "80.25")
    merged = links[links["agency_id"] == "huyen-xy"]
    assert merged["predecessor_id"].tolist() == ["huyen-x", "huyen-y"]
    assert links.loc[links["agency_id"] == "so-moi", "predecessor_id"].tolist() == [""]


def test_an_agency_nobody_continues_is_gone_and_a_continued_one_is_not(links):
    gone = links[links["link"] == "gone"]
    assert gone["predecessor_id"].tolist() == ["so-d"] and (gone["agency_id"] == "").all()


def test_a_predecessor_not_in_last_years_results_stops_naming_the_line():
    roster = _roster_now()
    roster.loc[roster["agency_id"] == "so-b", "predecessor"] = "so-b-typo"
    with pytest.raises(CycleError, match=r"agencies.csv, dòng 3: đơn vị tiền thân \(predecessor\) so-b-typo không có trong danh sách đơn vị năm trước"):
        predecessor_links(roster, _scores(), _roster_then())


# last year's confirmed values: agency, field → value (blank: NaN); F01 count, F05 decimal, F06 yes/no
LAST_VALUES = {
    ("so-a", "F01"): 50, ("so-a", "F05"): 20.5, ("so-a", "F06"): 1,
    ("so-b-cu", "F01"): 40, ("so-b-cu", "F06"): 0,
    ("huyen-x", "F01"): 100, ("huyen-x", "F05"): 10.25, ("huyen-x", "F06"): 0, ("huyen-x", "F41"): 7,
    ("huyen-y", "F01"): 30, ("huyen-y", "F05"): 2.5, ("huyen-y", "F06"): 1, ("huyen-y", "F41"): np.nan,
    ("so-c", "F01"): 80,
}  # fmt: skip


def test_a_merged_agency_gets_its_predecessors_combined_values(links, rubric):
    long = pd.DataFrame([{"agency_id": a, "field": f, "value": "" if np.isnan(v) else str(v)}
                         for (a, f), v in LAST_VALUES.items()])  # fmt: skip
    got = previous_values(links, long, rubric).set_index(["agency_id", "field"])
    assert got.loc[("so-a", "F05"), "value"] == 20.5 and got.loc[("so-a", "F05"), "combined"] == "false"
    assert got.loc[("so-b", "F01"), "value"] == 40 and got.loc[("so-b", "F01"), "predecessor_ids"] == "so-b-cu"
    merged = got.loc["huyen-xy"]
    assert merged.loc["F01", "value"] == 130  # counts summed
    assert merged.loc["F05", "value"] == 12.75  # decimals summed
    assert merged.loc["F06", "value"] == 1  # yes when any predecessor had it
    assert np.isnan(merged.loc["F41", "value"])  # one predecessor blank: no partial sum
    assert (merged["combined"] == "true").all() and (merged["predecessor_ids"] == "huyen-x;huyen-y").all()
    assert "so-c1" not in got.index.get_level_values(0) and "so-moi" not in got.index.get_level_values(0)


def test_the_scale_compared_by_id_version_and_content():
    then = {"id": "r", "version": "1.0.0", "files": {"r.yaml": "a" * 64}, "content_sha256": "b" * 64}
    assert scale_differences(then, dict(then)) == []
    assert scale_differences(then, {**then, "version": "1.1.0", "content_sha256": "c" * 64}) == [
        "phiên bản khác: năm trước 1.0.0, năm nay 1.1.0",
        f"nội dung thang điểm khác (sha256 năm trước {'b' * 12}…, năm nay {'c' * 12}…)",
    ]
    old_manifest = {**then, "content_sha256": None}  # a run from before content hashes: its files compared
    assert scale_differences(old_manifest, {**then, "files": {"r.yaml": "d" * 64}}) == [
        "tệp thang điểm khác (r.yaml: sha256 năm trước và năm nay không trùng)"
    ]


def test_a_cycle_without_previous_says_why_and_writes_no_comparison(tmp_path, rubric):
    cycle = load_cycle(DATA_DIR / "raw" / "2016", rubric)
    info = write_previous_tables(cycle, rubric, rubric_path(rubric.id), tmp_path)
    assert info["linked"] is False and "không kiểm tra L24" in info["reason_vi"]
    assert not (tmp_path / LINKS_FILE).exists() and not (tmp_path / VALUES_FILE).exists()
    assert previous_wide(tmp_path) is None
    assert previous_notes_vi(info) == [info["reason_vi"]]


def test_the_bundled_2017_is_compared_with_2016_as_published(tmp_path, rubric):
    cycle = load_cycle(DATA_DIR / "raw" / "2017", rubric)
    info = write_previous_tables(cycle, rubric, rubric_path(rubric.id), tmp_path)
    assert info["linked"] and info["year"] == 2016 and info["scale_differences"] == []
    links = read_csv(tmp_path / LINKS_FILE)
    published = read_csv(DATA_DIR / "raw" / "2017" / "previous" / "scores.csv").set_index("agency_id")
    mine = links.set_index("agency_id").loc["so-xay-dung"]
    assert (mine["predecessor_rank"], mine["predecessor_score_100"]) == (
        published.loc["so-xay-dung", "rank"], published.loc["so-xay-dung", "score_100_published"])
    wide = previous_wide(tmp_path)
    values = read_csv(DATA_DIR / "raw" / "2017" / "previous" / "values.csv")
    f01 = values[(values["agency_id"] == "so-tttt") & (values["field"] == "F01")]["value"].item()
    assert wide.at["so-tttt", "F01"] == float(f01)
    assert json.loads((tmp_path / INFO_FILE).read_text(encoding="utf-8")) == info


def test_an_edited_rubric_shows_against_last_years_scale(tmp_path, rubric):
    """The scale named in last year's manifest against a copy of this year's rubric edited in place."""
    from ictaudit.rules.rubric import load_rubric

    shutil.copytree(DATA_DIR / "raw" / "2017", tmp_path / "2017")
    edited = tmp_path / "edited.yaml"
    text = rubric_path(rubric.id).read_text(encoding="utf-8").replace("min_score: 85}", "min_score: 80}")
    edited.write_text(text, encoding="utf-8")
    cycle_yaml = tmp_path / "2017" / "cycle.yaml"
    cycle_yaml.write_text(cycle_yaml.read_text(encoding="utf-8").replace("rubric: caobang-2310-2016", f"rubric: {edited}"),
                          encoding="utf-8")  # fmt: skip
    changed = load_rubric(edited)
    info = write_previous_tables(load_cycle(tmp_path / "2017"), changed, edited, tmp_path / "scored")
    assert len(info["scale_differences"]) == 1 and "nội dung thang điểm khác" in info["scale_differences"][0]
    notes = previous_notes_vi(info)
    assert "Thang điểm năm 2016 khác thang điểm năm nay" in notes[1] and "phản ánh cả thay đổi thang điểm" in notes[1]


@pytest.mark.slow
def test_the_bundled_previous_results_are_what_a_run_of_the_bundled_2016_publishes(tmp_path):
    """``make sample-years`` links a run of data/raw/2016 into data/raw/2017/previous/: the tables of a run made
    now are byte for byte those copies (the manifest, a record with times and paths, by its hashes)."""
    from ictaudit.run.suite import run_cycle

    bundled = DATA_DIR / "raw" / "2017" / "previous"
    result = run_cycle(DATA_DIR / "raw" / "2016", out=tmp_path / "out", scored=tmp_path / "scored", progress=False,
                       notebooks=("01_intake.ipynb", "02_validate.ipynb", "03_score.ipynb"))  # fmt: skip
    hint = "the bundled 2017's previous/ is stale: regenerate the sample years with `make sample-years`"
    for name in ("scores.csv", "values.csv"):
        assert (result.scored_dir / name).read_bytes() == (bundled / name).read_bytes(), f"{name}: {hint}"
    assert (DATA_DIR / "raw" / "2016" / "agencies.csv").read_bytes() == (bundled / "agencies.csv").read_bytes(), hint
    recorded = json.loads((bundled / "manifest.json").read_text(encoding="utf-8"))
    now = json.loads(result.manifest.read_text(encoding="utf-8"))
    assert recorded["rubric"]["content_sha256"] == now["rubric"]["content_sha256"], hint
    for name in ("scores.csv", "values.csv"):
        assert recorded["outputs"][f"scored/{name}"] == now["outputs"][f"scored/{name}"], hint

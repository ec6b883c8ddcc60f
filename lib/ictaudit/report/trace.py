"""One agency's score, step by step, from the form cell to its rank (the tables notebook 05 shows).

Every function reads the scored folder of a run and returns a small table about one agency, in the
order a reviewer follows: where each value came from, how it was read, what was corrected, what
validation found, how each indicator was computed, the criterion and total points, and the rank.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ictaudit.common.tables import read_csv
from ictaudit.rules.rubric import Rubric


class UnknownAgency(KeyError):
    pass


def _read(scored_dir: Path, name: str) -> pd.DataFrame:
    path = Path(scored_dir) / name
    return read_csv(path) if path.exists() else pd.DataFrame()


def agency_summary(scored_dir: Path, agency_id: str) -> pd.Series:
    """Name, group, status and reason, points, score, band and rank of one agency."""
    scores = _read(scored_dir, "scores.csv")
    row = scores[scores["agency_id"] == agency_id]
    if row.empty:
        known = ", ".join(sorted(scores["agency_id"])[:10])
        raise UnknownAgency(f"agency {agency_id!r} is not in {Path(scored_dir) / 'scores.csv'}; e.g. {known}")
    return row.iloc[0]


def source_cells(scored_dir: Path, agency_id: str, rubric: Rubric) -> pd.DataFrame:
    """Each field: file, sheet, cell and text as typed, the value read, and the confirmed value."""
    confirmed = _read(scored_dir, "values.csv")
    submitted = _read(scored_dir, "values_submitted.csv")
    if confirmed.empty:
        return confirmed
    c = confirmed[confirmed["agency_id"] == agency_id]
    s = submitted[submitted["agency_id"] == agency_id][["field", "value"]].rename(columns={"value": "value_read"})
    out = c.merge(s, on="field", how="left")
    out.insert(1, "label_vi", out["field"].map(lambda f: rubric.field_by_code[f].label_vi if f in rubric.field_by_code else ""))
    return out[["field", "label_vi", "source_file", "sheet", "cell", "raw_value", "value_read", "value", "correction_id"]]


def corrections(scored_dir: Path, agency_id: str) -> pd.DataFrame:
    df = _read(scored_dir, "corrections.csv")
    return df[df["agency_id"] == agency_id] if not df.empty else df


def findings(scored_dir: Path, agency_id: str) -> pd.DataFrame:
    """Validation and intake findings, round 1 (as sent) and round 2 (after corrections)."""
    df = _read(scored_dir, "issues.csv")
    return df[df["agency_id"] == agency_id] if not df.empty else df


def indicator_steps(scored_dir: Path, agency_id: str, rubric: Rubric) -> pd.DataFrame:
    """Each indicator: its rule, the numbers substituted, points of the maximum, and flags."""
    trail = _read(scored_dir, "trail.csv")
    t = trail[trail["agency_id"] == agency_id].copy()
    labels = {ind.id: ind.label_vi for c in rubric.criteria for ind in c.indicators}
    t.insert(2, "label_vi", t["indicator_id"].map(labels))
    return t[["criterion_id", "indicator_id", "label_vi", "formula", "inputs", "explanation_vi", "points", "max_points", "applicable", "flags"]]


def criterion_totals(scored_dir: Path, agency_id: str) -> pd.DataFrame:
    """Criterion points against the group's median and best (ranked agencies), with the criterion rank."""
    crit = _read(scored_dir, "criteria.csv")
    scores = _read(scored_dir, "scores.csv")
    if crit.empty:
        return crit
    crit["points"] = pd.to_numeric(crit["points"])
    group = agency_summary(scored_dir, agency_id)["group"]
    ranked = set(scores.loc[(scores["status"] == "ranked") & (scores["group"] == group), "agency_id"])
    peers = crit[crit["agency_id"].isin(ranked)].groupby("criterion_id")["points"].agg(group_median="median", group_best="max")
    mine = crit[crit["agency_id"] == agency_id].set_index("criterion_id")
    out = mine[["points", "max_points", "applicable_max", "score_100", "rank"]].join(peers)
    return out.reset_index()


def group_ranking(scored_dir: Path, agency_id: str) -> pd.DataFrame:
    """The agency's group ranking, with the agency marked."""
    scores = _read(scored_dir, "scores.csv")
    group = agency_summary(scored_dir, agency_id)["group"]
    g = scores[(scores["group"] == group) & (scores["status"] == "ranked")].copy()
    g.insert(0, "this", (g["agency_id"] == agency_id).map({True: "◀", False: ""}))
    return g[["this", "rank", "agency_id", "agency_name", "points", "applicable_max", "score_100", "index", "band"]]

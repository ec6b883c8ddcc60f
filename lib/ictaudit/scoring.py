"""Scoring and ranking: confirmed values in, points per indicator, criterion, total, band and rank out.

The numbers and the words are computed apart: :func:`score_points` is vectorised over a group and
returns arrays only (the robustness analysis calls it thousands of times); :func:`score_cycle` adds
the trail — one row per agency × indicator with the inputs, the explanation in Vietnamese, the
rule, the points and the flags — and the tables of DESIGN §6.

Rules (DOMAIN §3): not-applicable indicators leave both the achieved and the attainable totals;
``score_100 = 100 × achieved / applicable_max`` and ``index = achieved / applicable_max`` are
rounded half up (2 and 3 decimals) and ranks and bands are judged on the rounded, published value;
ranking is competition ranking ("1-2-2-4") within each group, among ranked agencies only. Agencies
that are not ranked (late, excluded, …) but whose values were read are scored for information:
their points appear, their band and rank stay empty, and they never set a ``ratio_to_best`` best.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ictaudit.kinds import FLAG_ORDER, IndicatorKind, KindResult
from ictaudit.numfmt import round_half_up
from ictaudit.rubric import CriterionSpec, Rubric

TRAIL_COLUMNS = [
    "agency_id", "group", "criterion_id", "indicator_id", "kind", "inputs", "explanation_vi",
    "formula", "points", "max_points", "applicable", "flags",
]  # fmt: skip
SCORES_BASE_COLUMNS = [
    "agency_id", "agency_name", "group", "status", "status_reason", "points", "applicable_max",
    "score_100", "index", "band", "rank",
]  # fmt: skip
CRITERIA_COLUMNS = ["agency_id", "group", "criterion_id", "points", "max_points", "applicable_max", "score_100", "rank"]
RANKED = "ranked"


def rank_competition(values: Iterable[float] | pd.Series, decimals: int | None = None) -> pd.Series:
    """Competition ranks ("1-2-2-4"), highest first, of values rounded half up to ``decimals``.

    NaN gets no rank (``<NA>``). The index of a Series is kept.
    """
    s = values if isinstance(values, pd.Series) else pd.Series(list(values), dtype=float)
    s = s.astype(float)
    if decimals is not None:
        s = pd.Series(round_half_up(s.to_numpy(), decimals), index=s.index)
    return s.rank(method="min", ascending=False, na_option="keep").astype("Int64")


@dataclass(frozen=True)
class GroupPoints:
    """The numbers of one group: rows are agencies, columns the group's indicators in rubric order."""

    group_id: str
    agency_ids: list[str]
    indicators: list[tuple[CriterionSpec, IndicatorKind]]
    results: list[KindResult]
    points: np.ndarray  # (n_agencies, n_indicators)
    applicable: np.ndarray  # bool, same shape
    max_points: np.ndarray  # (n_indicators,)

    def criterion_columns(self) -> dict[str, np.ndarray]:
        """Indicator column positions of each criterion, in rubric order."""
        out: dict[str, list[int]] = {}
        for j, (c, _) in enumerate(self.indicators):
            out.setdefault(c.id, []).append(j)
        return {k: np.array(v) for k, v in out.items()}


def score_points(
    rubric: Rubric,
    group_id: str,
    values: pd.DataFrame,
    ranked: np.ndarray | None = None,
) -> GroupPoints:
    """Every indicator of the group's scale over ``values`` (rows: agencies of this group)."""
    indicators = list(rubric.indicators(group_id))
    results = [ind.compute(values, ranked) for _, ind in indicators]
    n, k = len(values), len(indicators)
    points = np.empty((n, k))
    applicable = np.empty((n, k), bool)
    for j, r in enumerate(results):
        points[:, j] = r.points
        applicable[:, j] = r.applicable
    max_points = np.array([ind.max_points for _, ind in indicators])
    return GroupPoints(group_id, list(values.index), indicators, results, points, applicable, max_points)


def totals(gp: GroupPoints, decimals: int) -> dict[str, np.ndarray]:
    """Achieved and attainable totals, ``score_100`` (rounded) and ``index`` (3 decimals)."""
    achieved = (gp.points * gp.applicable).sum(axis=1)
    attainable = (gp.max_points * gp.applicable).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(attainable > 0, achieved / attainable, np.nan)
    return {
        "points": achieved,
        "applicable_max": attainable,
        "score_100": round_half_up(100 * share, decimals),
        "index": round_half_up(share, 3),
    }


def group_frame(
    rubric: Rubric,
    group_id: str,
    values: pd.DataFrame,
    roster: pd.DataFrame,
    blocked: set[tuple[str, str]],
) -> tuple[list[str], pd.DataFrame, pd.DataFrame, np.ndarray]:
    """The agencies of one group that have values, sorted: ``(ids, original, used, is_ranked)``.

    ``original`` holds the group's form fields as confirmed; ``used`` is the same with the blocked
    values blanked (what scoring reads); ``is_ranked`` marks the agencies that may be ranked and set
    a best. ``roster`` is indexed by agency_id and has ``group`` and ``status``.
    """
    members = roster.index[roster["group"] == group_id]
    ids = sorted(a for a in members if a in values.index)
    form_fields = [f.code for f in rubric.fields_for_form(rubric.form_of(group_id))]
    original = values.reindex(index=ids, columns=form_fields).astype(float)
    used = original.copy()
    for agency_id, code in blocked:
        if agency_id in used.index and code in used.columns:
            used.loc[agency_id, code] = np.nan
    is_ranked = (roster.loc[ids, "status"] == RANKED).to_numpy() if ids else np.zeros(0, bool)
    return ids, original, used, is_ranked


@dataclass(frozen=True)
class ScoreResult:
    trail: pd.DataFrame
    scores: pd.DataFrame
    criteria: pd.DataFrame


def score_cycle(
    rubric: Rubric,
    values: pd.DataFrame,
    agencies: pd.DataFrame,
    blocked: Iterable[tuple[str, str]] | None = None,
    with_explanations: bool = True,
) -> ScoreResult:
    """Score every agency that has values and build the trail, scores and criteria tables.

    ``values``: wide frame indexed by agency_id, one float column per field (NaN = blank).
    ``agencies``: ``agency_id, agency_name, group, status, status_reason`` for the whole roster;
    agencies without values get a scores row with their status and no numbers.
    ``blocked``: (agency_id, field) pairs held back by an unresolved E problem — scored as missing
    and flagged ``blocked``.
    """
    _check_agencies(agencies, rubric)
    blocked_set = set(blocked or ())
    decimals = rubric.ranking.decimals
    trail_parts, score_parts, criteria_parts = [], [], []
    roster = agencies.set_index("agency_id")

    for group in rubric.groups:
        ids, original, used, is_ranked = group_frame(rubric, group.id, values, roster, blocked_set)
        gp = score_points(rubric, group.id, used, is_ranked)
        tot = totals(gp, decimals)

        ranks = pd.Series(np.where(is_ranked, tot["score_100"], np.nan), index=ids)
        ranks = rank_competition(ranks)
        crit_cols = gp.criterion_columns()
        crit_points = {c: gp.points[:, cols].sum(axis=1) for c, cols in crit_cols.items()}
        crit_attainable = {c: (gp.max_points[cols] * gp.applicable[:, cols]).sum(axis=1) for c, cols in crit_cols.items()}
        crit_max = {c.id: c.max_points[group.id] for c in rubric.criteria_for(group.id)}

        for c_id, cols in crit_cols.items():
            achieved = (gp.points[:, cols] * gp.applicable[:, cols]).sum(axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                share = np.where(crit_attainable[c_id] > 0, achieved / crit_attainable[c_id], np.nan)
            c_score = round_half_up(100 * share, decimals)
            c_rank = rank_competition(pd.Series(np.where(is_ranked, c_score, np.nan), index=ids))
            criteria_parts.append(
                pd.DataFrame(
                    {
                        "agency_id": ids, "group": group.id, "criterion_id": c_id,
                        "points": crit_points[c_id], "max_points": float(crit_max[c_id]),
                        "applicable_max": crit_attainable[c_id], "score_100": c_score,
                        "rank": c_rank.to_numpy(),
                    }
                )
            )  # fmt: skip

        bands = [
            (b.label_vi if (b := rubric.band_for(float(x))) and r else "") for x, r in zip(tot["score_100"], is_ranked)
        ]
        part = pd.DataFrame(
            {
                "agency_id": ids,
                "points": tot["points"],
                "applicable_max": tot["applicable_max"],
                "score_100": tot["score_100"],
                "index": tot["index"],
                "band": bands,
                "rank": ranks.to_numpy(),
                **{c: crit_points[c] for c in crit_cols},
            }
        )
        score_parts.append(part)

        if ids:
            trail_parts.append(_trail_rows(gp, original, used, blocked_set, with_explanations))

    scored = pd.concat([p for p in score_parts if len(p)], ignore_index=True) if any(len(p) for p in score_parts) else pd.DataFrame()
    criterion_ids = [c.id for c in rubric.criteria]
    scores = agencies[["agency_id", "agency_name", "group", "status", "status_reason"]].merge(
        scored if len(scored) else pd.DataFrame(columns=["agency_id"]), on="agency_id", how="left"
    )
    for col in [*SCORES_BASE_COLUMNS, *criterion_ids]:
        if col not in scores.columns:
            scores[col] = np.nan
    scores["band"] = scores["band"].fillna("")
    scores["rank"] = scores["rank"].astype("Int64")
    group_order = {g: i for i, g in enumerate(rubric.group_ids)}
    scores = (
        scores.assign(_g=scores["group"].map(group_order), _r=scores["rank"].astype(float))
        .sort_values(["_g", "_r", "agency_id"], na_position="last", kind="mergesort")
        .drop(columns=["_g", "_r"])[[*SCORES_BASE_COLUMNS, *criterion_ids]]
        .reset_index(drop=True)
    )
    trail = pd.concat(trail_parts, ignore_index=True) if trail_parts else pd.DataFrame(columns=TRAIL_COLUMNS)
    parts = [p for p in criteria_parts if len(p)]
    criteria = pd.concat(parts, ignore_index=True)[CRITERIA_COLUMNS] if parts else pd.DataFrame(columns=CRITERIA_COLUMNS)
    if len(criteria):
        criteria["rank"] = criteria["rank"].astype("Int64")
    return ScoreResult(trail=trail[TRAIL_COLUMNS], scores=scores, criteria=criteria)


def _check_agencies(agencies: pd.DataFrame, rubric: Rubric) -> None:
    need = {"agency_id", "agency_name", "group", "status", "status_reason"}
    if missing := sorted(need - set(agencies.columns)):
        raise ValueError(f"agencies table lacks columns: {', '.join(missing)}")
    if dup := sorted(agencies["agency_id"][agencies["agency_id"].duplicated()].unique()):
        raise ValueError(f"agencies listed twice: {', '.join(dup)}")
    unknown = sorted(set(agencies["group"]) - set(rubric.group_ids))
    if unknown:
        raise ValueError(f"unknown groups in the agencies table: {', '.join(unknown)}; rubric groups: {rubric.group_ids}")


def _json_number(x: float) -> float | int | None:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return None
    x = round(float(x), 6)
    return int(x) if x.is_integer() else x


def _json_column(x: np.ndarray) -> list[str]:
    """Numbers as JSON text, the way json.dumps writes _json_number's result (null for a blank)."""
    return ["null" if v is None else json.dumps(v) for v in map(_json_number, x.tolist())]


def _trail_rows(
    gp: GroupPoints,
    original: pd.DataFrame,
    used: pd.DataFrame,
    blocked: set[tuple[str, str]],
    with_explanations: bool,
) -> pd.DataFrame:
    """One row per agency × indicator, built a column at a time (the explanation text row by row)."""
    ids = gp.agency_ids
    n = len(ids)
    orig = original.to_numpy()
    col_pos = {c: j for j, c in enumerate(original.columns)}
    json_of = {}  # field → JSON text of each agency's value, computed once per field
    blocked_by_agency: dict[str, list[str]] = {}
    for agency_id, code in sorted(blocked):
        blocked_by_agency.setdefault(agency_id, []).append(code)
    parts = []
    for (criterion, ind), res in zip(gp.indicators, gp.results):
        fields = ind.input_fields
        for f in fields:
            if f not in json_of:
                json_of[f] = _json_column(orig[:, col_pos[f]])
        blank = {f: np.isnan(orig[:, col_pos[f]]) for f in fields}
        held = [[f for f in fields if f in blocked_by_agency.get(a, ())] for a in ids]
        detail = res.detail
        best = _json_column(detail["best"]) if ind.uses_best else None
        inputs_json, flags_col, explanations = [], [], []
        res_flags = {name: arr for name, arr in res.flags.items()}
        for i in range(n):
            h = held[i]
            body = ", ".join(f'"{f}": {json_of[f][i]}' for f in fields)
            if best is not None:
                body += f', "best": {best[i]}'
            if h:
                body += ", " + '"blocked": ' + json.dumps(h)
            inputs_json.append("{" + body + "}")
            # "missing" means blank as submitted; a value held back is "blocked" instead
            flags = [name for name in FLAG_ORDER if name in res_flags and name != "missing" and res_flags[name][i]]
            if any(blank[f][i] for f in fields if f not in h):
                flags.insert(0, "missing")
            if h:
                flags.insert(1 if flags[:1] == ["missing"] else 0, "blocked")
            flags_col.append(";".join(flags))
            if with_explanations:
                d = {k: float(v[i]) for k, v in detail.items()}
                used_inputs = {f: (None if (f in h or blank[f][i]) else float(orig[i, col_pos[f]])) for f in fields}
                text = ind.explain(used_inputs, d, "vi")
                if h:
                    text = (
                        f"Số liệu {', '.join(h)} bị giữ lại do lỗi nghiêm trọng chưa được xác nhận, "
                        f"tính như thiếu số liệu. {text}"
                    )
                explanations.append(text)
            else:
                explanations.append("")
        parts.append(
            pd.DataFrame(
                {
                    "agency_id": ids, "group": gp.group_id, "criterion_id": criterion.id, "indicator_id": ind.id,
                    "kind": ind.kind, "inputs": inputs_json, "explanation_vi": explanations,
                    "formula": ind.formula(), "points": res.points.astype(float), "max_points": ind.max_points,
                    "applicable": res.applicable.astype(bool), "flags": flags_col,
                }
            )
        )  # fmt: skip
    df = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=TRAIL_COLUMNS)
    order = {ind.id: j for j, (_, ind) in enumerate(gp.indicators)}
    df["_o"] = df["indicator_id"].map(order)
    return df.sort_values(["agency_id", "_o"], kind="mergesort").drop(columns="_o").reset_index(drop=True)[TRAIL_COLUMNS]


def write_score_tables(result: ScoreResult, out_dir) -> dict[str, object]:
    """``trail.csv``, ``scores.csv`` and ``criteria.csv`` into ``out_dir`` (DESIGN §6)."""
    from pathlib import Path

    from ictaudit.tables import write_csv

    out = Path(out_dir)
    return {
        "trail": write_csv(result.trail, out / "trail.csv", TRAIL_COLUMNS),
        "scores": write_csv(result.scores, out / "scores.csv"),
        "criteria": write_csv(result.criteria, out / "criteria.csv", CRITERIA_COLUMNS),
    }

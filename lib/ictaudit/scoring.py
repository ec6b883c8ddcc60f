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
    trail_parts, score_rows, criteria_rows = [], [], []
    roster = agencies.set_index("agency_id")

    for group in rubric.groups:
        members = roster.index[roster["group"] == group.id]
        ids = sorted(a for a in members if a in values.index)
        form_fields = [f.code for f in rubric.fields_for_form(group.form)]
        original = values.reindex(index=ids, columns=form_fields).astype(float)
        used = original.copy()
        for agency_id, code in blocked_set:
            if agency_id in used.index and code in used.columns:
                used.loc[agency_id, code] = np.nan
        is_ranked = (roster.loc[ids, "status"] == RANKED).to_numpy() if ids else np.zeros(0, bool)
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
            for i, a in enumerate(ids):
                criteria_rows.append(
                    {
                        "agency_id": a, "group": group.id, "criterion_id": c_id,
                        "points": float(crit_points[c_id][i]), "max_points": crit_max[c_id],
                        "applicable_max": float(crit_attainable[c_id][i]), "score_100": float(c_score[i]),
                        "rank": c_rank.iloc[i],
                    }
                )  # fmt: skip

        for i, a in enumerate(ids):
            band = rubric.band_for(float(tot["score_100"][i])) if is_ranked[i] else None
            row = {
                "agency_id": a,
                "points": float(tot["points"][i]),
                "applicable_max": float(tot["applicable_max"][i]),
                "score_100": float(tot["score_100"][i]),
                "index": float(tot["index"][i]),
                "band": band.label_vi if band else "",
                "rank": ranks.iloc[i],
            }
            row.update({c: float(crit_points[c][i]) for c in crit_cols})
            score_rows.append(row)

        if ids:
            trail_parts.append(_trail_rows(gp, original, used, blocked_set, with_explanations))

    scored = pd.DataFrame(score_rows)
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
    criteria = pd.DataFrame(criteria_rows, columns=CRITERIA_COLUMNS)
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


def _trail_rows(
    gp: GroupPoints,
    original: pd.DataFrame,
    used: pd.DataFrame,
    blocked: set[tuple[str, str]],
    with_explanations: bool,
) -> pd.DataFrame:
    ids = gp.agency_ids
    orig = original.to_numpy()
    col_pos = {c: j for j, c in enumerate(original.columns)}
    rows = []
    for _j, ((criterion, ind), res) in enumerate(zip(gp.indicators, gp.results)):
        fields = ind.input_fields
        fpos = [col_pos[f] for f in fields]
        formula = ind.formula()
        for i, a in enumerate(ids):
            inputs = {f: _json_number(orig[i, p]) for f, p in zip(fields, fpos)}
            held = [f for f in fields if (a, f) in blocked]
            flags = set(res.flags_at(i))
            # "missing" means blank as submitted; a value held back is "blocked" instead
            if any(inputs[f] is None for f in fields if f not in held):
                flags.add("missing")
            else:
                flags.discard("missing")
            if held:
                flags.add("blocked")
            detail = res.detail_at(i)
            record = dict(inputs)
            if ind.uses_best:
                record["best"] = _json_number(detail.get("best", math.nan))
            if held:
                record["blocked"] = held
            explanation = ""
            if with_explanations:
                used_inputs = {f: (None if f in held else inputs[f]) for f in fields}
                explanation = ind.explain(used_inputs, detail, "vi")
                if held:
                    explanation = (
                        f"Số liệu {', '.join(held)} bị giữ lại do lỗi nghiêm trọng chưa được xác nhận, "
                        f"tính như thiếu số liệu. {explanation}"
                    )
            rows.append(
                {
                    "agency_id": a, "group": gp.group_id, "criterion_id": criterion.id, "indicator_id": ind.id,
                    "kind": ind.kind, "inputs": json.dumps(record, ensure_ascii=False),
                    "explanation_vi": explanation, "formula": formula, "points": float(res.points[i]),
                    "max_points": ind.max_points, "applicable": bool(res.applicable[i]),
                    "flags": ";".join(f for f in FLAG_ORDER if f in flags),
                }
            )  # fmt: skip
    order = {ind.id: j for j, (_, ind) in enumerate(gp.indicators)}
    df = pd.DataFrame(rows, columns=TRAIL_COLUMNS)
    df["_o"] = df["indicator_id"].map(order)
    return df.sort_values(["agency_id", "_o"], kind="mergesort").drop(columns="_o").reset_index(drop=True)


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

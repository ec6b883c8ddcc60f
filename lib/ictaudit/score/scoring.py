"""Scoring and ranking: confirmed values in, points per indicator, criterion, total, band and rank out.

The numbers and the words are computed apart: :func:`score_points` is vectorised over a group and
returns arrays only (the robustness analysis rescales them); :func:`score_cycle` adds the trail —
one row per agency × indicator with the inputs, the explanation in Vietnamese, the rule, the points
and the flags — and the tables of docs/contracts.md §6.

Rules (docs/domain.md §3): not-applicable indicators leave both the achieved and the attainable
totals; ``score_100 = 100 × achieved / applicable_max`` and ``index = achieved / applicable_max``
are kept in full; ``score_100_published`` is ``score_100`` rounded half up to the rubric's decimals
(:func:`ictaudit.common.numfmt.round_half_up`, as ``ROUND`` in a spreadsheet), the one rounding of
the scale: ranks, ties and bands are judged on it. Ranking is competition ranking ("1-2-2-4",
:func:`ictaudit.score.ranking.rank_competition`) within each group, among ranked agencies only.
Not evaluated means not scored (docs/domain.md §1 step 2, "xem như không được đánh giá"): an agency
that is not ranked — late, excluded, missing or invalid — gets its ``scores.csv`` row with its status
and reason and no number at all, no row of the trail or of ``criteria.csv``, and never sets a
``ratio_to_best`` best, even when its form was read (its values stay in ``values.csv``: the form is
kept).

Every number is computed in the order of operations of the formula ``report.xlsx`` writes for it, so
that the workbook recalculates to the library's numbers: a criterion's points are its indicators'
added left to right in rubric order (``SUM`` over the row), the total is the criteria's added left to
right, ``score_100`` is ``(100 × points) / applicable_max``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ictaudit.common.numfmt import round_half_up
from ictaudit.common.tables import number_texts
from ictaudit.rules.kinds import FLAG_ORDER, IndicatorKind, KindResult
from ictaudit.rules.rubric import CriterionSpec, Rubric
from ictaudit.score.ranking import rank_competition

TRAIL_COLUMNS = [
    "agency_id", "group", "criterion_id", "indicator_id", "kind", "inputs", "explanation_vi",
    "formula", "points", "max_points", "applicable", "flags",
]  # fmt: skip
SCORES_BASE_COLUMNS = [
    "agency_id", "agency_name", "group", "status", "status_reason", "points", "applicable_max",
    "score_100", "score_100_published", "index", "band", "rank",
]  # fmt: skip
CRITERIA_COLUMNS = [
    "agency_id", "group", "criterion_id", "points", "max_points", "applicable_max", "score_100",
    "score_100_published", "rank",
]  # fmt: skip
RANKED = "ranked"


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
    return GroupPoints(group_id, values.index.tolist(), indicators, results, points, applicable, max_points)


def sum_in_order(columns: np.ndarray) -> np.ndarray:
    """The columns of ``columns`` (agencies × items) added left to right, as a spreadsheet's ``SUM`` over
    a row does (numpy's own reduction adds in another order from 8 columns on)."""
    total = np.zeros(columns.shape[0])
    for j in range(columns.shape[1]):
        total = total + columns[:, j]
    return total


def criterion_sums(gp: GroupPoints) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Each criterion's achieved and attainable points (not-applicable indicators left out of both), in
    rubric order, each added left to right over its indicators."""
    achieved, attainable = {}, {}
    for c, cols in gp.criterion_columns().items():
        achieved[c] = sum_in_order(gp.points[:, cols] * gp.applicable[:, cols])
        attainable[c] = sum_in_order(gp.max_points[cols] * gp.applicable[:, cols])
    return achieved, attainable


def score_of(achieved: np.ndarray, attainable: np.ndarray) -> np.ndarray:
    """``(100 × achieved) / attainable`` in full, NaN where nothing is attainable."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(attainable > 0, (100 * achieved) / attainable, np.nan)


def totals(gp: GroupPoints, decimals: int) -> dict[str, np.ndarray]:
    """Achieved and attainable totals, ``score_100`` and ``index`` in full, and ``score_100_published``.

    The total is the criteria's points added left to right, as the workbook's ``SUM`` of the criterion
    cells adds them; the attainable maximum the indicators' maxima, as its ``SUMPRODUCT`` does.
    """
    by_criterion, _ = criterion_sums(gp)
    achieved = sum_in_order(np.column_stack(list(by_criterion.values()))) if by_criterion else np.zeros(len(gp.agency_ids))
    attainable = sum_in_order(gp.max_points * gp.applicable)
    with np.errstate(invalid="ignore", divide="ignore"):
        index = np.where(attainable > 0, achieved / attainable, np.nan)
    score = score_of(achieved, attainable)
    return {
        "points": achieved,
        "applicable_max": attainable,
        "score_100": score,
        "score_100_published": round_half_up(score, decimals),
        "index": index,
    }


def group_frame(
    rubric: Rubric,
    group_id: str,
    values: pd.DataFrame,
    roster: pd.DataFrame,
    blocked: set[tuple[str, str]],
) -> tuple[list[str], pd.DataFrame, pd.DataFrame, np.ndarray]:
    """The agencies of one group that are scored — ranked and with values — sorted:
    ``(ids, original, used, is_ranked)``.

    ``original`` holds the group's form fields as confirmed; ``used`` is the same with the blocked
    values blanked (what scoring reads); ``is_ranked`` marks the agencies that may be ranked and set
    a best (all of them: an agency that is not ranked is not scored). ``roster`` is indexed by
    agency_id and has ``group`` and ``status``.
    """
    members = roster.index[(roster["group"] == group_id) & (roster["status"] == RANKED)]
    ids = sorted(members[members.isin(values.index)].tolist())
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
    agencies that are not ranked, or have no values, get a scores row with their status and no numbers.
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

        ranks = rank_competition(np.where(is_ranked, tot["score_100_published"], np.nan))
        crit_points, crit_attainable = criterion_sums(gp)
        criteria_parts += _criterion_parts(rubric, gp, is_ranked, crit_points, crit_attainable)

        published, where = np.unique(tot["score_100_published"], return_inverse=True)  # each distinct score's band once
        labels = np.array([b.label_vi if (b := rubric.band_for(x)) else "" for x in published.tolist()], dtype=object)
        bands = np.where(is_ranked, labels[where.reshape(-1)], "")
        part = pd.DataFrame(
            {
                "agency_id": ids,
                "points": tot["points"],
                "applicable_max": tot["applicable_max"],
                "score_100": tot["score_100"],
                "score_100_published": tot["score_100_published"],
                "index": tot["index"],
                "band": bands,
                "rank": _nullable_ranks(ranks),
                **crit_points,
            }
        )
        score_parts.append(part)

        if ids:
            trail_parts.append(_trail_rows(gp, original, used, blocked_set, with_explanations))

    trail = pd.concat(trail_parts, ignore_index=True) if trail_parts else pd.DataFrame(columns=TRAIL_COLUMNS)
    parts = [p for p in criteria_parts if len(p)]
    criteria = pd.concat(parts, ignore_index=True)[CRITERIA_COLUMNS] if parts else pd.DataFrame(columns=CRITERIA_COLUMNS)
    if len(criteria):
        criteria["rank"] = criteria["rank"].astype("Int64")
    return ScoreResult(trail=trail[TRAIL_COLUMNS], scores=_scores_table(rubric, agencies, score_parts), criteria=criteria)


def _criterion_parts(
    rubric: Rubric,
    gp: GroupPoints,
    is_ranked: np.ndarray,
    crit_points: dict[str, np.ndarray],
    crit_attainable: dict[str, np.ndarray],
) -> list[pd.DataFrame]:
    """The group's rows of ``criteria.csv``, a frame per criterion: points, maxima, ``score_100`` in full
    and as published, and the rank on the published value."""
    decimals = rubric.ranking.decimals
    crit_max = {c.id: c.max_points[gp.group_id] for c in rubric.criteria_for(gp.group_id)}
    parts = []
    for c_id, achieved in crit_points.items():
        attainable = crit_attainable[c_id]
        c_score = score_of(achieved, attainable)
        c_published = round_half_up(c_score, decimals)
        c_rank = rank_competition(np.where(is_ranked, c_published, np.nan))
        parts.append(
            pd.DataFrame(
                {
                    "agency_id": gp.agency_ids, "group": gp.group_id, "criterion_id": c_id,
                    "points": achieved, "max_points": float(crit_max[c_id]), "applicable_max": attainable,
                    "score_100": c_score, "score_100_published": c_published, "rank": _nullable_ranks(c_rank),
                }
            )
        )  # fmt: skip
    return parts


def _scores_table(rubric: Rubric, agencies: pd.DataFrame, score_parts: list[pd.DataFrame]) -> pd.DataFrame:
    """``scores.csv``: every roster agency with its numbers (empty without values), by group, rank and id."""
    scored = pd.concat([p for p in score_parts if len(p)], ignore_index=True) if any(len(p) for p in score_parts) else pd.DataFrame()
    criterion_ids = [c.id for c in rubric.criteria]
    scores = agencies[["agency_id", "agency_name", "group", "status", "status_reason"]].merge(
        scored if len(scored) else pd.DataFrame(columns=["agency_id"]), on="agency_id", how="left"
    )
    for col in [*SCORES_BASE_COLUMNS, *criterion_ids]:
        if col not in scores.columns:
            scores[col] = np.nan
    scores["band"] = scores["band"].astype(object).fillna("")  # all-NaN (no agency with values) is float
    scores["rank"] = scores["rank"].astype("Int64")
    group_order = {g: i for i, g in enumerate(rubric.group_ids)}
    scores = (
        scores.assign(_g=scores["group"].map(group_order), _r=scores["rank"].astype(float))
        .sort_values(["_g", "_r", "agency_id"], na_position="last", kind="mergesort")
        .drop(columns=["_g", "_r"])[[*SCORES_BASE_COLUMNS, *criterion_ids]]
        .reset_index(drop=True)
    )
    return scores


def _nullable_ranks(ranks: np.ndarray) -> pd.arrays.IntegerArray:
    """Ranks as a table column: 0 (no rank) becomes ``<NA>``."""
    return pd.arrays.IntegerArray(np.asarray(ranks, dtype=np.int64), np.asarray(ranks) == 0)


def _check_agencies(agencies: pd.DataFrame, rubric: Rubric) -> None:
    need = {"agency_id", "agency_name", "group", "status", "status_reason"}
    if missing := sorted(need - set(agencies.columns)):
        raise ValueError(f"agencies table lacks columns: {', '.join(missing)}")
    if dup := sorted(agencies["agency_id"][agencies["agency_id"].duplicated()].unique()):
        raise ValueError(f"agencies listed twice: {', '.join(dup)}")
    unknown = sorted(set(agencies["group"].unique().tolist()) - set(rubric.group_ids))
    if unknown:
        raise ValueError(f"unknown groups in the agencies table: {', '.join(unknown)}; rubric groups: {rubric.group_ids}")


def _json_number(x: float) -> float | int | None:
    """A number for the trail's JSON, in full (a whole one without ``.0``); None for a blank."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return None
    x = float(x)
    return int(x) if x.is_integer() and abs(x) < 1e15 else x


def _json_text(x: float) -> str:
    """A number as JSON text, the way json.dumps writes _json_number's result (null for a blank)."""
    v = _json_number(x)
    return "null" if v is None else json.dumps(v)


def _json_distinct(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_json_text` of each distinct value of ``x`` (an object array) and each element's position."""
    values, where = np.unique(x, return_inverse=True)
    return number_texts(values, _json_text), where.reshape(-1)


def _inputs_column(pieces: list[tuple[np.ndarray, np.ndarray]], n: int) -> np.ndarray:
    """``{"F02": 64, "F01": 69}`` for each of ``n`` rows from each input's distinct texts and positions;
    written once per distinct combination when there can be few (yes/no items, a single field)."""
    sizes = [len(texts) for texts, _ in pieces]
    if math.prod(sizes) <= n:
        key = np.zeros(n, dtype=np.int64)
        for (_, where), size in zip(pieces, sizes):
            key = key * size + where
        combos, rows = np.unique(key, return_inverse=True)
        positions = []
        for size in reversed(sizes):
            combos, position = np.divmod(combos, size)
            positions.append(position)
        columns = [texts[position] for (texts, _), position in zip(pieces, reversed(positions))]
        distinct = np.array(["{" + ", ".join(parts) + "}" for parts in zip(*columns)], dtype=object)
        return distinct[rows.reshape(-1)]
    columns = [texts[where] for texts, where in pieces]
    if len(columns) == 2:
        return np.array([f"{{{a}, {b}}}" for a, b in zip(*columns)], dtype=object)
    return np.array(["{" + ", ".join(parts) + "}" for parts in zip(*columns)], dtype=object)


def _flag_text(others: list[str], missing: bool, held: bool) -> str:
    """A row's flags: "missing" is blank as submitted, a value held back is "blocked" instead."""
    flags = list(others)
    if missing:
        flags.insert(0, "missing")
    if held:
        flags.insert(1 if flags[:1] == ["missing"] else 0, "blocked")
    return ";".join(flags)


def _flags_column(res: KindResult, missing: np.ndarray, held: np.ndarray) -> np.ndarray:
    """:func:`_flag_text` of every row, each distinct combination of flags written once."""
    names = [name for name in FLAG_ORDER if name in res.flags and name != "missing"]
    code = missing.astype(np.int64) + 2 * held
    for m, name in enumerate(names):
        code += np.asarray(res.flags[name]).astype(bool) << (m + 2)
    combos, where = np.unique(code, return_inverse=True)
    texts = [
        _flag_text([name for m, name in enumerate(names) if c >> (m + 2) & 1], bool(c & 1), bool(c & 2))
        for c in combos.tolist()
    ]
    return np.array(texts, dtype=object)[where.reshape(-1)]


def _trail_rows(
    gp: GroupPoints,
    original: pd.DataFrame,
    used: pd.DataFrame,
    blocked: set[tuple[str, str]],
    with_explanations: bool,
) -> pd.DataFrame:
    """One row per agency × indicator, agencies in order and each agency's indicators in rubric order,
    built a column at a time: each distinct number and flag combination formatted once, the
    explanations by the kinds' ``explain_many``; only rows with a value held back one by one."""
    ids = gp.agency_ids
    n, k = len(ids), len(gp.indicators)
    if not k:
        return pd.DataFrame(columns=TRAIL_COLUMNS)
    orig, use = original.to_numpy(), used.to_numpy()
    col_pos = {c: j for j, c in enumerate(original.columns)}
    row_of = {a: i for i, a in enumerate(ids)}
    held_fields: dict[int, set[str]] = {}  # row → fields held back by an unresolved E problem
    for agency_id, code in blocked:
        if agency_id in row_of:
            held_fields.setdefault(row_of[agency_id], set()).add(code)
    json_of: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # field → (its distinct values as JSON, positions)
    inputs_col = np.empty((n, k), dtype=object)
    explain_col = np.full((n, k), "", dtype=object)
    flags_col = np.empty((n, k), dtype=object)
    for j, (_, ind) in enumerate(gp.indicators):
        res = gp.results[j]
        fields = ind.input_fields
        pieces = []  # per input: ('"F02": 64' of each distinct value, each agency's position among them)
        for f in fields:
            if f not in json_of:
                json_of[f] = _json_distinct(orig[:, col_pos[f]])
            texts, where = json_of[f]
            pieces.append((f'"{f}": ' + texts, where))
        if ind.uses_best:
            texts, where = _json_distinct(res.detail["best"])
            pieces.append(('"best": ' + texts, where))
        held_rows = {i: h for i, hf in held_fields.items() if (h := [f for f in fields if f in hf])}
        held = np.zeros(n, dtype=bool)
        held[list(held_rows)] = True
        missing = np.zeros(n, dtype=bool)  # a blank as submitted; a value held back is not "missing"
        for f in fields:
            blank = np.isnan(orig[:, col_pos[f]])
            blank[[i for i, h in held_rows.items() if f in h]] = False
            missing |= blank
        inputs = _inputs_column(pieces, n)
        for i, h in held_rows.items():
            inputs[i] = inputs[i][:-1] + ', "blocked": ' + json.dumps(h) + "}"
        inputs_col[:, j] = inputs
        flags_col[:, j] = _flags_column(res, missing, held)
        if with_explanations:
            texts = ind.explain_many({f: use[:, col_pos[f]] for f in fields}, res.detail, "vi")
            for i, h in held_rows.items():
                texts[i] = (
                    f"Số liệu {', '.join(h)} bị giữ lại do lỗi nghiêm trọng chưa được xác nhận, "
                    f"tính như thiếu số liệu. {texts[i]}"
                )
            explain_col[:, j] = texts
    indicators = [ind for _, ind in gp.indicators]
    return pd.DataFrame(
        {
            "agency_id": np.repeat(np.array(ids, dtype=object), k),
            "group": gp.group_id,
            "criterion_id": np.tile(np.array([c.id for c, _ in gp.indicators], dtype=object), n),
            "indicator_id": np.tile(np.array([ind.id for ind in indicators], dtype=object), n),
            "kind": np.tile(np.array([ind.kind for ind in indicators], dtype=object), n),
            "inputs": inputs_col.reshape(-1),
            "explanation_vi": explain_col.reshape(-1),
            "formula": np.tile(np.array([ind.formula() for ind in indicators], dtype=object), n),
            "points": gp.points.reshape(-1).astype(float),
            "max_points": np.tile(gp.max_points.astype(float), n),
            "applicable": gp.applicable.reshape(-1).astype(bool),
            "flags": flags_col.reshape(-1),
        },
        columns=TRAIL_COLUMNS,
    )


def write_score_tables(result: ScoreResult, out_dir) -> dict[str, object]:
    """``trail.csv``, ``scores.csv`` and ``criteria.csv`` into ``out_dir`` (docs/contracts.md §6)."""
    from pathlib import Path

    from ictaudit.common.tables import write_csv

    out = Path(out_dir)
    return {
        "trail": write_csv(result.trail, out / "trail.csv", TRAIL_COLUMNS),
        "scores": write_csv(result.scores, out / "scores.csv"),
        "criteria": write_csv(result.criteria, out / "criteria.csv", CRITERIA_COLUMNS),
    }

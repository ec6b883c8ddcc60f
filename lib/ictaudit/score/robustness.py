"""How solid is a published ranking? Seeded weight perturbation, leave-one-criterion-out, what-if rubrics.

Three questions an agency near a band threshold or a rank boundary asks, answered reproducibly:

1. :func:`monte_carlo` — *would my rank hold if the criterion weights were a little different?*
   Each draw multiplies every criterion maximum by a factor drawn uniformly in
   ``[1 − spread, 1 + spread]`` (``numpy.random.default_rng(seed)``; one factor per criterion id,
   shared by the groups that have that criterion) and renormalises so the group total stays the
   same. A criterion's achieved points scale linearly with its maximum (every kind computes
   ``maximum × share``), so a draw rescales the per-criterion achieved and attainable points of
   :func:`ictaudit.score.scoring.score_points` by ``new max / old max``; not-applicable indicators stay out
   of the attainable points. ``score_100`` is rounded half up to the rubric's decimals, as
   published, and ranked "1-2-2-4" per group among ranked agencies only — every draw at once, as
   ``draws × agencies`` arrays. Percentiles use numpy's ``"inverted_cdf"`` method, so the 5th,
   50th and 95th percentile ranks are ranks that occurred in the draws (integers). Band
   probabilities are the share of draws whose rounded score falls in each band of the rubric.
2. :func:`leave_one_out` — *which criterion decides my rank?* Each criterion is dropped in turn
   (its achieved and attainable points removed) and the group re-ranked.
3. :func:`compare_rubrics` — *what if the scale were revised?* The same confirmed values scored
   under two rubric files with :func:`ictaudit.score.scoring.score_cycle`.

The nominal rank is computed the way :func:`ictaudit.score.scoring.score_cycle` computes the published
rank (same inputs, same :func:`~ictaudit.scoring.totals`, same
:func:`~ictaudit.scoring.rank_competition`), so it always equals the published rank.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from markupsafe import escape

from ictaudit.common.numfmt import fmt_number, round_half_up
from ictaudit.common.tables import read_csv, write_csv
from ictaudit.common.timings import timed
from ictaudit.intake.values import read_values, to_wide
from ictaudit.rules.rubric import Rubric
from ictaudit.score.scoring import group_frame, rank_competition, score_cycle, score_points, totals

DEFAULT_DRAWS = 1000
DEFAULT_SPREAD = 0.25
DEFAULT_SEED = 20171103
PERCENTILE_METHOD = "inverted_cdf"

ROBUSTNESS_FILE = "robustness.csv"
LOO_FILE = "robustness_loo.csv"
LOO_SUMMARY_FILE = "robustness_loo_summary.csv"
WHATIF_FILE = "robustness_whatif.csv"
PARAMETERS_FILE = "robustness_parameters.json"

ROBUSTNESS_BASE_COLUMNS = ["agency_id", "group", "nominal_rank", "median_rank", "p05_rank", "p95_rank"]
LOO_COLUMNS = [
    "agency_id", "group", "criterion_id", "nominal_score_100", "nominal_rank", "score_100_without",
    "rank_without", "rank_change",
]  # fmt: skip
LOO_SUMMARY_COLUMNS = ["group", "criterion_id", "mean_abs_rank_change", "max_abs_rank_change", "agencies_moved"]
COMPARE_COLUMNS = [
    "agency_id", "agency_name", "group", "status", "score_100_a", "band_a", "rank_a", "score_100_b", "band_b",
    "rank_b", "score_change", "rank_change", "band_changed",
]  # fmt: skip

_CHUNK_CELLS = 8_000_000  # booleans per chunk when counting "greater than" comparisons
#: above this many agencies in a group, ranks come from one sort per draw instead of all pairs
_PAIRWISE_MAX = 200
#: scores × 10^decimals must stay below this for their integer form (int32) to be kept
_KEY_MAX = 2**31 - 2
#: integer scores are ranked by counting when their range is at most this, or 16 × the agencies
_COUNT_RANGE = 65_536


def band_columns(rubric: Rubric) -> list[str]:
    """``p_<band_id>`` for every band of the rubric, highest band first."""
    return [f"p_{b.id}" for b in rubric.bands]


def robustness_columns(rubric: Rubric) -> list[str]:
    """The column order of ``robustness.csv`` (DESIGN §6, then one probability per band)."""
    return [*ROBUSTNESS_BASE_COLUMNS, *band_columns(rubric)]


# -- the numbers of one group ------------------------------------------------------------------


@dataclass(frozen=True)
class GroupCriteria:
    """Per-criterion achieved and attainable points of the ranked agencies of one group.

    ``achieved`` and ``attainable`` are ``(n_ranked, n_criteria)``; ``max_points`` the criterion
    maxima ``(n_criteria,)``; ``nominal_score`` and ``nominal_rank`` are the published values
    (rank 0 where the agency has no score, e.g. nothing applicable).
    """

    group_id: str
    agency_ids: list[str]
    criterion_ids: list[str]
    achieved: np.ndarray
    attainable: np.ndarray
    max_points: np.ndarray
    nominal_score: np.ndarray
    nominal_rank: np.ndarray


def group_criteria(
    rubric: Rubric,
    values_wide: pd.DataFrame,
    agencies: pd.DataFrame,
    blocked: Iterable[tuple[str, str]] | None = None,
) -> list[GroupCriteria]:
    """Score each group as :func:`ictaudit.score.scoring.score_cycle` does and keep the ranked agencies.

    ``values_wide``: indexed by agency_id, one float column per field (NaN = blank).
    ``agencies``: at least ``agency_id, group, status``. ``blocked``: (agency_id, field) pairs
    held back by an unresolved E problem, scored as blank exactly as the published run did.
    """
    need = {"agency_id", "group", "status"}
    if missing := sorted(need - set(agencies.columns)):
        raise ValueError(f"agencies table lacks columns: {', '.join(missing)}")
    if unknown := sorted(set(agencies["group"]) - set(rubric.group_ids)):
        raise ValueError(
            f"unknown groups in the agencies table: {', '.join(unknown)}; rubric groups: {rubric.group_ids}"
        )
    blocked_set = set(blocked or ())
    decimals = rubric.ranking.decimals
    roster = agencies.set_index("agency_id")
    out: list[GroupCriteria] = []
    for group in rubric.groups:
        ids, _, used, is_ranked = group_frame(rubric, group.id, values_wide, roster, blocked_set)
        gp = score_points(rubric, group.id, used, is_ranked)
        tot = totals(gp, decimals)
        cols = gp.criterion_columns()
        criterion_ids = list(cols)
        n = len(ids)
        achieved = np.zeros((n, len(cols)))
        attainable = np.zeros((n, len(cols)))
        for j, c_cols in enumerate(cols.values()):
            achieved[:, j] = (gp.points[:, c_cols] * gp.applicable[:, c_cols]).sum(axis=1)
            attainable[:, j] = (gp.max_points[c_cols] * gp.applicable[:, c_cols]).sum(axis=1)
        crit_max = {c.id: c.max_points[group.id] for c in rubric.criteria_for(group.id)}
        score = np.asarray(tot["score_100"], dtype=float)[is_ranked]
        rank = rank_competition(pd.Series(score)).fillna(0).to_numpy(dtype=np.int64)
        out.append(
            GroupCriteria(
                group_id=group.id,
                agency_ids=[a for a, r in zip(ids, is_ranked) if r],
                criterion_ids=criterion_ids,
                achieved=achieved[is_ranked],
                attainable=attainable[is_ranked],
                max_points=np.array([crit_max[c] for c in criterion_ids], dtype=float),
                nominal_score=score,
                nominal_rank=rank,
            )
        )
    return out


def rescored(gc: GroupCriteria, scale: np.ndarray, decimals: int) -> np.ndarray:
    """``score_100`` of every agency under criterion scale factors ``scale`` ``(draws, n_criteria)``.

    Returns ``(draws, n_agencies)``, rounded half up to ``decimals``; NaN where nothing is attainable.
    Sums are numpy reductions over the criterion axis, not a BLAS matrix product, so that the bytes
    do not depend on the machine's linear-algebra library or thread count.
    """
    return _rescored(gc, scale, decimals)[0]


def _rescored(gc: GroupCriteria, scale: np.ndarray, decimals: int) -> tuple[np.ndarray, np.ndarray | None]:
    """:func:`rescored`'s scores and, when they allow it, their integer form ``score × 10^decimals``.

    The integer form (``-1`` for NaN) is returned when every score is ≥ 0 and the integers stay
    below :data:`_KEY_MAX`; otherwise ``None``. The scores are the bytes
    :func:`ictaudit.common.numfmt.round_half_up` gives: for ``x ≥ 0`` it computes
    ``floor(x × 10^decimals + 0.5 + 1e-9) / 10^decimals``, and so does this, in place.
    """
    scale = np.atleast_2d(np.asarray(scale, dtype=float))
    achieved, attainable = _criterion_sums(scale, gc.achieved), _criterion_sums(scale, gc.attainable)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(attainable > 0, achieved / attainable, np.nan)
    x = np.multiply(share, 100, out=share)  # 100 * share, as round_half_up(100 * share, …) gets it
    del achieved, attainable
    factor = 10.0**decimals
    if x.size:
        lo, hi = np.fmin.reduce(x, axis=None), np.fmax.reduce(x, axis=None)  # NaN only when every x is
        if not np.isnan(lo) and (lo < 0 or hi * factor >= _KEY_MAX):
            return np.asarray(round_half_up(x, decimals), dtype=float).reshape(x.shape), None
    m = np.multiply(x, factor, out=x)  # |x| × factor (x ≥ 0)
    m += 0.5
    m += 1e-9
    np.floor(m, out=m)  # whole numbers; NaN stays NaN
    scores = m / factor  # sign(x) = 1 (or 0 for 0, where m = 0): round_half_up's bytes; + 0.0 changes nothing
    with np.errstate(invalid="ignore"):
        keys = m.astype(np.int32)
    keys[np.isnan(m)] = -1
    return scores, keys


def _summed_products(scale: np.ndarray, points: np.ndarray) -> np.ndarray:
    """``(scale[:, None, :] * points[None, :, :]).sum(axis=2)``: the reduction over the criterion axis, in chunks."""
    d, n = scale.shape[0], points.shape[0]
    out = np.empty((d, n))
    step = max(1, _CHUNK_CELLS // max(1, n * scale.shape[1]))
    for start in range(0, d, step):
        out[start : start + step] = (scale[start : start + step, None, :] * points[None, :, :]).sum(axis=2)
    return out


def _ordered_products(scale: np.ndarray, points: np.ndarray, pairwise: bool) -> np.ndarray:
    """:func:`_summed_products` added up criterion by criterion on whole ``(draws, agencies)`` slices.

    Which order numpy's reduction adds the criteria in depends on the memory layout it iterates:
    left to right (``pairwise=False``: the criterion axis is not the innermost, or has fewer than 8
    elements), or — a contiguous innermost axis of 8 to 128 elements — in 8 running sums (element
    ``j`` into sum ``j mod 8``) combined as ``((s0+s1)+(s2+s3))+((s4+s5)+(s6+s7))``, then the
    elements past the last multiple of 8 left to right. Skips the ``draws × agencies × criteria`` array.
    """
    d, m = scale.shape
    n = points.shape[0]
    out = np.empty((d, n))
    cols = np.ascontiguousarray(points.T)
    step = max(1, (1 << 16) // max(1, n))
    for start in range(0, d, step):
        sc = scale[start : start + step]

        def term(j: int, sc: np.ndarray = sc) -> np.ndarray:
            return sc[:, j, None] * cols[j][None, :]

        if m < 8 or not pairwise:
            acc = term(0)
            for j in range(1, m):
                acc += term(j)
        else:
            full = m - m % 8
            r = [term(j) for j in range(8)]
            for i in range(8, full, 8):
                for j in range(8):
                    r[j] += term(i + j)
            acc = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
            for i in range(full, m):
                acc += term(i)
        out[start : start + step] = acc
    return out


def _criterion_sums(scale: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Per draw and agency, ``Σ_criteria scale × points`` with the bytes of :func:`_summed_products`.

    :func:`_ordered_products` (several times faster) is used in the adding order that gives the
    very same bytes as numpy's reduction on the first draws — checked on every call, with ``scale``
    as given (its layout decides numpy's order); when neither order does, the reduction itself is used.
    """
    d, m = scale.shape
    if m == 0 or m > 128 or points.shape[0] == 0 or d == 0:
        return _summed_products(scale, points)
    probe = slice(0, min(d, 8))
    expected = _summed_products(scale[probe], points)
    for pairwise in (False, True) if m >= 8 else (False,):
        if np.array_equal(_ordered_products(scale[probe], points, pairwise), expected, equal_nan=True):
            return _ordered_products(scale, points, pairwise)
    return _summed_products(scale, points)


def competition_ranks(scores: np.ndarray) -> np.ndarray:
    """Competition ranks ("1-2-2-4", highest first) of every row of ``scores`` ``(draws, n)``.

    The rank of an agency is 1 + the number of agencies of the same draw with a strictly higher
    score; NaN scores neither get a rank (0) nor push anyone down. Vectorised, in chunks of draws.
    """
    scores = np.atleast_2d(np.asarray(scores, dtype=float))
    d, n = scores.shape
    ranks = np.zeros((d, n), dtype=np.int64)
    if n <= _PAIRWISE_MAX:  # small groups: all pairs at once
        step = max(1, _CHUNK_CELLS // max(1, n * n))
        for start in range(0, d, step):
            block = scores[start : start + step]
            higher = (block[:, None, :] > block[:, :, None]).sum(axis=2)
            ranks[start : start + step] = np.where(np.isnan(block), 0, 1 + higher)
        return ranks
    # large groups: sort each draw once (n log n instead of n²); NaN sorts last and is not counted
    valid = (~np.isnan(scores)).sum(axis=1)
    ordered = np.sort(scores, axis=1)
    for i in range(d):
        at_most = np.searchsorted(ordered[i], scores[i], side="right")
        ranks[i] = np.where(np.isnan(scores[i]), 0, 1 + valid[i] - at_most)
    return ranks


def _ranks_from_keys(keys: np.ndarray) -> np.ndarray:
    """:func:`competition_ranks` of scores given in integer form (``-1`` = NaN), by counting.

    Per draw, the number of agencies with a strictly higher score is read off the cumulative counts
    of each integer score — O(agencies + score range) per draw, every draw of a chunk at once.
    """
    keys = np.atleast_2d(keys)
    d, n = keys.shape
    ranks = np.zeros((d, n), dtype=np.int64)
    if n == 0 or d == 0:
        return ranks
    valid = keys >= 0
    if not valid.any():
        return ranks
    lo = int(keys[valid].min())
    width = int(keys.max()) - lo + 2  # slot 0: NaN; slot k - lo + 1: score k
    step = max(1, _CHUNK_CELLS // max(1, width + n))
    offsets = np.arange(min(d, step), dtype=np.intp)[:, None] * width
    for start in range(0, d, step):
        blk = keys[start : start + step]
        rows = blk.shape[0]
        flat = blk.astype(np.intp)
        flat -= lo - 1
        np.maximum(flat, 0, out=flat)  # NaN (-1) → slot 0; every score ≥ lo → slot ≥ 1
        flat += offsets[:rows]
        counts = np.bincount(flat.ravel(), minlength=rows * width).reshape(rows, width)
        counts[:, 0] = 0  # NaN pushes nobody down
        table = np.cumsum(counts, axis=1)  # per slot: how many scores are at most this one
        np.subtract(table[:, -1:] + 1, table, out=table)  # 1 + how many are strictly higher
        table[:, 0] = 0  # no rank for NaN
        ranks[start : start + step] = table.ravel()[flat]
    return ranks


def _ranks(scores: np.ndarray, keys: np.ndarray | None) -> np.ndarray:
    """:func:`competition_ranks` of ``scores``, by counting their integer form ``keys`` when its range is small."""
    if keys is not None and keys.size and keys.shape[-1] > _PAIRWISE_MAX:  # small groups: all pairs is cheaper
        valid = keys >= 0
        n = keys.shape[-1]
        if not valid.any() or int(keys.max()) - int(keys[valid].min()) <= max(_COUNT_RANGE, 16 * n):
            return _ranks_from_keys(keys)
    return competition_ranks(scores)


def _band_index_keys(keys: np.ndarray, rubric: Rubric, decimals: int) -> np.ndarray:
    """:func:`band_index` of the scores whose integer form is ``keys`` (``-1`` = NaN), by table look-up.

    The table is :func:`band_index` of ``k / 10^decimals`` — the very floats the scores are.
    """
    top = int(keys.max()) if keys.size else -1
    table = band_index(np.arange(top + 1, dtype=float) / 10.0**decimals, rubric)
    lut = np.concatenate([[-1], table]).astype(np.int8 if len(rubric.bands) < 127 else np.int64)
    return lut[keys + 1]


def band_index(scores: np.ndarray, rubric: Rubric) -> np.ndarray:
    """Position in ``rubric.bands`` of each (rounded) score, as :meth:`Rubric.band_for` decides; -1 for NaN."""
    mins = np.array([b.min_score for b in rubric.bands[:-1]], dtype=float)
    scores = np.asarray(scores, dtype=float)
    idx = (scores[..., None] < mins).sum(axis=-1)
    return np.where(np.isnan(scores), -1, idx)


# -- 1. Monte Carlo on the weights -------------------------------------------------------------


@dataclass(frozen=True)
class RobustnessResult:
    """The outcome of :func:`monte_carlo`.

    ``table``: one row per ranked agency, columns :func:`robustness_columns`, sorted by group (rubric
    order), nominal rank and agency_id. ``rank_samples[group]``: ``(draws, n)`` ranks with the
    agency ids in ``sample_agency_ids[group]``; ``score_samples`` likewise.
    """

    table: pd.DataFrame
    seed: int
    draws: int
    spread: float
    rubric_id: str
    rank_samples: dict[str, np.ndarray] = field(repr=False)
    score_samples: dict[str, np.ndarray] = field(repr=False)
    sample_agency_ids: dict[str, list[str]] = field(repr=False)
    percentile_method: str = PERCENTILE_METHOD

    def parameters(self) -> dict[str, object]:
        """What the manifest records about this sampling run."""
        return {
            "analysis": "weight_perturbation",
            "rubric": self.rubric_id,
            "seed": self.seed,
            "draws": self.draws,
            "spread": self.spread,
            "factor_distribution": "uniform",
            "percentile_method": self.percentile_method,
        }


def weight_factors(rubric: Rubric, draws: int, spread: float, seed: int) -> tuple[list[str], np.ndarray]:
    """The raw factors of every draw: ``(criterion ids of the rubric, (draws, n_criteria) array)``."""
    if not 0 <= spread < 1:
        raise ValueError(f"spread must be in [0, 1), got {spread!r}")
    if draws < 1:
        raise ValueError(f"draws must be at least 1, got {draws!r}")
    rng = np.random.default_rng(seed)
    ids = [c.id for c in rubric.criteria]
    return ids, rng.uniform(1 - spread, 1 + spread, size=(draws, len(ids)))


def renormalised_scale(max_points: np.ndarray, factors: np.ndarray) -> np.ndarray:
    """``new max / old max`` per draw and criterion, the new maxima summing to the old group total."""
    new_max = factors * max_points
    new_max = new_max * (max_points.sum() / new_max.sum(axis=1, keepdims=True))
    return new_max / max_points


@timed("robustness.monte_carlo")
def monte_carlo(
    rubric: Rubric,
    values_wide: pd.DataFrame,
    agencies: pd.DataFrame,
    draws: int = DEFAULT_DRAWS,
    spread: float = DEFAULT_SPREAD,
    seed: int = DEFAULT_SEED,
    blocked: Iterable[tuple[str, str]] | None = None,
) -> RobustnessResult:
    """Rank intervals and band probabilities of every ranked agency under perturbed criterion weights."""
    seed = int(seed)
    criterion_ids, factors = weight_factors(rubric, draws, spread, seed)
    position = {c: j for j, c in enumerate(criterion_ids)}
    rows, rank_samples, score_samples, sample_ids = [], {}, {}, {}
    bands = band_columns(rubric)
    jobs = []
    for gc in group_criteria(rubric, values_wide, agencies, blocked):
        cols = [position[c] for c in gc.criterion_ids]
        scale = renormalised_scale(gc.max_points, factors[:, cols]) if spread > 0 else np.ones((draws, len(cols)))
        jobs.append((gc, scale))
    for (gc, _), (ranks, scores, pct, probs) in zip(jobs, _sample_groups(jobs, rubric), strict=True):
        rank_samples[gc.group_id], score_samples[gc.group_id] = ranks, scores
        sample_ids[gc.group_id] = gc.agency_ids
        if not gc.agency_ids:
            continue
        for i, a in enumerate(gc.agency_ids):
            scored = gc.nominal_rank[i] > 0
            row = {
                "agency_id": a,
                "group": gc.group_id,
                "nominal_rank": int(gc.nominal_rank[i]) if scored else None,
                "median_rank": int(pct[1, i]) if scored else None,
                "p05_rank": int(pct[0, i]) if scored else None,
                "p95_rank": int(pct[2, i]) if scored else None,
            }
            row.update({col: float(probs[i, b]) if scored else None for b, col in enumerate(bands)})
            rows.append(row)
    table = _sort_by_rank(pd.DataFrame(rows, columns=robustness_columns(rubric)), rubric, "nominal_rank")
    for col in ROBUSTNESS_BASE_COLUMNS[2:]:
        table[col] = table[col].astype("Int64")
    return RobustnessResult(
        table=table,
        seed=seed,
        draws=int(draws),
        spread=float(spread),
        rubric_id=rubric.id,
        rank_samples=rank_samples,
        score_samples=score_samples,
        sample_agency_ids=sample_ids,
    )


_Sample = tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]


def _sample_group(gc: GroupCriteria, scale: np.ndarray, rubric: Rubric) -> _Sample:
    """``(ranks, scores, percentiles, band probabilities)`` of one group's draws.

    Ranks and bands come from the scores' integer form (:func:`_rescored`) when there is one;
    percentiles and probabilities are None for a group without ranked agencies.
    """
    decimals = rubric.ranking.decimals
    scores, keys = _rescored(gc, scale, decimals)
    ranks = _ranks(scores, keys)
    if not gc.agency_ids:
        return ranks, scores, None, None
    pct = np.percentile(ranks, [5, 50, 95], axis=0, method=PERCENTILE_METHOD).astype(np.int64)
    if keys is not None and int(keys.max()) <= _COUNT_RANGE * 16:
        idx = _band_index_keys(keys, rubric, decimals)
    else:
        idx = band_index(scores, rubric)
    probs = np.stack([(idx == b).mean(axis=0) for b in range(len(rubric.bands))], axis=1)
    return ranks, scores, pct, probs


def _sample_groups(jobs: list[tuple[GroupCriteria, np.ndarray]], rubric: Rubric) -> list[_Sample]:
    """``(ranks, scores, percentiles, band probabilities)`` of every ``(group, scale)``.

    In this process: a forked worker per group was measured slower (twice the CPU, no gain in wall
    time at 10,000 agencies) once the sampling itself took ~0.5 s.
    """
    return [_sample_group(gc, scale, rubric) for gc, scale in jobs]


def write_robustness_csv(result: RobustnessResult, path: Path) -> Path:
    """``robustness.csv``: the table in its fixed column order, UTF-8 with BOM, stable bytes."""
    return write_csv(result.table, Path(path), list(result.table.columns))


def write_parameters_json(result: RobustnessResult, path: Path) -> Path:
    """The sampling parameters (seed, draws, spread, method) beside robustness.csv, for the report and manifest."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(result.parameters(), ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    return path


# -- 2. leave one criterion out ----------------------------------------------------------------


@timed("robustness.leave_one_out")
def leave_one_out(
    rubric: Rubric,
    values_wide: pd.DataFrame,
    agencies: pd.DataFrame,
    blocked: Iterable[tuple[str, str]] | None = None,
) -> pd.DataFrame:
    """Per ranked agency and criterion: score and rank when that criterion is dropped (:data:`LOO_COLUMNS`).

    ``rank_change = rank_without − nominal_rank`` (positive: the agency falls). An agency left with
    nothing attainable has no score and no rank without the criterion.
    """
    decimals = rubric.ranking.decimals
    columns: dict[str, list] = {c: [] for c in LOO_COLUMNS}
    for gc in group_criteria(rubric, values_wide, agencies, blocked):
        m, n = len(gc.criterion_ids), len(gc.agency_ids)
        if not n or m == 0:
            continue
        scale = 1.0 - np.eye(m)  # row j: criterion j dropped
        scores, keys = _rescored(gc, scale, decimals)
        ranks = _ranks(scores, keys)
        # criterion by criterion, each with every agency: the rows in the order they are sorted from
        nominal = np.tile(gc.nominal_rank, m)
        without = ranks.ravel()
        columns["agency_id"].append(gc.agency_ids * m)
        columns["group"].append([gc.group_id] * (n * m))
        columns["criterion_id"].append([c for c in gc.criterion_ids for _ in range(n)])
        columns["nominal_score_100"].append(np.tile(np.asarray(gc.nominal_score, dtype=float), m))
        columns["nominal_rank"].append(nominal)
        columns["score_100_without"].append(scores.ravel())
        columns["rank_without"].append(without)
        columns["rank_change"].append(np.where((nominal > 0) & (without > 0), without - nominal, 0))
    if not columns["agency_id"]:
        df = pd.DataFrame([], columns=LOO_COLUMNS)
    else:
        df = pd.DataFrame(
            {
                c: [x for part in parts for x in part] if c in ("agency_id", "group", "criterion_id") else
                np.concatenate(parts)
                for c, parts in columns.items()
            },
            columns=LOO_COLUMNS,
        )  # fmt: skip
        missing = {
            "nominal_rank": df["nominal_rank"] == 0,
            "rank_without": df["rank_without"] == 0,
            "rank_change": (df["nominal_rank"] == 0) | (df["rank_without"] == 0),
        }
        for col, absent in missing.items():
            df[col] = pd.array(df[col].to_numpy(dtype=np.int64), dtype="Int64")
            df.loc[absent.to_numpy(), col] = pd.NA
    for col in ("nominal_rank", "rank_without", "rank_change"):
        df[col] = df[col].astype("Int64")
    order = _criterion_order(rubric)
    df = df.assign(_c=df["criterion_id"].map(order))
    df = _sort_by_rank(df, rubric, "nominal_rank", extra=["_c"]).drop(columns="_c")
    return df.reset_index(drop=True)


def summarise_leave_one_out(loo: pd.DataFrame, rubric: Rubric) -> pd.DataFrame:
    """Per group and criterion: mean and largest absolute rank change, and how many agencies move."""
    rows = []
    for (group, criterion), part in loo.groupby(["group", "criterion_id"], sort=False):
        change = part["rank_change"].dropna().astype(float).abs()
        rows.append(
            {
                "group": group,
                "criterion_id": criterion,
                "mean_abs_rank_change": float(round_half_up(change.mean(), 4)) if len(change) else None,
                "max_abs_rank_change": int(change.max()) if len(change) else None,
                "agencies_moved": int((change > 0).sum()),
            }
        )
    df = pd.DataFrame(rows, columns=LOO_SUMMARY_COLUMNS)
    groups = {g: i for i, g in enumerate(rubric.group_ids)}
    df = df.assign(_g=df["group"].map(groups), _c=df["criterion_id"].map(_criterion_order(rubric)))
    df = df.sort_values(["_g", "_c"], kind="mergesort").drop(columns=["_g", "_c"]).reset_index(drop=True)
    df["max_abs_rank_change"] = df["max_abs_rank_change"].astype("Int64")
    return df


def write_leave_one_out(loo: pd.DataFrame, rubric: Rubric, out_dir: Path) -> dict[str, Path]:
    """``robustness_loo.csv`` (per agency × criterion) and ``robustness_loo_summary.csv`` (per criterion)."""
    out = Path(out_dir)
    return {
        "robustness_loo": write_csv(loo, out / LOO_FILE, LOO_COLUMNS),
        "robustness_loo_summary": write_csv(
            summarise_leave_one_out(loo, rubric), out / LOO_SUMMARY_FILE, LOO_SUMMARY_COLUMNS
        ),
    }


# -- 3. rubric against rubric ------------------------------------------------------------------


def compare_rubrics(
    rubric_a: Rubric,
    rubric_b: Rubric,
    values_wide: pd.DataFrame,
    agencies: pd.DataFrame,
    blocked: Iterable[tuple[str, str]] | None = None,
) -> pd.DataFrame:
    """The same confirmed values scored under two rubrics (:data:`COMPARE_COLUMNS`), one row per scored agency.

    ``score_change = score_100_b − score_100_a``; ``rank_change = rank_b − rank_a`` (positive: the
    agency falls); ``band_changed`` is true when the published band differs. Both rubrics must have
    the groups of the agencies table.
    """
    roster = agencies.copy()
    for col in ("agency_name", "status_reason"):
        if col not in roster.columns:
            roster[col] = roster["agency_id"] if col == "agency_name" else ""
    for r in (rubric_a, rubric_b):
        if missing := sorted(set(roster["group"]) - set(r.group_ids)):
            raise ValueError(f"rubric {r.id} has no group {', '.join(missing)}; its groups: {', '.join(r.group_ids)}")
    keep = ["agency_id", "agency_name", "group", "status", "score_100", "band", "rank"]
    a = score_cycle(rubric_a, values_wide, roster, blocked, with_explanations=False).scores[keep]
    b = score_cycle(rubric_b, values_wide, roster, blocked, with_explanations=False).scores[keep]
    df = a.merge(b[["agency_id", "score_100", "band", "rank"]], on="agency_id", suffixes=("_a", "_b"))
    df = df[df["score_100_a"].notna() | df["score_100_b"].notna()].copy()
    df["score_change"] = round_half_up((df["score_100_b"] - df["score_100_a"]).to_numpy(dtype=float), 6)
    df["rank_change"] = (df["rank_b"] - df["rank_a"]).astype("Int64")
    df["band_changed"] = df["band_a"] != df["band_b"]
    df = _sort_by_rank(df, rubric_a, "rank_a")
    return df[COMPARE_COLUMNS].reset_index(drop=True)


def write_compare_csv(comparison: pd.DataFrame, path: Path) -> Path:
    """The what-if comparison as ``robustness_whatif.csv`` (or ``path``)."""
    return write_csv(comparison, Path(path), COMPARE_COLUMNS)


# -- reading a scored folder -------------------------------------------------------------------


def blocked_from_trail(trail: pd.DataFrame) -> set[tuple[str, str]]:
    """The (agency_id, field) pairs the published run held back, read from ``trail.csv`` (``inputs.blocked``)."""
    out: set[tuple[str, str]] = set()
    if "inputs" not in trail.columns:
        return out
    may_hold = trail["inputs"].astype(str).str.contains("blocked", regex=False)  # the few rows that can hold it
    held = trail[may_hold.to_numpy(dtype=bool)]
    for agency_id, inputs in zip(held["agency_id"].tolist(), held["inputs"].tolist()):
        if inputs:
            for code in json.loads(inputs).get("blocked", []):
                out.add((agency_id, code))
    return out


def read_scored_inputs(scored_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame, set[tuple[str, str]]]:
    """``(values_wide, agencies, blocked)`` from a scored folder: values.csv, scores.csv, trail.csv (optional).

    ``agencies`` is scores.csv's ``agency_id, agency_name, group, status, status_reason``.
    """
    scored_dir = Path(scored_dir)
    values = to_wide(read_values(scored_dir / "values.csv"))
    agencies = read_csv(scored_dir / "scores.csv")[["agency_id", "agency_name", "group", "status", "status_reason"]]
    trail_path = scored_dir / "trail.csv"
    blocked = blocked_from_trail(read_csv(trail_path)) if trail_path.exists() else set()
    return values, agencies, blocked


def rank_mismatches(result: RobustnessResult, scores: pd.DataFrame) -> list[str]:
    """Agencies whose nominal rank differs from the published rank in ``scores`` (empty when all agree)."""
    published = {a: str(r) for a, r in zip(scores["agency_id"], scores["rank"])}
    out = []
    for a, r in zip(result.table["agency_id"], result.table["nominal_rank"]):
        mine = "" if pd.isna(r) else str(int(r))
        theirs = published.get(a, "<absent>")
        theirs = "" if theirs in ("", "nan", "<NA>") else theirs
        if mine != theirs:
            out.append(f"{a}: nominal {mine or '—'}, published {theirs or '—'}")
    return out


# -- 5. the report section ---------------------------------------------------------------------


@timed("robustness.section")
def report_section(scored_dir: Path, rubric: Rubric) -> str:
    """An HTML fragment (Vietnamese, inline SVG, no external resources) on the robustness of the ranking.

    The fragment has no heading of its own (the report's section gives it one); each group is an
    ``<h3>`` with its rank-interval chart, the plain-language reading and the leave-one-out summary.

    Reads ``robustness.csv``, ``robustness_loo_summary.csv`` (or ``robustness_loo.csv``) and
    ``scores.csv`` (agency names) from ``scored_dir``. Returns ``""`` when robustness.csv is absent.
    """
    scored_dir = Path(scored_dir)
    path = scored_dir / ROBUSTNESS_FILE
    if not path.exists():
        return ""
    table = read_csv(path)
    names: dict[str, str] = {}
    published_band: dict[str, str] = {}
    band_by_label = {b.label_vi: b.id for b in rubric.bands}
    if (scored_dir / "scores.csv").exists():
        scores = read_csv(scored_dir / "scores.csv")
        names = dict(zip(scores["agency_id"], scores["agency_name"]))
        published_band = {
            a: band_by_label[b] for a, b in zip(scores["agency_id"], scores["band"]) if b in band_by_label
        }
    summary = None
    if (scored_dir / LOO_SUMMARY_FILE).exists():
        summary = read_csv(scored_dir / LOO_SUMMARY_FILE)
    elif (scored_dir / LOO_FILE).exists():
        loo = read_csv(scored_dir / LOO_FILE)
        loo["rank_change"] = pd.to_numeric(loo["rank_change"]).astype("Int64")
        summary = summarise_leave_one_out(loo, rubric).astype(str)
    how = ""
    if (scored_dir / PARAMETERS_FILE).exists():
        params = json.loads((scored_dir / PARAMETERS_FILE).read_text(encoding="utf-8"))
        how = (
            f" trong khoảng ±{fmt_number(100 * params['spread'], 2, trim=True)}% "
            f"({fmt_number(params['draws'], 0)} lần, hạt giống ngẫu nhiên {params['seed']})"
        )
    labels = {b.id: b.label_vi for b in rubric.bands}
    criterion_labels = {c.id: c.label_vi for c in rubric.criteria}
    parts = [
        '<div class="robustness">',
        f"<p>Trọng số (điểm tối đa) của mỗi tiêu chí được thay đổi ngẫu nhiên{how} rồi chuẩn hóa lại để "
        "tổng điểm của khối không đổi; mỗi lần, điểm quy về thang 100 được làm tròn như khi công bố và các "
        "đơn vị được xếp hạng lại. Thanh ngang là khoảng thứ hạng đơn vị đạt được trong 90% số lần (từ "
        "phân vị 5% đến phân vị 95%); chấm tròn là thứ hạng đã công bố. Thanh càng ngắn, thứ hạng càng "
        "vững; chỉ có chấm tròn nghĩa là thứ hạng không đổi.</p>",
    ]
    groups = [g for g in rubric.groups if (table["group"] == g.id).any()]
    for g in groups:
        part = table[(table["group"] == g.id) & (table["nominal_rank"] != "")].copy()
        for col in ("nominal_rank", "median_rank", "p05_rank", "p95_rank"):
            part[col] = part[col].astype(int)
        part = part.sort_values(["nominal_rank", "agency_id"], kind="mergesort")
        parts.append(f"<h3>{escape(g.label_vi)}</h3>")
        if part.empty:
            parts.append("<p>Không có đơn vị nào được xếp hạng.</p>")
            continue
        parts.append(_interval_svg(part, names, g.label_vi))
        parts.append(_explain_group(part, names, labels, published_band))
        if summary is not None:
            parts.append(_explain_loo(summary[summary["group"] == g.id], criterion_labels))
    parts.append("</div>")
    return "\n".join(parts)


def _name(agency_id: str, names: dict[str, str]) -> str:
    return str(escape(names.get(agency_id) or agency_id))


def _interval_svg(part: pd.DataFrame, names: dict[str, str], title: str) -> str:
    n_max = int(max(part["p95_rank"].max(), part["nominal_rank"].max()))
    agency_ids, nominal = part["agency_id"].tolist(), part["nominal_rank"].tolist()
    longest = max(len(f"{r}. {names.get(a) or a}") for a, r in zip(agency_ids, nominal))
    label_w, plot_w, row_h, top = int(min(480, max(160, 16 + 6.8 * longest))), 420, 22, 30
    height = top + row_h * len(part) + 10
    width = label_w + plot_w + 20

    def x(rank: float) -> float:
        return label_w + (plot_w * (rank - 1) / max(1, n_max - 1) if n_max > 1 else plot_w / 2)

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
        f"<title>Khoảng thứ hạng (phân vị 5%–95%) — {escape(title)}</title>",
    ]
    ticks = sorted({1, n_max, *(t for t in range(5, n_max, 5) if n_max - t >= 2)})
    for t in ticks:
        out.append(
            f'<line x1="{x(t):.1f}" y1="{top - 8}" x2="{x(t):.1f}" y2="{height - 8}" stroke="#ddd"/>'
            f'<text x="{x(t):.1f}" y="{top - 12}" text-anchor="middle" fill="#555">{t}</text>'
        )
    rows = zip(agency_ids, nominal, part["median_rank"].tolist(), part["p05_rank"].tolist(), part["p95_rank"].tolist())
    for i, (agency_id, nominal_rank, median_rank, p05_rank, p95_rank) in enumerate(rows):
        y = top + row_h * i + row_h / 2
        name = _name(agency_id, names)
        lo, hi = x(p05_rank), x(p95_rank)
        out.append(
            f"<g><title>{name}: hạng công bố {nominal_rank}, trung vị {median_rank}, "
            f"khoảng {p05_rank}–{p95_rank}</title>"
            f'<text x="{label_w - 8}" y="{y + 4:.1f}" text-anchor="end">{nominal_rank}. {name}</text>'
            f'<line x1="{lo:.1f}" y1="{y:.1f}" x2="{hi:.1f}" y2="{y:.1f}" stroke="#7aa6d6" '
            f'stroke-width="8" stroke-linecap="round"/>'
            f'<circle cx="{x(nominal_rank):.1f}" cy="{y:.1f}" r="4.5" fill="#1f4e79"/></g>'
        )
    out.append("</svg>")
    return "\n".join(out)


def _explain_group(
    part: pd.DataFrame, names: dict[str, str], band_labels: dict[str, str], published_band: dict[str, str]
) -> str:
    """Solid ranks, wide intervals and uncertain bands of one group, in plain words."""
    prob_cols = [f"p_{b}" for b in band_labels if f"p_{b}" in part.columns]
    probs = part[prob_cols].astype(float)
    values = probs.to_numpy()
    column = {c: j for j, c in enumerate(prob_cols)}
    likeliest = probs.max(axis=1).to_numpy()  # NaN skipped, as a row's own max skips it
    agency_ids = part["agency_id"].tolist()
    # the published band's probability (the likeliest band when scores.csv is not at hand)
    kept = np.array(
        [
            values[k, column[f"p_{published_band[a]}"]] if a in published_band else likeliest[k]
            for k, a in enumerate(agency_ids)
        ],
        dtype=float,
    )
    solid = part[part["p05_rank"] == part["p95_rank"]]
    wide = part[(part["p95_rank"] - part["p05_rank"]) >= 3]
    shaky = np.flatnonzero(kept < 0.9)
    items = []
    if len(solid):
        who = ", ".join(f"{_name(a, names)} (hạng {r})" for a, r in zip(solid["agency_id"], solid["nominal_rank"]))
        items.append(f"<li><strong>Thứ hạng vững</strong> (không đổi dù trọng số thay đổi): {who}.</li>")
    else:
        items.append("<li>Không có thứ hạng nào hoàn toàn không đổi khi trọng số thay đổi.</li>")
    if len(wide):
        who = ", ".join(
            f"{_name(a, names)} (hạng {r}, có thể từ {lo} đến {hi})"
            for a, r, lo, hi in zip(wide["agency_id"], wide["nominal_rank"], wide["p05_rank"], wide["p95_rank"])
        )
        items.append(f"<li><strong>Thứ hạng dao động nhiều</strong> (khoảng rộng từ 3 bậc trở lên): {who}.</li>")
    if len(shaky):
        who = []
        for k in shaky:
            a = agency_ids[k]
            row = values[k]
            # the bands with a share, largest first, ordered as Series.sort_values(ascending=False)
            # orders them (pandas' nargsort: numpy's default argsort of the reversed values, reversed)
            present = np.flatnonzero(row > 0)
            shares = present[::-1][row[present][::-1].argsort(kind="quicksort")][::-1].tolist()
            text = ", ".join(f"{band_labels[prob_cols[j][2:]]} {fmt_number(100 * row[j], 0)}%" for j in shares)
            if a in published_band:
                text = f"đã công bố: {band_labels[published_band[a]]}; {text}"
            who.append(f"{_name(a, names)} ({text})")
        items.append(
            "<li><strong>Xếp loại chưa chắc chắn</strong> (xác suất giữ xếp loại đã công bố dưới 90%, "
            f"điểm gần ngưỡng giữa hai loại): {'; '.join(who)}.</li>"
        )
    else:
        items.append("<li>Mọi đơn vị giữ xếp loại đã công bố trong ít nhất 90% số lần.</li>")
    return "<ul>\n" + "\n".join(items) + "\n</ul>"


def _explain_loo(summary: pd.DataFrame, criterion_labels: dict[str, str]) -> str:
    if summary.empty:
        return ""
    s = summary.copy()
    s["mean"] = pd.to_numeric(s["mean_abs_rank_change"], errors="coerce").fillna(0.0)
    best = s.sort_values(["mean", "criterion_id"], ascending=[False, True], kind="mergesort").iloc[0]
    if best["mean"] == 0:
        return "<p>Bỏ riêng bất kỳ tiêu chí nào thì thứ hạng cũng không thay đổi.</p>"
    label = escape(criterion_labels.get(best["criterion_id"], ""))
    quiet = [c for c, m in zip(s["criterion_id"], s["mean"]) if m == 0]
    text = (
        f"<p>Nếu bỏ riêng từng tiêu chí rồi xếp hạng lại, tiêu chí làm thứ hạng thay đổi nhiều nhất là "
        f"<strong>{escape(best['criterion_id'])} {label}</strong>: trung bình mỗi đơn vị đổi "
        f"{fmt_number(best['mean'], 2, trim=True)} bậc, {best['agencies_moved']} đơn vị đổi hạng."
    )
    if quiet:
        text += f" Bỏ tiêu chí {', '.join(escape(c) for c in quiet)} không làm thay đổi thứ hạng của đơn vị nào."
    return text + "</p>"


# -- helpers -----------------------------------------------------------------------------------


def _criterion_order(rubric: Rubric) -> dict[str, int]:
    return {c.id: i for i, c in enumerate(rubric.criteria)}


def _sort_by_rank(df: pd.DataFrame, rubric: Rubric, rank_col: str, extra: list[str] | None = None) -> pd.DataFrame:
    groups = {g: i for i, g in enumerate(rubric.group_ids)}
    keyed = df.assign(_g=df["group"].map(groups), _r=df[rank_col].astype(float))
    keys = ["_g", "_r", "agency_id", *(extra or [])]
    return (
        keyed.sort_values(keys, na_position="last", kind="mergesort").drop(columns=["_g", "_r"]).reset_index(drop=True)
    )

"""How solid is a published ranking? Seeded weight perturbation, leave-one-criterion-out, what-if rubrics.

Three questions an agency near a band threshold or a rank boundary asks, answered reproducibly:

1. :func:`monte_carlo` — *would my rank hold if the criterion weights were a little different?*
   Each draw multiplies every criterion maximum by a factor drawn uniformly in
   ``[1 − spread, 1 + spread]`` (``numpy.random.default_rng(seed)``; one factor per criterion id,
   shared by the groups that have that criterion) and renormalises so the group total stays the
   same; the per-criterion points are rescaled by ``new max / old max``
   (:mod:`ictaudit.score.reweighting`); not-applicable indicators stay out of the attainable points.
   ``score_100`` is rounded half up to the rubric's decimals, as published, and ranked "1-2-2-4"
   per group among ranked agencies only (:func:`ictaudit.score.ranking.rank_competition`) — every
   draw at once, as ``draws × agencies`` arrays. Percentiles use numpy's ``"inverted_cdf"``
   method, so the 5th, 50th and 95th percentile ranks are ranks that occurred in the draws
   (integers). Band probabilities are the share of draws whose rounded score falls in each band.
2. :func:`leave_one_out` — *which criterion decides my rank?* Each criterion is dropped in turn
   (its achieved and attainable points removed) and the group re-ranked.
3. :func:`compare_rubrics` — *what if the scale were revised?* The same confirmed values scored
   under two rubric files with :func:`ictaudit.score.scoring.score_cycle`.

The nominal rank is computed the way :func:`ictaudit.score.scoring.score_cycle` computes the
published rank (same inputs, same totals, same ranking), so it always equals the published rank.
The report's section on these tables is :mod:`ictaudit.report.robustness`.
"""
from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ictaudit.common.tables import read_csv, write_csv
from ictaudit.common.timings import timed
from ictaudit.intake.values import read_values, to_wide
from ictaudit.rules.rubric import Rubric
from ictaudit.score.ranking import rank_competition
from ictaudit.score.reweighting import GroupCriteria, group_criteria, rescored
from ictaudit.score.scoring import score_cycle

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

#: bands are looked up in a table of every integer score up to this many (scores × 10^decimals)
_BAND_TABLE_MAX = 16 * 65_536


def band_columns(rubric: Rubric) -> list[str]:
    """``p_<band_id>`` for every band of the rubric, highest band first."""
    return [f"p_{b.id}" for b in rubric.bands]


def robustness_columns(rubric: Rubric) -> list[str]:
    """The column order of ``robustness.csv`` (docs/contracts.md §6, then one probability per band)."""
    return [*ROBUSTNESS_BASE_COLUMNS, *band_columns(rubric)]


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

    Ranks and bands come from the scores' integer form (see :func:`~ictaudit.score.reweighting.rescored`)
    when there is one; percentiles and probabilities are None for a group without ranked agencies.
    """
    decimals = rubric.ranking.decimals
    scores, keys = rescored(gc, scale, decimals)
    ranks = rank_competition(scores, keys=keys)
    if not gc.agency_ids:
        return ranks, scores, None, None
    pct = np.percentile(ranks, [5, 50, 95], axis=0, method=PERCENTILE_METHOD).astype(np.int64)
    if keys is not None and int(keys.max()) <= _BAND_TABLE_MAX:
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
        scores, keys = rescored(gc, scale, decimals)
        ranks = rank_competition(scores, keys=keys)
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
                "mean_abs_rank_change": float(change.mean()) if len(change) else None,
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
    df["score_change"] = (df["score_100_b"] - df["score_100_a"]).to_numpy(dtype=float)
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

"""A group's points under other criterion weights: the numbers the robustness analyses rescore.

:func:`group_criteria` scores each group as :func:`ictaudit.score.scoring.score_cycle` does and keeps,
per ranked agency and criterion, the achieved and the attainable points, with the published score
and rank. A criterion's achieved points scale linearly with its maximum (every kind computes
``maximum × share``), so new criterion weights rescale those points; :func:`rescored` does it for
many weightings at once (``draws × agencies``) and rounds the scores as published. The sums add the
criteria in the order numpy's own reduction would, so the bytes are those of the straightforward
``draws × agencies × criteria`` product (``tests/test_robustness_fast.py`` holds them to it).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ictaudit.rules.rubric import Rubric
from ictaudit.score.ranking import published_values, rank_competition
from ictaudit.score.scoring import criterion_sums, group_frame, score_points, totals

_CHUNK_CELLS = 8_000_000  # products per chunk when summing criteria the straightforward way


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
        by_criterion, attainable_by_criterion = criterion_sums(gp)
        criterion_ids = list(by_criterion)
        n = len(ids)
        achieved = np.zeros((n, len(criterion_ids)))
        attainable = np.zeros((n, len(criterion_ids)))
        for j, c in enumerate(criterion_ids):
            achieved[:, j] = by_criterion[c]
            attainable[:, j] = attainable_by_criterion[c]
        crit_max = {c.id: c.max_points[group.id] for c in rubric.criteria_for(group.id)}
        score = np.asarray(tot["score_100_published"], dtype=float)[is_ranked]
        rank = rank_competition(score)
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


def rescored(gc: GroupCriteria, scale: np.ndarray, decimals: int) -> tuple[np.ndarray, np.ndarray | None]:
    """``score_100`` of every agency under criterion scale factors ``scale`` ``(draws, n_criteria)``.

    Returns ``(scores, keys)``: the scores ``(draws, n_agencies)`` rounded half up to ``decimals`` as
    published, NaN where nothing is attainable, and, when they allow it, their integer form
    ``score × 10^decimals`` (:func:`ictaudit.score.ranking.published_values`; else ``None``).
    Sums are numpy reductions over the criterion axis, not a BLAS matrix product, so that the bytes
    do not depend on the machine's linear-algebra library or thread count.
    """
    scale = np.atleast_2d(np.asarray(scale, dtype=float))
    achieved, attainable = _criterion_sums(scale, gc.achieved), _criterion_sums(scale, gc.attainable)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(attainable > 0, achieved / attainable, np.nan)
    del achieved, attainable
    return published_values(np.multiply(share, 100, out=share), decimals)  # as round_half_up(100 * share, …)


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

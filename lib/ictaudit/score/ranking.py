"""Competition ranking, the one ranking rule of the scale (docs/domain.md §3.4), for one ranking or thousands.

The rule: rank by the value as published — rounded half up to the rubric's decimals — highest first;
equal published values share a rank and the next rank is skipped ("1-2-2-4"); no tie-breaker; a
missing value (NaN) gets no rank and pushes nobody down. So the rank of a value is 1 + the number of
values of the same ranking that are strictly higher.

:func:`rank_competition` ranks along the last axis: one ranking (a group's agencies, for
``scores.csv`` and ``criteria.csv``) or one per row (the draws of the robustness analysis, every draw
at once). How it counts is an implementation choice that never changes a rank: all pairs for small
rankings; for large ones, the cumulative counts of each published value in integer form
(``value × 10^decimals``, from :func:`published_values`) when their range is narrow, else one sort
per row. ``tests/test_ranking.py`` holds every path to the plain definition above.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from ictaudit.common.numfmt import half_up_units, round_half_up

#: booleans (or counters) per chunk of rows when ranking many rows at once
_CHUNK_CELLS = 8_000_000
#: up to this many values in a ranking, all pairs are compared; above, values are counted or sorted
_PAIRWISE_MAX = 200
#: published values × 10^decimals must stay below this for their integer form (int32) to be kept
_KEY_MAX = 2**31 - 2
#: integer values are ranked by counting when their range is at most this, or 16 × the values ranked
_COUNT_RANGE = 65_536


def published_values(x: np.ndarray, decimals: int) -> tuple[np.ndarray, np.ndarray | None]:
    """``x`` rounded half up to ``decimals`` as published, and its integer form ``value × 10^decimals``.

    The values are the bytes :func:`ictaudit.common.numfmt.round_half_up` gives: for ``x ≥ 0`` it
    computes ``half_up_units(x × 10^decimals) / 10^decimals``, and so does this, with one array of
    intermediates fewer. The integer form (``-1`` for NaN) is given when every value is ≥ 0 and
    stays below :data:`_KEY_MAX`; otherwise it is ``None``.
    """
    x = np.asarray(x, dtype=float)
    factor = 10.0**decimals
    if x.size:
        lo, hi = np.fmin.reduce(x, axis=None), np.fmax.reduce(x, axis=None)  # NaN only when every x is
        if not np.isnan(lo) and (lo < 0 or hi * factor >= _KEY_MAX):
            return np.asarray(round_half_up(x, decimals), dtype=float).reshape(x.shape), None
    m = half_up_units(x * factor).reshape(x.shape)  # |x| × factor (x ≥ 0); whole numbers, NaN stays NaN
    values = m / factor  # sign(x) = 1 (or 0 for 0, where m = 0): round_half_up's bytes; + 0.0 changes nothing
    with np.errstate(invalid="ignore"):
        keys = m.astype(np.int32)
    keys[np.isnan(m)] = -1
    return values, keys


def rank_competition(
    values: Iterable[float] | np.ndarray, decimals: int | None = None, keys: np.ndarray | None = None
) -> np.ndarray:
    """Competition ranks ("1-2-2-4", highest first) along the last axis of ``values``; 0 for no rank.

    ``decimals``: round half up to that many decimals first; ``None`` when the values are already
    the published ones. ``keys``: their integer form from :func:`published_values`, when the caller
    has it (it lets a large ranking be counted instead of sorted). Returns int64, the shape of
    ``values`` (a 1-D ranking, or one ranking per row of a 2-D array).
    """
    values = np.asarray(values, dtype=float)
    if decimals is not None:
        values, keys = published_values(values, decimals)
    shape = values.shape
    rows = values.reshape(math.prod(shape[:-1]), shape[-1]) if values.ndim else values.reshape(1, 1)
    n = rows.shape[1]
    if n > _PAIRWISE_MAX and keys is not None and _narrow(keys, n):
        ranks = _ranks_by_counting(keys.reshape(rows.shape))
    elif n <= _PAIRWISE_MAX:
        ranks = _ranks_by_pairs(rows)
    else:
        ranks = _ranks_by_sorting(rows)
    return ranks.reshape(shape)


def _narrow(keys: np.ndarray, n: int) -> bool:
    """Whether the integer values span a range small enough to count (or are all NaN)."""
    valid = keys >= 0
    return not valid.any() or int(keys.max()) - int(keys[valid].min()) <= max(_COUNT_RANGE, 16 * n)


def _ranks_by_pairs(scores: np.ndarray) -> np.ndarray:
    """Every pair of a row compared at once, in chunks of rows: ``n²`` per row, for small rankings."""
    d, n = scores.shape
    ranks = np.zeros((d, n), dtype=np.int64)
    step = max(1, _CHUNK_CELLS // max(1, n * n))
    for start in range(0, d, step):
        block = scores[start : start + step]
        higher = (block[:, None, :] > block[:, :, None]).sum(axis=2)
        ranks[start : start + step] = np.where(np.isnan(block), 0, 1 + higher)
    return ranks


def _ranks_by_sorting(scores: np.ndarray) -> np.ndarray:
    """One sort per row (``n log n``); NaN sorts last and is not counted."""
    d, n = scores.shape
    ranks = np.zeros((d, n), dtype=np.int64)
    valid = (~np.isnan(scores)).sum(axis=1)
    ordered = np.sort(scores, axis=1)
    for i in range(d):
        at_most = np.searchsorted(ordered[i], scores[i], side="right")
        ranks[i] = np.where(np.isnan(scores[i]), 0, 1 + valid[i] - at_most)
    return ranks


def _ranks_by_counting(keys: np.ndarray) -> np.ndarray:
    """Ranks of values given in integer form (``-1`` = NaN), from the cumulative counts of each value.

    Per row, the number of values strictly higher is read off the cumulative counts of each integer
    — O(values + range) per row, every row of a chunk at once.
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
    width = int(keys.max()) - lo + 2  # slot 0: NaN; slot k - lo + 1: value k
    step = max(1, _CHUNK_CELLS // max(1, width + n))
    offsets = np.arange(min(d, step), dtype=np.intp)[:, None] * width
    for start in range(0, d, step):
        blk = keys[start : start + step]
        rows = blk.shape[0]
        flat = blk.astype(np.intp)
        flat -= lo - 1
        np.maximum(flat, 0, out=flat)  # NaN (-1) → slot 0; every value ≥ lo → slot ≥ 1
        flat += offsets[:rows]
        counts = np.bincount(flat.ravel(), minlength=rows * width).reshape(rows, width)
        counts[:, 0] = 0  # NaN pushes nobody down
        table = np.cumsum(counts, axis=1)  # per slot: how many values are at most this one
        np.subtract(table[:, -1:] + 1, table, out=table)  # 1 + how many are strictly higher
        table[:, 0] = 0  # no rank for NaN
        ranks[start : start + step] = table.ravel()[flat]
    return ranks

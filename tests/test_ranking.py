"""Competition ranking ("1-2-2-4") on published, rounded values — checked against the Ministry's 2017 table,
and every way :func:`rank_competition` counts (all pairs, one sort per row, counting integer values)
held to the plain definition: 1 + how many of the same ranking are strictly higher; no rank for NaN."""

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from ictaudit.common.numfmt import fmt_ratio, fmt_ratio_array, round_half_up
from ictaudit.score import ranking
from ictaudit.score.ranking import published_values, rank_competition

from .conftest import REFERENCE_DIR

REFERENCE = REFERENCE_DIR / "mic-2017-provinces.csv"


def test_reproduces_every_published_rank_of_the_ministry_2017_table():
    table = pd.read_csv(REFERENCE, encoding="utf-8")
    ranks = rank_competition(table["published_index"], decimals=3)
    mismatches = table.loc[ranks != table["published_rank"].to_numpy(), ["province", "published_rank"]]
    assert mismatches.empty, mismatches
    assert len(table) == 53
    # the three published ties and the rank skipped after each
    by_row = dict(zip(table["row"], ranks))
    assert (by_row[17], by_row[18], by_row[19]) == (17, 17, 19)
    assert (by_row[32], by_row[33], by_row[34]) == (32, 32, 34)
    assert (by_row[40], by_row[41], by_row[42]) == (40, 40, 42)


@pytest.mark.parametrize(
    "values,decimals,expected",
    [
        ([90, 80, 80, 70], 2, [1, 2, 2, 4]),
        ([50, 60, 70], 2, [3, 2, 1]),
        ([85.004, 84.996, 80], 2, [1, 1, 3]),  # both publish as 85,00
        ([85.006, 84.996], 2, [1, 2]),  # 85,01 vs 85,00
        ([70, math.nan, 70], 2, [1, 0, 1]),  # no score, no rank
        ([1, 1, 1], 2, [1, 1, 1]),
    ],
)
def test_rank_competition(values, decimals, expected):
    got = rank_competition(values, decimals)
    assert got.dtype == np.int64 and got.tolist() == expected


@pytest.mark.parametrize(
    "x,decimals,expected",
    [(84.995, 2, 85.0), (0.6325, 3, 0.633), (2.5, 0, 3.0), (0.0, 2, 0.0), (83.3333, 2, 83.33), (-1.005, 2, -1.01)],
)
def test_round_half_up(x, decimals, expected):
    assert round_half_up(x, decimals) == expected


@pytest.mark.parametrize(
    "x", [8.451921958547613e306, -1e300, 2.0**52 + 2, 1.7976931348623157e308, 1976497530319719.0, 1e12 + 0.3]
)
def test_round_half_up_gives_back_a_number_too_large_to_have_decimals(x):
    """Once x · 10**decimals reaches 2**52 there is no digit left to round (and the product may overflow:
    it raised OverflowError); a whole 1976497530319719 came back as …718.8."""
    assert round_half_up(x, 4) == x
    got = round_half_up(np.array([x, 1.005, math.inf, math.nan]), 2)
    assert got[0] == x and got[1] == 1.01 and got[2] == math.inf and math.isnan(got[3])
    # what the trail's explanation of a ratio to a near-zero best printed when it crashed
    text = fmt_ratio_array(np.array([x]), "vi")[0]
    assert text == fmt_ratio(x, "vi") and text.lstrip("-").replace(".", "").startswith(f"{abs(x):.0f}"[:6])


# -- every path of rank_competition against the definition -----------------------------------------


def reference_ranks(scores: np.ndarray) -> np.ndarray:
    """The definition, all pairs: 1 + how many of the same row score strictly higher; 0 for NaN."""
    scores = np.atleast_2d(scores)
    higher = (scores[:, None, :] > scores[:, :, None]).sum(axis=2)
    return np.where(np.isnan(scores), 0, 1 + higher)


def key_cases() -> dict[str, np.ndarray]:
    """Published values in integer form (value × 100; -1 for NaN), one ranking per row."""
    rng = np.random.default_rng(11)
    ties = rng.integers(0, 40, (30, 200))
    ties[rng.random(ties.shape) < 0.1] = -1
    ties[5] = -1  # a row where nobody is scored
    wide = rng.integers(0, 10_001, (20, 300))
    return {
        "ties and NaN": ties,
        "wide range": wide,
        "one agency": rng.integers(-1, 5, (9, 1)),
        "all equal": np.full((4, 50), 7250),
        "all NaN": np.full((3, 8), -1),
        "no draws": np.zeros((0, 5), dtype=np.int64),
        "no agencies": np.zeros((4, 0), dtype=np.int64),
    }


@pytest.mark.parametrize("case", list(key_cases()))
def test_every_way_of_counting_gives_the_definition(case, monkeypatch):
    keys = key_cases()[case].astype(np.int32)
    scores = np.where(keys >= 0, keys / 100.0, np.nan)
    expected = reference_ranks(scores) if keys.size else np.zeros(keys.shape, dtype=np.int64)
    paths = {
        "all pairs": (10**9, None),  # every ranking is "small"
        "one sort per row": (0, None),  # every ranking is "large" and no integer form is given
        "counting": (0, keys),  # every ranking is "large" and counted from its integer form
    }
    for path, (pairwise_max, given_keys) in paths.items():
        monkeypatch.setattr(ranking, "_PAIRWISE_MAX", pairwise_max)
        for chunk in (8_000_000, 1):  # many rows per chunk, or one
            monkeypatch.setattr(ranking, "_CHUNK_CELLS", chunk)
            got = rank_competition(scores, keys=given_keys)
            assert got.dtype == np.int64 and got.shape == scores.shape, path
            assert np.array_equal(got, expected), (path, chunk)


def test_a_ranking_too_wide_to_count_is_sorted(monkeypatch):
    keys = np.array([[0, 5_000_000, 5_000_000, -1, 12]], dtype=np.int32)
    scores = np.where(keys >= 0, keys / 100.0, np.nan)
    monkeypatch.setattr(ranking, "_PAIRWISE_MAX", 0)
    monkeypatch.setattr(ranking, "_ranks_by_counting", lambda k: pytest.fail("counted a 5,000,000-wide range"))
    assert rank_competition(scores, keys=keys).tolist() == [[4, 1, 1, 0, 3]]
    assert rank_competition(scores).tolist() == [[4, 1, 1, 0, 3]]


def test_a_large_ranking_with_many_ties_sorted_equals_all_pairs(monkeypatch):
    rng = np.random.default_rng(7)
    scores = np.round(rng.uniform(0, 100, (50, 300)), 0)  # many ties
    scores[rng.random(scores.shape) < 0.05] = np.nan  # unscored: rank 0, pushes nobody down
    scores[3] = np.nan  # a draw where nobody is scored
    monkeypatch.setattr(ranking, "_PAIRWISE_MAX", 10**9)
    pairwise = rank_competition(scores)
    monkeypatch.setattr(ranking, "_PAIRWISE_MAX", 0)
    assert (rank_competition(scores) == pairwise).all()
    assert (pairwise[3] == 0).all()


def test_one_ranking_keeps_its_shape_and_an_empty_one_too():
    assert rank_competition(pd.Series([3.0, 5.0, 3.0])).tolist() == [2, 1, 2]
    assert rank_competition([]).shape == (0,)
    assert rank_competition(np.zeros((2, 0))).shape == (2, 0)


@pytest.mark.parametrize("decimals", [0, 2, 3])
def test_published_values_are_round_half_up_and_their_integer_form(decimals):
    rng = np.random.default_rng(decimals)
    x = np.concatenate([rng.uniform(0, 100, 500), [0.0, 84.995, 0.6325, 2.5, 100.0, np.nan]])
    kept = x.copy()
    values, keys = published_values(x, decimals)
    assert np.array_equal(x, kept, equal_nan=True)  # the input is left as it was
    assert values.tobytes() == np.asarray(round_half_up(x, decimals)).tobytes()
    assert (keys[np.isnan(x)] == -1).all()
    assert np.array_equal(keys[~np.isnan(x)] / 10.0**decimals, values[~np.isnan(x)])
    negative, none = published_values(np.array([1.005, -1.005]), 2)
    assert none is None and negative.tolist() == [1.01, -1.01]
    huge, none = published_values(np.array([1.0, 3e7]), 2)  # 3e9 does not fit an int32
    assert none is None and huge.tolist() == [1.0, 3e7]


scores_2d = arrays(
    np.float64,
    st.tuples(st.integers(1, 12), st.integers(1, 9)),
    elements=st.one_of(st.sampled_from([0.0, 50.0, 50.0, 85.0, 99.99, 100.0]), st.floats(0, 100), st.just(np.nan)),
)


@settings(max_examples=150, deadline=None)
@given(scores_2d)
def test_every_draw_is_a_valid_competition_ranking(scores):
    ranks = rank_competition(scores)
    for row, r in zip(scores, ranks):
        expected = pd.Series(row).rank(method="min", ascending=False, na_option="keep").fillna(0).to_numpy()
        assert r.tolist() == expected.astype(int).tolist()  # pandas' own "min" ranking, as scoring once used
        assert r.tolist() == rank_competition(row).tolist()  # each draw alone ranks the same
        scored = ~np.isnan(row)
        if scored.any():
            assert r[scored].min() == 1
            # equal values share a rank; a rank k is followed by k + (number sharing it)
            for v in np.unique(row[scored]):
                assert len(set(r[row == v])) == 1
                k = r[row == v][0]
                assert k == 1 + (row[scored] > v).sum()
        assert (r[~scored] == 0).all()

"""Competition ranking ("1-2-2-4") on published, rounded values — checked against the Ministry's 2017 table."""

import math

import numpy as np
import pandas as pd
import pytest

from ictaudit.common.numfmt import fmt_ratio, fmt_ratio_array, round_half_up
from ictaudit.score.scoring import rank_competition

from .conftest import REFERENCE_DIR

REFERENCE = REFERENCE_DIR / "mic-2017-provinces.csv"


def test_reproduces_every_published_rank_of_the_ministry_2017_table():
    table = pd.read_csv(REFERENCE, encoding="utf-8")
    ranks = rank_competition(table["published_index"], decimals=3)
    mismatches = table.loc[ranks.to_numpy() != table["published_rank"].to_numpy(), ["province", "published_rank"]]
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
        ([70, math.nan, 70], 2, [1, None, 1]),  # no score, no rank
        ([1, 1, 1], 2, [1, 1, 1]),
    ],
)
def test_rank_competition(values, decimals, expected):
    got = rank_competition(values, decimals)
    assert [None if pd.isna(x) else int(x) for x in got] == expected


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

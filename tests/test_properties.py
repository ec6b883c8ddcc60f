"""Property-based tests (hypothesis): invariants of the parser and of scoring that no example list covers."""

import math

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ictaudit.common.numfmt import (
    fmt_number,
    fmt_number_array,
    fmt_ratio,
    fmt_ratio_array,
    fmt_value,
    fmt_value_array,
    round_half_up,
)
from ictaudit.intake.parsing import parse_value
from ictaudit.rules.kinds import Ratio, RatioToBest
from ictaudit.rules.rubric import load_rubric
from ictaudit.score.ranking import rank_competition
from ictaudit.score.scoring import score_cycle

RUBRIC = load_rubric("caobang-2310-2016")
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# -- the number parser -------------------------------------------------------------------------


@given(st.integers(min_value=0, max_value=10**11))
@settings(max_examples=300)
def test_a_whole_number_written_the_vietnamese_way_reads_back(n):
    text = fmt_number(n, 0, "vi")  # 1234567 → "1.234.567"
    parsed = parse_value(text, "count")
    assert parsed.problem is None and parsed.value == n


@given(st.integers(min_value=0, max_value=10**9), st.integers(min_value=1, max_value=99))
@settings(max_examples=300)
def test_a_decimal_with_a_decimal_comma_reads_back(whole, cents):
    text = fmt_number(whole + cents / 100, 2, "vi")  # "1.234,56"
    parsed = parse_value(text, "decimal")
    assert parsed.problem is None
    assert parsed.value == round_half_up(whole + cents / 100, 2)


@given(st.text(max_size=30), st.sampled_from(["count", "decimal", "yesno"]))
@settings(max_examples=500)
def test_any_text_gives_a_value_or_a_problem_never_an_exception(text, field_type):
    parsed = parse_value(text, field_type)
    assert parsed.value is None or parsed.problem is None
    if parsed.value is not None:
        assert np.isfinite(parsed.value) and parsed.value >= 0
        if field_type == "count":
            assert float(parsed.value).is_integer()
        if field_type == "yesno":
            assert parsed.value in (0, 1)


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_numbers_from_the_reader_are_checked(x):
    parsed = parse_value(x, "decimal")
    if not np.isfinite(x) or x < 0 or x > 1e12:
        assert parsed.problem is not None
    else:
        assert parsed.value == x


# -- scoring invariants ------------------------------------------------------------------------


def _values_for(group: str, draw) -> pd.DataFrame:
    """Random but type-correct values (with blanks) for ``n`` agencies of a group."""
    fields = RUBRIC.fields_for_form(RUBRIC.form_of(group))
    n = draw(st.integers(min_value=1, max_value=8))
    rows = {}
    for i in range(n):
        row = {}
        for f in fields:
            blank = draw(st.integers(0, 19)) == 0
            if blank:
                row[f.code] = np.nan
            elif f.type == "yesno":
                row[f.code] = float(draw(st.integers(0, 1)))
            elif f.type == "count":
                row[f.code] = float(draw(st.integers(0, 500)))
            else:
                row[f.code] = draw(st.floats(0, 1e4, allow_nan=False))
        rows[f"a{i:02d}"] = row
    return pd.DataFrame.from_dict(rows, orient="index")


@st.composite
def group_cycles(draw):
    group = draw(st.sampled_from(RUBRIC.group_ids))
    values = _values_for(group, draw)
    statuses = [draw(st.sampled_from(["ranked", "ranked", "ranked", "late", "excluded"])) for _ in values.index]
    agencies = pd.DataFrame(
        {"agency_id": values.index, "agency_name": values.index, "group": group, "status": statuses, "status_reason": ""}
    )
    return values, agencies


@given(group_cycles())
@SETTINGS
def test_points_stay_within_zero_and_the_maximum_and_ranks_follow_scores(cycle):
    values, agencies = cycle
    result = score_cycle(RUBRIC, values, agencies)
    trail = result.trail
    assert (trail["points"] >= 0).all()
    assert (trail["points"] <= trail["max_points"] + 1e-9).all()
    assert (trail.loc[~trail["applicable"], "points"] == 0).all()
    scores = result.scores.set_index("agency_id")
    ranked = scores[scores["status"] == "ranked"]
    assert ((ranked["score_100"] >= 0) & (ranked["score_100"] <= 100)).all()
    assert (ranked["points"] <= ranked["applicable_max"] + 1e-9).all()
    # not evaluated means not scored: no number, no trail row, whatever their values
    unranked = scores[scores["status"] != "ranked"]
    assert unranked[["points", "applicable_max", "score_100", "index"]].isna().all().all()
    assert not set(trail["agency_id"]) & set(unranked.index)
    # competition ranking: rank = 1 + number of ranked agencies with a strictly higher published score
    for agency_id, row in ranked.iterrows():
        higher = (ranked["score_100"] > row["score_100"]).sum()
        assert row["rank"] == 1 + higher, agency_id
    assert scores.loc[scores["status"] != "ranked", "rank"].isna().all()
    if len(ranked):
        assert ranked["rank"].min() == 1


@given(
    st.lists(st.tuples(st.integers(0, 1000), st.integers(1, 1000)), min_size=1, max_size=10),
    st.integers(min_value=2, max_value=1000),
)
@SETTINGS
def test_scaling_both_inputs_of_a_ratio_does_not_change_it(pairs, factor):
    values = pd.DataFrame(pairs, columns=["N", "D"], dtype=float)
    scaled = values * factor
    for kind in (Ratio("r", 5, ["N"], ["D"]), RatioToBest("b", 3, ["N"], ["D"])):
        ranked = np.ones(len(values), bool)
        a = kind.compute(values, ranked).points
        b = kind.compute(scaled, ranked).points
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


@given(st.lists(st.floats(0, 100, allow_nan=False), min_size=1, max_size=30))
def test_competition_ranks_are_consistent_with_the_published_values(scores):
    ranks = rank_competition(scores, 2).tolist()
    published = round_half_up(np.array(scores), 2)
    for r, s in zip(ranks, published):
        assert r == 1 + int((published > s).sum())


# -- numbers formatted a column at a time --------------------------------------------------------

TRICKY_NUMBERS = [
    0.0, -0.0, 1.0, -1.0, 2.675, -2.675, 1.005, 0.125, -0.125, 0.005, -0.005, -0.004, 84.995, 0.99995, 0.999949,
    9.99995, 2.5, 3.5, -2.5, 1 / 3, 2 / 3, 0.1 + 0.2, 5e-5, -4.99e-5, 1234.5, 12345.6789, 1234567.891, -1234567.891,
    999.9999, 999999.995, 999999999.999, 999999999.99999, 1e9, -1e9, 1e15, 1e20, 1.7e308, math.nan, math.inf, -math.inf,
]  # fmt: skip


def _outcome(make, *args):
    """The texts made, or the type of the error raised (a value too large for round_half_up raises)."""
    try:
        return make(*args)
    except (OverflowError, ValueError) as e:
        return type(e)


def _same_as_scalar(x: np.ndarray) -> None:
    values = x.tolist()

    def scalar(f, *args):
        return [f(v, *args) for v in values]

    def column(f, *args):
        return f(x, *args).tolist()

    for lang in ("vi", "en"):
        for decimals in range(6):
            for trim in (False, True):
                expected = _outcome(scalar, fmt_number, decimals, lang, trim)
                assert _outcome(column, fmt_number_array, decimals, lang, trim) == expected, (decimals, lang, trim)
        assert _outcome(column, fmt_ratio_array, lang) == _outcome(scalar, fmt_ratio, lang)
        assert _outcome(column, fmt_value_array, lang) == _outcome(scalar, fmt_value, lang)


def test_column_formatting_is_the_scalar_formatting_on_tricky_numbers():
    rng = np.random.default_rng(2016)
    _same_as_scalar(np.array(TRICKY_NUMBERS))
    _same_as_scalar(np.array(TRICKY_NUMBERS[:-4]))  # without the values the scalar functions reject
    _same_as_scalar(np.array([], dtype=float))
    # every 2- and 4-decimal half-up boundary in a range, and the binary neighbours of each
    halves = np.concatenate([(np.arange(-3000, 3000) + 0.5) / 100, (np.arange(0, 20000) + 0.5) / 10000])
    _same_as_scalar(np.concatenate([halves, np.nextafter(halves, np.inf), np.nextafter(halves, -np.inf)]))
    _same_as_scalar(np.concatenate([rng.normal(0, 1, 3000), rng.normal(0, 1e7, 3000)]))
    _same_as_scalar(rng.integers(-(10**8), 10**8, 3000).astype(float))


@given(st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=40))
@settings(max_examples=200)
def test_column_formatting_is_the_scalar_formatting(values):
    _same_as_scalar(np.array(values, dtype=float))


@given(st.lists(st.integers(0, 10**6), min_size=1, max_size=40), st.integers(0, 4))
@settings(max_examples=200)
def test_column_formatting_of_values_on_a_decimal_grid(ints, decimals):
    _same_as_scalar(np.array(ints, dtype=float) / 10**decimals)

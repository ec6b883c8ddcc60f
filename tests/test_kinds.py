"""Each indicator kind on tiny explicit data: inputs and expected points side by side."""

import math

import numpy as np
import pandas as pd
import pytest

from ictaudit.rules.kinds import Checklist, CountCapped, Ratio, RatioToBest, ShareOfItems, Tiers
from ictaudit.rules.rubric import ChecklistItem, Tier

NAN = math.nan


def frame(**cols):
    return pd.DataFrame({k: np.array(v, dtype=float) for k, v in cols.items()})


def flagged(result, name):
    return list(result.flags.get(name, np.zeros(len(result.points), bool)))


# -- ratio -------------------------------------------------------------------------------------
#   num    den   na_when_zero | points applicable flags
RATIO_CASES = [
    (45, 50, False, 4.5, True, []),  # 5 × 0.9
    (60, 50, False, 5.0, True, ["capped"]),  # above 1 → max
    (0, 50, False, 0.0, True, []),
    (NAN, 50, False, 0.0, True, ["missing"]),
    (10, NAN, False, 0.0, True, ["missing"]),
    (0, 0, False, 0.0, True, ["zero_denominator"]),  # a data error where N/A is not allowed
    (0, 0, True, 0.0, False, ["na"]),  # N/A: leaves the attainable total
    (5, 0, True, 0.0, False, ["na"]),
    (NAN, 0, True, 0.0, True, ["missing"]),  # blank beats N/A
]


@pytest.mark.parametrize("num,den,na_when_zero,points,applicable,flags", RATIO_CASES)
def test_ratio(num, den, na_when_zero, points, applicable, flags):
    k = Ratio("T1", 5, ["A"], ["B"], na_when_zero)
    r = k.compute(frame(A=[num], B=[den]))
    assert r.points[0] == pytest.approx(points)
    assert bool(r.applicable[0]) is applicable
    assert list(r.flags_at(0)) == flags


def test_ratio_sums_fields_and_a_blank_in_a_sum_is_missing():
    k = Ratio("C4.3", 4, ["F29", "F30"], ["F27"], True)
    r = k.compute(frame(F29=[3, 3], F30=[2, NAN], F27=[10, 10]))
    assert list(r.points) == [2.0, 0.0]
    assert flagged(r, "missing") == [False, True]


def test_ratio_explain_substitutes_the_numbers():
    k = Ratio("C1.1", 5, ["F02"], ["F01"])
    r = k.compute(frame(F02=[45], F01=[50]))
    assert k.explain({"F02": 45, "F01": 50}, r.detail_at(0)) == (
        "Tỷ lệ = F02 / F01 = 45 / 50 = 0,90 → 0,90 × 5 = 4,50 điểm"
    )
    assert k.explain({"F02": 45, "F01": 50}, r.detail_at(0), "en") == (
        "Ratio = F02 / F01 = 45 / 50 = 0.90 → 0.90 × 5 = 4.50 points"
    )


def test_ratio_explain_edge_cases():
    k = Ratio("C2.5", 3, ["F17"], ["F15"], na_when_zero=True)
    r = k.compute(frame(F17=[0, 1234, 5], F15=[0, 1000, NAN]))
    assert k.explain({"F17": 0, "F15": 0}, r.detail_at(0)).startswith("Không áp dụng: F15 = 0")
    assert "1.234 / 1.000 = 1,234 > 1, lấy 1" in k.explain({"F17": 1234, "F15": 1000}, r.detail_at(1))
    assert k.explain({"F17": 5, "F15": None}, r.detail_at(2)) == "Thiếu số liệu (F15 trống) → 0,00 điểm"


# -- ratio_to_best -----------------------------------------------------------------------------


def test_ratio_to_best_takes_the_best_from_ranked_rows_only():
    k = RatioToBest("C1.3", 3, ["F05"], ["F01"])
    values = frame(F05=[100, 150, 50, 1000], F01=[50, 50, 100, 10])  # v = 2, 3, 0.5, 100
    ranked = np.array([True, True, True, False])
    r = k.compute(values, ranked)
    assert list(r.points) == pytest.approx([2.0, 3.0, 0.5, 3.0])
    assert flagged(r, "capped") == [False, False, False, True]
    assert r.detail["best"][0] == 3.0


@pytest.mark.parametrize(
    "f05,f01,expected",
    [
        ([0, 0], [10, 20], [0.0, 0.0]),  # best = 0 → everyone 0
        ([NAN, 10], [10, 10], [0.0, 3.0]),  # a blank is missing, the other sets the best
        ([5, 10], [0, 10], [0.0, 3.0]),  # zero denominator is a data error, not the best
    ],
)
def test_ratio_to_best_edges(f05, f01, expected):
    k = RatioToBest("C1.3", 3, ["F05"], ["F01"])
    r = k.compute(frame(F05=f05, F01=f01), np.array([True, True]))
    assert list(r.points) == pytest.approx(expected)


def test_ratio_to_best_with_no_ranked_value_scores_zero():
    k = RatioToBest("C1.3", 3, ["F05"], ["F01"])
    r = k.compute(frame(F05=[10], F01=[10]), np.array([False]))
    assert r.points[0] == 0 and math.isnan(r.detail["best"][0])


# -- checklist ---------------------------------------------------------------------------------
ITEMS = (ChecklistItem(field="F06", points=2), ChecklistItem(field="F16", op=">", value=0, points=1))
#  F06   F16  | points missing
CHECKLIST_CASES = [
    (1, 3, 3.0, False),
    (1, 0, 2.0, False),
    (0, 1, 1.0, False),
    (0, 0, 0.0, False),
    (NAN, 5, 1.0, True),  # the blank item scores 0, the other still counts
    (1, NAN, 2.0, True),
]


@pytest.mark.parametrize("f06,f16,points,missing", CHECKLIST_CASES)
def test_checklist(f06, f16, points, missing):
    k = Checklist("T", 3, ITEMS)
    r = k.compute(frame(F06=[f06], F16=[f16]))
    assert r.points[0] == points
    assert flagged(r, "missing") == [missing]


def test_checklist_explain():
    k = Checklist("T", 3, ITEMS)
    text = k.explain({"F06": 1, "F16": 0}, {})
    assert text == "F06 = Có → 2; F16 = 0 ≤ 0 → 0; tổng 2,00 điểm"


def test_checklist_items_must_add_up_to_the_maximum():
    with pytest.raises(ValueError, match=r"item points sum to 3 \(F06 2 \+ F16 1\), not the maximum 4"):
        Checklist("T", 4, ITEMS)


# -- share_of_items ----------------------------------------------------------------------------
#   items               | points   missing
SHARE_CASES = [
    ([1, 1, 1, 1], 8.0, False),
    ([1, 0, 1, 0], 4.0, False),
    ([0, 0, 0, 0], 0.0, False),
    ([1, NAN, 1, 1], 6.0, True),
]


@pytest.mark.parametrize("items,points,missing", SHARE_CASES)
def test_share_of_items(items, points, missing):
    k = ShareOfItems("T", 8, ["a", "b", "c", "d"])
    r = k.compute(frame(a=[items[0]], b=[items[1]], c=[items[2]], d=[items[3]]))
    assert r.points[0] == points
    assert flagged(r, "missing") == [missing]


# -- count_capped ------------------------------------------------------------------------------
#  count per_item max | points capped missing
COUNT_CASES = [
    (3, 1, 5, 3.0, False, False),
    (5, 1, 5, 5.0, False, False),
    (7, 1, 5, 5.0, True, False),
    (3, 0.5, 2, 1.5, False, False),
    (0, 1, 5, 0.0, False, False),
    (NAN, 1, 5, 0.0, False, True),
]


@pytest.mark.parametrize("count,per_item,mx,points,capped,missing", COUNT_CASES)
def test_count_capped(count, per_item, mx, points, capped, missing):
    k = CountCapped("T", mx, "F18", per_item)
    r = k.compute(frame(F18=[count]))
    assert r.points[0] == points
    assert flagged(r, "capped") == [capped]
    assert flagged(r, "missing") == [missing]


# -- tiers -------------------------------------------------------------------------------------
TIERS = (Tier(at_least=6, points=4), Tier(at_least=3, points=2), Tier(at_least=1, points=1))


@pytest.mark.parametrize(
    "count,points",
    [(0, 0), (1, 1), (2, 1), (3, 2), (5, 2), (6, 4), (100, 4), (0.5, 0), (NAN, 0)],
)
def test_tiers(count, points):
    k = Tiers("C2.7", 4, "F19", TIERS)
    assert k.compute(frame(F19=[count])).points[0] == points


def test_tiers_explain():
    k = Tiers("C2.7", 4, "F19", TIERS)
    assert k.explain({"F19": 4}, {}) == "F19 = 4 ≥ 3 → 2,00 điểm"
    assert k.explain({"F19": 0}, {}) == "F19 = 0 < 1, chưa đạt mức thấp nhất → 0,00 điểm"


@pytest.mark.parametrize(
    "tiers,message",
    [
        ((Tier(at_least=3, points=2), Tier(at_least=6, points=4)), "ordered from the highest threshold down"),
        ((Tier(at_least=6, points=3), Tier(at_least=3, points=2)), "top tier gives 3 points, not the maximum 4"),
        ((Tier(at_least=6, points=4), Tier(at_least=3, points=5)), "fewer points"),
    ],
)
def test_tiers_reject_bad_thresholds(tiers, message):
    with pytest.raises(ValueError, match=message):
        Tiers("T", 4, "F19", tiers)


# -- Excel renderings (text; their values are checked with LibreOffice in test_excel_formulas) --


def test_excel_formulas_read_input_cells():
    refs = {"F02": "D3", "F01": "D2", "F29": "D5", "F30": "D6", "F27": "D4"}
    assert Ratio("C1.1", 5, ["F02"], ["F01"]).excel_formula(refs) == (
        "=IF(OR(ISBLANK(D3),ISBLANK(D2)),0,IF(D2=0,0,5*MIN(D3/D2,1)))"
    )
    assert Ratio("C4.3", 4, ["F29", "F30"], ["F27"], True).excel_formula(refs) == (
        '=IF(OR(ISBLANK(D5),ISBLANK(D6),ISBLANK(D4)),0,IF(D4=0,"",4*MIN((D5+D6)/D4,1)))'
    )
    with pytest.raises(ValueError, match="best"):
        RatioToBest("C1.3", 3, ["F02"], ["F01"]).excel_formula(refs)


# -- explain_many: every agency's text at once, the same as explain row by row ------------------


def explained_row_by_row(kind, inputs: dict, detail: dict, lang: str) -> list[str]:
    """The reference: explain per row, with None for a blank input (as the trail used to call it)."""
    n = len(next(iter(inputs.values())))
    return [
        kind.explain(
            {f: None if math.isnan(v[i]) else float(v[i]) for f, v in inputs.items()},
            {k: float(v[i]) for k, v in detail.items()},
            lang,
        )
        for i in range(n)
    ]


def assert_explain_many_is_explain(kind, values: pd.DataFrame, ranked=None, detail=None):
    result = kind.compute(values, ranked)
    detail = result.detail if detail is None else detail
    inputs = {f: values[f].to_numpy(dtype=float) for f in kind.input_fields}
    for lang in ("vi", "en"):
        expected = explained_row_by_row(kind, inputs, detail, lang)
        got = kind.explain_many(inputs, detail, lang)
        assert isinstance(got, np.ndarray) and got.dtype == object and len(got) == len(values)
        assert got.tolist() == expected


CONDITIONS = (
    ChecklistItem(field="a", op=">=", value=2.5, points=1.5),
    ChecklistItem(field="b", op="<", value=10, points=1),
    ChecklistItem(field="c", op="<=", value=0, points=1),
    ChecklistItem(field="d", op="=", value=1, points=1),
    ChecklistItem(field="e", op="!=", value=0, points=1),
    ChecklistItem(field="f", points=1),
)
TRICKY = [NAN, 0.0, -0.0, 1.0, 2.0, -1.0, 0.5, 1 / 3, 2.675, 84.995, 0.125, 1e-7, 999.99995, 1234.5, 1e6, 1e12, 7.0]


def tricky_values(fields, n=300, seed=0) -> pd.DataFrame:
    """Blanks, zeros, negatives, halves at the rounding boundaries, huge numbers and plain counts."""
    rng = np.random.default_rng(seed)
    cols = {}
    for j, f in enumerate(fields):
        picked = rng.choice(np.array(TRICKY), n)
        counts = rng.integers(0, 3000, n).astype(float)
        cols[f] = np.where(rng.random(n) < 0.5, picked, counts)
        cols[f][j::7] = 1.0  # yes often enough for every checklist pattern
    return pd.DataFrame(cols)


@pytest.mark.parametrize(
    "kind",
    [
        Ratio("C1.1", 5, ["F02"], ["F01"]),
        Ratio("C4.3", 4, ["F29", "F30"], ["F27"], True),
        Ratio("C4.6", 3, ["F33"], ["F29", "F30"]),
        Ratio("T", 2.5, ["A", "A"], ["B"], False),
        RatioToBest("C1.3", 3, ["F05"], ["F01"]),
        RatioToBest("T", 3, ["F05"], ["F01", "F02"], True),
        Checklist("T", 3, ITEMS),
        Checklist("C5.1", 5, tuple(ChecklistItem(field=f"F3{i}", points=1) for i in range(4, 9))),
        Checklist("T", 6.5, CONDITIONS),
        ShareOfItems("T", 8, ["a", "b", "c", "d"]),
        CountCapped("T", 5, "F18", 1),
        CountCapped("T", 2, "F18", 0.25),
        Tiers("C2.7", 4, "F19", TIERS),
        Tiers("C3.4", 2, "F23", (Tier(at_least=120, points=2), Tier(at_least=60, points=1))),
    ],
    ids=lambda k: f"{k.kind}-{k.id}-{len(k.input_fields)}",
)
def test_explain_many_is_explain_row_by_row(kind):
    values = tricky_values(kind.input_fields)
    ranked = np.arange(len(values)) % 3 != 0
    assert_explain_many_is_explain(kind, values, ranked)
    assert_explain_many_is_explain(kind, values.iloc[:0], ranked[:0])
    assert_explain_many_is_explain(kind, values.iloc[:1], ranked[:1])


@pytest.mark.parametrize("best", [0.0, -1.0, NAN, 1e-300, 1e-9, 0.8, 2.675, 1e12])
def test_ratio_to_best_explain_many_whatever_the_best(best):
    kind = RatioToBest("C1.3", 3, ["F05"], ["F01"])
    values = tricky_values(kind.input_fields, seed=1)
    detail = dict(kind.compute(values).detail)
    detail["best"] = np.full(len(values), best)
    assert_explain_many_is_explain(kind, values, detail=detail)


def test_explain_many_on_every_indicator_of_the_rubric(rubric):
    for group in rubric.group_ids:
        fields = [f.code for f in rubric.fields_for_form(rubric.form_of(group))]
        values = tricky_values(fields, n=200, seed=3)
        for _, kind in rubric.indicators(group):
            assert_explain_many_is_explain(kind, values, np.ones(len(values), bool))

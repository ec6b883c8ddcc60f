"""The fast paths of the Monte Carlo (integer-form scores, criterion sums slice by slice, bands by
look-up) give exactly the arrays of the straightforward implementation they replace; so do the report
section's pieces. (The ways of ranking are held to the definition in tests/test_ranking.py.)"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from markupsafe import escape

from ictaudit.common.numfmt import fmt_number, round_half_up
from ictaudit.report import robustness as section
from ictaudit.score import reweighting as rw
from ictaudit.score import robustness as rb

from .test_ranking import reference_ranks


def reference_rescored(gc: rw.GroupCriteria, scale: np.ndarray, decimals: int) -> np.ndarray:
    """The implementation before the fast paths: one ``draws × agencies × criteria`` product, summed."""
    scale = np.atleast_2d(np.asarray(scale, dtype=float))
    d, n = scale.shape[0], gc.achieved.shape[0]
    achieved, attainable = np.empty((d, n)), np.empty((d, n))
    step = max(1, 8_000_000 // max(1, n * scale.shape[1]))
    for start in range(0, d, step):
        block = scale[start : start + step, None, :]
        achieved[start : start + step] = (block * gc.achieved[None, :, :]).sum(axis=2)
        attainable[start : start + step] = (block * gc.attainable[None, :, :]).sum(axis=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(attainable > 0, achieved / attainable, np.nan)
    return np.asarray(round_half_up(100 * share, decimals), dtype=float).reshape(achieved.shape)


def make_group(rng: np.random.Generator, n: int, m: int, *, ties: bool = False, nothing: float = 0.0):
    max_points = rng.integers(5, 40, m).astype(float)
    attainable = np.tile(max_points, (n, 1)) * (rng.random((n, m)) > 0.2)
    if nothing:
        attainable[rng.random(n) < nothing] = 0.0  # nothing attainable: NaN score
    share = np.round(rng.random((n, m)) * 4) / 4 if ties else rng.random((n, m))
    achieved = attainable * share
    return rw.GroupCriteria(
        group_id="g", agency_ids=[f"a{i}" for i in range(n)], criterion_ids=[f"C{j}" for j in range(m)],
        achieved=achieved, attainable=attainable, max_points=max_points,
        nominal_score=np.zeros(n), nominal_rank=np.zeros(n, dtype=np.int64),
    )  # fmt: skip


def scales(rng: np.random.Generator, gc: rw.GroupCriteria, draws: int) -> list[np.ndarray]:
    """The scale as monte_carlo builds it (columns picked from all criteria: not C-ordered) and C-ordered."""
    m = len(gc.criterion_ids)
    factors = rng.uniform(0.75, 1.25, size=(draws, m + 3))
    picked = rb.renormalised_scale(gc.max_points, factors[:, list(range(m))])
    return [picked, np.ascontiguousarray(picked), np.asfortranarray(picked)]


@pytest.mark.parametrize("m", [1, 2, 3, 7, 8, 9, 12, 16, 17])
@pytest.mark.parametrize("n", [1, 2, 37, 250])
def test_rescored_equals_reference(m, n):
    rng = np.random.default_rng(1000 * m + n)
    gc = make_group(rng, n, m, ties=n % 2 == 0, nothing=0.1)
    for scale in [*scales(rng, gc, 23), 1.0 - np.eye(m)]:
        for decimals in (0, 2, 3):
            expected = reference_rescored(gc, scale, decimals)
            scores, keys = rw.rescored(gc, scale, decimals)
            assert scores.tobytes() == expected.tobytes()
            assert keys is not None
            assert (keys[np.isnan(expected)] == -1).all()
            ok = ~np.isnan(expected)
            assert np.array_equal(keys[ok] / 10.0**decimals, expected[ok])


def test_rescored_without_agencies_or_attainable_points():
    rng = np.random.default_rng(3)
    empty = make_group(rng, 0, 4)
    scores, _ = rw.rescored(empty, np.ones((5, 4)), 2)
    assert scores.shape == (5, 0)
    negative = make_group(rng, 6, 4)
    negative = rw.GroupCriteria(**{**negative.__dict__, "achieved": -negative.achieved})
    scores, keys = rw.rescored(negative, np.ones((5, 4)), 2)
    assert keys is None and scores.tobytes() == reference_rescored(negative, np.ones((5, 4)), 2).tobytes()
    none = make_group(rng, 6, 4, nothing=1.0)
    scores, keys = rw.rescored(none, np.ones((5, 4)), 2)
    assert np.isnan(scores).all() and (keys == -1).all()


def test_criterion_sums_fall_back_when_no_order_matches(monkeypatch):
    rng = np.random.default_rng(4)
    gc = make_group(rng, 50, 9)
    scale = scales(rng, gc, 12)[0]
    expected = rw._summed_products(scale, gc.achieved)
    monkeypatch.setattr(rw, "_ordered_products", lambda s, p, pairwise: np.zeros((s.shape[0], p.shape[0])))
    assert rw._criterion_sums(scale, gc.achieved).tobytes() == expected.tobytes()


def test_bands_by_look_up_equal_band_index(rubric):
    decimals = rubric.ranking.decimals
    top = 100 * 10**decimals
    keys = np.concatenate([np.arange(-1, top + 1), [top, -1, 0]]).astype(np.int32).reshape(1, -1)
    scores = np.where(keys >= 0, keys / 10.0**decimals, np.nan)
    assert np.array_equal(rb._band_index_keys(keys, rubric, decimals), rb.band_index(scores, rubric))
    every_nan = np.full((2, 3), -1, dtype=np.int32)
    assert (rb._band_index_keys(every_nan, rubric, decimals) == -1).all()


def test_sample_group_equals_the_reference_pipeline(rubric):
    rng = np.random.default_rng(21)
    gc = make_group(rng, 400, 7, ties=True, nothing=0.02)
    scale = scales(rng, gc, 60)[0]
    ranks, scores, pct, probs = rb._sample_group(gc, scale, rubric)
    expected_scores = reference_rescored(gc, scale, rubric.ranking.decimals)
    expected_ranks = reference_ranks(expected_scores)
    assert scores.tobytes() == expected_scores.tobytes()
    assert np.array_equal(ranks, expected_ranks) and ranks.dtype == np.int64
    expected_pct = np.percentile(expected_ranks, [5, 50, 95], axis=0, method=rb.PERCENTILE_METHOD).astype(np.int64)
    assert np.array_equal(pct, expected_pct)
    idx = rb.band_index(expected_scores, rubric)
    expected_probs = np.stack([(idx == b).mean(axis=0) for b in range(len(rubric.bands))], axis=1)
    assert probs.tobytes() == expected_probs.tobytes()


# -- the report section: the code before it read rows through pandas one at a time -----------------


def reference_interval_svg(part: pd.DataFrame, names: dict[str, str], title: str) -> str:
    n_max = int(max(part["p95_rank"].max(), part["nominal_rank"].max()))
    longest = max(len(f"{r}. {names.get(a) or a}") for a, r in zip(part["agency_id"], part["nominal_rank"]))
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
    for i, row in enumerate(part.itertuples(index=False)):
        y = top + row_h * i + row_h / 2
        name = section._name(row.agency_id, names)
        lo, hi = x(row.p05_rank), x(row.p95_rank)
        out.append(
            f"<g><title>{name}: hạng công bố {row.nominal_rank}, trung vị {row.median_rank}, "
            f"khoảng {row.p05_rank}–{row.p95_rank}</title>"
            f'<text x="{label_w - 8}" y="{y + 4:.1f}" text-anchor="end">{row.nominal_rank}. {name}</text>'
            f'<line x1="{lo:.1f}" y1="{y:.1f}" x2="{hi:.1f}" y2="{y:.1f}" stroke="#7aa6d6" '
            f'stroke-width="8" stroke-linecap="round"/>'
            f'<circle cx="{x(row.nominal_rank):.1f}" cy="{y:.1f}" r="4.5" fill="#1f4e79"/></g>'
        )
    out.append("</svg>")
    return "\n".join(out)


def reference_explain_group(
    part: pd.DataFrame, names: dict[str, str], band_labels: dict[str, str], published_band: dict[str, str]
) -> str:
    """Solid ranks, wide intervals and uncertain bands of one group, in plain words."""
    prob_cols = [f"p_{b}" for b in band_labels if f"p_{b}" in part.columns]
    probs = part[prob_cols].astype(float)
    # the published band's probability (the likeliest band when scores.csv is not at hand)
    kept = pd.Series(
        [
            probs.loc[i, f"p_{published_band[a]}"] if a in published_band else probs.loc[i].max()
            for i, a in zip(part.index, part["agency_id"])
        ],
        index=part.index,
    )
    solid = part[part["p05_rank"] == part["p95_rank"]]
    wide = part[(part["p95_rank"] - part["p05_rank"]) >= 3]
    shaky = part[kept < 0.9]
    items = []
    if len(solid):
        who = ", ".join(f"{section._name(a, names)} (hạng {r})" for a, r in zip(solid["agency_id"], solid["nominal_rank"]))
        items.append(f"<li><strong>Thứ hạng vững</strong> (không đổi dù trọng số thay đổi): {who}.</li>")
    else:
        items.append("<li>Không có thứ hạng nào hoàn toàn không đổi khi trọng số thay đổi.</li>")
    if len(wide):
        who = ", ".join(
            f"{section._name(a, names)} (hạng {r}, có thể từ {lo} đến {hi})"
            for a, r, lo, hi in zip(wide["agency_id"], wide["nominal_rank"], wide["p05_rank"], wide["p95_rank"])
        )
        items.append(f"<li><strong>Thứ hạng dao động nhiều</strong> (khoảng rộng từ 3 bậc trở lên): {who}.</li>")
    if len(shaky):
        who = []
        for i in shaky.index:
            a = part.loc[i, "agency_id"]
            shares = probs.loc[i][probs.loc[i] > 0].sort_values(ascending=False)
            text = ", ".join(f"{band_labels[c[2:]]} {fmt_number(100 * p, 0)}%" for c, p in shares.items())
            if a in published_band:
                text = f"đã công bố: {band_labels[published_band[a]]}; {text}"
            who.append(f"{section._name(a, names)} ({text})")
        items.append(
            "<li><strong>Xếp loại chưa chắc chắn</strong> (xác suất giữ xếp loại đã công bố dưới 90%, "
            f"điểm gần ngưỡng giữa hai loại): {'; '.join(who)}.</li>"
        )
    else:
        items.append("<li>Mọi đơn vị giữ xếp loại đã công bố trong ít nhất 90% số lần.</li>")
    return "<ul>\n" + "\n".join(items) + "\n</ul>"


def section_part(rng: np.random.Generator, n: int, bands: list[str]) -> pd.DataFrame:
    """A group's rows as report_section has them: ranks as ints, probabilities as the CSV's text."""
    ties = rng.integers(0, 3, (n, len(bands)))  # equal shares in some rows
    shares = ties / np.maximum(ties.sum(axis=1, keepdims=True), 1)
    shares[0] = [1.0] + [0.0] * (len(bands) - 1)
    if n > 1:
        shares[1] = [0.5, 0.5] + [0.0] * (len(bands) - 2)
    nominal = np.sort(rng.integers(1, n + 1, n))
    p05 = np.maximum(1, nominal - rng.integers(0, 4, n))
    p95 = nominal + rng.integers(0, 5, n)
    df = pd.DataFrame({
        "agency_id": [f"A{i:03d}" for i in range(n)], "group": "g",
        "nominal_rank": nominal, "median_rank": nominal, "p05_rank": p05, "p95_rank": p95,
    })  # fmt: skip
    for j, b in enumerate(bands):
        df[f"p_{b}"] = [repr(float(x)) for x in shares[:, j]]
    df.index = rng.permutation(np.arange(100, 100 + n))  # the index of a filtered, sorted table
    return df


@pytest.mark.parametrize("n", [1, 2, 40])
def test_section_pieces_equal_the_row_by_row_code(rubric, n):
    rng = np.random.default_rng(n)
    bands = [b.id for b in rubric.bands]
    labels = {b.id: b.label_vi for b in rubric.bands}
    part = section_part(rng, n, bands)
    names = {a: f"Sở <{a}> & co" for a in part["agency_id"][::2]}
    for published in (
        {},  # no scores.csv: the likeliest band
        {a: bands[k % len(bands)] for k, a in enumerate(part["agency_id"]) if k % 3},
    ):
        assert section._explain_group(part, names, labels, published) == reference_explain_group(
            part, names, labels, published
        )
    assert section._interval_svg(part, names, "Khối <x>") == reference_interval_svg(part, names, "Khối <x>")


# -- leave one out: the table built column by column equals the one built row by row ----------------


def reference_leave_one_out(rubric, groups: list[rw.GroupCriteria]) -> pd.DataFrame:
    """The row-by-row table of the code before, on the given groups."""
    decimals = rubric.ranking.decimals
    rows = []
    for gc in groups:
        m = len(gc.criterion_ids)
        if not gc.agency_ids or m == 0:
            continue
        scores = reference_rescored(gc, 1.0 - np.eye(m), decimals)
        ranks = reference_ranks(scores)
        for j, c in enumerate(gc.criterion_ids):
            for i, a in enumerate(gc.agency_ids):
                nominal = int(gc.nominal_rank[i]) or None
                without = int(ranks[j, i]) or None
                rows.append(
                    {
                        "agency_id": a, "group": gc.group_id, "criterion_id": c,
                        "nominal_score_100": float(gc.nominal_score[i]), "nominal_rank": nominal,
                        "score_100_without": float(scores[j, i]), "rank_without": without,
                        "rank_change": (without - nominal) if nominal and without else None,
                    }
                )  # fmt: skip
    df = pd.DataFrame(rows, columns=rb.LOO_COLUMNS)
    for col in ("nominal_rank", "rank_without", "rank_change"):
        df[col] = df[col].astype("Int64")
    df = df.assign(_c=df["criterion_id"].map(rb._criterion_order(rubric)))
    return rb._sort_by_rank(df, rubric, "nominal_rank", extra=["_c"]).drop(columns="_c").reset_index(drop=True)


def rubric_group(rubric, rng: np.random.Generator, k: int, n: int) -> rw.GroupCriteria:
    """A group of the rubric with its criteria: ties, agencies with nothing attainable, and agencies
    whose only attainable points are in one criterion (no score without it)."""
    group = rubric.groups[k % len(rubric.groups)]
    crit = [c.id for c in rubric.criteria_for(group.id)]
    gc = make_group(rng, n, len(crit), ties=True, nothing=0.15)
    attainable = gc.attainable.copy()
    if n > 2:
        attainable[1] = 0.0
        attainable[1, 0] = 10.0
    achieved = np.minimum(gc.achieved, attainable)
    nominal = reference_rescored(gc, np.ones((1, len(crit))), rubric.ranking.decimals)[0]
    return rw.GroupCriteria(
        group_id=group.id, agency_ids=[f"{group.id}-{i:03d}" for i in range(n)], criterion_ids=crit,
        achieved=achieved, attainable=attainable, max_points=gc.max_points,
        nominal_score=nominal, nominal_rank=reference_ranks(nominal)[0],
    )  # fmt: skip


@pytest.mark.parametrize("sizes", [(1,), (1, 1), (40, 0), (60, 25), (0, 0)])
def test_leave_one_out_equals_the_row_by_row_table(rubric, monkeypatch, sizes, tmp_path):
    rng = np.random.default_rng(sum(sizes))
    groups = [rubric_group(rubric, rng, k, n) for k, n in enumerate(sizes)]
    monkeypatch.setattr(rb, "group_criteria", lambda *args: groups)
    got = rb.leave_one_out(rubric, pd.DataFrame(), pd.DataFrame())
    expected = reference_leave_one_out(rubric, groups)
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    a = rb.write_leave_one_out(got, rubric, tmp_path / "a")
    b = rb.write_leave_one_out(expected, rubric, tmp_path / "b")
    for key in a:
        assert a[key].read_bytes() == b[key].read_bytes()

"""At the rounding boundaries (x,xx5): the library, the workbook recalculated by LibreOffice, the report
and scores.csv publish the same score and give the same rank, tie and band.

The published score is ``score_100`` rounded half up to two decimals (docs/domain.md §3.4). A score
meant to be 84,995 is 84.99499999999999… or 84.995000000000001… in binary, depending on the road the
arithmetic took; whatever the road, 85,00 (Tốt) must come out everywhere — and a score truly below the
half, 84,99. The agencies here are built from exact fractions (tests/scenarios/
rounding-rubric.yaml: three ratios, one of them possibly not applicable), so the right answer is
known exactly and each number travels a different road through floating point.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
import xlsxwriter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from python_calamine import CalamineWorkbook

from ictaudit.common.numfmt import fmt_number, round_half_up
from ictaudit.common.office import recalculate, soffice_path
from ictaudit.common.tables import read_csv
from ictaudit.intake.parsing import format_float
from ictaudit.intake.values import write_values
from ictaudit.report.html import write_html_reports
from ictaudit.report.inputs import load_report_inputs
from ictaudit.report.xlsx import write_report_xlsx
from ictaudit.report.xlsx_scores import SCORES_SHEET
from ictaudit.rules.rubric import load_rubric
from ictaudit.score.scoring import score_cycle, write_score_tables

from .workbook_check import recalculation_differences

RUBRIC = load_rubric(Path(__file__).parent / "scenarios" / "rounding-rubric.yaml")
GROUPS = ("so_ban_nganh", "ubnd_huyen")
BANDS = [(Fraction(85), "Tốt"), (Fraction(70), "Khá"), (Fraction(50), "Trung bình"), (Fraction(0), "Yếu")]
LIBREOFFICE = pytest.mark.skipif(soffice_path() is None, reason="LibreOffice (soffice) is not installed")


def exact_published(score: Fraction) -> Fraction:
    """Half up to two decimals, on the exact number."""
    return Fraction(math.floor(score * 100 + Fraction(1, 2)), 100)


def band_of(published: Fraction) -> str:
    return next(label for low, label in BANDS if published >= low)


def _fraction_at(x: Fraction, places: int) -> Fraction:
    return Fraction(math.floor(x * 10**places), 10**places)


def inputs_for(score: Fraction, not_applicable: bool, weights: tuple[int, int], scales: tuple[int, int, int]) -> dict:
    """Form values giving ``score`` exactly: points split over C1 (≤ 50), C2 (≤ 30), C3 (≤ 20, or not
    applicable: then the score is 100 × points / 80), each part as ``max × n / d`` with whole n, d
    (``scales`` multiplies both, which changes the floating-point road, not the value)."""
    attainable = 80 if not_applicable else 100
    points = score * attainable / 100
    caps = [Fraction(50), Fraction(30), Fraction(0 if not_applicable else 20)]
    p3 = min(caps[2], _fraction_at(points * weights[1] / 100, 4))
    p2 = min(caps[1], _fraction_at((points - p3) * weights[0] / 100, 4))
    p1 = points - p2 - p3
    if p1 > caps[0]:  # what C1 cannot take goes to C2, then C3
        extra, p1 = p1 - caps[0], caps[0]
        move = min(extra, caps[1] - p2)
        p2, extra = p2 + move, extra - move
        p3 += extra
    assert 0 <= p1 <= caps[0] and 0 <= p2 <= caps[1] and 0 <= p3 <= caps[2] and p1 + p2 + p3 == points
    out = {}
    for (num, den), part, cap, k in zip((("F02", "F01"), ("F15", "F14"), ("F26", "F25")), (p1, p2, p3), (50, 30, 20), scales):
        if cap == 20 and not_applicable:
            out[num], out[den] = 0.0, 0.0
            continue
        ratio = part / cap
        out[num], out[den] = float(ratio.numerator * k), float(ratio.denominator * k)
    return out


# a target: an exact score with three decimals (a half at two when it ends in 5), or one a hair beside it
HALVES = st.integers(0, 9999).map(lambda k: Fraction(2 * k + 1, 200))
NEAR = st.tuples(HALVES, st.sampled_from([Fraction(-1, 1000), Fraction(1, 1000), Fraction(-1, 10**7), Fraction(1, 10**7)])).map(
    lambda t: min(Fraction(100), max(Fraction(0), t[0] + t[1]))
)
THRESHOLDS = st.sampled_from([Fraction(s) for s in ("84.995", "69.995", "49.995", "85", "84.994", "70.005", "50")])
AGENCY = st.tuples(
    st.one_of(HALVES, NEAR, THRESHOLDS), st.booleans(), st.tuples(st.integers(0, 100), st.integers(0, 100)),
    st.tuples(st.integers(1, 7), st.integers(1, 7), st.integers(1, 7)), st.sampled_from(GROUPS),
)


def cycle_of(agencies: list[tuple]) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Fraction]]:
    """The roster, the wide values and the exact score of each agency; every score appears twice (two
    roads to one number: a tie) in the same group."""
    roster, rows, exact = [], {}, {}
    for i, (score, na, weights, scales, group) in enumerate(agencies):
        for twin, (w, k) in enumerate(((weights, scales), ((100 - weights[0], weights[1]), scales[::-1]))):
            a = f"a{i:03d}{'ab'[twin]}"
            roster.append({"agency_id": a, "agency_name": f"Đơn vị {i}{'ab'[twin]}", "group": group,
                           "status": "ranked", "status_reason": ""})  # fmt: skip
            rows[a] = inputs_for(score, na if twin == 0 else not na, w, k)
            exact[a] = score
    return pd.DataFrame(roster), pd.DataFrame.from_dict(rows, orient="index"), exact


def expected_table(roster: pd.DataFrame, exact: dict[str, Fraction]) -> dict[str, tuple[float, str, int]]:
    """Each agency's (published score, band, rank) from the exact numbers."""
    out = {}
    for _group, part in roster.groupby("group"):
        published = {a: exact_published(exact[a]) for a in part["agency_id"]}
        for a, p in published.items():
            rank = 1 + sum(q > p for q in published.values())
            out[a] = (float(p), band_of(p), rank)
    return out


def library_table(scores: pd.DataFrame) -> dict[str, tuple[float, str, int]]:
    return {r.agency_id: (float(r.score_100_published), r.band, int(r.rank)) for r in scores.itertuples()}


@given(st.lists(AGENCY, min_size=1, max_size=25))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_the_library_publishes_the_exact_half_up_score_whatever_the_binary_road(agencies):
    roster, values, exact = cycle_of(agencies)
    result = score_cycle(RUBRIC, values, roster, with_explanations=False)
    assert library_table(result.scores) == expected_table(roster, exact)
    # and the unrounded score is the exact one, to the last bits
    for r in result.scores.itertuples():
        assert r.score_100 == pytest.approx(float(exact[r.agency_id]), rel=1e-14, abs=1e-12)


def _write_scored(result, values: pd.DataFrame, scored: Path) -> None:
    write_score_tables(result, scored)
    long = [
        {"agency_id": a, "field": f, "raw_value": format_float(v), "value": v, "source_file": f"{a}.xlsx",
         "source_sha256": "0" * 64, "sheet": "Số liệu", "cell": f"D{j + 5}", "correction_id": ""}
        for a, row in values.iterrows() for j, (f, v) in enumerate(row.items())
    ]  # fmt: skip
    write_values(pd.DataFrame(long), scored / "values.csv")


_RANK_ROW = re.compile(
    r'<tr><td class="rank">(\d+)</td><td class="name"><a href="[^"]*">([^<]*)</a>.*?<b>([0-9.,]+)</b>.*?'
    r'<span class="band"[^>]*>([^<]*)</span>',
    re.S,
)


def report_table(html: str, names: dict[str, str]) -> dict[str, tuple[str, str, int]]:
    """(score as shown, band, rank) of each agency in report.html's ranking tables."""
    by_name = {n: a for a, n in names.items()}
    return {by_name[name]: (score, band, int(rank)) for rank, name, score, band in _RANK_ROW.findall(html)}


def workbook_table(path: Path) -> dict[str, tuple[float, str, int]]:
    """(published score, band, rank) of each agency on the scores sheet of a (recalculated) workbook."""
    ws = openpyxl.load_workbook(path, data_only=True)[SCORES_SHEET]
    rows = [[c.value for c in row] for row in ws.iter_rows()]
    hr = next(i for i, r in enumerate(rows) if r[0] == "Mã đơn vị")
    col = {v: j for j, v in enumerate(rows[hr]) if v}
    score, band, rank = col["Điểm quy đổi (thang 100)"], col["Xếp loại"], col["Thứ hạng trong khối"]
    return {r[0]: (r[score], r[band], r[rank]) for r in rows[hr + 1 :] if r[0]}


@LIBREOFFICE
@pytest.mark.libreoffice
@pytest.mark.slow
@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(agencies=st.lists(AGENCY, min_size=12, max_size=24))
def test_library_workbook_report_and_scores_csv_agree_at_the_boundaries(agencies, tmp_path_factory):
    root = tmp_path_factory.mktemp("boundaries")
    roster, values, exact = cycle_of(agencies)
    expected = expected_table(roster, exact)
    result = score_cycle(RUBRIC, values, roster)
    assert library_table(result.scores) == expected
    scored = root / "scored"
    _write_scored(result, values, scored)
    # scores.csv, read back as text
    csv = read_csv(scored / "scores.csv")
    assert {r["agency_id"]: (float(r["score_100_published"]), r["band"], int(r["rank"])) for r in csv.to_dict("records")} == expected
    data = load_report_inputs(RUBRIC, scored, {"year": 2017, "title": "Kiểm thử làm tròn"})
    # the workbook, recalculated from scratch by LibreOffice: every formula cell as cached, and the
    # published score, band and rank of each agency as the library's
    xlsx = write_report_xlsx(data, root / "out" / "report.xlsx")
    _checked, wrong = recalculation_differences(xlsx, root / "recalc")
    assert not wrong, "\n".join(wrong[:20])
    assert workbook_table(root / "recalc" / "lo" / "report-bare.xlsx") == expected
    # the report shows the same score, band and rank
    write_html_reports(data, root / "out")
    html = (root / "out" / "report.html").read_text(encoding="utf-8")
    names = dict(zip(roster["agency_id"], roster["agency_name"]))
    shown = {a: (fmt_number(p, 2), b, r) for a, (p, b, r) in expected.items()}
    assert report_table(html, names) == shown


# -- ROUND itself, on the numbers just around every half ------------------------------------------------


@LIBREOFFICE
@pytest.mark.libreoffice
@pytest.mark.slow
def test_librecalc_round_is_round_half_up_on_every_neighbour_of_a_half(tmp_path):
    """For halves x,xx5 and x,xxx5 across 0…1000, the doubles next to each (1 to 4 ulps, and 10**-k
    away): LibreOffice's ROUND and :func:`round_half_up` give the same bits. (Excel's ROUND rounds the
    15-significant-digit number, as LibreOffice does; no Excel runs here.)"""
    rng = np.random.default_rng(20)
    halves = np.concatenate([(rng.integers(0, 100_000, 1500) + 0.5) / 100, (rng.integers(0, 1_000_000, 500) + 0.5) / 1000])
    xs = [halves]
    below, above = halves.copy(), halves.copy()
    for _ in range(4):
        below, above = np.nextafter(below, -np.inf), np.nextafter(above, np.inf)
        xs += [below.copy(), above.copy()]
    for k in (9, 11, 12, 13, 14):
        xs += [halves - 10.0**-k * np.maximum(halves, 1), halves + 10.0**-k * np.maximum(halves, 1)]
    x = np.unique(np.concatenate(xs))
    x = x[x > 0]
    path = tmp_path / "round.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("r")
    for i, v in enumerate(x.tolist()):
        ws.write_formula(i, 0, f"={v!r}", None, v)  # the double itself, not 16 digits of it
        ws.write_formula(i, 1, f"=ROUND(A{i + 1},2)", None, 0)
        ws.write_formula(i, 2, f"=ROUND(A{i + 1},3)", None, 0)
    wb.close()
    sheet = CalamineWorkbook.from_path(str(recalculate(path, tmp_path / "lo"))).get_sheet_by_name("r").to_python()
    got = np.array([[row[0], row[1], row[2]] for row in sheet], dtype=float)  # LibreOffice writes 15 digits
    assert len(got) == len(x) > 10_000 and np.allclose(got[:, 0], x, rtol=1e-14, atol=0)
    for col, decimals in ((1, 2), (2, 3)):
        mine = round_half_up(x, decimals)
        wrong = np.flatnonzero(mine != got[:, col])
        assert not len(wrong), [(repr(x[i]), mine[i], got[i, col]) for i in wrong[:10]]

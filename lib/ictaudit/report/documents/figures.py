"""The figures the official documents state, computed once from the run's scored tables.

In: :class:`~ictaudit.report.inputs.ReportInputs` (``scores.csv``, ``criteria.csv``, ``issues.csv``,
``corrections.csv``, last year's scores). Out: :class:`Figures` — counts, ranking rows, the agencies not
ranked, the year-over-year movement, per-criterion averages — as numbers, and the Vietnamese texts the
documents print. No number is typed twice: every score, point and rank shown is the scored table's,
rounded half up to the rubric's published decimals (:func:`ictaudit.common.numfmt.round_half_up`, the
function the ranking uses) and written with a decimal comma.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ictaudit.common.numfmt import fmt_number, fmt_number_array, is_nan, round_half_up
from ictaudit.report.inputs import RANKED, ReportInputs, fmt_date_text, status_vi

STATUSES = ("ranked", "late", "missing", "invalid", "excluded")


def count_text(n: int) -> str:
    """A count as Vietnamese print it: ``1.234``."""
    return fmt_number(n, 0)


@dataclass(frozen=True)
class RankRow:
    """One ranked agency as the ranking table prints it (numbers as in scores.csv)."""

    agency_id: str
    name: str
    rank: int
    criteria: tuple[float, ...]
    points: float
    applicable_max: float
    score_100: float
    band: str


@dataclass(frozen=True)
class YoyRow:
    agency_id: str
    name: str
    previous_rank: int | None
    previous_score: float | None
    rank: int | None
    score: float | None

    @property
    def rank_change(self) -> int | None:
        """Places gained (positive) or lost (negative) between two ranks, None unless ranked both years."""
        if self.previous_rank is None or self.rank is None:
            return None
        return self.previous_rank - self.rank


@dataclass(frozen=True)
class CriterionFigure:
    id: str
    label: str
    max_points: float
    mean_points: float  # mean over the group's ranked agencies
    share: float  # achieved / attainable over those agencies (not-applicable indicators left out)


@dataclass
class GroupFigures:
    id: str
    label: str
    form: str
    max_points: float
    by_status: dict[str, int]
    criteria: list[tuple[str, str, float]]  # (id, label, max points) in rubric order
    ranking: list[RankRow]
    not_ranked: list[tuple[str, str, str, str]]  # (agency_id, name, status in words, reason)
    band_counts: list[tuple[str, int]]
    averages: list[CriterionFigure]
    yoy: list[YoyRow] | None = None
    yoy_new: list[str] = field(default_factory=list)  # names of ranked agencies with nothing to compare

    @property
    def roster(self) -> int:
        return sum(self.by_status.values())

    @property
    def expected(self) -> int:
        """Forms expected: the roster less the agencies it does not rank."""
        return self.roster - self.by_status["excluded"]


@dataclass
class ReviewFigures:
    """The logic checks and the confirmation round, from issues.csv and the corrections report."""

    checks: int
    found: int
    errors: int
    warnings: int
    agencies_found: int
    agencies_confirm: int
    corrections: int
    corrected: int
    confirmed: int
    rejected: int
    resolved: int
    remaining: int
    remaining_errors: int
    held_fields: int
    held_agencies: int
    by_check: list[dict]


@dataclass
class Figures:
    decimals: int
    groups: list[GroupFigures]
    review: ReviewFigures
    previous_year: int | None
    excluded: list[tuple[str, str]]  # (name, reason) of the agencies the roster does not rank
    _texts: dict = field(default_factory=dict, repr=False)

    def num(self, x) -> str:
        """A score or a number of points as published: rounded half up to the rubric's decimals."""
        return "—" if is_nan(x) else fmt_number(round_half_up(float(x), self.decimals), self.decimals)

    def ranking_texts(self, g: GroupFigures, full: bool) -> list[list[str]]:
        """The rows of a group's ranking table as printed: rank, agency, [points per criterion, total,]
        score on 100, band. Formatted a column at a time (the same texts as :meth:`num`), once per
        group and kind of table: a national cycle's rankings have thousands of rows."""
        key = (g.id, full)
        if key not in self._texts:
            rows = g.ranking
            columns = [[str(r.rank) for r in rows], [r.name for r in rows]]
            numbers = [[r.criteria[i] for r in rows] for i in range(len(g.criteria))] if full else []
            numbers += [[r.points for r in rows]] if full else []
            numbers.append([r.score_100 for r in rows])
            columns += [fmt_number_array(round_half_up(np.asarray(v, dtype=float), self.decimals), self.decimals).tolist()
                        for v in numbers]  # fmt: skip
            columns.append([r.band for r in rows])
            self._texts[key] = [list(cells) for cells in zip(*columns)]
        return self._texts[key]

    def total(self, status: str) -> int:
        return sum(g.by_status[status] for g in self.groups)


def _int(x) -> int | None:
    return None if is_nan(x) else int(x)


def _float(x) -> float | None:
    return None if is_nan(x) else float(x)


def ranking_rows(data: ReportInputs, group_id: str) -> list[RankRow]:
    """The group's ranked agencies in rank order (ties in the order of scores.csv)."""
    criteria = [c.id for c in data.rubric.criteria_for(group_id)]
    s = data.scores
    s = s[(s["group"] == group_id) & (s["status"] == RANKED) & s["rank"].notna()]
    s = s.sort_values("rank", kind="mergesort")
    return [
        RankRow(
            agency_id=str(r["agency_id"]), name=str(r["agency_name"]), rank=int(r["rank"]),
            criteria=tuple(float(r[c]) for c in criteria), points=float(r["points"]),
            applicable_max=float(r["applicable_max"]), score_100=float(r["score_100_published"]), band=str(r["band"]),
        )
        for r in s.to_dict("records")
    ]  # fmt: skip


def _averages(data: ReportInputs, group_id: str, ranked_ids: set[str]) -> list[CriterionFigure]:
    out = []
    crit = data.criteria
    crit = crit[(crit["group"] == group_id) & crit["agency_id"].isin(ranked_ids)]
    s = data.scores[data.scores["agency_id"].isin(ranked_ids)]
    for c in data.rubric.criteria_for(group_id):
        rows = crit[crit["criterion_id"] == c.id]
        attainable = float(rows["applicable_max"].sum())
        share = float(rows["points"].sum()) / attainable if attainable > 0 else math.nan
        mean = float(s[c.id].mean()) if len(s) else math.nan
        out.append(CriterionFigure(c.id, c.label_vi, float(c.max_points[group_id]), mean, share))
    return out


def _yoy(data: ReportInputs, group_id: str, ranking: list[RankRow]) -> tuple[list[YoyRow] | None, list[str]]:
    """Last year's published rank and score of each agency ranked this year, through its predecessor
    link (:mod:`ictaudit.intake.previous`): the same id or a renamed one, ranked last year in the same
    group, compares; a merged, split or new agency, or one ranked in another group last year, has no
    rank of last year to compare with and is named instead."""
    links = data.previous_links
    if not (data.previous_info or {}).get("linked") or links is None:
        return None, []
    by_agency = {a: rows for a, rows in links[links["agency_id"] != ""].groupby("agency_id", sort=False)}
    rows, new = [], []
    for r in ranking:
        mine = by_agency.get(r.agency_id)
        p = mine.iloc[0] if mine is not None and len(mine) == 1 else None
        if (
            p is None or p["link"] not in ("same", "renamed") or p["predecessor_status"] != RANKED
            or not p["predecessor_rank"] or p["predecessor_group"] != group_id  # a rank in another group
        ):  # fmt: skip
            new.append(r.name)
            continue
        rows.append(YoyRow(r.agency_id, r.name, int(p["predecessor_rank"]), float(p["predecessor_score_100"]), r.rank,
                           r.score_100))  # fmt: skip
    return rows, new


def group_figures(data: ReportInputs) -> list[GroupFigures]:
    out = []
    for g in data.rubric.groups:
        s = data.scores[data.scores["group"] == g.id]
        ranking = ranking_rows(data, g.id)
        not_ranked = [
            (str(r["agency_id"]), str(r["agency_name"]), status_vi(r["status"]), str(r["status_reason"]))
            for r in s[s["status"] != RANKED].to_dict("records")
        ]
        bands = [(b.label_vi, sum(1 for r in ranking if r.band == b.label_vi)) for b in data.rubric.bands]
        yoy, yoy_new = _yoy(data, g.id, ranking)
        out.append(
            GroupFigures(
                id=g.id, label=g.label_vi, form=g.form, max_points=g.max_points,
                by_status={k: int((s["status"] == k).sum()) for k in STATUSES},
                criteria=[(c.id, c.label_vi, float(c.max_points[g.id])) for c in data.rubric.criteria_for(g.id)],
                ranking=ranking, not_ranked=not_ranked, band_counts=bands,
                averages=_averages(data, g.id, {r.agency_id for r in ranking}), yoy=yoy, yoy_new=yoy_new,
            )
        )  # fmt: skip
    return out


def review_figures(data: ReportInputs, checks: int) -> ReviewFigures:
    """What validation found and what the confirmation round settled (issues.csv, corrections report)."""
    i = data.issues
    r1, r2 = i[i["round"] == 1], i[i["round"] == 2]
    ranked = set(data.scores.loc[data.scores["status"] == RANKED, "agency_id"])
    c = data.corrections
    applied = c[c["status"] == "applied"]
    confirmed = int((c["status"] == "confirmed").sum())  # the value already held, confirmed unchanged
    by_check: dict[tuple[str, str], dict] = {}
    for r in i.to_dict("records"):
        row = by_check.setdefault(
            (str(r["check_id"]), str(r["severity"])),
            {"check_id": str(r["check_id"]), "severity": str(r["severity"]), "message": str(r["message_vi"]),
             "found": 0, "resolved": 0, "remaining": 0},
        )  # fmt: skip
        if int(r["round"]) == 1:
            row["found"] += 1
            row["resolved"] += bool(r["resolved_by"])
        else:
            row["remaining"] += 1
    held = data.blocked
    return ReviewFigures(
        checks=checks,
        found=len(r1),
        errors=int((r1["severity"] == "E").sum()),
        warnings=int((r1["severity"] == "W").sum()),
        agencies_found=r1["agency_id"].nunique(),
        agencies_confirm=len(set(r1["agency_id"]) & ranked),
        corrections=len(c),
        corrected=len(applied),
        confirmed=confirmed,
        rejected=int((c["status"] == "rejected").sum()),
        resolved=int((r1["resolved_by"].astype(str) != "").sum()),
        remaining=len(r2),
        remaining_errors=int((r2["severity"] == "E").sum()),
        held_fields=sum(len(v) for v in held.values()),
        held_agencies=len(held),
        by_check=[by_check[k] for k in sorted(by_check)],
    )


def logic_check_count(data: ReportInputs) -> int:
    """How many logic checks (rules/checks.yaml) apply to the rubric's forms."""
    from ictaudit.rules.checks import shipped_checks

    table = shipped_checks()
    forms = {f.id for f in data.rubric.forms}
    return sum(1 for c in table.checks if forms & set(c.forms)) + len(table.outside_the_suites)


def compute_figures(data: ReportInputs) -> Figures:
    """Every figure of both documents."""
    checks = logic_check_count(data)
    groups = group_figures(data)
    info = data.previous_info or {}
    previous_year = int(info["year"]) if info.get("linked") and str(info.get("year", "")).isdigit() else None
    s = data.scores
    excluded = [(str(r["agency_name"]), str(r["status_reason"])) for r in s[s["status"] == "excluded"].to_dict("records")]
    return Figures(data.rubric.ranking.decimals, groups, review_figures(data, checks), previous_year, excluded)


def deadline_text(data: ReportInputs) -> str | None:
    d = data.deadline
    return fmt_date_text(d) if d is not None else None


def share_text(share: float) -> str:
    """A share as a percentage with one decimal: ``87,5``."""
    return "—" if is_nan(share) else fmt_number(round_half_up(100 * share, 1), 1)


def mean_score(ranking: list[RankRow]) -> float:
    return float(pd.Series([r.score_100 for r in ranking]).mean()) if ranking else math.nan

"""``report.html`` and ``agencies/<agency_id>.html``: Vietnamese, self-contained, printable on A4.

The pages are rendered by Jinja2 templates (``templates/``, autoescape on: every agency-supplied
string is escaped) from contexts built here out of the scored tables. The rows of the long tables
(thousands in report.html, ~90 on each of 10,000 agency pages) are assembled here instead, each
piece escaped with the same function (:func:`_esc`, markupsafe's), byte for byte what the templates'
loops wrote. Charts are inline SVG drawn here (no JavaScript, no external fonts or requests). No
wall-clock time goes into the content.
"""

from __future__ import annotations

import itertools
import math
import statistics
from pathlib import Path

import jinja2
import pandas as pd
from markupsafe import Markup, escape

from ictaudit.common.numfmt import fmt_number, fmt_value
from ictaudit.report.inputs import (
    CORRECTION_STATUS_VI,
    FLAG_VI,
    KIND_VI,
    RANKED,
    SEVERITY_VI,
    STATUS_VI,
    Memo,
    ReportInputs,
    agency_file_name,
    bands_text,
    fmt_date_text,
    formula_vi,
    gc_paused,
    parse_inputs,
    records,
    status_vi,
)

TEMPLATES_DIR = Path(__file__).parent / "templates"
BAND_COLOURS = ["#2e7d32", "#7cb342", "#f9a825", "#e53935", "#8e24aa", "#6d4c41"]
UNRANKED_COLOUR = "#9e9e9e"
STATUS_SHORT_VI = {
    "ranked": "Được xếp hạng",
    "late": "Gửi sau hạn",
    "missing": "Không gửi phiếu",
    "excluded": "Không thuộc diện xếp hạng",
    "invalid": "Phiếu không hợp lệ",
}
GROUP_COLOURS = ["#1f5fa8", "#e07b00", "#3a8f5c", "#8e3b8e"]


# -- formatting helpers (also Jinja filters) ----------------------------------------------------


def _nan(x) -> bool:
    if x is None or x is pd.NA:
        return True
    try:
        return math.isnan(float(x))
    except (TypeError, ValueError):
        return False


def num(x, decimals: int = 2, trim: bool = False) -> str:
    return "—" if _nan(x) else fmt_number(float(x), decimals, "vi", trim=trim)


def rank_text(x) -> str:
    return "—" if _nan(x) else str(int(x))


def _num_filter():
    """The ``num`` filter, each distinct number's text computed once per run (a page repeats many)."""
    memos: dict[tuple[int, bool], object] = {}

    def num_filter(x, decimals: int = 2, trim: bool = False) -> str:
        memo = memos.get((decimals, trim))
        if memo is None:
            memo = memos[decimals, trim] = _num_memo(decimals, trim)
        return memo(x)

    return num_filter


def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["num"] = _num_filter()
    env.filters["rank"] = rank_text
    env.filters["date"] = fmt_date_text
    env.globals["flag_text"] = lambda f: FLAG_VI.get(f, f)
    return env


# -- SVG ----------------------------------------------------------------------------------------


def _short(text: str, n: int) -> str:
    text = str(text)
    return text if len(text) <= n else text[: n - 1] + "…"


def _band_colour(data: ReportInputs, band_label: str) -> str:
    for i, b in enumerate(data.rubric.bands):
        if b.label_vi == band_label:
            return BAND_COLOURS[i % len(BAND_COLOURS)]
    return UNRANKED_COLOUR


#: a group's bar chart shows every agency up to this many; above, the first and last BARS_EDGE
#: (the table above the chart keeps every agency, and the histogram shows the whole distribution)
BARS_MAX = 80
BARS_EDGE = 30


def svg_group_bars(data: ReportInputs, rows: list[dict], title: str) -> Markup:
    """Horizontal bars of score_100 per agency (rank order), with the band thresholds as lines.

    A group of more than :data:`BARS_MAX` agencies shows its first and last :data:`BARS_EDGE` in rank
    order, with one line saying how many are between them.
    """
    left, width, bar_h, gap, top = 250, 760, 16, 6, 34
    plot_w = width - left - 60
    hidden = len(rows) - 2 * BARS_EDGE if len(rows) > BARS_MAX else 0
    shown: list[dict | None] = [*rows[:BARS_EDGE], None, *rows[-BARS_EDGE:]] if hidden else list(rows)
    height = top + len(shown) * (bar_h + gap) + 24

    def x(v: float) -> float:
        return left + plot_w * max(0.0, min(v, 100.0)) / 100.0

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    for v in range(0, 101, 10):
        out.append(
            f'<line x1="{x(v):.1f}" y1="{top - 4}" x2="{x(v):.1f}" y2="{height - 20}" stroke="#e6e6e6"/>'
            f'<text x="{x(v):.1f}" y="{height - 6}" class="ax" text-anchor="middle">{v}</text>'
        )
    for i, b in enumerate(data.rubric.bands):
        if b.min_score <= 0:
            continue
        colour = BAND_COLOURS[i % len(BAND_COLOURS)]
        out.append(
            f'<line x1="{x(b.min_score):.1f}" y1="{top - 14}" x2="{x(b.min_score):.1f}" y2="{height - 20}" '
            f'stroke="{colour}" stroke-width="1.5" stroke-dasharray="5 3"/>'
            f'<text x="{x(b.min_score) + 3:.1f}" y="{top - 16}" class="ax" fill="{colour}">'
            f"{escape(b.label_vi)} ≥ {escape(num(b.min_score, 2, True))}</text>"
        )
    for j, r in enumerate(shown):
        y = top + j * (bar_h + gap)
        if r is None:
            out.append(
                f'<text x="{left + plot_w / 2:.1f}" y="{y + bar_h - 4}" class="lbl" text-anchor="middle">'
                f"… {escape(num(hidden, 0))} đơn vị ở giữa bảng xếp hạng (xem bảng phía trên) …</text>"
            )
            continue
        colour = _band_colour(data, r["band"])
        label = f"{r['rank']}. {_short(r['name'], 38)}"
        out.append(
            f"<g><title>{escape(r['name'])}: {escape(num(r['score_100']))} điểm</title>"
            f'<text x="{left - 6}" y="{y + bar_h - 4}" class="lbl" text-anchor="end">{escape(label)}</text>'
            f'<rect x="{left}" y="{y}" width="{x(r["score_100"]) - left:.1f}" height="{bar_h}" fill="{colour}"/>'
            f'<text x="{x(r["score_100"]) + 4:.1f}" y="{y + bar_h - 4}" class="val">{escape(num(r["score_100"]))}</text>'
            f"</g>"
        )
    out.append("</svg>")
    return Markup("".join(out))


#: up to this many agencies in a bin, the count axis has a line at every whole number
HISTOGRAM_UNIT_TICKS = 20


def _nice_step(raw: float) -> int:
    """The smallest of 1, 2, 5 × 10^k (a whole number) at least ``raw``."""
    step = 1
    while True:
        for m in (1, 2, 5):
            if step * m >= raw:
                return step * m
        step *= 10


def svg_histogram(data: ReportInputs, groups: list[tuple[str, list[float]]]) -> Markup:
    """Distribution of score_100 in bins of 10 points, one bar per group in each bin."""
    width, height, left, bottom, top = 760, 260, 40, 40, 30
    plot_w, plot_h = width - left - 20, height - top - bottom
    counts = [[0] * 10 for _ in groups]
    for gi, (_label, scores) in enumerate(groups):
        for s in scores:
            counts[gi][min(int(s // 10), 9)] += 1
    peak = max([max(c) for c in counts] + [1])
    tick = 1 if peak <= HISTOGRAM_UNIT_TICKS else _nice_step(peak / 8)
    peak = -(-peak // tick) * tick  # the axis ends on a tick
    bin_w = plot_w / 10
    bar_w = (bin_w - 8) / max(len(groups), 1)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="Phân bố điểm quy đổi">',
        "<title>Phân bố điểm quy đổi (thang 100)</title>",
    ]
    for k in range(0, peak + 1, tick):
        y = top + plot_h - plot_h * k / peak
        out.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{width - 20}" y2="{y:.1f}" stroke="#eee"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" class="ax" text-anchor="end">{k}</text>'
        )
    for b in range(10):
        bx = left + b * bin_w
        out.append(
            f'<text x="{bx + bin_w / 2:.1f}" y="{height - bottom + 16}" class="ax" text-anchor="middle">'
            f"{b * 10}–{b * 10 + 10}</text>"
        )
        for gi, (label, _scores) in enumerate(groups):
            c = counts[gi][b]
            if not c:
                continue
            h = plot_h * c / peak
            colour = GROUP_COLOURS[gi % len(GROUP_COLOURS)]
            out.append(
                f'<rect x="{bx + 4 + gi * bar_w:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w:.1f}" '
                f'height="{h:.1f}" fill="{colour}"><title>{escape(label)}: {c} đơn vị</title></rect>'
            )
    for i, band in enumerate(data.rubric.bands):
        if band.min_score <= 0:
            continue
        bx = left + plot_w * band.min_score / 100
        colour = BAND_COLOURS[i % len(BAND_COLOURS)]
        out.append(
            f'<line x1="{bx:.1f}" y1="{top - 8}" x2="{bx:.1f}" y2="{top + plot_h}" stroke="{colour}" '
            f'stroke-dasharray="5 3" stroke-width="1.5"/>'
            f'<text x="{bx + 3:.1f}" y="{top - 10}" class="ax" fill="{colour}">{escape(band.label_vi)}</text>'
        )
    lx = left
    for gi, (label, _s) in enumerate(groups):
        colour = GROUP_COLOURS[gi % len(GROUP_COLOURS)]
        out.append(
            f'<rect x="{lx}" y="{height - 14}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{lx + 14}" y="{height - 5}" class="lbl">{escape(label)}</text>'
        )
        lx += 24 + 7 * len(label)
    out.append(f'<text x="{width - 20}" y="{height - 5}" class="ax" text-anchor="end">điểm quy đổi</text>')
    out.append("</svg>")
    return Markup("".join(out))


def _num_max(x) -> str:
    return num(x, 2, True)


def svg_agency_criteria(rows: list[dict], points_text=num, max_text=_num_max, memo: dict | None = None) -> Markup:
    """Per criterion: the agency's points as a bar against the maximum, the group median and best as marks.

    ``points_text``, ``max_text``: :func:`num` and ``num(x, 2, True)``, or memos of them (a number's
    text has nothing to escape: digits, separators, "—", "∞"). ``memo``: a dict kept across calls with
    the same two functions, where each distinct criterion row's markup is kept (pages repeat them).
    """
    left, width, row_h, top = 70, 640, 26, 24
    height = top + len(rows) * row_h + 10
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="Điểm theo tiêu chí">',
        "<title>Điểm theo tiêu chí so với trung vị và cao nhất của khối</title>",
        f'<rect x="{left}" y="4" width="12" height="8" fill="#1f5fa8"/>'
        f'<text x="{left + 16}" y="12" class="ax">điểm của đơn vị</text>'
        f'<line x1="{left + 120}" y1="2" x2="{left + 120}" y2="14" stroke="#222" stroke-width="2"/>'
        f'<text x="{left + 125}" y="12" class="ax">trung vị khối</text>'
        f'<polygon points="{left + 215},2 {left + 221},8 {left + 215},14 {left + 209},8" fill="#e07b00"/>'
        f'<text x="{left + 226}" y="12" class="ax">cao nhất khối</text>',
    ]
    for j, r in enumerate(rows):
        if memo is None:
            out.append(_criterion_bar(j, r, points_text, max_text))
            continue
        key = (j, r["criterion_id"], r["points"], r["max_points"], r.get("median"), r.get("best"))
        try:
            text = memo.get(key)
        except TypeError:  # unhashable
            text, key = None, None
        if text is None:
            text = _criterion_bar(j, r, points_text, max_text)
            if key is not None and all(k == k for k in key):  # NaN: never found again, not kept
                memo[key] = text
        out.append(text)
    out.append("</svg>")
    return Markup("".join(out))


def _criterion_bar(j: int, r: dict, points_text, max_text) -> str:
    """The markup of row ``j`` of :func:`svg_agency_criteria`."""
    left, width, row_h, top = 70, 640, 26, 24
    plot_w = width - left - 150
    y = top + j * row_h
    mx = r["max_points"] or 1

    def x(v: float, mx=mx) -> float:
        return left + plot_w * max(0.0, min(v / mx, 1.0))

    out = [
        f'<text x="{left - 6}" y="{y + 14}" class="lbl" text-anchor="end">{escape(r["criterion_id"])}</text>'
        f'<rect x="{left}" y="{y + 3}" width="{plot_w}" height="14" fill="#eef1f6"/>'
        f'<rect x="{left}" y="{y + 3}" width="{x(r["points"]) - left:.1f}" height="14" fill="#1f5fa8"/>'
    ]
    if not _nan(r.get("median")):
        out.append(
            f'<line x1="{x(r["median"]):.1f}" y1="{y}" x2="{x(r["median"]):.1f}" y2="{y + 20}" '
            f'stroke="#222" stroke-width="2"><title>Trung vị khối: {points_text(r["median"])}</title></line>'
        )
    if not _nan(r.get("best")):
        bx = x(r["best"])
        out.append(
            f'<polygon points="{bx:.1f},{y} {bx + 6:.1f},{y + 6} {bx:.1f},{y + 12} {bx - 6:.1f},{y + 6}" '
            f'fill="#e07b00"><title>Cao nhất khối: {points_text(r["best"])}</title></polygon>'
        )
    out.append(
        f'<text x="{left + plot_w + 8}" y="{y + 14}" class="val">'
        f"{points_text(r['points'])} / {max_text(r['max_points'])}</text>"
    )
    return "".join(out)


def heat_colour(share) -> str:
    """Background for a share of the maximum: pale red (0) → pale yellow → green (1)."""
    if _nan(share):
        return "#f5f5f5"
    s = max(0.0, min(float(share), 1.0))
    stops = [(0.0, (244, 199, 195)), (0.5, (255, 241, 179)), (1.0, (183, 225, 171))]
    for (a, ca), (b, cb) in itertools.pairwise(stops):
        if s <= b:
            t = (s - a) / (b - a)
            rgb = [round(ca[k] + (cb[k] - ca[k]) * t) for k in range(3)]
            return "#{:02x}{:02x}{:02x}".format(*rgb)
    return "#b7e1ab"


# -- contexts -----------------------------------------------------------------------------------


def _agency_href(agency_id: str, prefix: str = "agencies/") -> str:
    return prefix + agency_file_name(agency_id)


def _criteria_by_agency(data: ReportInputs) -> dict[str, dict[str, dict]]:
    out: dict[str, dict[str, dict]] = {}
    for r in records(data.criteria):
        out.setdefault(r["agency_id"], {})[r["criterion_id"]] = r
    return out


def _group_stats(data: ReportInputs) -> dict[tuple[str, str], tuple[float, float]]:
    """(group, criterion) → (median, best) of criterion points over the group's ranked agencies."""
    ranked = set(data.scores.loc[data.scores["status"] == RANKED, "agency_id"])
    pts: dict[tuple[str, str], list[float]] = {}
    c = data.criteria
    for a, g, cid, p in zip(*(c[k].tolist() for k in ("agency_id", "group", "criterion_id", "points"))):
        if a in ranked and not _nan(p):
            pts.setdefault((g, cid), []).append(float(p))
    return {k: (statistics.median(v), max(v)) for k, v in pts.items()}


def _summary(data: ReportInputs) -> list[dict]:
    rows = []
    for g in data.rubric.groups:
        s = data.scores[data.scores["group"] == g.id]
        ranked = s[s["status"] == RANKED]
        rows.append(
            {
                "group": g.label_vi,
                "roster": len(s),
                "by_status": {k: int((s["status"] == k).sum()) for k in STATUS_VI},
                "bands": {b.label_vi: int((ranked["band"] == b.label_vi).sum()) for b in data.rubric.bands},
                "scored": int(s["points"].notna().sum()),
            }
        )
    return rows


def _ranking_tables(data: ReportInputs, crit_rows: dict[str, dict[str, dict]]) -> list[dict]:
    out = []
    colour = Memo(heat_colour)  # a share's colour, once per distinct share (equal numbers, equal colours)
    for g in data.rubric.groups:
        criteria = data.rubric.criteria_for(g.id)
        s = data.scores[(data.scores["group"] == g.id) & (data.scores["status"] == RANKED)]
        s = s[s["points"].notna()]
        rows = []
        for r in s.to_dict("records"):
            crit = crit_rows.get(r["agency_id"], {})
            cells = []
            for c in criteria:
                cr = crit.get(c.id)
                share = None
                if cr and cr["applicable_max"]:
                    share = cr["points"] / cr["applicable_max"]
                cells.append(
                    {
                        "points": r.get(c.id),
                        "rank": cr["rank"] if cr else None,
                        "colour": colour[share],
                        "applicable_max": cr["applicable_max"] if cr else None,
                    }
                )
            rows.append(
                {
                    "agency_id": r["agency_id"], "href": _agency_href(r["agency_id"]), "name": r["agency_name"],
                    "rank": r["rank"], "points": r["points"], "applicable_max": r["applicable_max"],
                    "score_100": r["score_100"], "index": r["index"], "band": r["band"],
                    "band_colour": _band_colour(data, r["band"]), "criteria": cells,
                }
            )  # fmt: skip
        chart = None
        if rows:
            chart = svg_group_bars(
                data,
                [{"rank": rank_text(r["rank"]), "name": r["name"], "score_100": r["score_100"], "band": r["band"]}
                 for r in rows],
                f"Điểm quy đổi — {g.label_vi}",
            )  # fmt: skip
        out.append(
            {
                "id": g.id, "label": g.label_vi, "max_points": g.max_points,
                "criteria": [{"id": c.id, "label": c.label_vi, "max": c.max_points[g.id]} for c in criteria],
                "rows": rows, "chart": chart, **_ranking_rows(rows),
            }
        )  # fmt: skip
    return out


def _ranking_rows(rows: list[dict]) -> dict[str, Markup]:
    """The rows of a group's ranking table and of its heat table, assembled (~10,000 each at national scale)."""
    num, num_max, num_3, esc = _num_memo(), _num_memo(2, True), _num_memo(3), Memo(_esc)
    ranking, heat = [], []
    for r in rows:
        head = f'<tr><td class="rank">{rank_text(r["rank"])}</td><td class="name"><a href="{esc[r["href"]]}">{_esc(r["name"])}</a></td>\n'
        ranking.append(
            f'{head}<td class="n">{num(r["points"])}</td><td class="n">{num_max(r["applicable_max"])}</td>'
            f'<td class="n"><b>{num(r["score_100"])}</b></td><td class="n">{num_3(r["index"])}</td>\n'
            f'<td><span class="band" style="background:{esc[r["band_colour"]]}">{esc[r["band"]]}</span></td>\n'
            + "".join(f'<td class="n">{num(c["points"])}</td>' for c in r["criteria"])
            + "</tr>\n"
        )
        heat.append(
            head
            + "".join(
                f'<td class="h" style="background:{esc[c["colour"]]}">{num(c["points"])}<small>hạng {rank_text(c["rank"])}'
                "</small></td>"
                for c in r["criteria"]
            )
            + "</tr>\n"
        )
    return {"ranking_rows": Markup("".join(ranking)), "heat_rows": Markup("".join(heat))}


def _not_ranked(data: ReportInputs) -> list[dict]:
    s = data.scores[data.scores["status"] != RANKED]
    labels = {g.id: g.label_vi for g in data.rubric.groups}
    return [
        {
            "agency_id": r["agency_id"], "href": _agency_href(r["agency_id"]), "name": r["agency_name"],
            "group": labels.get(r["group"], r["group"]), "status": status_vi(r["status"]),
            "reason": r["status_reason"], "score_100": r["score_100"],
        }
        for r in s.to_dict("records")
    ]  # fmt: skip


def _yoy(data: ReportInputs) -> dict | None:
    prev = data.previous_scores
    if prev is None:
        return None
    cur = data.scores.set_index("agency_id")
    old = prev.set_index("agency_id")
    labels = {g.id: g.label_vi for g in data.rubric.groups}
    groups = []
    for g in data.rubric.groups:
        rows = []
        for a, r in cur[cur["group"] == g.id].iterrows():
            if a not in old.index:
                continue
            o = old.loc[a]
            both_ranked = not _nan(r["rank"]) and not _nan(o["rank"])
            delta_rank = int(o["rank"]) - int(r["rank"]) if both_ranked else None
            delta_score = (
                r["score_100"] - o["score_100"] if not _nan(r["score_100"]) and not _nan(o["score_100"]) else None
            )
            rows.append(
                {
                    "href": _agency_href(a), "name": r["agency_name"], "prev_rank": o["rank"], "rank": r["rank"],
                    "prev_score": o["score_100"], "score": r["score_100"], "delta_rank": delta_rank,
                    "delta_score": delta_score, "prev_status": status_vi(o["status"]),
                    "status": status_vi(r["status"]), "group_changed": o["group"] != g.id,
                }
            )  # fmt: skip
        rows.sort(key=lambda r: (_nan(r["rank"]), 0 if _nan(r["rank"]) else int(r["rank"]), r["name"]))
        groups.append({"label": g.label_vi, "rows": rows})
    new = [
        {"href": _agency_href(a), "name": r["agency_name"], "group": labels.get(r["group"], r["group"])}
        for a, r in cur.iterrows()
        if a not in old.index
    ]
    gone = [
        {"name": r["agency_name"], "agency_id": a, "group": labels.get(r["group"], r["group"])}
        for a, r in old.iterrows()
        if a not in cur.index
    ]
    return {"groups": groups, "new": new, "gone": gone}


def _validation(data: ReportInputs, validation_index: str | None) -> dict:
    i = data.issues
    in_round2 = set(zip(i.loc[i["round"] == 2, "agency_id"], i.loc[i["round"] == 2, "check_id"]))
    checks: dict[tuple[str, str], dict] = {}
    for r in i.to_dict("records"):
        key = (r["check_id"], r["severity"])
        row = checks.setdefault(
            key,
            {"check_id": r["check_id"], "severity": SEVERITY_VI.get(r["severity"], r["severity"]),
             "round1": 0, "resolved": 0, "remaining": 0, "unchecked": 0, "message": r["message_vi"],
             "agencies": set()},
        )  # fmt: skip
        if int(r["round"]) == 1:
            row["round1"] += 1
            row["resolved"] += bool(r["resolved_by"])
            # neither resolved by a correction nor found again in round 2: not re-checked (e.g. intake)
            row["unchecked"] += not r["resolved_by"] and (r["agency_id"], r["check_id"]) not in in_round2
        else:
            row["remaining"] += 1
        row["agencies"].add(r["agency_id"])
    rows = []
    for key in sorted(checks, key=lambda k: (k[0], k[1])):
        row = checks[key]
        row["agencies"] = len(row["agencies"])
        rows.append(row)
    c = data.corrections
    corrections = [
        {
            "id": r["correction_id"], "href": _agency_href(r["agency_id"]), "name": data.names.get(r["agency_id"], r["agency_id"]),
            "field": r["field"], "old": r["old_value"], "new": r["new_value"], "reason": r["reason"],
            "by": r["confirmed_by"], "on": fmt_date_text(r["confirmed_on"]),
            "status": CORRECTION_STATUS_VI.get(r["status"], r["status"]), "status_reason": r["status_reason"],
        }
        for r in c.to_dict("records")
    ]  # fmt: skip
    round1 = i[i["round"] == 1]
    return {
        "rows": rows,
        "total_round1": len(round1),
        "errors_round1": int((round1["severity"] == "E").sum()),
        "warnings_round1": int((round1["severity"] == "W").sum()),
        "resolved": int((round1["resolved_by"] != "").sum()),
        "remaining": int((i["round"] == 2).sum()),
        "unchecked": sum(r["unchecked"] for r in rows),
        "remaining_errors": int(((i["round"] == 2) & (i["severity"] == "E")).sum()),
        "corrections": corrections,
        "applied": int((c["status"] == "applied").sum()),
        "rejected": int((c["status"] == "rejected").sum()),
        "has_corrections_file": data.has_corrections_file,
        "index": validation_index,
        "blocked": [
            {"href": _agency_href(a), "name": data.names.get(a, a), "fields": ", ".join(f)}
            for a, f in sorted(data.blocked.items())
        ],
    }


def _method(data: ReportInputs) -> list[dict]:
    out = []
    for g in data.rubric.groups:
        criteria = []
        for c, inds in data.rubric.scale(g.id):
            specs = {i.id: i for i in c.indicators}
            criteria.append(
                {
                    "id": c.id, "label": c.label_vi, "max": c.max_points[g.id],
                    "indicators": [
                        {"id": k.id, "label": specs[k.id].label_vi, "kind": KIND_VI.get(k.kind, k.kind),
                         "formula": formula_vi(k.formula()), "max": k.max_points}
                        for k in inds
                    ],
                }
            )  # fmt: skip
        out.append({"label": g.label_vi, "form": g.form, "max": g.max_points, "criteria": criteria})
    return out


def _robustness(data: ReportInputs) -> Markup | None:
    if data.scored_dir is None or not (data.scored_dir / "robustness.csv").exists():
        return None
    try:
        from ictaudit.report.robustness import report_section
    except Exception:  # the module or the function is not there (yet): skip silently
        return None
    try:
        return Markup(report_section(data.scored_dir, data.rubric))
    except Exception as exc:  # never lose the whole report to this optional section
        return Markup(
            f'<p class="note">Không tạo được phần phân tích độ vững của thứ hạng ({escape(type(exc).__name__)}).</p>'
        )


def report_context(
    data: ReportInputs, validation_index: str | None, crit_rows: dict[str, dict[str, dict]] | None = None
) -> dict:
    r = data.rubric
    ci = data.cycle_info
    crit_rows = _criteria_by_agency(data) if crit_rows is None else crit_rows
    ranked = data.scores[(data.scores["status"] == RANKED) & data.scores["score_100"].notna()]
    hist = [(g.label_vi, list(ranked.loc[ranked["group"] == g.id, "score_100"])) for g in r.groups]
    return {
        "title": ci.get("title") or r.title_vi,
        "province": ci.get("province", ""),
        "year": ci.get("year", ""),
        "deadline": data.deadline,
        "sample": data.is_sample,
        "rubric": r,
        "reconstructed": r.status == "reconstructed",
        "bands_text": bands_text(r),
        "band_list": [
            {"label": b.label_vi, "min": b.min_score, "colour": BAND_COLOURS[i % len(BAND_COLOURS)]}
            for i, b in enumerate(r.bands)
        ],
        "status_labels": STATUS_VI,
        "status_short": STATUS_SHORT_VI,
        "flag_labels": FLAG_VI,
        "summary": _summary(data),
        "groups": _ranking_tables(data, crit_rows),
        "histogram": svg_histogram(data, hist) if len(ranked) else None,
        "not_ranked": _not_ranked(data),
        "yoy": _yoy(data),
        "validation": _validation(data, validation_index),
        "method": _method(data),
        "robustness": _robustness(data),
        "n_scored": len(data.scored_ids),
        "n_roster": len(data.scores),
        "n_ranked": len(ranked),
    }


# -- agency pages -------------------------------------------------------------------------------
#
# A national cycle has 10,000 pages of ~90 table rows each. The rows of the two long tables (the
# calculation trail and the source cells) are assembled here as strings, from whole columns read
# once and grouped by agency; every repeated piece (a label, a number's text, an inputs cell) is
# escaped or formatted once per run. The markup is what agency.html.j2 wrote for these rows before,
# byte for byte; the page around them is still the template.

HELD_NOTE = " — giữ lại do lỗi chưa xác nhận"


def _esc(x) -> str:
    """``{{ x }}`` of an autoescaping template, as plain text."""
    return str(escape(x))


def _num_memo(decimals: int = 2, trim: bool = False):
    """:func:`num` with each distinct number's text kept (NaN and NA are not keys: each is a new object)."""
    memo: dict = {}

    def text(x) -> str:
        try:
            t = memo.get(x)
        except TypeError:  # unhashable
            return num(x, decimals, trim)
        if t is None:
            t = num(x, decimals, trim)
            if not _nan(x):
                memo[x] = t
        return t

    return text


def _inputs_list(d: dict, field_labels: dict[str, str], yesno: set[str], value=fmt_value) -> list[dict]:
    """The inputs of a trail row (its parsed ``inputs``) as the page lists them; ``value``: fmt_value or a memo."""
    held = set(d.get("blocked") or ())
    out = []
    for k, v in d.items():
        if k == "blocked":
            continue
        if k == "best":
            out.append({"code": "", "label": "", "text": f"cao nhất trong khối = {value(v)}", "held": False})
            continue
        shown = ("Có" if v == 1 else "Không" if v == 0 else value(v)) if k in yesno else value(v)
        out.append({"code": k, "label": field_labels.get(k, ""), "text": f"{k} = {shown}", "held": k in held})
    return out


def _positions(ids: list[str]) -> dict[str, list[int]]:
    """Row positions of each agency in a table, in table order (one pass, not one filter per agency)."""
    out: dict[str, list[int]] = {}
    for i, a in enumerate(ids):
        out.setdefault(a, []).append(i)
    return out


def _columns(df: pd.DataFrame, names: list[str]) -> dict[str, list]:
    return {c: df[c].tolist() for c in names}


class AgencyPages:
    """What every agency page reads, prepared once: labels, group statistics, each table's columns
    grouped by agency, and the repeated pieces of the rows, escaped and formatted once.

    A page is the template rendered around markers where the trail and source rows go; those rows
    are assembled as UTF-8 bytes (each distinct piece encoded once) and put in the markers' place,
    so the bulk of a page (~45 KB) is never encoded as a whole.
    """

    TRAIL, SOURCES = "\x00trail-rows\x00", "\x00source-rows\x00"

    def __init__(self, data: ReportInputs, title: str, year, crit_rows: dict[str, dict[str, dict]] | None = None):
        rubric = data.rubric
        self.data = data
        self.title = title
        self.year = year
        self.labels = {i.id: i.label_vi for c in rubric.criteria for i in c.indicators}
        self.field_labels = {f.code: f.label_vi for f in rubric.fields}
        self.yesno = {f.code for f in rubric.fields if f.type == "yesno"}
        self.crit = crit_rows if crit_rows is not None else _criteria_by_agency(data)
        self.stats = _group_stats(data)
        scores = data.scores
        self.scores = dict(zip(scores["agency_id"].tolist(), records(scores)))
        self.n_ranked = scores.loc[scores["status"] == RANKED, "group"].value_counts().to_dict()
        self.criteria_for = {g.id: list(rubric.criteria_for(g.id)) for g in rubric.groups}
        self.bands_text = bands_text(rubric)
        self.reconstructed = rubric.status == "reconstructed"
        t = data.trail
        self.trail = _columns(
            t, ["criterion_id", "indicator_id", "kind", "inputs", "points", "max_points", "applicable", "flags"]
        )
        self.trail["explanation"] = _encoded(_escape_all(t["explanation_vi"].tolist()))
        self.trail_at = _positions(t["agency_id"].tolist())
        v = data.values
        self.values = _columns(v, ["field", "raw_value", "source_file", "sheet", "cell", "correction_id"])
        self.values["value"] = data.row_values
        self.values_at = _positions(v["agency_id"].tolist())
        self.issues = rows_by_agency(data.issues)
        self.corrections = rows_by_agency(data.corrections)
        # the repeated pieces
        self.num = _num_memo()
        self.num_max = _num_memo(2, True)
        self.num_0 = _num_memo(0)
        self.esc = Memo(_esc)
        self.esc_bytes = Memo(lambda x: _esc(x).encode())
        self._trail_head = Memo(self._trail_head_html)
        value = Memo(fmt_value).__getitem__
        distinct = list(dict.fromkeys(self.trail["inputs"]))
        self._inputs = {text: self._inputs_cell(d, value) for text, d in zip(distinct, parse_inputs(distinct))}
        self._points = Memo(lambda pm: f"<b>{self.num(pm[0])}</b> / {self.num_max(pm[1])}".encode())
        self._flags = Memo(lambda flags: self._flags_html(flags).encode())
        self._source_head = Memo(self._source_head_html)
        self._shown = Memo(self._shown_text)
        self._bars: dict = {}  # the chart's rows, by what they show
        self._trail_all: list[bytes] | None = None  # every trail row's markup, built on first use
        self._usable_all: list[dict | None] = []
        self._sources_all: list[bytes] | None = None  # every source row's markup, as when none is held

    # -- every row of the long tables, built once (a row's markup does not depend on its page) ---
    def _trail_markup(self) -> tuple[list[bytes], list[dict | None]]:
        """Each trail row's markup (as :meth:`trail_rows` writes it) and, for an applicable row with a
        maximum, its entry among the strengths and weaknesses (else None), in table order."""
        c = self.trail
        ind_of, pts_of, max_of = c["indicator_id"], c["points"], c["max_points"]
        app_of = [bool(a) for a in c["applicable"]]
        points, num, num_max = self._points, self.num, self.num_max
        na = "— / —".encode()
        cells = [
            na if not a else points[p, m] if p == p and m == m else f"<b>{num(p)}</b> / {num_max(m)}".encode()
            for a, p, m in zip(app_of, pts_of, max_of)
        ]  # NaN: each would be a new key
        rows = list(
            map(
                _TRAIL_ROW.__mod__,
                zip(
                    map(self._trail_head.__getitem__, zip(ind_of, c["kind"])),
                    map(self._inputs.__getitem__, c["inputs"]),
                    c["explanation"],
                    cells,
                    map(self._flags.__getitem__, c["flags"]),
                ),
            )
        )
        labels = self.labels
        usable = [
            {"indicator_id": ind, "label": labels.get(ind, ""), "points": p, "max_points": m, "share": p / m}
            if a and m > 0 else None
            for ind, a, p, m in zip(ind_of, app_of, pts_of, max_of)
        ]  # fmt: skip
        return rows, usable

    # -- the repeated pieces --------------------------------------------------------------------
    def _trail_head_html(self, key: tuple[str, str]) -> bytes:
        indicator_id, kind = key
        return (
            f"<tr><td><b>{_esc(indicator_id)}</b> {_esc(self.labels.get(indicator_id, ''))}"
            f"<small>{_esc(KIND_VI.get(kind, kind))}</small></td>\n"
        ).encode()

    def _inputs_html(self, items: list[dict]) -> str:
        esc = self.esc
        divs = []
        for i in items:
            attrs = ' class="held"' if i["held"] else ""
            if i["label"] or i["held"]:
                attrs += f' title="{esc[i["label"]]}{HELD_NOTE if i["held"] else ""}"'
            divs.append(f"<div{attrs}>{esc[i['text']]}</div>")
        many = " many" if len(items) > 4 else ""
        return f'<td class="inputs{many}">{"".join(divs)}</td>\n'

    def _inputs_cell(self, d: dict, value) -> bytes:
        """``_inputs_html(_inputs_list(d, …, value)).encode()`` without the list of dicts between them."""
        esc, labels, yesno = self.esc, self.field_labels, self.yesno
        held = set(d.get("blocked") or ())
        divs = []
        for k, v in d.items():
            if k == "blocked":
                continue
            if k == "best":
                divs.append(f"<div>{esc[f'cao nhất trong khối = {value(v)}']}</div>")
                continue
            shown = ("Có" if v == 1 else "Không" if v == 0 else value(v)) if k in yesno else value(v)
            text, label = esc[f"{k} = {shown}"], labels.get(k, "")
            if k in held:
                divs.append(f'<div class="held" title="{esc[label]}{HELD_NOTE}">{text}</div>')
            elif label:
                divs.append(f'<div title="{esc[label]}">{text}</div>')
            else:
                divs.append(f"<div>{text}</div>")
        many = " many" if len(divs) > 4 else ""
        return f'<td class="inputs{many}">{"".join(divs)}</td>\n'.encode()

    def _flags_html(self, flags: str) -> str:
        return "".join(
            f'<span class="flag {_esc(f)}">{_esc(FLAG_VI.get(f, f))}</span>' for f in str(flags).split(";") if f
        )

    def _source_head_html(self, key: tuple[str, bool]) -> bytes:
        """The start of a source row, up to its raw value."""
        field, held = key
        cells = f'<td class="mono">{_esc(field)}</td><td>{_esc(self.field_labels.get(field, ""))}</td><td class="n">'
        return (('<tr class="held">' if held else "<tr>") + cells).encode()

    def _shown_text(self, key: tuple[bool, float | None]) -> bytes:
        is_yesno, value = key
        if is_yesno and value is not None:
            return ("Có" if value == 1 else "Không").encode()
        return _esc(fmt_value(value)).encode()

    # -- the rows -------------------------------------------------------------------------------
    def criteria_rows(self, criteria: list[dict]) -> str:
        num, num_max, esc = self.num, self.num_max, self.esc
        return "".join(
            f'<tr><td><b>{esc[c["criterion_id"]]}</b> {esc[c["label"]]}</td><td class="n"><b>{num(c["points"])}</b>'
            f'</td><td class="n">{num_max(c["applicable_max"])}</td><td class="n">{num_max(c["max_points"])}</td>'
            f'<td class="n">{num(c["median"])}</td><td class="n">{num(c["best"])}</td>'
            f'<td class="c">{rank_text(c["rank"])}</td></tr>\n'
            for c in criteria
        )

    def share_rows(self, rows: list[dict]) -> str:
        """Rows of the strengths or the weaknesses table."""
        num, num_max, esc = self.num, self.num_max, self.esc
        return "".join(
            f'<tr><td><b>{esc[t["indicator_id"]]}</b> {esc[t["label"]]}</td><td class="n">{num(t["points"])} / '
            f'{num_max(t["max_points"])}</td><td class="n">{self.num_0(100 * t["share"])}%</td></tr>'
            for t in rows
        )

    def trail_rows(self, agency_id: str, criteria: list[dict]) -> tuple[bytes, list[dict], dict[str, int]]:
        """The trail table's rows (with a row per criterion where the criterion changes), the applicable
        indicators with a maximum and their share of it (for strengths and weaknesses), and the
        position of each indicator's last row."""
        if self._trail_all is None:
            self._trail_all, self._usable_all = self._trail_markup()
        rows, usable_of = self._trail_all, self._usable_all
        crit_of, ind_of = self.trail["criterion_id"], self.trail["indicator_id"]
        crit_html = {}
        for r in criteria:
            crit_html.setdefault(
                r["criterion_id"],
                (
                    f'<tr class="crit-row"><td colspan="3">{self.esc[r["criterion_id"]]}. {self.esc[r["label"]]}</td>'
                    f'<td class="n">{self.num(r["points"])} / {self.num_max(r["applicable_max"])}</td><td></td></tr>'
                ).encode(),
            )
        at = self.trail_at.get(agency_id, ())
        out: list[bytes] = []
        current = ""
        for i in at:
            crit = crit_of[i]
            if crit != current:
                current = crit
                out.append(crit_html.get(crit, b""))
            out.append(rows[i])
        # an indicator's last row among the agency's trail rows (the sort's tie-break)
        order = dict(zip(map(ind_of.__getitem__, at), range(len(at))))
        usable = [u for u in map(usable_of.__getitem__, at) if u is not None]
        return b"".join(out), usable, order

    def _source_markup(self) -> list[bytes]:
        """Each source row's markup as :meth:`source_rows` writes it for an agency with no field held."""
        c = self.values
        esc, yesno, head, shown = self.esc_bytes, self.yesno, self._source_head, self._shown
        fields = c["field"]
        empty = "(trống)".encode()
        return list(
            map(
                _SOURCE_ROW.__mod__,
                zip(
                    map(head.__getitem__, zip(fields, itertools.repeat(False))),
                    [t or empty for t in map(esc.__getitem__, c["raw_value"])],
                    [shown[f in yesno, None if v != v else v] for f, v in zip(fields, c["value"])],
                    itertools.repeat(b""),
                    map(esc.__getitem__, c["source_file"]),
                    map(esc.__getitem__, c["sheet"]),
                    map(esc.__getitem__, c["cell"]),
                    map(esc.__getitem__, c["correction_id"]),
                ),
            )
        )

    def source_rows(self, agency_id: str, held: set[str]) -> bytes:
        if not held:
            if self._sources_all is None:
                self._sources_all = self._source_markup()
            return b"".join(map(self._sources_all.__getitem__, self.values_at.get(agency_id, ())))
        c = self.values
        field_of, raw_of, value_of, file_of, sheet_of, cell_of, corr_of = (
            c["field"], c["raw_value"], c["value"], c["source_file"], c["sheet"], c["cell"], c["correction_id"],
        )  # fmt: skip
        esc, yesno, head, shown = self.esc_bytes, self.yesno, self._source_head, self._shown
        out = []
        for i in self.values_at.get(agency_id, ()):
            field = field_of[i]
            is_held = field in held
            value = value_of[i]
            out.append(
                _SOURCE_ROW
                % (
                    head[field, is_held], esc[raw_of[i]] or "(trống)".encode(),
                    shown[field in yesno, None if value != value else value],  # NaN: one key, not one per NaN
                    "<small>giữ lại</small>".encode() if is_held else b"", esc[file_of[i]], esc[sheet_of[i]],
                    esc[cell_of[i]], esc[corr_of[i]],
                )
            )  # fmt: skip
        return b"".join(out)

    # -- a page ---------------------------------------------------------------------------------
    def context(self, agency_id: str) -> tuple[dict, bytes, bytes]:
        """The template's context, with markers for the rows of the trail and the sources; and those rows."""
        data = self.data
        rubric = data.rubric
        s = self.scores[agency_id]
        g = rubric.group(s["group"])
        crit = self.crit.get(agency_id, {})
        criteria_rows = []
        for c in self.criteria_for[g.id]:
            cr = crit.get(c.id)
            if not cr:
                continue
            median, best = self.stats.get((g.id, c.id), (math.nan, math.nan))
            criteria_rows.append(
                {
                    "criterion_id": c.id, "label": c.label_vi, "points": cr["points"], "max_points": cr["max_points"],
                    "applicable_max": cr["applicable_max"], "score_100": cr["score_100"], "rank": cr["rank"],
                    "median": median, "best": best,
                }
            )  # fmt: skip
        trail_rows, usable, order = self.trail_rows(agency_id, criteria_rows)
        strengths = sorted(usable, key=lambda r: (-r["share"], order[r["indicator_id"]]))[:3]
        weaknesses = sorted(usable, key=lambda r: (r["share"], order[r["indicator_id"]]))[:3]
        held = set(data.blocked.get(agency_id, ()))
        source_rows = self.source_rows(agency_id, held)
        issues = [
            {
                "check_id": r["check_id"], "severity": SEVERITY_VI.get(r["severity"], r["severity"]),
                "severity_id": r["severity"], "fields": r["fields"].replace(";", ", "), "shown_values": r["values"],
                "message": r["message_vi"], "round": int(r["round"]), "resolved_by": r["resolved_by"].replace(";", ", "),
            }
            for r in self.issues.get(agency_id, ())
        ]  # fmt: skip
        corrections = [
            {
                "id": r["correction_id"], "field": r["field"], "old": r["old_value"], "new": r["new_value"],
                "reason": r["reason"], "by": r["confirmed_by"], "on": fmt_date_text(r["confirmed_on"]),
                "status": CORRECTION_STATUS_VI.get(r["status"], r["status"]), "status_reason": r["status_reason"],
            }
            for r in self.corrections.get(agency_id, ())
        ]  # fmt: skip
        ctx = {
            "agency_id": agency_id,
            "name": s["agency_name"],
            "group": g.label_vi,
            "form": g.form,
            "status": status_vi(s["status"]),
            "status_id": s["status"],
            "status_reason": s["status_reason"],
            "scored": not _nan(s["points"]),
            "ranked": s["status"] == RANKED,
            "points": s["points"],
            "applicable_max": s["applicable_max"],
            "max_points": g.max_points,
            "score_100": s["score_100"],
            "index": s["index"],
            "band": s["band"],
            "band_colour": _band_colour(data, s["band"]),
            "rank": s["rank"],
            "n_ranked": int(self.n_ranked.get(g.id, 0)),
            "criteria_rows": Markup(self.criteria_rows(criteria_rows)),
            "chart": (
                svg_agency_criteria(criteria_rows, self.num, self.num_max, self._bars) if criteria_rows else None
            ),
            "strength_rows": Markup(self.share_rows(strengths)),
            "weakness_rows": Markup(self.share_rows(weaknesses)),
            "trail_rows": Markup(self.TRAIL if trail_rows else ""),
            "source_rows": Markup(self.SOURCES if source_rows else ""),
            "issues": issues,
            "corrections": corrections,
            "held": sorted(held),
            "title": self.title,
            "year": self.year,
            "sample": data.is_sample,
            "reconstructed": self.reconstructed,
            "rubric": rubric,
            "ranking_decimals": rubric.ranking.decimals,
            "bands_text": self.bands_text,
        }
        return ctx, trail_rows, source_rows

    def page(self, template: jinja2.Template, agency_id: str) -> bytes:
        """The agency's page, UTF-8."""
        ctx, trail_rows, source_rows = self.context(agency_id)
        html = template.render(**ctx)
        rows = [(m, r) for m, r in ((self.TRAIL, trail_rows), (self.SOURCES, source_rows)) if r]
        if any(html.count(m) != 1 for m, _r in rows):  # a marker in the agency's own text: the rows as text
            ctx["trail_rows"], ctx["source_rows"] = Markup(trail_rows.decode()), Markup(source_rows.decode())
            return template.render(**ctx).encode()
        out = []
        for m, r in rows:
            head, _m, html = html.partition(m)
            out += [head.encode(), r]
        out.append(html.encode())
        return b"".join(out)


_TRAIL_ROW = b'%s%s<td class="expl">%s</td>\n<td class="n">%s</td>\n<td>%s</td></tr>\n'
_SOURCE_ROW = (
    b'%s%s</td><td class="n">%s%s</td><td class="mono">%s</td><td>%s</td><td class="mono">%s</td>'
    b'<td class="mono">%s</td></tr>\n'
)


def _escape_all(texts: list[str]) -> list[str]:
    """:func:`_esc` of each text, escaped as one string (one call, not one per text) when none holds a NUL."""
    try:
        joined = "\x00".join(texts)
    except TypeError:  # not all text
        return [_esc(t) for t in texts]
    if joined.count("\x00") != max(len(texts) - 1, 0):
        return [_esc(t) for t in texts]
    return _esc(joined).split("\x00") if texts else []


def _encoded(texts: list[str]) -> list[bytes]:
    """Each text as UTF-8, encoded as one string when none holds a NUL."""
    joined = "\x00".join(texts)
    if joined.count("\x00") != max(len(texts) - 1, 0):
        return [t.encode() for t in texts]
    return joined.encode().split(b"\x00") if texts else []


def rows_by_agency(df: pd.DataFrame) -> dict[str, list[dict]]:
    """The rows of a table as records, grouped by ``agency_id`` in table order (one pass, not N filters)."""
    out: dict[str, list[dict]] = {}
    for r in df.to_dict("records"):
        out.setdefault(r["agency_id"], []).append(r)
    return out


def write_html_reports(data: ReportInputs, out_dir: Path, validation_index: str | None = None) -> dict[str, Path]:
    """Render ``report.html`` and one page per agency on the roster; returns the paths written."""
    with gc_paused():
        return _write_html_reports(data, out_dir, validation_index)


def _write_html_reports(data: ReportInputs, out_dir: Path, validation_index: str | None) -> dict[str, Path]:
    env = _env()
    out_dir = Path(out_dir)
    paths: dict[str, Path] = {}
    crit_rows = _criteria_by_agency(data)
    ctx = report_context(data, validation_index, crit_rows)
    html = out_dir / "report.html"
    html.write_text(env.get_template("report.html.j2").render(**ctx), encoding="utf-8")
    paths["html"] = html
    pages = AgencyPages(data, ctx["title"], ctx["year"], crit_rows)
    template = env.get_template("agency.html.j2")
    agencies_dir = out_dir / "agencies"
    agencies_dir.mkdir(parents=True, exist_ok=True)
    for agency_id in data.scores["agency_id"].tolist():
        page = agencies_dir / agency_file_name(agency_id)
        page.write_bytes(pages.page(template, agency_id))
        paths[f"agency:{agency_id}"] = page
    return paths

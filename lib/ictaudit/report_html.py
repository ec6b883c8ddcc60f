"""``report.html`` and ``agencies/<agency_id>.html``: Vietnamese, self-contained, printable on A4.

The pages are rendered by Jinja2 templates (``templates/``, autoescape on: every agency-supplied
string is escaped) from contexts built here out of the scored tables. Charts are inline SVG drawn
here (no JavaScript, no external fonts or requests). No wall-clock time goes into the content.
"""

from __future__ import annotations

import itertools
import json
import math
import statistics
from pathlib import Path

import jinja2
import pandas as pd
from markupsafe import Markup, escape

from ictaudit.numfmt import fmt_number, fmt_value
from ictaudit.report import (
    CORRECTION_STATUS_VI,
    FLAG_VI,
    KIND_VI,
    RANKED,
    SEVERITY_VI,
    STATUS_VI,
    ReportInputs,
    agency_file_name,
    bands_text,
    flags_vi,
    fmt_date_text,
    formula_vi,
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


def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["num"] = num
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


def svg_agency_criteria(rows: list[dict]) -> Markup:
    """Per criterion: the agency's points as a bar against the maximum, the group median and best as marks."""
    left, width, row_h, top = 70, 640, 26, 24
    plot_w = width - left - 150
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
        y = top + j * row_h
        mx = r["max_points"] or 1

        def x(v: float, mx=mx) -> float:
            return left + plot_w * max(0.0, min(v / mx, 1.0))

        out.append(
            f'<text x="{left - 6}" y="{y + 14}" class="lbl" text-anchor="end">{escape(r["criterion_id"])}</text>'
            f'<rect x="{left}" y="{y + 3}" width="{plot_w}" height="14" fill="#eef1f6"/>'
            f'<rect x="{left}" y="{y + 3}" width="{x(r["points"]) - left:.1f}" height="14" fill="#1f5fa8"/>'
        )
        if not _nan(r.get("median")):
            out.append(
                f'<line x1="{x(r["median"]):.1f}" y1="{y}" x2="{x(r["median"]):.1f}" y2="{y + 20}" '
                f'stroke="#222" stroke-width="2"><title>Trung vị khối: {escape(num(r["median"]))}</title></line>'
            )
        if not _nan(r.get("best")):
            bx = x(r["best"])
            out.append(
                f'<polygon points="{bx:.1f},{y} {bx + 6:.1f},{y + 6} {bx:.1f},{y + 12} {bx - 6:.1f},{y + 6}" '
                f'fill="#e07b00"><title>Cao nhất khối: {escape(num(r["best"]))}</title></polygon>'
            )
        out.append(
            f'<text x="{left + plot_w + 8}" y="{y + 14}" class="val">'
            f"{escape(num(r['points']))} / {escape(num(r['max_points'], 2, True))}</text>"
        )
    out.append("</svg>")
    return Markup("".join(out))


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
    for r in data.criteria.to_dict("records"):
        out.setdefault(r["agency_id"], {})[r["criterion_id"]] = r
    return out


def _group_stats(data: ReportInputs) -> dict[tuple[str, str], tuple[float, float]]:
    """(group, criterion) → (median, best) of criterion points over the group's ranked agencies."""
    ranked = set(data.scores.loc[data.scores["status"] == RANKED, "agency_id"])
    pts: dict[tuple[str, str], list[float]] = {}
    for r in data.criteria.itertuples(index=False):
        if r.agency_id in ranked and not _nan(r.points):
            pts.setdefault((r.group, r.criterion_id), []).append(float(r.points))
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
                        "colour": heat_colour(share),
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
                "rows": rows, "chart": chart,
            }
        )  # fmt: skip
    return out


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
        from ictaudit.robustness import report_section
    except Exception:  # the module or the function is not there (yet): skip silently
        return None
    try:
        return Markup(report_section(data.scored_dir, data.rubric))
    except Exception as exc:  # never lose the whole report to this optional section
        return Markup(
            f'<p class="note">Không tạo được phần phân tích độ vững của thứ hạng ({escape(type(exc).__name__)}).</p>'
        )


def report_context(data: ReportInputs, validation_index: str | None) -> dict:
    r = data.rubric
    ci = data.cycle_info
    crit_rows = _criteria_by_agency(data)
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


def _inputs_list(inputs: str, field_labels: dict[str, str], yesno: set[str]) -> list[dict]:
    d = json.loads(inputs) if inputs else {}
    held = set(d.get("blocked") or ())
    out = []
    for k, v in d.items():
        if k == "blocked":
            continue
        if k == "best":
            out.append({"code": "", "label": "", "text": f"cao nhất trong khối = {fmt_value(v)}", "held": False})
            continue
        shown = ("Có" if v == 1 else "Không" if v == 0 else fmt_value(v)) if k in yesno else fmt_value(v)
        out.append({"code": k, "label": field_labels.get(k, ""), "text": f"{k} = {shown}", "held": k in held})
    return out


def rows_by_agency(df: pd.DataFrame) -> dict[str, list[dict]]:
    """The rows of a table as records, grouped by ``agency_id`` in table order (one pass, not N filters)."""
    out: dict[str, list[dict]] = {}
    for r in df.to_dict("records"):
        out.setdefault(r["agency_id"], []).append(r)
    return out


def agency_shared(data: ReportInputs, title: str, year) -> dict:
    """What every agency page reads, computed once: labels, criteria, group statistics, rows by agency."""
    scores = data.scores
    return {
        "indicator_labels": {i.id: i.label_vi for c in data.rubric.criteria for i in c.indicators},
        "field_labels": {f.code: f.label_vi for f in data.rubric.fields},
        "yesno": {f.code for f in data.rubric.fields if f.type == "yesno"},
        "criteria": _criteria_by_agency(data),
        "stats": _group_stats(data),
        "title": title,
        "year": year,
        "score_position": {a: i for i, a in enumerate(scores["agency_id"])},
        "n_ranked": scores.loc[scores["status"] == RANKED, "group"].value_counts().to_dict(),
        "trail": rows_by_agency(data.trail),
        "values": rows_by_agency(data.values),
        "issues": rows_by_agency(data.issues),
        "corrections": rows_by_agency(data.corrections),
    }


def agency_context(data: ReportInputs, agency_id: str, shared: dict) -> dict:
    rubric = data.rubric
    s = data.scores.iloc[shared["score_position"][agency_id]].to_dict()
    g = rubric.group(s["group"])
    scored = not _nan(s["points"])
    is_ranked = s["status"] == RANKED
    labels = shared["indicator_labels"]
    field_labels = shared["field_labels"]
    yesno = shared["yesno"]
    crit = shared["criteria"].get(agency_id, {})
    stats = shared["stats"]
    criteria_rows = []
    for c in rubric.criteria_for(g.id):
        cr = crit.get(c.id)
        if not cr:
            continue
        median, best = stats.get((g.id, c.id), (math.nan, math.nan))
        criteria_rows.append(
            {
                "criterion_id": c.id, "label": c.label_vi, "points": cr["points"], "max_points": cr["max_points"],
                "applicable_max": cr["applicable_max"], "score_100": cr["score_100"], "rank": cr["rank"],
                "median": median, "best": best,
            }
        )  # fmt: skip
    trail_rows = []
    for r in shared["trail"].get(agency_id, ()):
        trail_rows.append(
            {
                "criterion_id": r["criterion_id"], "indicator_id": r["indicator_id"],
                "label": labels.get(r["indicator_id"], ""), "kind": KIND_VI.get(r["kind"], r["kind"]),
                "inputs": _inputs_list(r["inputs"], field_labels, yesno), "explanation": r["explanation_vi"],
                "formula": formula_vi(r["formula"]), "points": r["points"], "max_points": r["max_points"],
                "applicable": bool(r["applicable"]), "flags": flags_vi(r["flags"]),
                "flag_ids": [f for f in str(r["flags"]).split(";") if f],
            }
        )  # fmt: skip
    order = {row["indicator_id"]: k for k, row in enumerate(trail_rows)}
    usable = [row for row in trail_rows if row["applicable"] and row["max_points"] > 0]
    for row in usable:
        row["share"] = row["points"] / row["max_points"]
    strengths = sorted(usable, key=lambda r: (-r["share"], order[r["indicator_id"]]))[:3]
    weaknesses = sorted(usable, key=lambda r: (r["share"], order[r["indicator_id"]]))[:3]
    held = set(data.blocked.get(agency_id, ()))
    sources = []
    for r in shared["values"].get(agency_id, ()):
        value = data.value_of.get((agency_id, r["field"]), math.nan)
        if r["field"] in yesno and not _nan(value):
            shown = "Có" if value == 1 else "Không"
        else:
            shown = fmt_value(None if _nan(value) else value)
        sources.append(
            {
                "field": r["field"], "label": field_labels.get(r["field"], ""), "raw": r["raw_value"], "value": shown,
                "file": r["source_file"], "sheet": r["sheet"], "cell": r["cell"], "correction_id": r["correction_id"],
                "held": r["field"] in held,
            }
        )  # fmt: skip
    issues = [
        {
            "check_id": r["check_id"], "severity": SEVERITY_VI.get(r["severity"], r["severity"]),
            "severity_id": r["severity"], "fields": r["fields"].replace(";", ", "), "shown_values": r["values"],
            "message": r["message_vi"], "round": int(r["round"]), "resolved_by": r["resolved_by"].replace(";", ", "),
        }
        for r in shared["issues"].get(agency_id, ())
    ]  # fmt: skip
    corrections = [
        {
            "id": r["correction_id"], "field": r["field"], "old": r["old_value"], "new": r["new_value"],
            "reason": r["reason"], "by": r["confirmed_by"], "on": fmt_date_text(r["confirmed_on"]),
            "status": CORRECTION_STATUS_VI.get(r["status"], r["status"]), "status_reason": r["status_reason"],
        }
        for r in shared["corrections"].get(agency_id, ())
    ]  # fmt: skip
    n_ranked = int(shared["n_ranked"].get(g.id, 0))
    return {
        "agency_id": agency_id,
        "name": s["agency_name"],
        "group": g.label_vi,
        "form": g.form,
        "status": status_vi(s["status"]),
        "status_id": s["status"],
        "status_reason": s["status_reason"],
        "scored": scored,
        "ranked": is_ranked,
        "points": s["points"],
        "applicable_max": s["applicable_max"],
        "max_points": g.max_points,
        "score_100": s["score_100"],
        "index": s["index"],
        "band": s["band"],
        "band_colour": _band_colour(data, s["band"]),
        "rank": s["rank"],
        "n_ranked": n_ranked,
        "criteria": criteria_rows,
        "chart": svg_agency_criteria(criteria_rows) if criteria_rows else None,
        "strengths": strengths,
        "weaknesses": weaknesses,
        "trail": trail_rows,
        "sources": sources,
        "issues": issues,
        "corrections": corrections,
        "held": sorted(held),
        "title": shared["title"],
        "year": shared["year"],
        "sample": data.is_sample,
        "reconstructed": rubric.status == "reconstructed",
        "rubric": rubric,
        "ranking_decimals": rubric.ranking.decimals,
        "bands_text": bands_text(rubric),
    }


def write_html_reports(data: ReportInputs, out_dir: Path, validation_index: str | None = None) -> dict[str, Path]:
    """Render ``report.html`` and one page per agency on the roster; returns the paths written."""
    env = _env()
    out_dir = Path(out_dir)
    paths: dict[str, Path] = {}
    ctx = report_context(data, validation_index)
    html = out_dir / "report.html"
    html.write_text(env.get_template("report.html.j2").render(**ctx), encoding="utf-8")
    paths["html"] = html
    shared = agency_shared(data, ctx["title"], ctx["year"])
    template = env.get_template("agency.html.j2")
    agencies_dir = out_dir / "agencies"
    agencies_dir.mkdir(parents=True, exist_ok=True)
    for agency_id in data.scores["agency_id"]:
        page = agencies_dir / agency_file_name(agency_id)
        page.write_text(template.render(**agency_context(data, agency_id, shared)), encoding="utf-8")
        paths[f"agency:{agency_id}"] = page
    return paths

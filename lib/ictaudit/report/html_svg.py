"""The inline SVG charts of the pages: no JavaScript, no external fonts or requests.

report.html draws per group the agencies' scores as bars (:func:`svg_group_bars`) and the
distribution of scores (:func:`svg_histogram`); each agency page draws its points per criterion
against the group's median and best (:func:`svg_agency_criteria`). Every text in them is escaped.
"""

from __future__ import annotations

from markupsafe import Markup, escape

from ictaudit.common.numfmt import is_nan
from ictaudit.report.html_text import BAND_COLOURS, GROUP_COLOURS, band_colour, num, num_max
from ictaudit.report.inputs import ReportInputs


def _short(text: str, n: int) -> str:
    text = str(text)
    return text if len(text) <= n else text[: n - 1] + "…"


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
        colour = band_colour(data, r["band"])
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


def svg_agency_criteria(rows: list[dict], points_text=num, max_text=num_max, memo: dict | None = None) -> Markup:
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
    if not is_nan(r.get("median")):
        out.append(
            f'<line x1="{x(r["median"]):.1f}" y1="{y}" x2="{x(r["median"]):.1f}" y2="{y + 20}" '
            f'stroke="#222" stroke-width="2"><title>Trung vị khối: {points_text(r["median"])}</title></line>'
        )
    if not is_nan(r.get("best")):
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

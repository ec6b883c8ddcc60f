"""The report's section on the robustness of the ranking: rank intervals, uncertain bands, the decisive criterion.

In: the robustness tables of a scored folder (:mod:`ictaudit.score.robustness` writes them) and the
rubric. Out: an HTML fragment in Vietnamese — per group an inline-SVG chart of each agency's rank
interval (5th to 95th percentile, the published rank as a dot) and the reading in plain words —
that ``report.html`` and notebook 06 show. Agency names are untrusted text and are escaped.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from markupsafe import escape

from ictaudit.common.numfmt import fmt_number
from ictaudit.common.tables import read_csv
from ictaudit.common.timings import timed
from ictaudit.rules.rubric import Rubric
from ictaudit.score.robustness import (
    LOO_FILE,
    LOO_SUMMARY_FILE,
    PARAMETERS_FILE,
    ROBUSTNESS_FILE,
    summarise_leave_one_out,
)


@timed("robustness.section")
def report_section(scored_dir: Path, rubric: Rubric) -> str:
    """An HTML fragment (Vietnamese, inline SVG, no external resources) on the robustness of the ranking.

    The fragment has no heading of its own (the report's section gives it one); each group is an
    ``<h3>`` with its rank-interval chart, the plain-language reading and the leave-one-out summary.

    Reads ``robustness.csv``, ``robustness_loo_summary.csv`` (or ``robustness_loo.csv``) and
    ``scores.csv`` (agency names) from ``scored_dir``. Returns ``""`` when robustness.csv is absent.
    """
    scored_dir = Path(scored_dir)
    path = scored_dir / ROBUSTNESS_FILE
    if not path.exists():
        return ""
    table = read_csv(path)
    names, published_band = _published(scored_dir, rubric)
    summary = _leave_one_out_summary(scored_dir, rubric)
    labels = {b.id: b.label_vi for b in rubric.bands}
    criterion_labels = {c.id: c.label_vi for c in rubric.criteria}
    parts = [
        '<div class="robustness">',
        f"<p>Trọng số (điểm tối đa) của mỗi tiêu chí được thay đổi ngẫu nhiên{_how(scored_dir)} rồi chuẩn hóa "
        "lại để tổng điểm của khối không đổi; mỗi lần, điểm quy về thang 100 được làm tròn như khi công bố và "
        "các đơn vị được xếp hạng lại. Thanh ngang là khoảng thứ hạng đơn vị đạt được trong 90% số lần (từ "
        "phân vị 5% đến phân vị 95%); chấm tròn là thứ hạng đã công bố. Thanh càng ngắn, thứ hạng càng "
        "vững; chỉ có chấm tròn nghĩa là thứ hạng không đổi.</p>",
    ]
    groups = [g for g in rubric.groups if (table["group"] == g.id).any()]
    for g in groups:
        part = table[(table["group"] == g.id) & (table["nominal_rank"] != "")].copy()
        for col in ("nominal_rank", "median_rank", "p05_rank", "p95_rank"):
            part[col] = part[col].astype(int)
        part = part.sort_values(["nominal_rank", "agency_id"], kind="mergesort")
        parts.append(f"<h3>{escape(g.label_vi)}</h3>")
        if part.empty:
            parts.append("<p>Không có đơn vị nào được xếp hạng.</p>")
            continue
        parts.append(_interval_svg(part, names, g.label_vi))
        parts.append(_explain_group(part, names, labels, published_band))
        if summary is not None:
            parts.append(_explain_loo(summary[summary["group"] == g.id], criterion_labels))
    parts.append("</div>")
    return "\n".join(parts)


def _published(scored_dir: Path, rubric: Rubric) -> tuple[dict[str, str], dict[str, str]]:
    """Each agency's name and published band id, from ``scores.csv`` (empty when it is absent)."""
    if not (scored_dir / "scores.csv").exists():
        return {}, {}
    scores = read_csv(scored_dir / "scores.csv")
    band_by_label = {b.label_vi: b.id for b in rubric.bands}
    names = dict(zip(scores["agency_id"], scores["agency_name"]))
    bands = {a: band_by_label[b] for a, b in zip(scores["agency_id"], scores["band"]) if b in band_by_label}
    return names, bands


def _leave_one_out_summary(scored_dir: Path, rubric: Rubric) -> pd.DataFrame | None:
    """The leave-one-out summary as text cells: its file, or summarised from the per-agency table."""
    if (scored_dir / LOO_SUMMARY_FILE).exists():
        return read_csv(scored_dir / LOO_SUMMARY_FILE)
    if (scored_dir / LOO_FILE).exists():
        loo = read_csv(scored_dir / LOO_FILE)
        loo["rank_change"] = pd.to_numeric(loo["rank_change"]).astype("Int64")
        return summarise_leave_one_out(loo, rubric).astype(str)
    return None


def _how(scored_dir: Path) -> str:
    """`` trong khoảng ±25% (1.000 lần, hạt giống ngẫu nhiên 20171103)`` from the recorded parameters."""
    if not (scored_dir / PARAMETERS_FILE).exists():
        return ""
    params = json.loads((scored_dir / PARAMETERS_FILE).read_text(encoding="utf-8"))
    return (
        f" trong khoảng ±{fmt_number(100 * params['spread'], 2, trim=True)}% "
        f"({fmt_number(params['draws'], 0)} lần, hạt giống ngẫu nhiên {params['seed']})"
    )


def _name(agency_id: str, names: dict[str, str]) -> str:
    return str(escape(names.get(agency_id) or agency_id))


def _interval_svg(part: pd.DataFrame, names: dict[str, str], title: str) -> str:
    n_max = int(max(part["p95_rank"].max(), part["nominal_rank"].max()))
    agency_ids, nominal = part["agency_id"].tolist(), part["nominal_rank"].tolist()
    longest = max(len(f"{r}. {names.get(a) or a}") for a, r in zip(agency_ids, nominal))
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
    rows = zip(agency_ids, nominal, part["median_rank"].tolist(), part["p05_rank"].tolist(), part["p95_rank"].tolist())
    for i, (agency_id, nominal_rank, median_rank, p05_rank, p95_rank) in enumerate(rows):
        y = top + row_h * i + row_h / 2
        name = _name(agency_id, names)
        lo, hi = x(p05_rank), x(p95_rank)
        out.append(
            f"<g><title>{name}: hạng công bố {nominal_rank}, trung vị {median_rank}, "
            f"khoảng {p05_rank}–{p95_rank}</title>"
            f'<text x="{label_w - 8}" y="{y + 4:.1f}" text-anchor="end">{nominal_rank}. {name}</text>'
            f'<line x1="{lo:.1f}" y1="{y:.1f}" x2="{hi:.1f}" y2="{y:.1f}" stroke="#7aa6d6" '
            f'stroke-width="8" stroke-linecap="round"/>'
            f'<circle cx="{x(nominal_rank):.1f}" cy="{y:.1f}" r="4.5" fill="#1f4e79"/></g>'
        )
    out.append("</svg>")
    return "\n".join(out)


def _explain_group(
    part: pd.DataFrame, names: dict[str, str], band_labels: dict[str, str], published_band: dict[str, str]
) -> str:
    """Solid ranks, wide intervals and uncertain bands of one group, in plain words."""
    prob_cols = [f"p_{b}" for b in band_labels if f"p_{b}" in part.columns]
    probs = part[prob_cols].astype(float)
    values = probs.to_numpy()
    column = {c: j for j, c in enumerate(prob_cols)}
    likeliest = probs.max(axis=1).to_numpy()  # NaN skipped, as a row's own max skips it
    agency_ids = part["agency_id"].tolist()
    # the published band's probability (the likeliest band when scores.csv is not at hand)
    kept = np.array(
        [
            values[k, column[f"p_{published_band[a]}"]] if a in published_band else likeliest[k]
            for k, a in enumerate(agency_ids)
        ],
        dtype=float,
    )
    solid = part[part["p05_rank"] == part["p95_rank"]]
    wide = part[(part["p95_rank"] - part["p05_rank"]) >= 3]
    shaky = np.flatnonzero(kept < 0.9)
    items = []
    if len(solid):
        who = ", ".join(f"{_name(a, names)} (hạng {r})" for a, r in zip(solid["agency_id"], solid["nominal_rank"]))
        items.append(f"<li><strong>Thứ hạng vững</strong> (không đổi dù trọng số thay đổi): {who}.</li>")
    else:
        items.append("<li>Không có thứ hạng nào hoàn toàn không đổi khi trọng số thay đổi.</li>")
    if len(wide):
        who = ", ".join(
            f"{_name(a, names)} (hạng {r}, có thể từ {lo} đến {hi})"
            for a, r, lo, hi in zip(wide["agency_id"], wide["nominal_rank"], wide["p05_rank"], wide["p95_rank"])
        )
        items.append(f"<li><strong>Thứ hạng dao động nhiều</strong> (khoảng rộng từ 3 bậc trở lên): {who}.</li>")
    if len(shaky):
        who = []
        for k in shaky:
            a = agency_ids[k]
            row = values[k]
            # the bands with a share, largest first, ordered as Series.sort_values(ascending=False)
            # orders them (pandas' nargsort: numpy's default argsort of the reversed values, reversed)
            present = np.flatnonzero(row > 0)
            shares = present[::-1][row[present][::-1].argsort(kind="quicksort")][::-1].tolist()
            text = ", ".join(f"{band_labels[prob_cols[j][2:]]} {fmt_number(100 * row[j], 0)}%" for j in shares)
            if a in published_band:
                text = f"đã công bố: {band_labels[published_band[a]]}; {text}"
            who.append(f"{_name(a, names)} ({text})")
        items.append(
            "<li><strong>Xếp loại chưa chắc chắn</strong> (xác suất giữ xếp loại đã công bố dưới 90%, "
            f"điểm gần ngưỡng giữa hai loại): {'; '.join(who)}.</li>"
        )
    else:
        items.append("<li>Mọi đơn vị giữ xếp loại đã công bố trong ít nhất 90% số lần.</li>")
    return "<ul>\n" + "\n".join(items) + "\n</ul>"


def _explain_loo(summary: pd.DataFrame, criterion_labels: dict[str, str]) -> str:
    if summary.empty:
        return ""
    s = summary.copy()
    s["mean"] = pd.to_numeric(s["mean_abs_rank_change"], errors="coerce").fillna(0.0)
    best = s.sort_values(["mean", "criterion_id"], ascending=[False, True], kind="mergesort").iloc[0]
    if best["mean"] == 0:
        return "<p>Bỏ riêng bất kỳ tiêu chí nào thì thứ hạng cũng không thay đổi.</p>"
    label = escape(criterion_labels.get(best["criterion_id"], ""))
    quiet = [c for c, m in zip(s["criterion_id"], s["mean"]) if m == 0]
    text = (
        f"<p>Nếu bỏ riêng từng tiêu chí rồi xếp hạng lại, tiêu chí làm thứ hạng thay đổi nhiều nhất là "
        f"<strong>{escape(best['criterion_id'])} {label}</strong>: trung bình mỗi đơn vị đổi "
        f"{fmt_number(best['mean'], 2, trim=True)} bậc, {best['agencies_moved']} đơn vị đổi hạng."
    )
    if quiet:
        text += f" Bỏ tiêu chí {', '.join(escape(c) for c in quiet)} không làm thay đổi thứ hạng của đơn vị nào."
    return text + "</p>"

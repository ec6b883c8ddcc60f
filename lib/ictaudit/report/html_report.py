"""The context ``report.html`` is rendered from: summary, ranking tables, validation, method, comparison.

Built from the scored tables alone. The rows of each group's ranking and heat tables (up to ~10,000
each) are assembled here, byte for byte what the template's loops wrote
(:mod:`ictaudit.report.html_text`); the charts come from :mod:`ictaudit.report.html_svg`, the
section on the ranking's robustness from the robustness analysis (:func:`_robustness`).
"""

from __future__ import annotations

from markupsafe import Markup, escape

from ictaudit.common.numfmt import is_nan
from ictaudit.report.html_svg import svg_group_bars, svg_histogram
from ictaudit.report.html_text import (
    BAND_COLOURS,
    agency_href,
    band_colour,
    esc,
    heat_colour,
    num,
    num_memo,
    rank_text,
)
from ictaudit.report.inputs import (
    CORRECTION_STATUS_VI,
    FLAG_VI,
    KIND_VI,
    RANKED,
    SEVERITY_VI,
    STATUS_VI,
    Memo,
    ReportInputs,
    bands_text,
    fmt_date_text,
    formula_vi,
    records,
    shown_sum_differs,
    source_vi,
    status_vi,
)

STATUS_SHORT_VI = {
    "ranked": "Được xếp hạng",
    "late": "Gửi sau hạn",
    "missing": "Không gửi phiếu",
    "excluded": "Không thuộc diện xếp hạng",
    "invalid": "Phiếu không hợp lệ",
}


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


def _ranking_tables(data: ReportInputs) -> list[dict]:
    out = []
    colour = Memo(heat_colour)  # a share's colour, once per distinct share (equal numbers, equal colours)
    for g in data.rubric.groups:
        criteria = data.rubric.criteria_for(g.id)
        s = data.scores[(data.scores["group"] == g.id) & (data.scores["status"] == RANKED)]
        s = s[s["points"].notna()]
        rows = []
        for r in s.to_dict("records"):
            crit = data.criteria_by_agency.get(r["agency_id"], {})
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
                    "agency_id": r["agency_id"], "href": agency_href(r["agency_id"]), "name": r["agency_name"],
                    "rank": r["rank"], "points": r["points"], "applicable_max": r["applicable_max"],
                    "score_100": r["score_100_published"], "index": r["index"], "band": r["band"],
                    "band_colour": band_colour(data, r["band"]), "criteria": cells,
                    "held": data.blocked.get(r["agency_id"], []),
                    "shown_sum": shown_sum_differs([c["points"] for c in cells], r["points"]),
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
                "held": [{"name": r["name"], "href": r["href"], "fields": ", ".join(r["held"])} for r in rows if r["held"]],
                "shown_sums": [{"name": r["name"], "sum": r["shown_sum"]} for r in rows if r["shown_sum"]],
            }
        )  # fmt: skip
    return out


def _ranking_rows(rows: list[dict]) -> dict[str, Markup]:
    """The rows of a group's ranking table and of its heat table, assembled (~10,000 each at national scale)."""
    points, maximum, index, escaped = num_memo(), num_memo(2, True), num_memo(3), Memo(esc)
    ranking, heat = [], []
    for r in rows:
        name = f'<a href="{escaped[r["href"]]}">{esc(r["name"])}</a>'
        if r["held"]:  # scored with values held back by an unresolved error
            fields = esc(", ".join(r["held"]))
            name += f' <span class="held-mark" title="Có số liệu bị giữ lại, tính như thiếu số liệu: {fields}">(*)</span>'
        head = f'<tr><td class="rank">{rank_text(r["rank"])}</td><td class="name">{name}</td>\n'
        total = points(r["points"])
        if r["shown_sum"]:  # the criteria as shown add up to another total
            total += f'<span class="sum-mark" title="Cộng các điểm tiêu chí hiển thị: {r["shown_sum"]}">†</span>'
        ranking.append(
            f'{head}<td class="n">{total}</td><td class="n">{maximum(r["applicable_max"])}</td>'
            f'<td class="n"><b>{points(r["score_100"])}</b></td><td class="n">{index(r["index"])}</td>\n'
            f'<td><span class="band" style="background:{escaped[r["band_colour"]]}">{escaped[r["band"]]}</span></td>\n'
            + "".join(f'<td class="n">{points(c["points"])}</td>' for c in r["criteria"])
            + "</tr>\n"
        )
        heat.append(
            head
            + "".join(
                f'<td class="h" style="background:{escaped[c["colour"]]}">{points(c["points"])}<small>hạng {rank_text(c["rank"])}'
                "</small></td>"
                for c in r["criteria"]
            )
            + "</tr>\n"
        )
    return {"ranking_rows": Markup("".join(ranking)), "heat_rows": Markup("".join(heat))}


def _not_ranked(data: ReportInputs) -> list[dict]:
    """The agencies not evaluated, each with its reason, and whether its form is kept (no points: they
    are not scored)."""
    s = data.scores[data.scores["status"] != RANKED]
    labels = {g.id: g.label_vi for g in data.rubric.groups}
    with_form = set(data.values["agency_id"])
    return [
        {
            "agency_id": r["agency_id"], "href": agency_href(r["agency_id"]), "name": r["agency_name"],
            "group": labels.get(r["group"], r["group"]), "status": status_vi(r["status"]),
            "reason": r["status_reason"], "form_kept": r["agency_id"] in with_form,
        }
        for r in s.to_dict("records")
    ]  # fmt: skip


def _yoy(data: ReportInputs) -> dict:
    """Last year's comparison, as published (:mod:`ictaudit.intake.previous`), or why there is none."""
    info = data.previous_info
    if info is None or not info.get("linked") or data.previous_links is None:
        reason = info["reason_vi"] if info else "Lần chạy này không có thông tin về kết quả năm trước."
        return {"linked": False, "reason": reason}
    links = data.previous_links
    groups = {g.id: g.label_vi for g in data.rubric.groups}
    cur = data.scores.set_index("agency_id")
    by_agency = {a: rows for a, rows in links[links["agency_id"] != ""].groupby("agency_id", sort=False)}
    tables = []
    for g in data.rubric.groups:
        rows = [
            _yoy_row(a, r, by_agency[a], g.id, groups)
            for a, r in cur[cur["group"] == g.id].iterrows()
            if a in by_agency and by_agency[a]["link"].iloc[0] != "new"
        ]
        rows.sort(key=lambda r: (is_nan(r["rank"]), 0 if is_nan(r["rank"]) else int(r["rank"]), r["name"]))
        tables.append({"label": g.label_vi, "rows": rows})
    new = [
        {"href": agency_href(a), "name": r["agency_name"], "group": groups.get(r["group"], r["group"])}
        for a, r in cur.iterrows()
        if a not in by_agency or by_agency[a]["link"].iloc[0] == "new"
    ]
    gone = [
        {"name": r["predecessor_name"], "agency_id": r["predecessor_id"],
         "group": groups.get(r["predecessor_group"], r["predecessor_group"])}
        for r in records(links[links["link"] == "gone"])
    ]  # fmt: skip
    then, now = info["scale_then"], info["scale_now"]
    return {
        "linked": True, "year": info["year"], "groups": tables, "new": new, "gone": gone,
        "scale_then": f"{then['id']} phiên bản {then['version']}", "scale_now": f"{now['id']} phiên bản {now['version']}",
        "scale_differences": info["scale_differences"], "files": info["sha256"],
    }  # fmt: skip


def _number(text) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        return float("nan")


def _yoy_row(agency_id: str, r, links, group_id: str, groups: dict[str, str]) -> dict:
    """One row of a group's comparison: this year's agency against the agency or agencies it continues."""
    link = links["link"].iloc[0]
    preds = records(links)
    row = {
        "href": agency_href(agency_id), "name": r["agency_name"], "rank": r["rank"],
        "score": r["score_100_published"], "status": status_vi(r["status"]), "link": link, "prev_rank": None, "prev_score": float("nan"),
        "delta_rank": None, "delta_score": None, "notes": [],
    }  # fmt: skip
    if link in ("same", "renamed"):
        (p,) = preds
        row["prev_rank"] = int(p["predecessor_rank"]) if p["predecessor_rank"] else None
        row["prev_score"] = _number(p["predecessor_score_100"])
        same_group = p["predecessor_group"] == group_id
        if row["prev_rank"] is not None and not is_nan(r["rank"]) and same_group:
            row["delta_rank"] = row["prev_rank"] - int(r["rank"])
        if not is_nan(row["prev_score"]) and not is_nan(r["score_100_published"]):
            row["delta_score"] = r["score_100_published"] - row["prev_score"]
        if link == "renamed":
            row["notes"].append(f"Năm trước: {p['predecessor_name']} (mã {p['predecessor_id']}).")
        if not same_group:
            row["notes"].append(f"Năm trước thuộc khối {groups.get(p['predecessor_group'], p['predecessor_group'])}.")
        if row["delta_rank"] is None and (row["prev_rank"] is None or is_nan(r["rank"])):
            row["notes"].append(f"Năm trước: {status_vi(p['predecessor_status']) or '—'}; năm nay: {row['status']}.")
        return row
    head = "Hợp nhất từ" if link == "merged" else "Chia tách từ"
    listed = [
        f"{p['predecessor_name']} (mã {p['predecessor_id']}: "
        + (f"hạng {p['predecessor_rank']}, điểm {num(_number(p['predecessor_score_100']))}" if p["predecessor_rank"]
           else status_vi(p["predecessor_status"]) or "không có kết quả")
        + ")"
        for p in preds
    ]  # fmt: skip
    row["notes"].append(f"{head}: " + "; ".join(listed) + ". Không so sánh hạng với một đơn vị năm trước.")
    return row


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
        elif not r["resolved_by"]:  # a round-2 finding a confirmation settled is not "remaining"
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
            "id": r["correction_id"], "href": agency_href(r["agency_id"]), "name": data.names.get(r["agency_id"], r["agency_id"]),
            "field": r["field"], "old": r["old_value"], "new": r["new_value"], "reason": r["reason"],
            "by": r["confirmed_by"], "on": fmt_date_text(r["confirmed_on"]),
            "status": CORRECTION_STATUS_VI.get(r["status"], r["status"]), "status_reason": r["status_reason"],
            "source": source_vi(r["source"], r["document"], r["reply_file"]),
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
        "remaining": int(((i["round"] == 2) & (i["resolved_by"] == "")).sum()),
        "unchecked": sum(r["unchecked"] for r in rows),
        "remaining_errors": int(((i["round"] == 2) & (i["severity"] == "E") & (i["resolved_by"] == "")).sum()),
        "corrections": corrections,
        "applied": int(c["status"].isin(["applied", "confirmed"]).sum()),
        "rejected": int((c["status"] == "rejected").sum()),
        "has_corrections_file": data.has_corrections_file,
        "index": validation_index,
        "blocked": [
            {"href": agency_href(a), "name": data.names.get(a, a), "fields": ", ".join(f)}
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
    """The section on the ranking's robustness, when the run analysed it (``robustness.csv``)."""
    if data.scored_dir is None or not (data.scored_dir / "robustness.csv").exists():
        return None
    try:
        from ictaudit.report.robustness import report_section  # the one place that names the section's module
    except ImportError:  # no such section in this installation: the report goes without it
        return None
    try:
        return Markup(report_section(data.scored_dir, data.rubric))
    except Exception as exc:  # never lose the whole report to this optional section
        return Markup(
            f'<p class="note">Không tạo được phần phân tích độ vững của thứ hạng ({escape(type(exc).__name__)}).</p>'
        )


def report_context(data: ReportInputs, validation_index: str | None) -> dict:
    """The context of report.html; ``validation_index``: the link to the validation's Data Docs, or None."""
    r = data.rubric
    ci = data.cycle_info
    ranked = data.scores[(data.scores["status"] == RANKED) & data.scores["score_100_published"].notna()]
    hist = [(g.label_vi, list(ranked.loc[ranked["group"] == g.id, "score_100_published"])) for g in r.groups]
    return {
        "title": ci.get("title") or r.title_vi,
        "province": ci.get("province", ""),
        "year": ci.get("year", ""),
        "deadline": data.deadline,
        "sample": data.is_sample,
        "rubric": r,
        "rubric_check": ci.get("rubric_check"),
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
        "groups": _ranking_tables(data),
        "histogram": svg_histogram(data, hist) if len(ranked) else None,
        "not_ranked": _not_ranked(data),
        "yoy": _yoy(data),
        "validation": _validation(data, validation_index),
        "method": _method(data),
        "robustness": _robustness(data),
        "status_page": data.extra.get("status_page"),
        "n_scored": len(data.scored_ids),
        "n_roster": len(data.scores),
        "n_ranked": len(ranked),
    }

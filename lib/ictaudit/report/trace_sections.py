"""The sections of the trace page (:class:`ictaudit.report.trace.TracePage`), each a small context for its
macro in ``templates/trace_sections.html.j2``: the summary, the form's cells, the corrections, the
findings of validation, every indicator, the criteria against the group, and the group's ranking; and
what they share: numbers as the page shows them, each rule in words, who holds a group's best value.

Each section reads a ``page`` (the :class:`~ictaudit.report.trace.TracePage`): its tables, its agency
and group, the group's ranked agencies and their names.
"""

from __future__ import annotations

import json
import math
import statistics

from ictaudit.common.numfmt import fmt_number, fmt_ratio, fmt_value, is_nan
from ictaudit.report.inputs import (
    CORRECTION_STATUS_VI,
    FLAG_VI,
    KIND_VI,
    SEVERITY_VI,
    fmt_date_text,
    source_vi,
    status_vi,
)
from ictaudit.rules.rubric import Rubric

ROUND_VI = {1: "Vòng 1 (phiếu gốc)", 2: "Vòng 2 (sau hiệu chỉnh)"}


def _float(text) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        return math.nan


def num(x, decimals: int = 2) -> str:
    return "—" if is_nan(x) else fmt_number(float(x), decimals)


def _published(row: dict) -> float:
    """The published score (rounded as the scale rounds) of a scores.csv row read as text."""
    return _float(row.get("score_100_published") or row["score_100"])


def points_of(x, maximum) -> str:
    """``15,27 / 20``."""
    return f"{num(x)} / {fmt_number(_float(maximum), 2, trim=True)}"


# -- the rule in words ---------------------------------------------------------------------------


def _field_words(codes, rubric: Rubric) -> str:
    return "; ".join(f"{c}: {rubric.field_by_code[c].label_vi.rstrip('.')}" for c in codes if c in rubric.field_by_code)


def _sum_words(codes) -> str:
    return codes[0] if len(codes) == 1 else "(" + " + ".join(codes) + ")"


def formula_in_words(kind, rubric: Rubric) -> str:
    """The indicator's rule in Vietnamese words, then what each field code means."""
    mx = fmt_number(kind.max_points, 2, trim=True)
    k = kind.kind
    if k in ("ratio", "ratio_to_best"):
        ratio = f"{_sum_words(kind.num)} / {_sum_words(kind.den)}"
        if k == "ratio":
            text = f"{mx} điểm × tỷ lệ {ratio} (tỷ lệ trên 100% tính là 100%)"
        else:
            text = (f"{mx} điểm × (giá trị của đơn vị / giá trị cao nhất trong khối), giá trị = {ratio}; giá trị cao "
                    "nhất lấy trong các đơn vị được xếp hạng của khối; phần vượt giá trị cao nhất không được tính thêm")  # fmt: skip
        if kind.na_when_zero:
            text += f"; không áp dụng khi {_sum_words(kind.den)} = 0"
    elif k == "checklist":
        items = [f"{fmt_number(it.points, 2, trim=True)} điểm nếu {_item_words(it)}" for it in kind.items]
        text = "Cộng điểm từng mục đạt: " + "; ".join(items)
    elif k == "share_of_items":
        text = f"{mx} điểm × số mục trả lời Có / {len(kind.items)} mục ({', '.join(kind.items)})"
    elif k == "count_capped":
        text = f"{fmt_number(kind.per_item, 2, trim=True)} điểm cho mỗi đơn vị của {kind.field}, tối đa {mx} điểm"
    elif k == "tiers":
        steps = [f"{kind.field} từ {fmt_number(t.at_least, 2, trim=True)} trở lên: {fmt_number(t.points, 2, trim=True)} điểm"
                 for t in kind.tiers]  # fmt: skip
        text = "; ".join(steps) + "; thấp hơn: 0 điểm"
    else:  # a kind added later without words here: its own rule, never nothing
        from ictaudit.report.inputs import formula_vi

        text = formula_vi(kind.formula())
    return f"{text}. Trong đó {_field_words(kind.input_fields, rubric)}."


def _item_words(item) -> str:
    if item.op is None:
        return f"{item.field} = Có"
    ops = {">": ">", ">=": "≥", "<": "<", "<=": "≤", "=": "=", "!=": "≠"}
    return f"{item.field} {ops[item.op]} {fmt_number(item.value, 2, trim=True)}"


def value_text(x: float, field_type: str) -> str:
    """A value read or used, as a person reads it: ``1.234``, ``40,8``, ``Có``/``Không``, ``trống``."""
    if is_nan(x):
        return "trống"
    if field_type == "yesno":
        return "Có" if float(x) == 1 else "Không" if float(x) == 0 else fmt_value(float(x))
    return fmt_value(float(x))


def trail_inputs(text: str) -> dict:
    return json.loads(text) if text else {}


def best_holders(page, kind) -> tuple[float, list[str]]:
    """The best value of a ``ratio_to_best`` indicator among the group's ranked agencies, and who holds it.

    Each ranked agency's value is recomputed from its trail inputs (a value held back counts as blank,
    as in scoring); the holders are those whose value equals the largest (to 1e-12 relative).
    """
    trail = page.tables["trail"]
    rows = trail[(trail["indicator_id"] == kind.id) & trail["agency_id"].isin(set(page.ranked_in_group["agency_id"]))]
    values = {}
    for agency_id, text in zip(rows["agency_id"], rows["inputs"]):
        inputs = trail_inputs(text)
        held = set(inputs.get("blocked", ()))

        def part(codes, inputs=inputs, held=held) -> float:
            xs = [inputs.get(c) for c in codes]
            return math.nan if any(x is None or c in held for c, x in zip(codes, xs)) else float(sum(xs))

        num_, den = part(kind.num), part(kind.den)
        if not math.isnan(num_) and not math.isnan(den) and den > 0:
            values[agency_id] = num_ / den
    if not values:
        return math.nan, []
    best = max(values.values())
    holders = sorted((a for a, v in values.items() if abs(v - best) <= 1e-12 * abs(best)), key=lambda a: page.names.get(a, a))
    return best, holders


# -- the sections ---------------------------------------------------------------------------------


def summary(page) -> dict:
    me, rubric = page.me, page.rubric
    group = rubric.group(page.group) if page.group in rubric.group_ids else None
    rank = me["rank"]
    return {
        "agency_id": page.agency_id, "name": me["agency_name"], "group": group.label_vi if group else page.group,
        "status": status_vi(me["status"]), "ranked": me["status"] == "ranked", "reason": me["status_reason"],
        "points": points_of(_float(me["points"]), me["applicable_max"]) if me["points"] else "—",
        "score_100": num(_published(me)), "index": num(_float(me["index"]), 3), "band": me["band"] or "—",
        "rank": f"{rank} / {len(page.ranked_in_group)}" if rank else "—", "rubric": f"{rubric.id} phiên bản {rubric.version}",
        "held": _held_fields(page),
    }  # fmt: skip


def _held_fields(page) -> list[str]:
    held = set()
    for text in page._mine("trail")["inputs"] if not page.tables["trail"].empty else []:
        held.update(trail_inputs(text).get("blocked", ()))
    return sorted(held)


def sources(page) -> dict:
    """Each field of the form: its cell, the text as typed, the value read, the value scored."""
    confirmed, submitted = page._mine("values"), page._mine("values_submitted")
    if confirmed.empty:
        return {"files": [], "rows": []}
    read = dict(zip(submitted["field"], submitted["value"])) if not submitted.empty else {}
    held = set(_held_fields(page))
    fields = page.rubric.field_by_code
    rows = []
    for r in confirmed.to_dict("records"):
        spec = fields.get(r["field"])
        ftype = spec.type if spec else "decimal"
        used = _float(r["value"])
        notes = []
        if r["correction_id"]:
            notes.append(f"hiệu chỉnh {r['correction_id']}")
        if r["field"] in held:
            notes.append(FLAG_VI["blocked"])
        rows.append(
            {
                "code": r["field"], "label": spec.label_vi if spec else "", "unit": spec.unit_vi if spec else "",
                "cell": r["cell"], "typed": r["raw_value"], "read": value_text(_float(read[r["field"]]), ftype) if r["field"] in read else "—",
                "used": "không dùng" if r["field"] in held else value_text(used, ftype), "notes": "; ".join(notes),
                "held": r["field"] in held, "corrected": bool(r["correction_id"]),
            }
        )  # fmt: skip
    files = [
        {"file": f, "sha256": h, "sheet": s}
        for f, h, s in dict.fromkeys(zip(confirmed["source_file"], confirmed["source_sha256"], confirmed["sheet"]))
        if f
    ]
    return {"files": files, "rows": rows}


def corrections(page) -> list[dict]:
    df = page._mine("corrections")
    return [
        {
            "id": r["correction_id"], "field": r["field"], "old": r["old_value"], "new": r["new_value"],
            "reason": r["reason"], "by": r["confirmed_by"], "on": fmt_date_text(r["confirmed_on"]),
            "status": CORRECTION_STATUS_VI.get(r["status"], r["status"]), "status_reason": r["status_reason"],
            "source": source_vi(r.get("source", ""), r.get("document", ""), r.get("reply_file", "")),
        }
        for r in df.to_dict("records")
    ]  # fmt: skip


def findings(page) -> list[dict]:
    df = page._mine("issues")
    mine = page._mine("corrections")
    confirmed = set(mine.loc[mine["status"] == "confirmed", "correction_id"]) if "status" in mine else set()
    out = []
    for r in df.to_dict("records"):
        n = int(r["round"]) if str(r["round"]).isdigit() else 1
        if r["resolved_by"]:
            ids = [i for i in str(r["resolved_by"]).split(";") if i]
            how = "xác nhận, có giải trình" if all(i in confirmed for i in ids) else "hiệu chỉnh"
            outcome = f"đã xử lý bằng {how} {', '.join(ids)}"
        elif n == 2:
            outcome = "còn lại sau hiệu chỉnh"
        else:
            outcome = ""
        out.append(
            {
                "check_id": r["check_id"], "severity": SEVERITY_VI.get(r["severity"], r["severity"]),
                "error": r["severity"] == "E", "round": ROUND_VI.get(n, str(n)), "data": r["values"],
                "message": r["message_vi"], "outcome": outcome,
            }
        )  # fmt: skip
    return out


def indicators(page) -> list[dict]:
    """Each criterion with its indicators: the rule in words, the numbers put in, the points, the flags,
    and for a "best in the group" indicator the agency holding the best value."""
    trail = page._mine("trail")
    if trail.empty or page.group not in page.rubric.group_ids:
        return []
    rows = {r["indicator_id"]: r for r in trail.to_dict("records")}
    crit = {r["criterion_id"]: r for r in page._mine("criteria").to_dict("records")}
    out = []
    for criterion, kinds in page.rubric.scale(page.group):
        specs = {i.id: i for i in criterion.indicators}
        items = []
        for kind in kinds:
            r = rows.get(kind.id)
            if r is None:
                continue
            best = None
            if kind.kind == "ratio_to_best":
                value, holders = best_holders(page, kind)
                best = {"value": "—" if math.isnan(value) else fmt_ratio(value),
                        "holders": [page.names.get(a, a) for a in holders], "mine": page.agency_id in holders}  # fmt: skip
            flags = [f for f in r["flags"].split(";") if f]
            items.append(
                {
                    "id": kind.id, "label": specs[kind.id].label_vi, "kind": KIND_VI.get(kind.kind, kind.kind),
                    "words": formula_in_words(kind, page.rubric), "explanation": r["explanation_vi"],
                    "points": num(_float(r["points"])), "max": fmt_number(kind.max_points, 2, trim=True),
                    "applicable": r["applicable"].lower() == "true",
                    "flags": [{"id": f, "text": FLAG_VI.get(f, f)} for f in flags], "best": best,
                }
            )  # fmt: skip
        c = crit.get(criterion.id, {})
        out.append(
            {
                "id": criterion.id, "label": criterion.label_vi, "indicators": items,
                "points": points_of(_float(c.get("points")), c.get("applicable_max", criterion.max_points[page.group])),
            }
        )  # fmt: skip
    return out


def criteria(page) -> list[dict]:
    """Each criterion's points against the group's median and best (ranked agencies), naming the best."""
    crit = page.tables["criteria"]
    if crit.empty:
        return []
    ranked = set(page.ranked_in_group["agency_id"])
    peers = crit[crit["agency_id"].isin(ranked)]
    mine = {r["criterion_id"]: r for r in page._mine("criteria").to_dict("records")}
    labels = {c.id: c.label_vi for c in page.rubric.criteria}
    out = []
    for cid, r in mine.items():
        pts = {a: _float(p) for a, p in zip(peers.loc[peers["criterion_id"] == cid, "agency_id"],
                                               peers.loc[peers["criterion_id"] == cid, "points"]) if not is_nan(_float(p))}  # fmt: skip
        best = max(pts.values()) if pts else math.nan
        holders = sorted((a for a, p in pts.items() if abs(p - best) <= 1e-9), key=lambda a: page.names.get(a, a))
        out.append(
            {
                "id": cid, "label": labels.get(cid, cid), "points": num(_float(r["points"])),
                "max": fmt_number(_float(r["applicable_max"]), 2, trim=True), "rank": r["rank"] or "—",
                "median": num(statistics.median(pts.values())) if pts else "—", "best": num(best),
                "holders": [page.names.get(a, a) for a in holders], "mine": page.agency_id in holders,
            }
        )  # fmt: skip
    return out


def ranking(page) -> list[dict]:
    g = page.ranked_in_group.copy()
    g["_rank"] = g["rank"].map(lambda x: int(x) if x else 10**9)
    g = g.sort_values(["_rank", "agency_name"], kind="mergesort")
    return [
        {
            "rank": r["rank"] or "—", "name": r["agency_name"], "points": points_of(_float(r["points"]), r["applicable_max"]),
            "score_100": num(_published(r)), "band": r["band"] or "—", "this": r["agency_id"] == page.agency_id,
        }
        for r in g.to_dict("records")
    ]  # fmt: skip

"""``validation/index.html``: the validation of the year in Vietnamese, a page that works with no network.

Built from the scored tables (``issues.csv``, ``scores.csv``, ``corrections.csv``, ``previous.json``) and
the check table (``rules/checks.yaml``): per form, every logic check that applies to it — its id,
severity and what it checks — with how many agencies failed it and which, as sent (round 1) and after
the corrections (round 2), and how many a correction resolved; then intake's problems of whole files.
Great Expectations' Data Docs stay beside it as the technical appendix (``data-docs/``, English, their
assets bundled so they too work offline: :mod:`ictaudit.validate.datadocs`).
"""

from __future__ import annotations

from pathlib import Path

from ictaudit.report.html_text import agency_href
from ictaudit.report.inputs import SEVERITY_VI, ReportInputs, records
from ictaudit.rules.checks import CheckTable

PAGE = "validation/index.html"
DATA_DOCS = "data-docs/index.html"


def _agency_links(data: ReportInputs, ids: set[str]) -> list[dict]:
    named = sorted(ids, key=lambda a: data.names.get(a, a))
    return [{"href": agency_href(a, "../agencies/"), "name": data.names.get(a, a)} for a in named]


#: a check of more rules than this shows its first ones and how many there are (docs/checks.md lists all)
RULES_SHOWN = 3


def _check_text(checks: CheckTable, check) -> str:
    texts = list(dict.fromkeys(checks.message(r.summary_vi or r.message_vi) for r in check.rules))
    if len(texts) <= RULES_SHOWN:
        return " ".join(texts)
    return " ".join(texts[:2]) + f" … ({len(texts)} quy tắc cùng loại; đủ cả trong docs/checks.md)"


def _by_check(data: ReportInputs) -> dict[str, dict[int, dict]]:
    """check id → round → {agency ids found, ids resolved by a correction}."""
    out: dict[str, dict[int, dict]] = {}
    for r in records(data.issues):
        entry = out.setdefault(r["check_id"], {}).setdefault(int(r["round"]), {"ids": set(), "resolved": set()})
        entry["ids"].add(r["agency_id"])
        if r["resolved_by"]:
            entry["resolved"].add(r["agency_id"])
    return out


def _forms(data: ReportInputs, checks: CheckTable, found: dict) -> list[dict]:
    group_of = dict(zip(data.scores["agency_id"], data.scores["group"]))
    linked = bool(data.previous_info and data.previous_info.get("linked"))
    out = []
    for form in data.rubric.forms:
        groups = [g for g in data.rubric.groups if g.form == form.id]
        members = {a for a, g in group_of.items() if g in {x.id for x in groups}}
        validated = set(data.scores.loc[(data.scores["status"] == "ranked"), "agency_id"]) & members
        rows = []
        for check in (c for c in checks.checks if form.id in c.forms):
            rounds = found.get(check.id, {})
            r1 = rounds.get(1, {"ids": set(), "resolved": set()})
            r2 = rounds.get(2, {"ids": set(), "resolved": set()})
            ids1, ids2 = r1["ids"] & members, r2["ids"] & members
            rows.append(
                {
                    "check_id": check.id, "severity": SEVERITY_VI.get(check.severity, check.severity),
                    "error": check.severity == "E", "text": _check_text(checks, check),
                    "round1": _agency_links(data, ids1), "resolved": len(r1["resolved"] & members),
                    "round2": _agency_links(data, ids2), "passed": not ids1 and not ids2,
                    "not_run": "Không kiểm tra kỳ này: không có kết quả năm trước được gắn (xem báo cáo, mục So sánh với năm trước)."
                    if check.id == "L24" and not linked else "",
                }
            )  # fmt: skip
        out.append({"id": form.id, "label": form.label_vi, "groups": ", ".join(g.label_vi for g in groups),
                    "validated": len(validated), "rows": rows})  # fmt: skip
    return out


def _intake(data: ReportInputs, checks: CheckTable) -> list[dict]:
    """Problems of whole files and cells found at intake (codes I…), and the checks made outside the suites."""
    suite_ids = {c.id for c in checks.checks}
    rows: dict[str, dict] = {}
    for r in records(data.issues[data.issues["round"] == 1]):
        if r["check_id"] in suite_ids:
            continue
        row = rows.setdefault(r["check_id"], {"check_id": r["check_id"], "severity": SEVERITY_VI.get(r["severity"], r["severity"]),
                                              "example": r["message_vi"], "ids": set()})  # fmt: skip
        row["ids"].add(r["agency_id"])
    out = [{**row, "agencies": _agency_links(data, row.pop("ids"))} for _, row in sorted(rows.items())]
    return out


def validation_context(data: ReportInputs, checks: CheckTable, results_files: list[str]) -> dict:
    i = data.issues
    round1 = i[i["round"] == 1]
    c = data.corrections
    not_validated = data.scores[data.scores["status"] != "ranked"]
    return {
        "title": data.cycle_info.get("title") or data.rubric.title_vi,
        "year": data.year,
        "forms": _forms(data, checks, _by_check(data)),
        "intake": _intake(data, checks),
        "outside": [{"check_id": o.id, "severity": SEVERITY_VI.get(o.severity, o.severity), "text": o.note_vi}
                    for o in checks.outside_the_suites],
        "total_round1": len(round1),
        "errors_round1": int((round1["severity"] == "E").sum()),
        "warnings_round1": int((round1["severity"] == "W").sum()),
        "resolved": int((round1["resolved_by"] != "").sum()),
        "remaining": int((i["round"] == 2).sum()),
        "remaining_errors": int(((i["round"] == 2) & (i["severity"] == "E")).sum()),
        "applied": int((c["status"] == "applied").sum()),
        "rejected": int((c["status"] == "rejected").sum()),
        "not_validated": len(not_validated),
        "data_docs": DATA_DOCS,
        "results_files": results_files,
        "checks_version": checks.version,
    }


def write_validation_page(data: ReportInputs, out_dir: Path, env) -> Path:
    """Write ``validation/index.html`` under ``out_dir`` (the folder GX's Data Docs live in, as ``data-docs/``)."""
    from ictaudit.rules.checks import shipped_checks

    page = Path(out_dir) / PAGE
    page.parent.mkdir(parents=True, exist_ok=True)
    results = sorted(p.name for p in page.parent.glob("results_*.json"))
    ctx = validation_context(data, shipped_checks(), results)
    page.write_text(env.get_template("validation.html.j2").render(**ctx), encoding="utf-8")
    return page

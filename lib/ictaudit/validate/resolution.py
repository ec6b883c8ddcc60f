"""Which problems the corrections closed: ``resolved_by`` of issues.csv, and the values still held back.

docs/domain.md §1 step 4 and §5: an error (E) blocks its values until corrected or confirmed; a
warning (W) asks the agency to explain. With the corrections report of
:func:`ictaudit.validate.corrections.apply_corrections` (``applied`` changes a value, ``confirmed``
keeps it with a reason), :func:`resolve_issues` marks every problem of round 1 (as sent) and round 2
(after corrections) with the corrections that answer it (docs/confirmations.md):

- a logic check that round 2 no longer finds is resolved by the applied corrections of its fields or
  naming its check (failing that, by every applied correction of the agency);
- an intake problem about one value (I01 unreadable, I03 …) is resolved by an applied correction of
  that value: the value is the agency's confirmed one now, and round 2 checks it;
- a problem that round 2 still finds is resolved by a confirmation of one of its fields (or naming its
  check) when it is a warning — the confirmation's reason is the explanation asked for — or, for an
  error, only by a confirmation from the DIC's own finding (``on-site survey``, ``DIC review``): an
  error the agency confirms unchanged stays open for the DIC to decide (:func:`awaiting_decision`);
- a problem a correction introduced is a round-2 row of its own, open until answered.

:func:`blocked_fields` lists the values an unresolved error of the last round still holds back;
scoring treats them as missing and flags them ``blocked``.
"""

from __future__ import annotations

import pandas as pd

from ictaudit.rules.rubric import Rubric
from ictaudit.validate.corrections import DIC_SOURCES
from ictaudit.validate.issues import ISSUE_COLUMNS, sort_issues


def _fields(text) -> set[str]:
    return {f for f in str(text or "").split(";") if f}


def _checks(text) -> set[str]:
    return {c.strip() for c in str(text or "").replace(",", ";").split(";") if c.strip()}


class _Answers:
    """The applied and confirmed corrections of each agency, to look up by field and check."""

    def __init__(self, report: pd.DataFrame | None):
        self.by_agency: dict[str, list[dict]] = {}
        if report is None or report.empty:
            return
        rows = report[report["status"].isin(["applied", "confirmed"])].fillna("").astype(str)
        for r in rows.to_dict("records"):
            self.by_agency.setdefault(r["agency_id"], []).append(r)

    def touching(self, agency_id: str, check_id: str, fields: set[str], status: str) -> list[dict]:
        return [
            r for r in self.by_agency.get(agency_id, ())
            if r["status"] == status and (r["field"] in fields or check_id in _checks(r["check_id"]))
        ]  # fmt: skip

    def changes(self, agency_id: str) -> list[dict]:
        return [r for r in self.by_agency.get(agency_id, ()) if r["status"] == "applied"]


def _ids(rows: list[dict]) -> str:
    return ";".join(dict.fromkeys(r["correction_id"] for r in rows))


def _settling(confirmations: list[dict], severity: str) -> list[dict]:
    """The confirmations that settle a problem still found: any for a warning, the DIC's for an error."""
    if severity == "W":
        return confirmations
    return [r for r in confirmations if r["source"] in DIC_SOURCES]


def resolve_issues(
    issues_round1: pd.DataFrame,
    issues_round2: pd.DataFrame,
    corrections_report: pd.DataFrame | None,
    intake_issues: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The round-1 logic issues, the round-2 ones and the intake problems, each with ``resolved_by``.

    ``resolved_by`` is the ``;``-joined ids of the corrections that answer the problem (see the module
    doc), or empty while it is open. Rows in the stable order of issues.csv.
    """
    answers = _Answers(corrections_report)
    r1 = issues_round1.reindex(columns=ISSUE_COLUMNS).copy()
    r2 = issues_round2.reindex(columns=ISSUE_COLUMNS).copy()
    r1["round"], r2["round"] = 1, 2
    still = set(zip(r2["agency_id"].astype(str), r2["check_id"].astype(str)))
    settled: dict[tuple[str, str], str] = {}
    for i, row in r2.iterrows():
        key = (str(row["agency_id"]), str(row["check_id"]))
        confirmed = answers.touching(*key, _fields(row["fields"]), "confirmed")
        settled[key] = r2.at[i, "resolved_by"] = _ids(_settling(confirmed, str(row["severity"])))
    resolved = []
    for row in r1.to_dict("records"):
        key = (str(row["agency_id"]), str(row["check_id"]))
        if key in still:
            resolved.append(settled.get(key, ""))
            continue
        hits = answers.touching(*key, _fields(row["fields"]), "applied")
        resolved.append(_ids(hits or answers.changes(key[0])))
    r1["resolved_by"] = resolved
    parts = [r1, r2]
    if intake_issues is not None and len(intake_issues):
        parts.append(_resolve_intake(intake_issues.reindex(columns=ISSUE_COLUMNS).copy(), answers))
    return sort_issues(pd.concat(parts, ignore_index=True))


def resolve_rounds(
    issues_round1: pd.DataFrame, issues_round2: pd.DataFrame, corrections_report: pd.DataFrame | None
) -> pd.DataFrame:
    """:func:`resolve_issues` of the logic checks alone (no intake problems)."""
    return resolve_issues(issues_round1, issues_round2, corrections_report)


def _resolve_intake(issues: pd.DataFrame, answers: _Answers) -> pd.DataFrame:
    """Intake problems about one value: resolved by a correction of that value (a warning also by a
    confirmation of it); problems about a whole file stay as they are."""
    resolved = []
    for row in issues.fillna("").astype(str).to_dict("records"):
        fields = _fields(row["fields"])
        if not fields:
            resolved.append(row["resolved_by"])
            continue
        agency_id = row["agency_id"]
        hits = answers.touching(agency_id, "", fields, "applied")
        if not hits:
            hits = _settling(answers.touching(agency_id, "", fields, "confirmed"), row["severity"])
        resolved.append(_ids(hits) or row["resolved_by"])
    issues["resolved_by"] = resolved
    issues["round"] = 1
    return issues


def awaiting_decision(issues: pd.DataFrame, corrections_report: pd.DataFrame | None) -> dict[tuple, str]:
    """Open errors (E) the agency confirmed unchanged, waiting for the DIC: (agency, check, round) → ids.

    The DIC decides by a row of its own: the right value (``applied``), or the same value confirmed
    from an on-site survey or its review, citing the document — which resolves the error.
    """
    answers = _Answers(corrections_report)
    out = {}
    if issues is None or issues.empty:
        return out
    open_errors = issues[(issues["severity"] == "E") & (issues["resolved_by"].fillna("").astype(str) == "")]
    for row in open_errors.fillna("").astype(str).to_dict("records"):
        confirmed = answers.touching(row["agency_id"], row["check_id"], _fields(row["fields"]), "confirmed")
        if confirmed:
            out[(row["agency_id"], row["check_id"], int(row["round"]))] = _ids(confirmed)
    return out


def blocked_fields(issues_final: pd.DataFrame, rubric: Rubric, final_round: int = 2) -> set[tuple[str, str]]:
    """(agency_id, field) pairs held back by an unresolved error (E) of ``final_round``.

    Pass ``final_round=1`` when no round 2 was run (no corrections): a clean round 2 has no rows, so
    the last round present in the frame cannot tell "round 2 found nothing" from "round 2 never ran".
    Only field codes of the rubric are returned (derived quantities are not values).
    """
    known = {f.code for f in rubric.fields}
    unresolved = issues_final["resolved_by"].fillna("").astype(str) == "" if "resolved_by" in issues_final else True
    rows = issues_final[
        (issues_final["severity"] == "E") & (issues_final["round"].astype(int) == final_round) & unresolved
    ]
    out: set[tuple[str, str]] = set()
    for agency_id, fields in zip(rows["agency_id"], rows["fields"]):
        out |= {(str(agency_id), code) for code in str(fields).split(";") if code in known}
    return out

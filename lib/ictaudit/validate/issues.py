"""Validation results → issues: one row per agency × check, as ``issues.csv`` has them (docs/contracts.md §6).

A failing expectation on the agencies frame is one rule; the failing rows of one on the fields frame
are shared out to its per-field rules by their ``field``. The sub-rules of a check that fail for one
agency make one issue row: its fields and values in rule order, each message once, severity ``E``
when any sub-rule is an error.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd

from ictaudit.rules.rubric import Rubric
from ictaudit.validate.suites import Rule, ValidationSetupError, suite_expectations

ISSUE_COLUMNS = ["agency_id", "check_id", "severity", "fields", "values", "message_vi", "round", "resolved_by"]


def _fmt(value: float, yesno: bool) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "trống"
    if yesno and value in (0, 1):
        return "Có" if value == 1 else "Không"
    if float(value).is_integer():
        return str(int(value))
    return repr(round(float(value), 6))


def _failures(suite_result, rules: list[Rule]) -> list[tuple[dict, list[str]]]:
    """(rule meta, failing agency ids) for every rule that failed, in rule order; crash on GX exceptions."""
    return [(meta, [str(row["agency_id"]) for row in rows]) for meta, rows in failing_rows(suite_result, rules)]


def failing_rows(suite_result, rules: list[Rule]) -> list[tuple[dict, list[dict]]]:
    """(rule meta, the key columns of each failing row) for every failed rule, in rule order.

    ``rules`` are the form's rules (:func:`~ictaudit.validate.suites.rules_for_form`), of which the
    suite was built. An expectation on the agencies frame is one rule; the failing rows of one on the fields
    frame are shared out to its rules by their ``field``.
    """
    position = {id(rule): n for n, rule in enumerate(rules)}
    per_field = {(r.origin, r.fields[0]): r for r in rules if r.frame == "fields"}
    expected = suite_expectations(rules)
    if len(expected) != len(suite_result.results):
        raise ValidationSetupError(
            f"{len(suite_result.results)} results for {len(expected)} expectations: the suite is not this check table's"
        )
    found: list[tuple[int, dict, list[dict]]] = []
    for shared, r in zip(expected, suite_result.results, strict=True):
        cfg = r.expectation_config
        info = r.exception_info or {}
        if info.get("raised_exception"):
            raise ValidationSetupError(
                f"expectation {cfg.type} on {cfg.kwargs.get('column') or cfg.kwargs.get('column_A')} "
                f"({cfg.meta.get('check_id')}) could not run: {info.get('exception_message')}"
            )
        if cfg.meta.get("check_id") != shared.check_id:
            raise ValidationSetupError(
                f"result of {cfg.meta.get('check_id')} where the check table has {shared.check_id}"
            )
        if r.success:
            continue
        rows = list(r.result.get("unexpected_index_list") or [])
        if shared.frame == "agencies":  # suite_expectations hands these rules on as they are
            found.append((position[id(shared)], _rule_meta(shared), rows))
            continue
        by_field: dict[str, list[dict]] = {}
        for row in rows:
            by_field.setdefault(str(row["field"]), []).append({k: v for k, v in row.items() if k != "field"})
        for code, field_rows_ in by_field.items():
            rule = per_field.get((shared.origin, code))
            if rule is None:
                raise ValidationSetupError(
                    f"{shared.check_id}: a failing row of field {code}, which the rule does not cover"
                )
            found.append((position[id(rule)], _rule_meta(rule), field_rows_))
    return [(meta, rows) for _, meta, rows in sorted(found, key=lambda item: item[0])]


def _rule_meta(rule: Rule) -> dict:
    return {
        "check_id": rule.check_id,
        "severity": rule.severity,
        "message_vi": rule.message_vi,
        "fields": list(rule.fields),
        "shows_last_year": rule.shows_last_year,
    }


def issues_from_results(
    suite_result,
    rules: list[Rule],
    frame: pd.DataFrame,
    rubric: Rubric,
    round: int,
    previous: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One issue row per agency × check from a suite result (sub-rules of a check merged into one row).

    ``rules``: the form's rules (:func:`~ictaudit.validate.suites.rules_for_form`) the suite was built of.
    """
    return issues_from_failures(_failures(suite_result, rules), frame, rubric, round, previous)


def issues_from_failures(
    failures: list[tuple[dict, list[str]]],
    frame: pd.DataFrame,
    rubric: Rubric,
    round: int,
    previous: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One issue row per agency × check from (expectation meta, failing agency ids) pairs."""
    yesno = {f.code for f in rubric.fields if f.type == "yesno"}
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for meta, agency_ids in failures:
        for agency_id in agency_ids:
            row = merged.setdefault(
                (agency_id, meta["check_id"]),
                {"severity": meta["severity"], "fields": [], "messages": [], "last_year": meta["shows_last_year"]},
            )
            if meta["severity"] == "E":
                row["severity"] = "E"
            row["fields"] += [f for f in meta["fields"] if f not in row["fields"]]
            if meta["message_vi"] not in row["messages"]:
                row["messages"].append(meta["message_vi"])
    rows = []
    # a merged agency's last-year value is its predecessors' combined (ictaudit.intake.previous)
    combined = set(previous.attrs.get("combined", ())) if previous is not None else set()
    for (agency_id, check_id), row in merged.items():
        parts = []
        for code in row["fields"]:
            text = f"{code}={_fmt(frame.at[agency_id, code], code in yesno)}"
            if row["last_year"] and previous is not None and code in previous and agency_id in previous.index:
                when = "năm trước, cộng các đơn vị trước hợp nhất" if agency_id in combined else "năm trước"
                text += f" ({when}: {_fmt(previous.at[agency_id, code], code in yesno)})"
            parts.append(text)
        rows.append(
            {
                "agency_id": agency_id,
                "check_id": check_id,
                "severity": row["severity"],
                "fields": ";".join(row["fields"]),
                "values": "; ".join(parts),
                "message_vi": " ".join(row["messages"]),
                "round": round,
                "resolved_by": "",
            }
        )
    return sort_issues(pd.DataFrame(rows, columns=ISSUE_COLUMNS))


def sort_issues(issues: pd.DataFrame) -> pd.DataFrame:
    """Issues in the stable order of issues.csv: agency, check, round."""
    out = issues.reindex(columns=ISSUE_COLUMNS).copy()
    out["round"] = out["round"].astype(int)
    out["resolved_by"] = out["resolved_by"].fillna("").astype(str)
    return out.sort_values(["agency_id", "check_id", "round"], kind="mergesort").reset_index(drop=True)


def write_issues_csv(issues: pd.DataFrame, path: Path) -> Path:
    """issues.csv: UTF-8 with BOM (Excel shows Vietnamese right), docs/contracts.md §6 columns, stable order;
    written like every other table (:func:`ictaudit.common.tables.write_csv`: text an agency typed that a
    spreadsheet would run as a formula is guarded, a line break inside a text stays in its cell)."""
    from ictaudit.common.tables import write_csv

    return write_csv(sort_issues(issues), Path(path), ISSUE_COLUMNS)

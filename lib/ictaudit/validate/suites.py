"""The Great Expectations suites, one per form, generated from the check table and the rubric.

Each rule of the check table (:mod:`ictaudit.rules.checks`) becomes one :class:`Rule` per form: a
rule with ``fields`` is one expectation on the *agencies* frame; a rule with ``types`` is one
:class:`Rule` per field it covers (what an issue about that field says) and, for all of them, one
expectation on the *fields* frame (:mod:`ictaudit.validate.frames`). GX 1.x has no row-query
expectation on pandas, so the vocabulary maps onto

- ``le``/``lt``/``ge``/``gt`` against a column: ``ExpectColumnPairValuesAToBeGreaterThanB``
  (``ignore_row_if="either_value_is_missing"``);
- ``le``…``gt``, ``eq`` and ``between`` against amounts: ``ExpectColumnValuesToBeBetween``;
- ``in``: ``ExpectColumnValuesToBeInSet``; ``not_blank``: ``ExpectColumnValuesToNotBeNull``;
- ``when``: a ``row_condition`` (``Column("F04") > 0``); a comparison with a blank is false.

A blank never fails a rule: GX skips nulls in column-map expectations, pairs ignore a row when either
value is missing, and a row condition on a blank is false. Blanks are L25's business.

The suites are committed as ``expectations/<form>.json`` (versioned with the form template and the
check table); regenerate them after changing the check table, the rubric or the template::

    python -m ictaudit.validate.suites [rubric-id]

A run refuses a committed suite whose expectations differ from the ones built (:func:`check_committed_suite`).
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from ictaudit.common.paths import EXPECTATIONS_DIR
from ictaudit.intake.forms import TEMPLATE_VERSION  # the suites are versioned with the form template
from ictaudit.rules.checks import (
    Check,
    CheckRule,
    ChecksError,
    CheckTable,
    Requirement,
    When,
    check_against_rubric,
    shipped_checks,
)
from ictaudit.rules.rubric import FieldSpec, Rubric, load_rubric

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

REGENERATE = "python -m ictaudit.validate.suites"


class ValidationSetupError(RuntimeError):
    """The suites cannot be run as they stand (stale committed suite, an expectation that crashed)."""


@dataclass(frozen=True, eq=False)
class Rule:
    """One rule of the check table for one form — for a rule with ``types``, for one field: what an
    issue says (``fields`` are those the agency is shown) and what GX checks."""

    check_id: str
    severity: Literal["E", "W"]
    fields: tuple[str, ...]
    message_vi: str
    why: str
    requirement: Requirement
    when: When | None
    frame: Literal["agencies", "fields"]
    origin: tuple[str, int]  # the check and the rule's number in it: the per-field rules of one expectation
    summary_vi: str | None = None  # on the fields frame: what the one expectation of all its fields says

    @property
    def gx_severity(self) -> str:
        return "critical" if self.severity == "E" else "warning"

    @property
    def shows_last_year(self) -> bool:
        """An issue of this rule shows last year's value beside this year's (L24 reads the ratio)."""
        return self.requirement.column == "yoy_ratio"


def rules_for_form(rubric: Rubric, form_id: str, checks: CheckTable | None = None) -> list[Rule]:
    """Every rule of the check table for one form, in check-id order (a check's rules in table order;
    the per-field rules of a check field by field, in form order).

    Raises :class:`~ictaudit.rules.checks.ChecksError` when the table names fields or forms the
    rubric does not have.
    """
    checks = checks or shipped_checks()
    specs = rubric.fields_for_form(form_id)
    if not specs:
        raise KeyError(f"rubric {rubric.id} has no fields for form {form_id!r}")
    if problems := check_against_rubric(checks, rubric):
        raise ChecksError(f"(check table v{checks.version} against rubric {rubric.id})", problems)
    own = [check for check in checks.checks if form_id in check.forms]
    per_agency = [
        _agency_rule(checks, check, n, rule)
        for check in own
        for n, rule in enumerate(check.rules, start=1)
        if rule.frame == "agencies"
    ]
    return sorted(_per_field_rules(checks, own, specs) + per_agency, key=lambda r: r.check_id)  # stable


def _agency_rule(checks: CheckTable, check: Check, n: int, rule: CheckRule) -> Rule:
    return Rule(
        check.id, check.severity, rule.fields, checks.message(rule.message_vi), rule.why,
        checks.requirement(rule), checks.when(rule), "agencies", (check.id, n),
    )  # fmt: skip


def _per_field_rules(checks: CheckTable, own: list[Check], specs: tuple[FieldSpec, ...]) -> list[Rule]:
    """The rules with types, one :class:`Rule` per field each covers: field by field in form order,
    a field's rules in table order."""
    shared = []  # what the per-field rules of one table rule share
    for check in own:
        for n, rule in enumerate(check.rules, start=1):
            if rule.frame == "fields":
                when = When("required", "==", 1) if rule.required_only else None
                common = Rule(
                    check.id, check.severity, (), rule.message_vi, rule.why, checks.requirement(rule), when,
                    "fields", (check.id, n), checks.message(rule.summary_vi),
                )  # fmt: skip
                shared.append((rule, common))
    return [
        replace(
            common,
            fields=(spec.code,),
            message_vi=checks.message(rule.message_vi, name=f"{spec.label_vi} ({spec.code})"),
        )
        for spec in specs
        for rule, common in shared
        if spec.type in rule.types and (spec.required or not rule.required_only)
    ]


def suite_expectations(rules: list[Rule]) -> list[Rule]:
    """The rules as they become expectations, in suite order: a rule on the agencies frame is one
    expectation; the per-field rules of one table rule make one expectation on the fields frame,
    where the first of them stands, naming all their fields (and its summary as message).
    """
    out: list[Rule] = []
    shared: dict[tuple[str, int], int] = {}
    for rule in rules:
        if rule.frame == "agencies":
            out.append(rule)
        elif rule.origin not in shared:
            shared[rule.origin] = len(out)
            out.append(replace(rule, message_vi=rule.summary_vi))
        else:
            at = shared[rule.origin]
            out[at] = replace(out[at], fields=out[at].fields + rule.fields)
    return out


# -- GX ------------------------------------------------------------------------------------------

#: ``A op B`` between two columns as GX's "A greater than B": (A, B swapped?, or equal?)
_PAIR = {"le": (True, True), "lt": (True, False), "ge": (False, True), "gt": (False, False)}


def _row_condition(when: When):
    """``F07 == 1`` as a GX row condition object (``Column("F07") == 1``).

    GX 1.9+ deprecates string conditions with ``condition_parser="pandas"``; the pandas engine turns
    these objects into the same ``DataFrame.query`` filter.
    """
    from great_expectations.expectations.row_conditions import Column

    column, number = Column(when.column), when.number
    number = int(number) if float(number).is_integer() else number
    return {
        "==": column.__eq__, "!=": column.__ne__, ">=": column.__ge__, "<=": column.__le__,
        ">": column.__gt__, "<": column.__lt__,
    }[when.op](number)  # fmt: skip


def _bounds(requirement: Requirement) -> dict[str, Any]:
    """ExpectColumnValuesToBeBetween's bounds for ``le``…``gt``, ``eq`` and ``between`` on amounts."""
    op, amounts = requirement.op, requirement.amounts
    if op == "between":
        return {"min_value": amounts[0], "max_value": amounts[1]}
    if op == "eq":
        return {"min_value": amounts[0], "max_value": amounts[0]}
    bound = {"le": "max_value", "lt": "max_value", "ge": "min_value", "gt": "min_value"}[op]
    strict = {"lt": {"strict_max": True}, "gt": {"strict_min": True}}.get(op, {})
    return {bound: amounts[0], **strict}


def _expectation(rule: Rule):
    import great_expectations.expectations as gxe

    common: dict[str, Any] = {
        "meta": {
            "check_id": rule.check_id,
            "severity": rule.severity,
            "message_vi": rule.message_vi,
            "fields": list(rule.fields),
            "why": rule.why,
            **({"frame": "fields"} if rule.frame == "fields" else {}),
        },
        "description": f"{rule.check_id} ({'lỗi' if rule.severity == 'E' else 'cảnh báo'}): {rule.message_vi}",
        "severity": rule.gx_severity,
    }
    if rule.when is not None:
        common["row_condition"] = _row_condition(rule.when)
    requirement = rule.requirement
    if requirement.other is not None:
        swapped, or_equal = _PAIR[requirement.op]
        a, b = (requirement.other, requirement.column) if swapped else (requirement.column, requirement.other)
        return gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A=a, column_B=b, or_equal=or_equal, ignore_row_if="either_value_is_missing", **common
        )
    if requirement.op == "in":
        return gxe.ExpectColumnValuesToBeInSet(column=requirement.column, value_set=list(requirement.amounts), **common)
    if requirement.op == "not_blank":
        return gxe.ExpectColumnValuesToNotBeNull(column=requirement.column, **common)
    return gxe.ExpectColumnValuesToBeBetween(column=requirement.column, **_bounds(requirement), **common)


def suite_name(form_id: str) -> str:
    return f"ictaudit_{form_id}"


def build_suite(rubric: Rubric, form_id: str, checks: CheckTable | None = None):
    """The GX ExpectationSuite of one form, from the rubric's field catalogue and the check table."""
    import great_expectations as gx

    checks = checks or shipped_checks()
    rules = rules_for_form(rubric, form_id, checks)
    return gx.ExpectationSuite(
        name=suite_name(form_id),
        expectations=[_expectation(rule) for rule in suite_expectations(rules)],
        meta={
            "form": form_id,
            "rubric_id": rubric.id,
            "rubric_version": rubric.version,
            "template_version": TEMPLATE_VERSION,
            "checks_version": checks.version,
            "generated_by": "ictaudit.validate.suites.build_suite from ictaudit/rules/checks.yaml",
            "checks": sorted({r.check_id for r in rules}),
            "parameters": checks.parameter_values,
            "derived": checks.derived,
            "not_in_suite": {c.id: c.note_vi for c in checks.outside_the_suites},
            "frames": {
                "agencies": "one row per agency: the form's fields and the derived columns of the check table "
                "(ictaudit.validate.frames.derive_columns)",
                "fields": "one row per agency × field (ictaudit.validate.frames.field_rows); the expectations whose "
                "meta.frame is 'fields' check every field of a type at once",
            },
            "notes": "Blank values never fail a cross-field rule (L25 reports them). The two frames are "
            "validated separately, each against the expectations written for it.",
        },
    )


def suite_json(suite) -> dict:
    """The suite as the plain JSON dict that is committed (no ids: they are assigned by a context)."""
    return json.loads(json.dumps(suite.to_json_dict(), ensure_ascii=False, sort_keys=True))


def suite_path(form_id: str, directory: Path = EXPECTATIONS_DIR) -> Path:
    return Path(directory) / f"{form_id}.json"


def write_suites(rubric: Rubric, directory: Path = EXPECTATIONS_DIR, checks: CheckTable | None = None) -> list[Path]:
    """Write ``<form>.json`` for every form of the rubric (UTF-8, sorted keys, stable bytes)."""
    paths = []
    for form in rubric.forms:
        path = suite_path(form.id, directory)
        path.parent.mkdir(parents=True, exist_ok=True)
        built = suite_json(build_suite(rubric, form.id, checks))
        path.write_text(json.dumps(built, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        paths.append(path)
    return paths


def check_committed_suite(rubric: Rubric, form_id: str, suite, directory: Path = EXPECTATIONS_DIR) -> None:
    """Refuse to run when ``<directory>/<form>.json`` of this rubric has other checks than the ones built.

    The committed suite is what the manifest hashes; running other checks would break the audit trail.
    Other checks: other expectations, parameters or derived columns (an expectation names a derived
    column; the meta holds its arithmetic). Any other difference in the meta (a new rubric version
    with the same fields) is a warning.
    """
    path = suite_path(form_id, directory)
    if not path.exists():
        return
    committed = json.loads(path.read_text(encoding="utf-8"))
    if committed.get("meta", {}).get("rubric_id") != rubric.id:
        return  # the committed suite belongs to another rubric; this run uses its own, built from the rubric
    built = suite_json(suite)
    if committed == built:
        return
    if _what_is_checked(committed) == _what_is_checked(built):  # e.g. only rubric_version moved on
        changed = sorted(k for k in built["meta"] if committed["meta"].get(k) != built["meta"][k])
        warnings.warn(
            f"{path}: same checks, but its meta differs in {', '.join(changed)}; regenerate it with "
            f"`{REGENERATE}` and commit it so the manifest records the current version",
            stacklevel=3,
        )
        return
    raise ValidationSetupError(
        f"{path} is out of date: its checks differ from the suite built from rubric {rubric.id} "
        f"v{rubric.version} and the check table (ictaudit/rules/checks.yaml). Regenerate it with "
        f"`{REGENERATE}` and commit it."
    )


def _what_is_checked(suite_json: dict) -> tuple:
    meta = suite_json.get("meta", {})
    return suite_json.get("expectations"), meta.get("parameters"), meta.get("derived")


if __name__ == "__main__":  # python -m ictaudit.validate.suites [rubric-id]
    import sys

    for p in write_suites(load_rubric(sys.argv[1] if len(sys.argv) > 1 else "caobang-2310-2016")):
        print(p)

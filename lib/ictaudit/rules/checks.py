"""The logic checks of docs/domain.md §5 as data: ``checks.yaml`` beside this module, loaded into frozen models.

The table holds, per check, its id, severity (``E`` blocks scoring of the values involved until the
agency confirms or corrects them; ``W`` asks the agency to explain), the forms it applies to, its
reference, and its rules: each rule one condition in a small vocabulary (``le: [F02, F01]``,
``between``, ``in``, ``not_blank``, optionally ``when: "F04 > 0"``), the fields it shows, the
Vietnamese message and why it exists. Thresholds are named parameters; derived columns
(``F29_F30: F29 + F30``) are declared expressions (:mod:`ictaudit.rules.expressions`). Loading checks
the table and names every offender::

    checks = load_checks()                         # the shipped table (rules/checks.yaml)
    problems = check_against_rubric(checks, rubric)  # fields, forms: [] when they all exist

Validation (:mod:`ictaudit.validate.suites`) turns the table into the Great Expectations suites.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field

from ictaudit.common.numfmt import fmt_value
from ictaudit.rules.expressions import (
    Condition,
    Expression,
    ExpressionError,
    evaluate,
    parse_condition,
    parse_expression,
)
from ictaudit.rules.files import Frozen, RulesFileError, read_mapping, validated
from ictaudit.rules.rubric import FieldType, Rubric

CHECKS_PATH = Path(__file__).with_name("checks.yaml")

Severity = Literal["E", "W"]
#: the conditions of the vocabulary; ``le`` … ``gt`` compare with a column or an amount
COMPARE_OPS = ("le", "lt", "ge", "gt")
CONDITION_OPS = (*COMPARE_OPS, "eq", "between", "in", "not_blank")

#: the fields frame, one row per agency × field: what rules with ``types`` read (docs/checks.md)
FIELD_ROW_COLUMNS = ["field", "value", "count", "count_fraction", "decimal", "yesno", "yoy_ratio", "required"]
#: parameters the fields frame itself reads (not a rule): the table must declare them
FRAME_PARAMETERS = {"yoy_min_base": "the fields frame computes yoy_ratio only from this count on"}

_CHECK_ID = re.compile(r"^L\d{2}$")
_PARAMETER_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_DERIVED_NAME = re.compile(r"^[A-Z][A-Za-z0-9]*_\w+$")  # F29_F30: a field code never has a "_"


class ChecksError(RulesFileError):
    """A check table that cannot be used; ``problems`` lists every offence found."""

    kind = "check table"


class Parameter(Frozen):
    value: int | float
    unit: str = ""
    note: str


class CheckRule(Frozen):
    """One rule of a check: one condition, the fields it shows (or the field types it covers), the texts."""

    le: tuple[str | float, str | float] | None = None
    lt: tuple[str | float, str | float] | None = None
    ge: tuple[str | float, str | float] | None = None
    gt: tuple[str | float, str | float] | None = None
    eq: tuple[str, str | float] | None = None
    between: tuple[str, str | float, str | float] | None = None
    in_: tuple[str, tuple[float, ...]] | None = Field(None, alias="in")
    not_blank: str | None = None
    when: str | None = None
    fields: tuple[str, ...] | None = None  # a rule on the agencies frame: the fields shown to the agency
    types: tuple[FieldType, ...] | None = None  # a rule on the fields frame: every field of these types
    required_only: bool = False  # with types: the rubric's required fields only
    message_vi: str  # with types, {name} is the field's label and code
    summary_vi: str | None = None  # with types: what the one expectation for all those fields says
    why: str

    @property
    def ops(self) -> list[str]:
        return [op for op in CONDITION_OPS if getattr(self, "in_" if op == "in" else op) is not None]

    @property
    def operands(self) -> tuple:
        (op,) = self.ops
        value = getattr(self, "in_" if op == "in" else op)
        return (value,) if op == "not_blank" else tuple(value)

    @property
    def frame(self) -> Literal["agencies", "fields"]:
        return "fields" if self.types is not None else "agencies"


class Check(Frozen):
    id: str
    severity: Severity
    forms: tuple[str, ...]
    reference: str
    rules: tuple[CheckRule, ...]


class OutsideCheck(Frozen):
    """A check of docs/domain.md §5 that is not about values (L26), so in no suite."""

    id: str
    severity: Severity
    checked_by: str
    reference: str
    note_vi: str


@dataclass(frozen=True)
class Requirement:
    """What a rule requires of each row, with every amount computed: ``column op other``.

    ``op`` is one of :data:`CONDITION_OPS`; ``other`` is another column (``le``…``gt`` against a
    column), or the amounts: one for ``le``…``eq``, two for ``between``, the set for ``in``.
    """

    op: str
    column: str
    other: str | None = None
    amounts: tuple[float, ...] = ()


@dataclass(frozen=True)
class When:
    """A rule's ``when``, its amount computed: ``column op number``."""

    column: str
    op: str
    number: float


class CheckTable(Frozen):
    version: str
    reference: str
    parameters: dict[str, Parameter]
    derived: dict[str, str]
    checks: tuple[Check, ...]
    outside_the_suites: tuple[OutsideCheck, ...] = ()

    # -- what the rules mean (valid once check_table found nothing) ------------------------------
    @cached_property
    def derived_expressions(self) -> dict[str, Expression]:
        return {name: parse_expression(text) for name, text in self.derived.items()}

    def amount(self, operand: str | float) -> float:
        """A number, a parameter or arithmetic of them, computed."""
        return evaluate(parse_expression(operand), lambda name: self.parameters[name].value)

    def is_column(self, operand: str | float) -> bool:
        """A field code, a derived column or a fields-frame column (a lower-case name is a parameter)."""
        if not isinstance(operand, str) or not operand.isidentifier():
            return False
        return operand in FIELD_ROW_COLUMNS or not _PARAMETER_NAME.match(operand)

    def requirement(self, rule: CheckRule) -> Requirement:
        (op,) = rule.ops
        column, *rest = rule.operands
        if op == "not_blank":
            return Requirement(op, column)
        if op == "in":
            return Requirement(op, column, amounts=tuple(float(v) for v in rest[0]))
        if op in COMPARE_OPS and self.is_column(rest[0]):
            return Requirement(op, column, other=rest[0])
        return Requirement(op, column, amounts=tuple(self.amount(x) for x in rest))

    def when(self, rule: CheckRule) -> When | None:
        if rule.when is None:
            return None
        condition = parse_condition(rule.when)
        return When(condition.column, condition.op, self.amount(condition.amount.text))

    def columns_read(self, rule: CheckRule) -> list[str]:
        """The columns a rule reads, in reading order: its ``when``'s, then its condition's."""
        requirement = self.requirement(rule)
        out = [parse_condition(rule.when).column] if rule.when else []
        out += [requirement.column] + ([requirement.other] if requirement.other else [])
        return list(dict.fromkeys(out))

    def fields_read(self, rule: CheckRule) -> list[str]:
        """The form fields a rule reads: its columns, each derived column replaced by its fields."""
        out: list[str] = []
        for column in self.columns_read(rule):
            if column in self.derived:
                out += [n for n in _names(self.derived[column]) if n not in self.parameters]
            else:
                out.append(column)
        return list(dict.fromkeys(out))

    def message(self, template: str, **names: str) -> str:
        """A message with its parameters' values (``{p}`` → 0,05, ``{p:%}`` → 50%) and ``names`` filled in."""
        return _MESSAGE_FORMAT.vformat(template, (), {**self.parameter_values, **names})

    @property
    def parameter_values(self) -> dict[str, int | float]:
        return {name: p.value for name, p in self.parameters.items()}


class _MessageFormatter(string.Formatter):
    """Numbers as a Vietnamese reader writes them: ``0,05``, ``3``; ``:%`` as a percentage: ``50%``."""

    def format_field(self, value, format_spec: str) -> str:
        if isinstance(value, str):
            return value
        return fmt_value(value * 100) + "%" if format_spec == "%" else fmt_value(value)


_MESSAGE_FORMAT = _MessageFormatter()


# -- loading ---------------------------------------------------------------------------------


def load_checks(path: Path | str = CHECKS_PATH, rubric: Rubric | None = None) -> CheckTable:
    """Load and check a check table; with ``rubric``, also against its fields and forms.

    Raises :class:`ChecksError` naming every offence.
    """
    source = str(path)
    data = read_mapping(Path(path), ChecksError)
    table = validated(CheckTable, data, source, ChecksError, _where)
    problems = check_table(table)
    if not problems and rubric is not None:
        problems = check_against_rubric(table, rubric)
    if problems:
        raise ChecksError(source, problems)
    return table


@cache
def shipped_checks() -> CheckTable:
    """The shipped table (``rules/checks.yaml``), loaded once per process (the models are frozen)."""
    return load_checks(CHECKS_PATH)


def _where(data: dict, loc: tuple) -> str:
    """A pydantic error location in the table's own words: ``check L05.rule 2.le``."""
    parts: list[str] = []
    node = data
    for key in loc:
        node = node[key] if isinstance(node, dict | list) and _has(node, key) else None
        if isinstance(key, int) and parts:
            what = _SINGULAR.get(parts[-1], parts[-1])
            parts[-1] = f"{what} {node['id']}" if isinstance(node, dict) and "id" in node else f"{what} {key + 1}"
        else:
            parts.append(str(key))
    return ".".join(parts) or "(top level)"


_SINGULAR = {"checks": "check", "rules": "rule", "outside_the_suites": "outside check"}


def _has(node: dict | list, key) -> bool:
    return key in node if isinstance(node, dict) else isinstance(key, int) and 0 <= key < len(node)


# -- checks on load --------------------------------------------------------------------------


def check_table(table: CheckTable) -> list[str]:
    """Every invariant of the table itself; the problems, each naming its check, rule or name."""
    problems = _check_names(table)
    for name, text in table.derived.items():
        problems += _check_derived(table, name, text)
    for check in table.checks:
        frames = {rule.frame for rule in check.rules}
        if len(frames) > 1:
            problems.append(f"check {check.id}: rules with fields and rules with types cannot share a check")
        for n, rule in enumerate(check.rules, start=1):
            problems += [f"check {check.id} rule {n}: {p}" for p in _check_rule(table, rule)]
    used = _parameters_used(table)
    if unused := sorted(set(table.parameters) - used):
        problems.append(f"parameters used by no rule: {', '.join(unused)}")
    if missing := sorted(set(FRAME_PARAMETERS) - set(table.parameters)):
        problems.append(f"missing parameters: {', '.join(f'{m} ({FRAME_PARAMETERS[m]})' for m in missing)}")
    return problems


def _check_names(table: CheckTable) -> list[str]:
    problems = []
    ids = [c.id for c in table.checks] + [c.id for c in table.outside_the_suites]
    if duplicate := sorted(i for i, n in Counter(ids).items() if n > 1):
        problems.append(f"duplicate check ids: {', '.join(duplicate)}")
    if malformed := [i for i in ids if not _CHECK_ID.match(i)]:
        problems.append(f"check ids must read L and two digits (L01): {', '.join(malformed)}")
    if bad := [p for p in table.parameters if not _PARAMETER_NAME.match(p)]:
        problems.append(f"parameter names must be lower case (a-z, 0-9, _): {', '.join(bad)}")
    if bad := [d for d in table.derived if not _DERIVED_NAME.match(d)]:
        problems.append(f"derived column names start like a field code and hold a '_' (F29_F30): {', '.join(bad)}")
    if clash := sorted(set(table.parameters) & set(FIELD_ROW_COLUMNS)):
        problems.append(f"parameters named like a column of the fields frame: {', '.join(clash)}")
    return problems


def _check_derived(table: CheckTable, name: str, text: str) -> list[str]:
    try:
        expression = parse_expression(text)
    except ExpressionError as exc:
        return [f"derived column {name}: {exc}"]
    problems = []
    if unknown := [n for n in expression.names if _PARAMETER_NAME.match(n) and n not in table.parameters]:
        problems.append(f"derived column {name}: unknown parameters {', '.join(unknown)}")
    if nested := [n for n in expression.names if n in table.derived]:
        problems.append(f"derived column {name}: reads derived columns {', '.join(nested)}; read their fields")
    return problems


def _check_rule(table: CheckTable, rule: CheckRule) -> list[str]:
    """The problems of one rule (its check and number are added by the caller)."""
    if len(rule.ops) != 1:
        return [f"needs exactly one condition of {', '.join(CONDITION_OPS)}; has {', '.join(rule.ops) or 'none'}"]
    if (rule.fields is None) == (rule.types is None):
        return ["needs either fields (one row per agency) or types (one row per agency × field), not both"]
    problems = _check_operands(table, rule)
    if rule.when is not None:
        problems += _check_when(table, rule)
    problems += _check_texts(table, rule)
    if problems:
        return problems
    if rule.frame == "fields":
        if rule.when is not None:
            problems.append("a rule with types takes no when (required_only selects the required fields)")
        if rule.summary_vi is None:
            problems.append("a rule with types needs summary_vi (what its one expectation says)")
    else:
        if rule.required_only or rule.summary_vi is not None:
            problems.append("required_only and summary_vi belong to rules with types")
        read = table.fields_read(rule)
        if any(_check_derived(table, c, table.derived[c]) for c in table.columns_read(rule) if c in table.derived):
            return problems  # its derived column is reported; what it reads is not known
        if sorted(rule.fields) != sorted(read) or len(set(rule.fields)) < len(rule.fields):
            problems.append(f"fields [{', '.join(rule.fields)}] are not the fields it reads [{', '.join(read)}]")
    return problems


def _check_operands(table: CheckTable, rule: CheckRule) -> list[str]:
    (op,) = rule.ops
    column, *rest = rule.operands
    problems = []
    if rule.frame == "fields" and column not in FIELD_ROW_COLUMNS:
        problems.append(f"{op}: {column!r} is not a column of the fields frame ({', '.join(FIELD_ROW_COLUMNS[1:])})")
    elif not table.is_column(column):
        problems.append(f"{op}: {column!r} must be a column (a field code or a derived column)")
    elif rule.frame == "agencies" and column in FIELD_ROW_COLUMNS:
        problems.append(f"{op}: {column} is a column of the fields frame; this rule has fields, not types")
    columns = [column] + ([rest[0]] if op in COMPARE_OPS and table.is_column(rest[0]) else [])
    if unknown := [c for c in columns if _undeclared_derived(table, c)]:
        problems.append(f"{op}: unknown derived columns {', '.join(unknown)}")
    if op == "in" or len(columns) > 1:
        if op in COMPARE_OPS and rule.frame == "fields":
            problems.append(f"{op}: a rule with types compares with an amount, not with column {rest[0]}")
        return problems
    for operand in rest:
        problems += [f"{op}: {p}" for p in _check_amount(table, operand)]
    return problems


def _check_amount(table: CheckTable, operand: str | float) -> list[str]:
    try:
        expression = parse_expression(operand)
    except ExpressionError as exc:
        return [str(exc)]
    if unknown := [n for n in expression.names if n not in table.parameters]:
        return [f"unknown parameters {', '.join(unknown)} in amount {operand!r}"]
    value = table.amount(operand)
    return [] if value == value else [f"amount {operand!r} divides by a value ≤ 0"]


def _check_when(table: CheckTable, rule: CheckRule) -> list[str]:
    try:
        condition: Condition = parse_condition(rule.when)
    except ExpressionError as exc:
        return [f"when: {exc}"]
    problems = []
    if not table.is_column(condition.column) or condition.column in FIELD_ROW_COLUMNS:
        problems.append(f"when: {condition.column!r} must be a field code or a derived column")
    elif _undeclared_derived(table, condition.column):
        problems.append(f"when: unknown derived column {condition.column}")
    return problems + [f"when: {p}" for p in _check_amount(table, condition.amount.text)]


def _undeclared_derived(table: CheckTable, column: str) -> bool:
    """A name shaped like a derived column (``F29_F30``) that the table does not declare."""
    return bool(_DERIVED_NAME.match(column)) and column not in table.derived


def _check_texts(table: CheckTable, rule: CheckRule) -> list[str]:
    problems = []
    allowed = set(table.parameters) | ({"name"} if rule.frame == "fields" else set())
    for key in ("message_vi", "summary_vi"):
        text = getattr(rule, key)
        if text is None:
            continue
        try:
            fields = [(name, spec) for _, name, spec, _ in string.Formatter().parse(text) if name is not None]
        except ValueError as exc:
            problems.append(f"{key}: {exc}")
            continue
        if unknown := [name for name, _ in fields if name not in allowed or (key == "summary_vi" and name == "name")]:
            problems.append(f"{key}: unknown placeholders {', '.join('{' + n + '}' for n in unknown)}")
        if bad := [spec for _, spec in fields if spec not in ("", "%")]:
            problems.append(f"{key}: a placeholder takes no format or ':%', not {', '.join(map(repr, bad))}")
    return problems


def _parameters_used(table: CheckTable) -> set[str]:
    """Parameters a derived column, an amount, a when or a message reads, and those the frames read."""
    used = set(FRAME_PARAMETERS)
    for text in table.derived.values():
        used.update(_names(text))
    for rule in (r for c in table.checks for r in c.rules):
        for operand in rule.operands[1:] if len(rule.ops) == 1 else ():
            used.update(_names(operand) if not isinstance(operand, tuple) else ())
        if rule.when is not None:
            used.update(_names(_CONDITION_AMOUNT.sub("", rule.when)))
        for message in filter(None, (rule.message_vi, rule.summary_vi)):
            used.update(_placeholders(message))
    return used & set(table.parameters)


_CONDITION_AMOUNT = re.compile(r"^.*?(==|!=|>=|<=|=|>|<)")  # what precedes a condition's amount


def _names(text: str | float) -> tuple[str, ...]:
    """The names an expression reads; none when it is not one (check_table reports that)."""
    try:
        return parse_expression(text).names
    except ExpressionError:
        return ()


def _placeholders(message: str) -> list[str]:
    try:
        return [name for _, name, _, _ in string.Formatter().parse(message) if name]
    except ValueError:
        return []


# -- against a rubric -------------------------------------------------------------------------


def check_against_rubric(table: CheckTable, rubric: Rubric) -> list[str]:
    """The table's forms and fields that the rubric does not have; [] when the two fit."""
    problems = []
    forms = {f.id for f in rubric.forms}
    codes = {form: {s.code for s in rubric.fields_for_form(form)} for form in forms}
    for check in table.checks:
        if unknown := [f for f in check.forms if f not in forms]:
            problems.append(f"check {check.id}: forms {', '.join(unknown)} are not forms of rubric {rubric.id}")
        for n, rule in enumerate(check.rules, start=1):
            if rule.frame == "fields":
                continue
            missing: dict[tuple[str, ...], list[str]] = {}  # the fields missing, by the forms they miss on
            for field in table.fields_read(rule):
                if lacking := tuple(f for f in check.forms if f in forms and field not in codes[f]):
                    missing.setdefault(lacking, []).append(field)
            for lacking, fields in missing.items():
                problems.append(
                    f"check {check.id} rule {n}: {', '.join(fields)} not on form {', '.join(lacking)} of rubric "
                    f"{rubric.id} (nor a derived column)"
                )
    for name, expression in table.derived_expressions.items():
        fields = [n for n in expression.names if n not in table.parameters]
        if unknown := [f for f in fields if f not in rubric.field_by_code]:
            problems.append(f"derived column {name}: {', '.join(unknown)} not fields of rubric {rubric.id}")
    return problems

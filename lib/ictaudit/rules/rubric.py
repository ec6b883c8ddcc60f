"""The rubric: a provincial scale as versioned data, loaded into frozen models.

A rubric file (``rubrics/<id>.yaml``) holds the groups and their forms, the field catalogue, the
criteria with their indicators (kind, inputs, per-group maxima and parameters, source), the bands
and the ranking rule. A derived rubric (``base: <id>``) holds only what differs from its base
(:func:`derived_rubric_data` says how a change is read). Loading checks every invariant and names
the offenders and the file::

    rubric = load_rubric("caobang-2310-2016")
    for criterion, indicators in rubric.scale("so_ban_nganh"):
        ...
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field

from ictaudit.common.paths import RUBRICS_DIR
from ictaudit.rules import kinds as kinds_mod
from ictaudit.rules.files import Frozen, RulesFileError, read_mapping, validated

FieldType = Literal["count", "decimal", "yesno"]
ComparisonOp = Literal[">", ">=", "<", "<=", "=", "!="]


class RubricError(RulesFileError):
    """A rubric file that cannot be used; ``problems`` lists every offence found."""

    kind = "rubric"


#: the unit that declares a field a percentage (docs/contracts.md §5)
PERCENT_UNIT = "%"


class FieldSpec(Frozen):
    code: str
    label_vi: str
    label_en: str
    unit_vi: str
    unit_en: str
    type: FieldType
    required: bool
    forms: tuple[str, ...]

    @property
    def percent(self) -> bool:
        """A percentage field (its unit is ``%``): the agency types 85 for 85 %, and a cell formatted as a
        percentage is read as the percentage it shows (0.85 stored, shown 85 %, read 85)."""
        return self.unit_vi.strip() == PERCENT_UNIT


class GroupSpec(Frozen):
    id: str
    form: str
    label_vi: str
    label_en: str
    max_points: float


class FormSpec(Frozen):
    id: str
    label_vi: str
    label_en: str


class Band(Frozen):
    id: str
    label_vi: str
    label_en: str
    min_score: float


class RankingRule(Frozen):
    on: Literal["score_100"] = "score_100"
    decimals: int = Field(2, ge=0, le=6)
    ties: Literal["competition"] = "competition"
    tie_breaker: Literal["none"] = "none"


class ChecklistItem(Frozen):
    """One item of a checklist: a yes/no field, or a condition such as ``F39 > 0``."""

    field: str
    op: ComparisonOp | None = None
    value: float | None = None
    points: float


class Tier(Frozen):
    at_least: float
    points: float


class IndicatorGroupParams(Frozen):
    """What an indicator is worth in one group, and the parameters that differ per group."""

    max_points: float
    items: tuple[ChecklistItem, ...] | None = None  # checklist
    tiers: tuple[Tier, ...] | None = None  # tiers
    per_item: float | None = None  # count_capped


class IndicatorSpec(Frozen):
    id: str
    label_vi: str
    label_en: str
    kind: str
    source: str
    num: tuple[str, ...] | None = None  # ratio, ratio_to_best
    den: tuple[str, ...] | None = None
    na_when_zero: bool = False
    field: str | None = None  # count_capped, tiers
    items: tuple[str, ...] | None = None  # share_of_items
    groups: dict[str, IndicatorGroupParams]


class CriterionSpec(Frozen):
    id: str
    label_vi: str
    label_en: str
    max_points: dict[str, float]
    indicators: tuple[IndicatorSpec, ...]


class Rubric(Frozen):
    id: str
    version: str
    title_vi: str
    title_en: str
    legal_reference_vi: str
    status: Literal["official", "reconstructed"]
    notice_vi: str = ""
    notice_en: str = ""
    years: tuple[int, ...]
    groups: tuple[GroupSpec, ...]
    forms: tuple[FormSpec, ...]
    bands: tuple[Band, ...]
    ranking: RankingRule
    fields: tuple[FieldSpec, ...]
    criteria: tuple[CriterionSpec, ...]

    # -- lookups -------------------------------------------------------------------------------
    def group(self, group_id: str) -> GroupSpec:
        for g in self.groups:
            if g.id == group_id:
                return g
        raise KeyError(f"rubric {self.id} has no group {group_id!r}; groups: {self.group_ids}")

    @property
    def group_ids(self) -> tuple[str, ...]:
        return tuple(g.id for g in self.groups)

    def form_of(self, group_id: str) -> str:
        return self.group(group_id).form

    def fields_for_form(self, form_id: str) -> tuple[FieldSpec, ...]:
        """The fields of one form, in catalogue order (the order the form shows them)."""
        return tuple(f for f in self.fields if form_id in f.forms)

    @cached_property
    def field_by_code(self) -> dict[str, FieldSpec]:
        return {f.code: f for f in self.fields}

    def criteria_for(self, group_id: str) -> tuple[CriterionSpec, ...]:
        return tuple(c for c in self.criteria if group_id in c.max_points)

    def scale(self, group_id: str) -> list[tuple[CriterionSpec, list[kinds_mod.IndicatorKind]]]:
        """The group's criteria with their indicators built as kind objects, in rubric order."""
        return self._scales[group_id]

    def indicators(self, group_id: str) -> Iterator[tuple[CriterionSpec, kinds_mod.IndicatorKind]]:
        for criterion, indicators in self.scale(group_id):
            for indicator in indicators:
                yield criterion, indicator

    @cached_property
    def _scales(self) -> dict[str, list[tuple[CriterionSpec, list[kinds_mod.IndicatorKind]]]]:
        out = {}
        for g in self.groups:
            out[g.id] = [
                (c, [kinds_mod.build(ind, ind.groups[g.id]) for ind in c.indicators if g.id in ind.groups])
                for c in self.criteria_for(g.id)
            ]
        return out

    def band_for(self, score_100: float) -> Band | None:
        """The band of a (published, already rounded) score; None for a missing score."""
        if score_100 is None or (isinstance(score_100, float) and math.isnan(score_100)):
            return None
        for band in self.bands:
            if score_100 >= band.min_score:
                return band
        return self.bands[-1]


# -- loading ---------------------------------------------------------------------------------


def rubric_path(rubric: str | Path) -> Path:
    """A rubric id (``caobang-2310-2016``) or a path to a YAML file, as a path."""
    p = Path(rubric)
    if p.suffix in (".yaml", ".yml") or p.exists():
        return p
    return RUBRICS_DIR / f"{rubric}.yaml"


#: PyYAML's safe loader on LibYAML when the installed PyYAML has it: the same documents and errors
#: (the same constructor and resolver), ~10× faster. The rubric is parsed by the command and by
#: every notebook, twice each (the cycle checks its rubric too): ~0.1 s a time in pure Python.


def load_rubric(rubric: str | Path) -> Rubric:
    """Load and check a rubric by id or path; raise :class:`RubricError` naming every offence.

    A file with ``base:`` is a derived rubric: its base with this file's changes merged in
    (:func:`derived_rubric_data`); the result is checked like any rubric, its errors naming this file.
    """
    path = rubric_path(rubric)
    source = str(path)
    data = _read_rubric_file(path)
    if "base" in data:
        data = derived_rubric_data(path, data)
    model = validated(Rubric, data, source, RubricError, _describe_location)
    problems = check_rubric(model)
    if problems:
        raise RubricError(source, problems)
    return model


def _read_rubric_file(path: Path) -> dict:
    """The mapping a rubric file holds, or :class:`RubricError` saying why it cannot be read."""
    return read_mapping(path, RubricError)


# -- derived rubrics: a base and what changes ---------------------------------------------------

#: the lists a derived rubric changes entry by entry, with the key that names an entry and its name
KEYED_LISTS = {
    "groups": ("id", "group"), "forms": ("id", "form"), "bands": ("id", "band"), "fields": ("code", "field"),
    "criteria": ("id", "criterion"), "indicators": ("id", "indicator"),
}  # fmt: skip
_RUBRIC_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def derived_rubric_data(path: Path, data: dict) -> dict:
    """The data of the rubric ``data`` (read from ``path``) derives from its ``base:``, with its changes merged in.

    How a change is read: a list of things with an id (groups, forms, bands, criteria, a criterion's
    indicators) or a code (fields) is changed entry by entry, each entry naming by its id or code one
    the base has; inside an entry, and in any other mapping (``ranking``, an indicator's ``groups``,
    a criterion's ``max_points``), only the keys written change; any other value — a number, a text,
    a list such as a checklist's ``items``, the ``tiers``, ``num`` — replaces the base's value whole.
    The base is the file ``<base>.yaml`` beside this one and must be a valid, complete rubric (not
    derived itself); the derived rubric has an id of its own. Raises :class:`RubricError` naming
    every offence: a base that is missing, derived or broken, a change to an id the base lacks, an
    entry that names no id, an id changed twice.
    """
    source, base_id = str(path), data["base"]
    if not isinstance(base_id, str) or not _RUBRIC_ID.fullmatch(base_id) or base_id.endswith((".yaml", ".yml")):
        raise RubricError(source, [f"base: {base_id!r} is not a rubric id; give the id of a rubric file beside this one"])
    base_file = path.parent / f"{base_id}.yaml"
    if not base_file.is_file():
        raise RubricError(source, [f"base {base_id}: there is no rubric file {base_file.name} beside this one"])
    base = _read_rubric_file(base_file)
    if "base" in base:
        raise RubricError(
            source, [f"base {base_id} is itself derived (from {base['base']}); derive from a complete rubric"]
        )
    load_rubric(base_file)  # the base must be valid on its own: its own errors name its own file
    problems = []
    if base.get("id") != base_id:
        problems.append(f"base {base_id}: the file {base_file.name} holds the rubric id {base.get('id')!r}")
    if data.get("id") in (None, base_id):
        problems.append(f"id: a derived rubric needs an id of its own, not its base's ({base_id})")
    changes = {key: value for key, value in data.items() if key != "base"}
    merged = _merged_mapping(base, changes, "", base_id, problems)
    if problems:
        raise RubricError(source, problems)
    return merged


def _merged_mapping(base: dict, changes: dict, where: str, base_id: str, problems: list[str]) -> dict:
    """``base`` with the keys of ``changes`` changed: keyed lists by entry, mappings by key, the rest replaced."""
    out = dict(base)
    for key, value in changes.items():
        at = f"{where}.{key}" if where else key
        if key in KEYED_LISTS and isinstance(value, list) and isinstance(base.get(key), list):
            out[key] = _merged_list(base[key], value, key, where, base_id, problems)
        elif isinstance(value, dict) and isinstance(base.get(key), dict):
            out[key] = _merged_mapping(base[key], value, at, base_id, problems)
        else:
            out[key] = value
    return out


def _merged_list(base: list, changes: list, name: str, where: str, base_id: str, problems: list[str]) -> list:
    """The entries of ``base`` with those ``changes`` names (by id or code) changed; order and the rest kept."""
    key, entry_name = KEYED_LISTS[name]
    position = {entry.get(key): i for i, entry in enumerate(base) if isinstance(entry, dict)}
    out, seen = list(base), set()
    for n, change in enumerate(changes, start=1):
        ident = change.get(key) if isinstance(change, dict) else None
        ident = ident if isinstance(ident, str | int | float) else None
        label = f"{where}, {entry_name} {ident}" if where else f"{entry_name} {ident}"
        if ident is None:
            problems.append(
                f"{where + ', ' if where else ''}{name}, entry {n}: gives no {key}; name the base's {entry_name} it changes"
            )
        elif ident not in position:
            problems.append(f"{label}: base {base_id} has no such {entry_name} (a derived rubric only changes its base's)")
        elif ident in seen:
            problems.append(f"{label}: changed twice; write all its changes in one entry")
        else:
            seen.add(ident)
            out[position[ident]] = _merged_mapping(base[position[ident]], change, label, base_id, problems)
    return out


def rubric_files(rubric: str | Path) -> list[Path]:
    """The files a rubric is read from — its own, and its base's when it is derived — for a run's manifest."""
    path = rubric_path(rubric)
    try:
        base = _read_rubric_file(path).get("base")
    except RubricError:
        return [path]
    return [path, path.parent / f"{base}.yaml"] if isinstance(base, str) and _RUBRIC_ID.fullmatch(base) else [path]


def _describe_location(data: dict, loc: tuple) -> str:
    """Turn a pydantic error location into ids a person recognises (criterion C2, indicator C2.3)."""
    parts: list[str] = []
    node = data
    for key in loc:
        try:
            node = node[key]
        except (KeyError, IndexError, TypeError):
            parts.append(str(key))
            node = None
            continue
        if isinstance(node, dict) and ("id" in node or "code" in node) and isinstance(key, int):
            parts[-1] = f"{parts[-1]} {node.get('id') or node.get('code')}"
        else:
            parts.append(str(key))
    return ".".join(parts) or "(top level)"


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=0, abs_tol=1e-9)


def check_rubric(rubric: Rubric) -> list[str]:
    """Every invariant the scale must keep (:data:`RUBRIC_CHECKS`); the problems, each naming its offenders."""
    return [problem for check in RUBRIC_CHECKS for problem in check(rubric)]


def unique_ids(rubric: Rubric) -> list[str]:
    """Groups, forms, fields, criteria, indicators and bands are looked up by id: two alike would be one."""
    problems = []
    for what, ids in (
        ("group ids", [g.id for g in rubric.groups]),
        ("form ids", [f.id for f in rubric.forms]),
        ("field codes", [f.code for f in rubric.fields]),
        ("criterion ids", [c.id for c in rubric.criteria]),
        ("indicator ids", [i.id for c in rubric.criteria for i in c.indicators]),
        ("band ids", [b.id for b in rubric.bands]),
    ):
        if dup := sorted(i for i, n in Counter(ids).items() if n > 1):
            problems.append(f"duplicate {what}: {', '.join(dup)}")
    return problems


def declared_forms(rubric: Rubric) -> list[str]:
    """Each group fills a declared form, and each field sits on declared forms (the workbooks are made from them)."""
    form_ids = {f.id for f in rubric.forms}
    problems = [f"group {g.id}: form {g.form} is not declared under forms" for g in rubric.groups if g.form not in form_ids]
    for f in rubric.fields:
        if unknown := sorted(set(f.forms) - form_ids):
            problems.append(f"field {f.code}: unknown forms {', '.join(unknown)}")
    return problems


def ordered_bands(rubric: Rubric) -> list[str]:
    """Bands go from the highest threshold down, strictly, and the last catches every score from 0."""
    mins = [b.min_score for b in rubric.bands]
    if not rubric.bands:
        return ["bands: at least one band is needed"]
    if any(a <= b for a, b in itertools.pairwise(mins)):
        order = ", ".join(f"{b.id} ≥ {b.min_score:g}" for b in rubric.bands)
        return [f"bands must be ordered from the highest threshold down, strictly: {order}"]
    if mins[-1] > 0:
        return [f"bands: the lowest band {rubric.bands[-1].id} must start at 0, not {mins[-1]:g}"]
    return []


def known_groups_and_kinds(rubric: Rubric) -> list[str]:
    """Points go to declared groups, each indicator has a kind the library computes, and its id says its criterion."""
    group_ids = set(rubric.group_ids)
    problems = []
    for c in rubric.criteria:
        if unknown := sorted(set(c.max_points) - group_ids):
            problems.append(f"criterion {c.id}: unknown groups {', '.join(unknown)}")
        for ind in c.indicators:
            if unknown := sorted(set(ind.groups) - group_ids):
                problems.append(f"indicator {ind.id}: unknown groups {', '.join(unknown)}")
            if ind.kind not in kinds_mod.KINDS:
                known = ", ".join(sorted(kinds_mod.KINDS))
                problems.append(f"indicator {ind.id}: unknown kind {ind.kind!r}; known kinds: {known}")
            if not ind.id.startswith(c.id + "."):
                problems.append(f"indicator {ind.id}: its id must start with its criterion's id {c.id}.")
    return problems


def group_totals(rubric: Rubric) -> list[str]:
    """A group's criteria maxima add up to the group's total (100 points on the published scale)."""
    problems = []
    for g in rubric.groups:
        criteria = rubric.criteria_for(g.id)
        total = sum(c.max_points[g.id] for c in criteria)
        if not _close(total, g.max_points):
            detail = " + ".join(f"{c.id} {c.max_points[g.id]:g}" for c in criteria)
            problems.append(
                f"group {g.id}: criteria maxima sum to {total:g} ({detail}), not the group total {g.max_points:g}"
            )
    return problems


def criterion_totals(rubric: Rubric) -> list[str]:
    """A criterion's indicators add up to its maximum in each group it has points in."""
    problems = []
    for g in rubric.groups:
        for c in rubric.criteria_for(g.id):
            inds = [i for i in c.indicators if g.id in i.groups]
            if not inds:
                problems.append(f"criterion {c.id} (group {g.id}): has a maximum but no indicator for the group")
                continue
            total = sum(i.groups[g.id].max_points for i in inds)
            if not _close(total, c.max_points[g.id]):
                detail = " + ".join(f"{i.id} {i.groups[g.id].max_points:g}" for i in inds)
                problems.append(
                    f"criterion {c.id} (group {g.id}): indicator maxima sum to {total:g} ({detail}), "
                    f"not the criterion maximum {c.max_points[g.id]:g}"
                )
    return problems


def indicators_within_their_criterion(rubric: Rubric) -> list[str]:
    """An indicator has points only in the groups its criterion has points in (elsewhere they would count nowhere)."""
    return [
        f"indicator {ind.id}: has points for group {g.id} but its criterion does not"
        for g in rubric.groups
        for c in rubric.criteria
        if g.id not in c.max_points
        for ind in c.indicators
        if g.id in ind.groups
    ]


def indicator_inputs(rubric: Rubric) -> list[str]:
    """Each indicator builds as its kind in every group, and reads fields of the group's form of a type it can use."""
    problems = []
    for g in rubric.groups:
        form_fields = {f.code for f in rubric.fields_for_form(g.form)}
        for c in rubric.criteria_for(g.id):
            for ind in (i for i in c.indicators if g.id in i.groups and i.kind in kinds_mod.KINDS):
                try:
                    built = kinds_mod.build(ind, ind.groups[g.id])
                except ValueError as exc:
                    problems.append(f"indicator {ind.id} (group {g.id}): {exc}")
                    continue
                if undeclared := sorted(set(built.input_fields) - form_fields):
                    problems.append(
                        f"indicator {ind.id} (group {g.id}): inputs {', '.join(undeclared)} are not fields "
                        f"of form {g.form}"
                    )
                for code in built.input_fields:
                    spec = rubric.field_by_code.get(code)
                    if spec is not None and not built.accepts_type(code, spec.type):
                        problems.append(
                            f"indicator {ind.id} (group {g.id}): input {code} is of type {spec.type}, "
                            f"which kind {ind.kind} cannot use there"
                        )
    return problems


#: the checks :func:`check_rubric` runs, in the order their problems are listed
def percent_fields(rubric: Rubric) -> list[str]:
    """A percentage field (unit ``%``) is a number in both languages: ``%`` in unit_vi and unit_en, and of
    type count or decimal (a yes/no answer is no percentage)."""
    problems = []
    for f in rubric.fields:
        said = (f.unit_vi.strip() == PERCENT_UNIT, f.unit_en.strip() == PERCENT_UNIT)
        if any(said) and not all(said):
            problems.append(f"field {f.code}: a percentage has unit % in both unit_vi and unit_en, not {f.unit_vi!r} / {f.unit_en!r}")
        elif f.percent and f.type == "yesno":
            problems.append(f"field {f.code}: unit % on a yes/no field; a percentage is of type decimal or count")
    return problems


RUBRIC_CHECKS = (
    unique_ids, declared_forms, ordered_bands, known_groups_and_kinds, group_totals, criterion_totals,
    indicators_within_their_criterion, indicator_inputs, percent_fields,
)  # fmt: skip


def summary_table(rubric: Rubric) -> str:
    """A plain-text table of the scale: one row per indicator, one points column per group."""
    gids = rubric.group_ids
    header = ["id", "kind", "inputs", *gids, "label"]
    rows: list[list[str]] = []
    for c in rubric.criteria:
        rows.append([c.id, "", "", *[_pts(c.max_points.get(g)) for g in gids], c.label_vi])
        for ind in c.indicators:
            inputs = list(
                dict.fromkeys(f for g in gids if g in ind.groups for f in kinds_mod.build(ind, ind.groups[g]).input_fields)
            )
            shown = ", ".join(inputs) if len(inputs) <= 4 else f"{inputs[0]}…{inputs[-1]} ({len(inputs)})"
            rows.append(
                [
                    "  " + ind.id,
                    ind.kind,
                    shown,
                    *[_pts(ind.groups[g].max_points if g in ind.groups else None) for g in gids],
                    ind.label_vi,
                ]
            )
    rows.append(["total", "", "", *[_pts(rubric.group(g).max_points) for g in gids], ""])
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header) - 1)]
    lines = []
    for r in [header, *rows]:
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(r, widths)) + "  " + r[-1])
    head = [
        f"{rubric.id} v{rubric.version} — {rubric.title_vi}",
        f"status: {rubric.status}; years: {', '.join(map(str, rubric.years))}; fields: {len(rubric.fields)}",
        "bands: " + "; ".join(f"{b.label_vi} ≥ {b.min_score:g}" for b in rubric.bands),
        f"ranking: {rubric.ranking.on} rounded to {rubric.ranking.decimals} decimals, {rubric.ranking.ties} ties",
        "",
    ]
    return "\n".join(head + lines)


def _pts(x: float | None) -> str:
    return "—" if x is None else f"{x:g}"

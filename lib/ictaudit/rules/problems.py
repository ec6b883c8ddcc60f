"""Intake's problem codes and status reasons as data: ``problems.yaml`` next to this module.

Each problem code (``I01``…) has a severity, a title, why it exists and what the DIC or the agency
should do, and one or more Vietnamese messages with named placeholders (``{file}``, ``{cell}``…);
a message may carry its own severity (``I04`` is E for a missing row, W for an extra one). Each
status (``ranked``, ``late``, ``missing``, ``excluded``, ``invalid``) has its meaning and the Vietnamese
reasons intake gives for it. The file is loaded into frozen models and checked on load, naming the
offenders: unique ids, every placeholder of every message declared and every declared one used,
messages in Unicode NFC::

    catalogue = problem_catalogue()
    catalogue.message("I05", "empty")           # ('E', 'Tệp {file} rỗng (0 byte); …')
    catalogue.reason("late", "after_deadline")  # 'Phiếu {file} nhận ngày {received}, sau hạn cuối …'
"""

from __future__ import annotations

import string
import unicodedata
from collections import Counter
from functools import cache, cached_property
from pathlib import Path
from typing import Literal

from ictaudit.rules.files import Frozen, RulesFileError, read_mapping, validated

PROBLEMS_FILE = Path(__file__).with_name("problems.yaml")
Severity = Literal["E", "W"]
STATUSES = ("excluded", "missing", "late", "invalid", "ranked")  # in order of precedence (docs/domain.md §5)


class ProblemCatalogueError(RulesFileError):
    """A catalogue that cannot be used; ``problems`` lists every offence found."""

    kind = "problem catalogue"


class Message(Frozen):
    """One Vietnamese message of a problem code; ``severity`` overrides the code's."""

    id: str
    vi: str
    severity: Severity | None = None


class ProblemCode(Frozen):
    id: str
    severity: Severity
    title: str
    why: str
    action: str
    messages: tuple[Message, ...]

    def severity_of(self, message: Message) -> Severity:
        return message.severity or self.severity


class Reason(Frozen):
    """One Vietnamese ``status_reason`` of a status."""

    id: str
    vi: str


class StatusSpec(Frozen):
    id: str
    meaning: str
    reasons: tuple[Reason, ...]


class ProblemCatalogue(Frozen):
    placeholders: dict[str, str]
    problems: tuple[ProblemCode, ...]
    statuses: tuple[StatusSpec, ...]

    def message(self, code: str, message_id: str) -> tuple[Severity, str]:
        """(severity, Vietnamese template) of one message of a code; KeyError names what is unknown."""
        try:
            return self._messages[code, message_id]
        except KeyError:
            raise KeyError(f"no message {code}.{message_id} in {PROBLEMS_FILE.name}") from None

    def reason(self, status: str, reason_id: str) -> str:
        """The Vietnamese template of one reason of a status."""
        try:
            return self._reasons[status, reason_id]
        except KeyError:
            raise KeyError(f"no reason {status}.{reason_id} in {PROBLEMS_FILE.name}") from None

    @cached_property
    def _messages(self) -> dict[tuple[str, str], tuple[Severity, str]]:
        return {(p.id, m.id): (p.severity_of(m), m.vi) for p in self.problems for m in p.messages}

    @cached_property
    def _reasons(self) -> dict[tuple[str, str], str]:
        return {(s.id, r.id): r.vi for s in self.statuses for r in s.reasons}


def placeholders_of(template: str) -> list[str]:
    """The named placeholders of a message, in order; ValueError for ``{}``, ``{0}``, ``{x!r}`` or ``{x:>3}``."""
    names = []
    for _text, name, spec, conversion in string.Formatter().parse(template):
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            raise ValueError("placeholders are plain names such as {file}, without position, conversion or format")
        names.append(name)
    return names


def check_catalogue(catalogue: ProblemCatalogue) -> list[str]:
    """Every offence against the catalogue's invariants, each naming its ids (empty when sound)."""
    problems: list[str] = []

    def duplicates(ids: list[str]) -> list[str]:
        return sorted(i for i, n in Counter(ids).items() if n > 1)

    if dup := duplicates([p.id for p in catalogue.problems]):
        problems.append(f"duplicate problem codes: {', '.join(dup)}")
    if odd := [p.id for p in catalogue.problems if not (len(p.id) == 3 and p.id[0] == "I" and p.id[1:].isdigit())]:
        problems.append(f"problem codes must read I01, I02…: {', '.join(odd)}")
    if [s.id for s in catalogue.statuses] != list(STATUSES):
        given = ", ".join(s.id for s in catalogue.statuses)
        problems.append(f"statuses must be {', '.join(STATUSES)} in that order, not {given}")
    texts = [(f"{p.id}.{m.id}", m.vi) for p in catalogue.problems for m in p.messages]
    texts += [(f"{s.id}.{r.id}", r.vi) for s in catalogue.statuses for r in s.reasons]
    for owner, ids in [(p.id, [m.id for m in p.messages]) for p in catalogue.problems] + [
        (s.id, [r.id for r in s.reasons]) for s in catalogue.statuses
    ]:
        if not ids:
            problems.append(f"{owner}: no message")
        if dup := duplicates(ids):
            problems.append(f"{owner}: duplicate message ids: {', '.join(dup)}")
    used: set[str] = set()
    for where, text in texts:
        try:
            names = placeholders_of(text)
        except ValueError as exc:
            problems.append(f"{where}: {exc}")
            continue
        used.update(names)
        if unknown := sorted(set(names) - set(catalogue.placeholders)):
            problems.append(f"{where}: placeholders not declared under placeholders: {', '.join(unknown)}")
        if not unicodedata.is_normalized("NFC", text):
            problems.append(f"{where}: the message is not in Unicode NFC (retype it, or normalise the file)")
    if unused := sorted(set(catalogue.placeholders) - used):
        problems.append(f"placeholders no message uses: {', '.join(unused)}")
    return problems


def load_problems(path: Path | str = PROBLEMS_FILE) -> ProblemCatalogue:
    """Load and check a catalogue; raise :class:`ProblemCatalogueError` naming every offence."""
    source = str(path)
    data = read_mapping(Path(path), ProblemCatalogueError)
    catalogue = validated(ProblemCatalogue, data, source, ProblemCatalogueError, _where)
    if problems := check_catalogue(catalogue):
        raise ProblemCatalogueError(source, problems)
    return catalogue


@cache  # one load per process: every problem intake reports is formatted from it
def problem_catalogue() -> ProblemCatalogue:
    """The project's catalogue (:data:`PROBLEMS_FILE`), loaded once per process."""
    return load_problems()


def _where(data: dict, loc: tuple) -> str:
    """A pydantic error location in the catalogue's ids: ``I04.unknown_row.severity`` for
    ``('problems', 3, 'messages', 1, 'severity')``."""
    parts: list[str] = []
    node = data
    for key in loc:
        try:
            node = node[key]
        except (KeyError, IndexError, TypeError):
            node = None
        label = node.get("id") if isinstance(key, int) and isinstance(node, dict) else None
        if isinstance(label, str) and parts:
            parts[-1] = label  # "problems", 3 → "I04"
        else:
            parts.append(str(key))
    return ".".join(parts) or "(top level)"

"""Intake (notebook 01): who sent what, and the values of every form in long form with provenance.

``intake_cycle(cycle, rubric)`` reads every submission named in the DIC's register, never writing
anything under the cycle folder, and returns an :class:`IntakeResult`:

- ``statuses``: one row per roster agency, ``agency_id, agency_name, group, status, status_reason``;
- ``values``: the ``values.csv`` columns of docs/contracts.md §6, one row per field of the form for
  every agency whose file was read (ranked, and late or excluded ones with a readable file, so their
  numbers can be shown); ``value`` is a float (yes/no as 1/0, blank as NaN), ``raw_value`` the text
  as typed;
- ``problems``: every problem found, ``agency_id, file, sheet, cell, field, raw_value, code,
  severity, message_vi``;
- ``files``: every file under ``submissions/`` with its sha256 (taken from the bytes before any
  parsing), size and the agency whose receipt names it — for the manifest.

Status precedence (the first that applies wins; docs/domain.md §5): ``excluded`` (``ranked: false``
on the roster), ``missing`` (no receipt), ``invalid`` (a receipt without a date), ``late`` (no form
received by the deadline), ``invalid`` (the standing form cannot be used), then ``ranked``. Which of
several receipts stands is :mod:`ictaudit.intake.receipts` (the last on time; a late one never
replaces it; the same bytes count once); the others are listed (I09). The problem codes I01–I16 and
the status reasons are data (``rules/problems.yaml``,
explained in docs/intake.md); reading one file is :mod:`ictaudit.intake.workbook`, the folder on disk
:mod:`ictaudit.intake.disk`. A national cycle's files are read by two processes
(:func:`read_submissions`).
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd

from ictaudit.common.numfmt import fmt_date
from ictaudit.intake.cycle import Cycle
from ictaudit.intake.disk import DiskIndex, OnDisk, find_submission, hash_unread, list_submissions, read_on_disk
from ictaudit.intake.problems import (
    PROBLEM_COLUMNS,
    SubmissionError,
    at_receipt,
    describe_error,
    problem,
    problem_of,
    refusal,
)
from ictaudit.intake.receipts import ReceiptDecision, decide_receipts
from ictaudit.intake.values import VALUE_COLUMNS
from ictaudit.intake.workbook import ExpectedForm, Submission, expected_forms, read_submission
from ictaudit.rules.problems import problem_catalogue

STATUS_COLUMNS = ("agency_id", "agency_name", "group", "status", "status_reason")
FILE_COLUMNS = ("file", "agency_id", "sha256", "bytes")


@dataclass(frozen=True, eq=False)
class IntakeResult:
    statuses: pd.DataFrame
    values: pd.DataFrame
    problems: pd.DataFrame
    files: pd.DataFrame


def intake_cycle(cycle: Cycle, rubric) -> IntakeResult:
    """Statuses, values and problems of every roster agency; one bad file never stops the others.

    Each file of ``submissions/`` is opened once: a file a receipt names is hashed from the bytes it
    is read from (what is parsed is what is recorded), any other file is only hashed.
    """
    on_disk = list_submissions(cycle.submissions_dir)
    receipts_of = _receipts_by_agency(cycle.receipts)
    agencies = list(cycle.agencies.sort_values("agency_id").itertuples(index=False))
    index = DiskIndex.of(on_disk)
    decisions = _decisions(cycle, index, [receipts_of(agency.agency_id) for agency in agencies])
    found = {i: find_submission(index, d.standing.file) for i, d in enumerate(decisions) if d.standing is not None}
    # every file that is read (ranked, late or excluded: their numbers are shown), read first, in order
    to_read = [
        i for i, (entry, _) in found.items() if entry is not None and entry.kind == "file" and entry.error is None
    ]
    forms = expected_forms(rubric, cycle.year)
    jobs, slot = _jobs_by_file([(found[i][0], agencies[i].agency_id, forms[agencies[i].group]) for i in to_read])
    on_disk = hash_unread(on_disk, {id(job.entry) for job in jobs})
    problems = _register_problems(cycle, on_disk)

    reads = read_submissions(jobs)
    outcomes = {i: reads[k].results[j] for i, (k, j) in zip(to_read, slot, strict=True)}
    unopened = {i for i, (k, _j) in zip(to_read, slot, strict=True) if not reads[k].opened}
    values: list[list] = [[] for _ in VALUE_COLUMNS]  # the values frame's columns
    statuses: list[dict] = []
    for i, (agency, decision) in enumerate(zip(agencies, decisions, strict=True)):
        problems += _receipt_problems(agency.agency_id, decision, cycle)
        readable = None
        if decision.standing is not None:
            outcome = outcomes.get(i)
            readable = _file_outcome(
                agency.agency_id, decision.standing.file, found[i], outcome, i in unopened, problems,
                decision.standing.line,
            )
            if isinstance(readable, Submission):
                _add_rows(values, readable.values)
        statuses.append(_status_row(agency, decision, cycle, readable))
    read_as = {job.entry.name: (r.sha256, r.size) for job, r in zip(jobs, reads, strict=True)}
    return IntakeResult(
        statuses=pd.DataFrame(statuses, columns=list(STATUS_COLUMNS)),
        values=_values_frame(values),
        problems=_problems_frame(problems),
        files=_files_frame(on_disk, cycle.receipts, read_as),
    )


def _decisions(cycle: Cycle, index: DiskIndex, mines: list[list[dict]]) -> list[ReceiptDecision]:
    """The receipt rules (:mod:`ictaudit.intake.receipts`) for each agency's receipts ``mines``.

    Which files hold the same bytes is known from their sha256: the files of agencies with several
    receipts are hashed here (a file that cannot be found or read is known by its name); an agency
    with one receipt needs no hash.
    """
    if cycle.deadline is None:
        raise ValueError(f"{cycle.root}: the deadline is not set; intake needs it (load_cycle(for_run=True))")
    several = {row["file"] for mine in mines if len(mine) > 1 for row in mine}
    digests: dict[str, str] = {}
    for name in sorted(several):
        entry, error = find_submission(index, name)
        if entry is not None and error is None:
            hashed = hash_unread([entry], set())[0]
            if hashed.error is None and hashed.sha256:
                digests[name] = hashed.sha256

    def identity_of(name: str) -> str:
        return digests.get(name) or f"file:{name}"

    return [decide_receipts(mine, identity_of, cycle.deadline, cycle.timezone) for mine in mines]


def _register_problems(cycle: Cycle, on_disk: list[OnDisk]) -> list[dict]:
    """What is wrong between the register and the folder: a receipt for an agency not on the roster
    (I12), a link (I15) or a file (I11, and I05 when it cannot be read) that no receipt names."""
    problems = []
    roster_ids = set(cycle.agencies["agency_id"])
    for row in cycle.receipts.itertuples(index=False):
        if row.agency_id not in roster_ids:
            problems.append(
                at_receipt(problem("I12", "not_on_roster", agency_id=row.agency_id, file=row.file), row.line, in_message=True)
            )
    receipted = set(cycle.receipts["file"])  # NFC (the cycle reader normalises every cell)
    for entry in on_disk:
        if entry.key in receipted:
            continue
        if entry.kind == "symlink":
            problems.append(problem("I15", "unregistered_link", file=entry.name, target=entry.target))
        elif entry.kind == "file":
            problems.append(problem("I11", "unregistered", file=entry.name))
            if entry.error is not None:
                problems.append(problem_of(entry.error, "", entry.name))
    return problems


def _receipt_problems(agency_id: str, decision: ReceiptDecision, cycle: Cycle) -> list[dict]:
    """The problems of an agency's receipts themselves: a date that is not a date (I16), a time that
    is not a timestamp (I16, W), and every receipt that is not used, with why and its line (I09, W)."""
    problems = [
        problem("I16", "not_a_date", agency_id=agency_id, file=row["file"], received_on=row.get("received_on_text", ""),
                line=row.get("line", ""))
        for row in decision.undated
    ]  # fmt: skip
    problems += [
        problem("I16", "not_a_timestamp", agency_id=agency_id, file=row["file"], line=row.get("line", ""),
                received_at=row.get("received_at_text", ""), received_on=row.get("received_on_text", ""))
        for row in decision.untimed
    ]  # fmt: skip
    for why, receipt, yields_to in decision.not_used:
        problems.append(
            problem(
                "I09", why, agency_id=agency_id, file=receipt.file, line=receipt.line, received=receipt.received(),
                by_file=yields_to.file, by_line=yields_to.line, by_received=yields_to.received(),
                deadline=fmt_date(cycle.deadline),
            )
        )  # fmt: skip
    return problems


def _file_outcome(
    agency_id: str, file_name: str, found: tuple, outcome, unopened: bool, problems: list[dict], line
) -> Submission | SubmissionError:
    """What the one file an agency's receipt (on ``line`` of receipts.csv) names gave: its values and
    problems, or why it could not be used (not found or not a file, or a refusal while reading it); its
    problems are appended, each with the receipt's line (named in the message of a file not used)."""
    entry, error = found
    if outcome is None:  # not read: listing found the problem
        problems.append(at_receipt(problem_of(error, agency_id, file_name), line, in_message=True))
        return error
    if isinstance(outcome, SubmissionError):
        name = file_name if unopened else entry.name  # as listing would
        problems.append(at_receipt(problem_of(outcome, agency_id, name), line, in_message=True))
        return outcome
    problems.extend(at_receipt(row, line) for row in outcome.problems)
    return outcome


def _status_row(
    agency, decision: ReceiptDecision, cycle: Cycle, readable: Submission | SubmissionError | None
) -> dict:
    """The agency's row of ``statuses``: what the register says first, then what reading its file gave;
    the receipts that are not used are named (with their lines) after the reason."""
    status, reason = _status_before_reading(agency, decision, cycle)
    if status is None and isinstance(readable, SubmissionError):
        status, reason = "invalid", _reason("invalid", "unusable_file", reason=readable.message_vi)
    elif status is None:
        standing = decision.standing
        status, reason = "ranked", _reason("ranked", "on_time", file=standing.file, received=standing.received())
    if status != "excluded" and (not_used := decision.not_used):
        lines = ", ".join(str(receipt.line) for _, receipt, _ in not_used)
        reason += " " + _reason(status, "other_receipts", count=len(not_used), lines=lines)
    return {"agency_id": agency.agency_id, "agency_name": agency.name, "group": agency.group, "status": status,
            "status_reason": reason}  # fmt: skip


def _status_before_reading(agency, decision: ReceiptDecision, cycle: Cycle) -> tuple[str | None, str]:
    """excluded > missing > late > an undated receipt; ``(None, "")`` when reading decides."""
    if not agency.ranked:
        return "excluded", _reason("excluded", "on_roster", note=agency.note)
    if decision.undated:
        bad = decision.undated[0]
        received_on = bad.get("received_on_text", "")
        return "invalid", _reason("invalid", "undated_receipt", received_on=received_on, file=bad["file"])
    if decision.standing is None:
        return "missing", _reason("missing", "no_receipt")
    if not decision.on_time:
        standing = decision.standing
        return "late", _reason(
            "late", "after_deadline", file=standing.file, received=standing.received(),
            deadline=fmt_date(cycle.deadline),
        )  # fmt: skip
    return None, ""


def _reason(status: str, reason_id: str, **values) -> str:
    return problem_catalogue().reason(status, reason_id).format_map(values)


def _receipts_by_agency(receipts: pd.DataFrame):
    """agency_id → its receipts as row dicts, in the register's order (the receipt rules order them).

    The rows are grouped once: a frame per agency costs more than reading its file.
    """
    records = receipts.to_dict("records")
    at: dict[object, list[dict]] = {}
    for agency_id, record in zip(receipts["agency_id"].tolist(), records, strict=True):
        at.setdefault(agency_id, []).append(record)

    def receipts_of(agency_id) -> list[dict]:
        return at.get(agency_id, [])

    return receipts_of


# -- reading the files ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ReadJob:
    """One file to read: its entry in ``submissions/`` and the agencies (id, expected form) whose receipts
    name it: one, unless several receipts name the same file (each is read from the same bytes)."""

    entry: OnDisk
    readers: tuple[tuple[str, ExpectedForm], ...]


class ReadOutcome(NamedTuple):
    """What reading one file gave each of its readers, and the sha256 and size of the bytes read
    (``opened`` False, "" and 0 when it could not be read: ``results`` then holds that error)."""

    opened: bool
    sha256: str
    size: int
    results: tuple[Submission | SubmissionError, ...]


def _jobs_by_file(reads: list[tuple[OnDisk, str, ExpectedForm]]) -> tuple[list[ReadJob], list[tuple[int, int]]]:
    """One job per distinct file of ``reads`` (entry, agency_id, expected form), in order of first
    mention, and where each read's outcome will be: (job, reader)."""
    at: dict[int, int] = {}
    entries: list[OnDisk] = []
    readers: list[list[tuple[str, ExpectedForm]]] = []
    slot = []
    for entry, agency_id, expected in reads:
        k = at.setdefault(id(entry), len(entries))
        if k == len(entries):
            entries.append(entry)
            readers.append([])
        slot.append((k, len(readers[k])))
        readers[k].append((agency_id, expected))
    return [ReadJob(e, tuple(r)) for e, r in zip(entries, readers, strict=True)], slot


def read_job(job: ReadJob) -> ReadOutcome:
    """:func:`read_submission` of the job's file for each of its readers, the file opened once and
    hashed from the bytes read; a file that cannot be used gives its error (never raises)."""
    try:
        data = read_on_disk(job.entry)
    except SubmissionError as exc:
        return ReadOutcome(False, "", 0, (exc,) * len(job.readers))
    sha256 = hashlib.sha256(data).hexdigest()
    results = tuple(_parse_job(job.entry, agency_id, expected, data, sha256) for agency_id, expected in job.readers)
    return ReadOutcome(True, sha256, len(data), results)


def _parse_job(
    entry: OnDisk, agency_id: str, expected: ExpectedForm, data: bytes, sha256: str
) -> Submission | SubmissionError:
    try:
        return read_submission(data, file_name=entry.name, sha256=sha256, expected=expected, agency_id=agency_id)
    except SubmissionError as exc:
        return exc
    except Exception as exc:  # one bad file never stops the others
        return refusal("I05", "unexpected", file=entry.name, error=describe_error(exc))


#: from this many files on, a forked copy of this process reads part of them (each file is read alone)
PARALLEL_MIN_FILES = 400
_FILES_PER_TASK = 32


def read_submissions(jobs: Sequence[ReadJob]) -> list[ReadOutcome]:
    """:func:`read_job` of every job, in order; a national cycle's files are read by two processes.

    Files are independent: a forked copy of this process is given tasks of :data:`_FILES_PER_TASK`
    files from the end of the list (never more than two waiting) while this one reads tasks from the
    start, until they meet, so a busy core gets less work. Outcomes are put back in the jobs' order:
    the result is the one of reading the files one after the other. Tasks of a worker that died are
    read here.
    """
    from concurrent.futures.process import BrokenProcessPool

    from ictaudit.common.forked import can_fork, forked_worker

    if len(jobs) < PARALLEL_MIN_FILES or not can_fork():
        return [read_job(job) for job in jobs]
    tasks = [range(lo, min(lo + _FILES_PER_TASK, len(jobs))) for lo in range(0, len(jobs), _FILES_PER_TASK)]
    done: dict[int, list] = {}
    given: dict = {}  # task → the worker's future
    front, back = 0, len(tasks) - 1  # the next task this process reads, the next one the worker is given
    with forked_worker(jobs) as pool:
        waiting: list = []
        broken = False
        while front <= back:
            waiting = [f for f in waiting if not f.done()]
            try:
                while not broken and len(waiting) < 2 and front < back:
                    given[back] = pool.submit(_forked_read, tasks[back].start, tasks[back].stop)
                    waiting.append(given[back])
                    back -= 1
            except BrokenProcessPool:
                broken = True  # give it nothing more
            done[front] = [read_job(jobs[j]) for j in tasks[front]]
            front += 1
        for k, future in given.items():
            with contextlib.suppress(BrokenProcessPool):
                done[k] = future.result()
    for k, task in enumerate(tasks):  # a task the worker did not hand back
        if k not in done:
            done[k] = [read_job(jobs[j]) for j in task]
    return [outcome for k in range(len(tasks)) for outcome in done[k]]


def _forked_read(start: int, stop: int) -> list[ReadOutcome]:
    """In the forked worker: :func:`read_job` of jobs ``start`` to ``stop`` of those :func:`read_submissions`
    handed it."""
    from ictaudit.common.forked import inherited

    jobs = inherited()
    return [read_job(jobs[j]) for j in range(start, stop)]


# -- the result frames ----------------------------------------------------------------------------


def _values_frame(columns: Sequence[Sequence]) -> pd.DataFrame:
    """The ``values`` frame of its columns' cells, in :data:`VALUE_COLUMNS` order (see :func:`_add_rows`)."""
    df = pd.DataFrame(
        {
            col: pd.Series(np.array(cells, dtype=float), copy=False) if col == "value" else _object_array(cells)
            for col, cells in zip(VALUE_COLUMNS, columns, strict=True)
        },
        columns=list(VALUE_COLUMNS),
    )
    # rows arrive per agency (sorted) in the form's field order: a stable sort keeps that order (and
    # is not needed when the agencies are already in order)
    if _in_order(df["agency_id"]):
        return df
    return df.sort_values("agency_id", kind="stable").reset_index(drop=True)


def _add_rows(columns: list[list], rows: Sequence[tuple]) -> None:
    """Append one file's value rows to the cycle's columns (one small transpose per file: a transpose
    of the whole cycle's rows at once costs more than building the frame)."""
    for column, cells in zip(columns, zip(*rows), strict=False):
        column.extend(cells)


def _object_array(cells: Sequence) -> pd.Series:
    """A column of Python objects as they are (pandas 3 would otherwise infer a ``str`` column)."""
    out = np.empty(len(cells), dtype=object)
    out[:] = cells
    return pd.Series(out, dtype=object, copy=False)


def _in_order(column: pd.Series) -> bool:
    """True when ``column`` holds only text, already in the order a sort would give."""
    return pd.api.types.infer_dtype(column, skipna=False) == "string" and column.is_monotonic_increasing


def _problems_frame(rows: list[dict]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=list(PROBLEM_COLUMNS))
    return df.sort_values(["agency_id", "file"], kind="stable").reset_index(drop=True)


def _files_frame(on_disk: list[OnDisk], receipts: pd.DataFrame, read_as: dict[str, tuple[str, int]]) -> pd.DataFrame:
    """Every file of ``submissions/`` with the agency of the first receipt naming it, and the sha256
    and size of the bytes read (or hashed, for a file not read)."""
    owner: dict[str, str] = {}
    for row in receipts.itertuples(index=False):
        owner.setdefault(row.file, row.agency_id)
    return pd.DataFrame(
        [{"file": e.name, "agency_id": owner.get(e.key, ""), "sha256": sha256, "bytes": size}
         for e in on_disk if e.kind == "file" for sha256, size in [read_as.get(e.name, (e.sha256, e.size))]],
        columns=list(FILE_COLUMNS),
    )  # fmt: skip

"""The status of the year: who sent what, when and how, what became of it, and whom to chase.

In: the cycle folder (the roster, the register ``receipts.csv``, ``corrections.csv``) and, once the
cycle has been run, that run's own tables — ``statuses.csv``, ``intake_problems.csv``, ``issues.csv``,
``corrections.csv`` (the corrections report), ``values_submitted.csv`` — and the confirmation workbooks
it prepared. Nothing is recomputed: each status and reason is intake's, each problem validation's.
Out: :class:`YearStatus`, the one model of three views that therefore agree (:mod:`ictaudit.report.status_views`):
the short console summary at the end of ``ictaudit run``, the listing of ``ictaudit status`` and the
page ``outputs/<year>/status.html``.

Before any run every agency is ``received`` (a receipt names it), ``missing`` or ``excluded`` (the
roster). A confirmation workbook prepared by the run counts as *sent*; it is *answered* when
``corrections.csv`` holds a reply (``source`` = ``agency reply`` with a ``reply_file``) that the run
had not read yet, otherwise *outstanding* — a reply the run read was to an earlier workbook, and the
one the run wrote after it asks again. An agency that replied and has no workbook left (its answer
closed every problem) is *answered*.
"""

from __future__ import annotations

import math
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

import pandas as pd

from ictaudit.common.dates import zone
from ictaudit.common.numfmt import fmt_date
from ictaudit.common.tables import read_csv
from ictaudit.intake.cycle import Cycle

STATUS_PAGE = "status.html"  # the page of the status, in a run's outputs (docs/contracts.md §7)
RECEIVED = "received"  # before a run: a receipt names the agency
#: a status as the status page and the console say it
STATUS_VI = {
    "ranked": "Được đánh giá, xếp hạng",
    "late": "Gửi phiếu sau hạn",
    "missing": "Không gửi phiếu",
    "excluded": "Không thuộc diện xếp hạng",
    "invalid": "Phiếu không hợp lệ",
    RECEIVED: "Đã nhận phiếu (chưa chạy kiểm tra)",
}
STATUS_ORDER = ("ranked", "late", "missing", "excluded", "invalid", RECEIVED)
CONFIRMATION_VI = {"sent": "Đã gửi, chưa trả lời", "answered": "Đã trả lời", "": "—"}
#: the ``source`` of a correction imported from an agency's answered confirmation workbook
REPLY_SOURCES = frozenset({"agency reply", "phản hồi của đơn vị", "đơn vị trả lời"})
#: a correction's status (the corrections report), as the summary counts it
CORRECTION_VI = {"applied": "đã áp dụng", "confirmed": "xác nhận giữ nguyên", "rejected": "không áp dụng"}
RUN_TABLES = ("statuses.csv", "intake_problems.csv", "issues.csv", "corrections.csv", "values_submitted.csv")


@dataclass(frozen=True)
class Receipt:
    """One row of ``receipts.csv``: its line, file, when and how it came, and what became of it."""

    line: int
    file: str
    received: str  # dd/mm/yyyy, with the time in the cycle's zone when the register has it
    channel: str
    sender: str
    use: str  # "used" (the form read and scored), "kept" (read, not scored), "not_used" (not read), "" before a run
    problems: tuple[str, ...] = ()  # the messages of the intake problems naming this line


@dataclass(frozen=True)
class Problem:
    agency_id: str
    code: str
    severity: str
    line: str
    message: str


@dataclass(frozen=True)
class Correction:
    correction_id: str
    line: int | None
    agency_id: str
    field: str
    status: str  # applied / rejected
    reason: str  # why it was rejected


@dataclass(frozen=True)
class AgencyStatus:
    agency_id: str
    name: str
    group: str  # the group's label
    status: str
    reason: str
    receipts: tuple[Receipt, ...]
    errors: int = 0  # problems found in round 1 (as sent), E and W
    warnings: int = 0
    remaining_errors: int = 0  # still there after the corrections (round 2)
    remaining_warnings: int = 0
    confirmation: str = ""  # "sent", "answered" or "" (none prepared)
    applied: int = 0
    rejected: int = 0

    @property
    def status_vi(self) -> str:
        return STATUS_VI.get(self.status, self.status)

    @property
    def confirmation_vi(self) -> str:
        return CONFIRMATION_VI.get(self.confirmation, self.confirmation)

    @property
    def to_chase(self) -> str:
        """Why the DIC must contact the agency now, or "": no form, an unusable form, no answer yet."""
        if self.status == "missing":
            return "Chưa gửi phiếu"
        if self.status == "invalid":
            return "Phiếu không hợp lệ: đề nghị gửi lại hoặc sửa sổ tiếp nhận"
        if self.confirmation == "sent":
            return "Chưa trả lời sổ xác nhận số liệu"
        return ""


@dataclass(frozen=True)
class YearStatus:
    """The year as the DIC follows it (module docstring); ``ran``: a run's tables were read."""

    year: int
    title: str
    province: str
    deadline: date | None
    reply_by: date | None
    sample: bool
    ran: bool
    agencies: tuple[AgencyStatus, ...]
    register_problems: tuple[Problem, ...] = ()  # the register's and whole files' problems: the DIC acts
    cell_problems: int = 0  # intake problems of single values (they go to the agencies' workbooks)
    issues: dict = field(default_factory=dict)  # (round, severity) → count
    corrections: tuple[Correction, ...] = ()
    notes: tuple[str, ...] = ()  # e.g. inputs changed since the run

    def count(self, status: str) -> int:
        return sum(a.status == status for a in self.agencies)

    @property
    def counts(self) -> dict[str, int]:
        """Agencies by status, in :data:`STATUS_ORDER` (the statuses that occur, and the four of a run)."""
        found = Counter(a.status for a in self.agencies)
        shown = [s for s in STATUS_ORDER if found[s] or (self.ran and s != RECEIVED) or (not self.ran and s in
                 ("missing", "excluded", RECEIVED))]  # fmt: skip
        return {s: found[s] for s in shown}

    @property
    def not_ranked(self) -> list[AgencyStatus]:
        return [a for a in self.agencies if a.status not in ("ranked", RECEIVED)]

    @property
    def to_chase(self) -> list[AgencyStatus]:
        return [a for a in self.agencies if a.to_chase]

    @property
    def rejected(self) -> list[Correction]:
        return [c for c in self.corrections if c.status == "rejected"]

    @property
    def applied(self) -> int:
        return sum(c.status == "applied" for c in self.corrections)

    @property
    def correction_counts(self) -> dict[str, int]:
        """Corrections by status: applied, confirmed (a value kept as sent, with its reason), rejected."""
        found = Counter(c.status for c in self.corrections)
        return {s: found[s] for s in CORRECTION_VI if found[s] or s != "confirmed"} | {
            s: n for s, n in found.items() if s not in CORRECTION_VI
        }

    @property
    def confirmations(self) -> dict[str, int]:
        n = Counter(a.confirmation for a in self.agencies)
        return {"sent": n["sent"] + n["answered"], "answered": n["answered"], "outstanding": n["sent"]}


# -- reading a run --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunTables:
    """The tables of one run that the status reads (each may be empty)."""

    statuses: pd.DataFrame
    problems: pd.DataFrame
    issues: pd.DataFrame
    corrections: pd.DataFrame
    submitted: pd.DataFrame


def read_run_tables(scored_dir: Path, with_files: bool = True) -> RunTables | None:
    """The run's tables in ``scored_dir``; None when it holds no run (no ``statuses.csv``). Of the
    values as sent only the file each agency's values came from is kept (one row per agency), and
    only ``with_files``: the table is the largest (60 rows an agency), and the summary does not say
    which receipt was used."""
    scored_dir = Path(scored_dir)
    if not (scored_dir / "statuses.csv").exists():
        return None
    frames = []
    for name in RUN_TABLES:
        path = scored_dir / name
        if not path.exists() or (name == "values_submitted.csv" and not with_files):
            frames.append(pd.DataFrame())
        elif name == "values_submitted.csv":  # 60 rows an agency: its file is all the status needs
            frames.append(read_csv(path, ["agency_id", "source_file"]).drop_duplicates("agency_id"))
        else:
            frames.append(read_csv(path))
    return RunTables(*frames)


def confirmations_sent(out_dir: Path) -> set[str]:
    """The agencies whose confirmation workbook the run prepared (``confirmations/<agency_id>.xlsx``)."""
    folder = Path(out_dir) / "confirmations"
    return {p.stem for p in folder.glob("*.xlsx")} if folder.is_dir() else set()


def run_status(
    cycle: Cycle, rubric, scored: Path, out: Path, notes: Iterable[str] = (), with_files: bool = True
) -> YearStatus:
    """The status of ``cycle`` as the run into ``scored`` (tables) and ``out`` (confirmations) left it;
    ``with_files=False`` leaves which receipt was used unsaid (:func:`read_run_tables`)."""
    labels = {g.id: g.label_vi for g in rubric.groups}
    return year_status(cycle, labels, read_run_tables(scored, with_files), confirmations_sent(out), notes)


# -- the model ------------------------------------------------------------------------------------


def year_status(
    cycle: Cycle, group_labels: dict[str, str], run: RunTables | None = None, sent: Iterable[str] = (),
    notes: Iterable[str] = (),
) -> YearStatus:  # fmt: skip
    """The status of ``cycle``: from its register alone, or with the tables of a run of it (``run``) and
    the confirmation workbooks that run prepared (``sent``)."""
    problems = _column_frame(run.problems if run else None, ("agency_id", "file", "field", "code", "severity",
                                                             "message_vi", "line"))  # fmt: skip
    line_problems = _problems_by_line(problems)
    receipts = _receipts_by_agency(
        cycle, run, line_problems, set(_problems_by_line(problems[problems["code"] == "I09"]))
    )
    statuses = _column_frame(run.statuses if run else None, ("agency_id", "status", "status_reason"))
    status_of = {r["agency_id"]: r for r in statuses.to_dict("records")}
    issues = _column_frame(run.issues if run else None, ("agency_id", "severity", "round"))
    found = Counter(zip(issues["agency_id"], issues["round"].astype(str), issues["severity"]))
    corrections = _corrections(cycle, run)
    by_agency = Counter((c.agency_id, c.status) for c in corrections)
    sent, replies = set(sent), _replies(cycle.corrections)
    seen = _replies(run.corrections) if run else {}  # the replies the run had read when it wrote its workbooks
    answered = {a for a, files in replies.items() if a not in sent or files - seen.get(a, set())}
    agencies = []
    for row in cycle.agencies.sort_values("agency_id").itertuples(index=False):
        a = row.agency_id
        mine = receipts.get(a, ())
        status, reason = _status(row, mine, status_of.get(a) if run else None)
        if status != "ranked":  # a form read from an agency not evaluated is kept, not scored
            mine = tuple(replace(r, use="kept") if r.use == "used" else r for r in mine)
        agencies.append(
            AgencyStatus(
                agency_id=a, name=row.name, group=group_labels.get(row.group, row.group), status=status, reason=reason,
                receipts=mine, errors=found[a, "1", "E"], warnings=found[a, "1", "W"],
                remaining_errors=found[a, "2", "E"], remaining_warnings=found[a, "2", "W"],
                confirmation="answered" if a in answered else "sent" if a in sent else "",
                applied=by_agency[a, "applied"], rejected=by_agency[a, "rejected"],
            )
        )  # fmt: skip
    register = problems[problems["field"] == ""]
    return YearStatus(
        year=cycle.year, title=cycle.title, province=cycle.province, deadline=cycle.deadline,
        reply_by=cycle.reply_by, sample=cycle.sample, ran=run is not None, agencies=tuple(agencies),
        register_problems=tuple(
            Problem(r["agency_id"], r["code"], r["severity"], r["line"], r["message_vi"]) for r in register.to_dict("records")
        ),
        cell_problems=len(problems) - len(register),
        issues=dict(Counter(zip(issues["round"].astype(str), issues["severity"]))),
        corrections=tuple(corrections), notes=tuple(notes),
    )  # fmt: skip


def _column_frame(df: pd.DataFrame | None, columns: tuple[str, ...]) -> pd.DataFrame:
    """``df`` with at least ``columns`` (empty text where it lacks one); an empty frame for None."""
    if df is None or df.empty:
        return pd.DataFrame({c: pd.Series(dtype=str) for c in columns})
    out = df.copy()
    for c in columns:
        if c not in out.columns:
            out[c] = ""
    return out


def _problems_by_line(problems: pd.DataFrame) -> dict[tuple[str, int], list[str]]:
    """(agency_id, receipts line) → the messages of the intake problems naming it."""
    out: dict[tuple[str, int], list[str]] = {}
    for r in problems.to_dict("records"):
        for line in str(r["line"]).split(";"):
            if line.strip().isdigit():
                out.setdefault((r["agency_id"], int(line)), []).append(r["message_vi"])
    return out


def _receipts_by_agency(
    cycle: Cycle, run: RunTables | None, line_problems: dict, not_used: set[tuple[str, int]]
) -> dict[str, tuple[Receipt, ...]]:
    """Each agency's receipts, in the register's order, with what the run made of each: a receipt intake
    set aside (I09: superseded, late after an on-time form, the same bytes again — ``not_used``) is not
    the one used even when it names the same file."""
    used: dict[str, str] = {}
    if run is not None and not run.submitted.empty and "source_file" in run.submitted:
        first = run.submitted.drop_duplicates("agency_id")
        used = dict(zip(first["agency_id"].tolist(), map(_nfc, first["source_file"].tolist())))
    out: dict[str, list[Receipt]] = {}
    for r in cycle.receipts.to_dict("records"):
        a, line = r["agency_id"], int(r["line"])
        chosen = used.get(a) == _nfc(r["file"]) and (a, line) not in not_used
        use = "" if run is None else ("used" if chosen else "not_used")
        out.setdefault(a, []).append(
            Receipt(
                line=line, file=r["file"], received=_received_text(r, cycle.timezone), channel=r.get("channel", ""),
                sender=r.get("sender", "") or "", use=use, problems=tuple(line_problems.get((a, line), ())),
            )
        )  # fmt: skip
    return {a: tuple(rows) for a, rows in out.items()}


def _received_text(row: dict, tz: str) -> str:
    """When a receipt came: the mail's time in the cycle's zone, else the register's day, else its text."""
    stamp = row.get("received_at")
    if stamp is not None and not (isinstance(stamp, float) and math.isnan(stamp)) and hasattr(stamp, "astimezone"):
        return stamp.astimezone(zone(tz)).strftime("%d/%m/%Y %H:%M")
    day = row.get("received_on")
    if isinstance(day, date):
        return fmt_date(day)
    text = str(row.get("received_on_text", "") or "")
    return f"“{text}” (không phải ngày)" if text else "(không ghi ngày)"


def _status(roster_row, receipts: tuple[Receipt, ...], run_row: dict | None) -> tuple[str, str]:
    """The agency's status and reason: the run's; before a run (or for an agency the run did not know,
    or that it found missing but the register now has) what the roster and the register say."""
    if run_row is not None and not (run_row["status"] == "missing" and receipts):
        return run_row["status"], run_row["status_reason"]
    if not roster_row.ranked:
        return "excluded", roster_row.note
    if receipts:
        return RECEIVED, ""  # what came, and when, is in its receipts
    return "missing", "Chưa có trong sổ tiếp nhận (receipts.csv)."


def _replies(corrections: pd.DataFrame | None) -> dict[str, set[str]]:
    """Agency → the returned workbooks (sha256, else name) imported from it: rows with ``source`` agency
    reply and a ``reply_file``."""
    if corrections is None or corrections.empty or not {"source", "reply_file"} <= set(corrections.columns):
        return {}
    c = corrections.astype(str)
    rows = c[c["source"].str.strip().str.casefold().isin(REPLY_SOURCES) & (c["reply_file"].str.strip() != "")]
    keys = (
        rows["reply_sha256"].where(rows["reply_sha256"].str.strip() != "", rows["reply_file"])
        if "reply_sha256" in rows
        else rows["reply_file"]
    )
    out: dict[str, set[str]] = {}
    for agency, key in zip(rows["agency_id"], keys):
        out.setdefault(agency, set()).add(key.strip())
    return out


def _corrections(cycle: Cycle, run: RunTables | None) -> list[Correction]:
    """Each correction of the run's report, with its line in ``corrections.csv`` (the report's ``line``
    column when it has one, else found by its id in the cycle's file)."""
    if run is None or run.corrections.empty:
        return []
    line_of: dict[str, int] = {}
    if cycle.corrections is not None:
        line_of = {cid: i + 2 for i, cid in enumerate(cycle.corrections["correction_id"])}
    out = []
    for r in run.corrections.to_dict("records"):
        text = str(r.get("line", "") or "")
        line = int(text) if text.isdigit() else line_of.get(r["correction_id"])
        out.append(
            Correction(r["correction_id"], line, r["agency_id"], r["field"], r["status"], r.get("status_reason", ""))
        )
    return out


def _nfc(text) -> str:
    return unicodedata.normalize("NFC", str(text))

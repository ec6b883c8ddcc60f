"""Forms in by mail: ``ictaudit receive --cycle data/raw/2018 MAIL...`` (docs/contracts.md §3, §8).

In: a cycle folder and mail (``.eml`` files, folders of them, mbox files: :mod:`ictaudit.year.mail`).
Out: each form found stored under ``submissions/`` and registered in ``receipts.csv``, and a receive
report (:class:`ReceiveResult`) saying for every message and attachment what happened and why.

Each attachment is judged by its bytes, never by its name, its content type or its sender:

1. **A spreadsheet?** Its format (``.xlsx``, ``.xls``, ``.ods``) is sniffed from the content; anything
   else (a cover letter, a PDF, an image) is reported as not a form.
2. **Safe to read?** Intake's own checks run on it (decompression bombs, entity XML, encryption,
   damage: :func:`ictaudit.intake.workbook.read_form_meta`); a refusal is reported with intake's words.
3. **A form of this cycle?** Its hidden ``_meta`` sheet names the template, the year and the agency: a
   form of another year, or of an agency not on the roster, is reported, not registered.
4. **Registered**: stored as ``submissions/<sha256>.<format>`` (named by content, never overwriting)
   and appended to ``receipts.csv`` with the sender, subject, Message-ID, sha256 and the moment it
   was received (:func:`ictaudit.year.mail.received_time`), on the cycle's clock. The form is also
   read as a run will read it, so that a form the run cannot use is said now, while the agency can
   still send it again.

Nothing else in the cycle folder is written, nothing there is changed or deleted, and receiving the
same mail again changes no byte: a form already registered from the same message (same Message-ID,
same sha256) is reported as such. The same bytes from another message are registered again (the
register records every arrival) and count once at intake. The receipt rules that decide which form
stands are intake's (:mod:`ictaudit.intake.receipts`). Text a sender wrote (sender, subject, file
names) is written to ``receipts.csv`` guarded against spreadsheet formulas, as the scored tables are.
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import hashlib
import io
import os
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path

import pandas as pd
import yaml

from ictaudit.common.dates import local_day, zone
from ictaudit.common.numfmt import fmt_date
from ictaudit.common.tables import format_cell, write_csv
from ictaudit.intake.cycle import (
    RECEIPT_COLUMNS,
    RECEIPT_MAIL_COLUMNS,
    RECEIPTS_FILE,
    Cycle,
    CycleError,
    load_cycle,
)
from ictaudit.intake.forms import SUPPORTED_TEMPLATE_VERSIONS
from ictaudit.intake.problems import SubmissionError, describe_error
from ictaudit.intake.workbook import expected_forms, read_form_meta, read_submission
from ictaudit.year.mail import Attachment, Mail, Refusal, read_mail

MESSAGES_FILE = Path(__file__).with_name("receive.yaml")
REPORT_COLUMNS = (
    "source", "message_id", "sender", "subject", "received_at", "attachment", "sha256", "outcome", "outcome_vi",
    "agency_id", "file", "line", "reason",
)  # fmt: skip
OUTCOMES = ("registered", "already", "not_a_form", "refused", "no_form", "message_refused")
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"
_IMAGE_MAGIC = (b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"BM", b"II*\x00", b"MM\x00*")


@cache
def messages() -> dict:
    """``receive.yaml``: outcome words, kinds of attachment and reasons (Vietnamese)."""
    data = yaml.safe_load(MESSAGES_FILE.read_text(encoding="utf-8"))
    missing = [o for o in OUTCOMES if o not in data["outcomes"]]
    if missing:
        raise ValueError(f"{MESSAGES_FILE}: outcomes without words: {', '.join(missing)}")
    return data


def say(reason: str, **values) -> str:
    """One reason of ``receive.yaml`` with its placeholders filled."""
    try:
        return messages()["reasons"][reason].format_map(values)
    except KeyError as exc:
        raise KeyError(f"{MESSAGES_FILE.name}: reason {reason!r} or its placeholder {exc} is missing") from None


def _refusal_text(refusal: Refusal) -> str:
    return say(refusal.reason, **refusal.values)


# -- what an attachment is -----------------------------------------------------------------------------


def spreadsheet_format(data: bytes) -> str | None:
    """``xlsx``, ``xls``, ``ods`` (or ``xlsb``, ``zip?`` for a zip intake must judge) from the bytes; None
    for anything that is not a spreadsheet. Only the zip directory and the tiny ``mimetype`` part are read."""
    if data.startswith(_OLE2):
        if "WordDocument".encode("utf-16-le") in data:
            return None
        names = ("Workbook", "Book", "EncryptedPackage")
        return "xls" if any(n.encode("utf-16-le") in data for n in names) else None
    if not data.startswith(b"PK"):
        return None
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = set(zf.namelist())
            if "xl/workbook.xml" in names:
                return "xlsx"
            if "xl/workbook.bin" in names:
                return "xlsb"
            info = zf.getinfo("mimetype") if "mimetype" in names else None
            if info is not None and info.file_size < 200 and zf.read(info).strip() == _ODS_MIMETYPE:
                return "ods"
            return None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, RuntimeError, NotImplementedError):
        return "zip?"  # a damaged package: intake says what is wrong with it


def attachment_kind(data: bytes, content_type: str) -> str:
    """What an attachment that is not a spreadsheet is, in the report's words (``kinds`` of receive.yaml)."""
    kinds = messages()["kinds"]
    if data.startswith(b"%PDF"):
        key = "pdf"
    elif data.startswith(_IMAGE_MAGIC) or content_type.startswith("image/"):
        key = "image"
    elif data.startswith(_OLE2) or _zip_has(data, "word/document.xml"):
        key = "word" if "WordDocument".encode("utf-16-le") in data or data.startswith(b"PK") else "other"
    elif data.startswith(b"PK"):
        key = "zip"
    elif content_type == "text/calendar":
        key = "calendar"
    elif content_type.startswith("message/"):
        key = "mail"
    elif content_type.startswith("text/"):
        key = "text"
    else:
        key = "other"
    return kinds[key].format(content_type=content_type)


def _zip_has(data: bytes, name: str) -> bool:
    if not data.startswith(b"PK"):
        return False
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            return name in zf.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return False


# -- receiving --------------------------------------------------------------------------------------------


@dataclass
class _Form:
    """A form to register: the receipt row it becomes, its bytes, and its report row."""

    mail: Mail
    attachment: Attachment
    order: int
    agency_id: str
    sha256: str
    file: str
    data: bytes
    report: dict
    notes: list[str] = field(default_factory=list)
    line: int = 0


@dataclass(frozen=True)
class ReceiveResult:
    """What ``receive`` did: the report (one row per message or attachment, :data:`REPORT_COLUMNS`),
    how many messages were read, forms registered and files newly stored under ``submissions/``."""

    cycle_dir: Path
    report: pd.DataFrame
    messages: int
    registered: int
    stored: int

    def count(self, outcome: str) -> int:
        return int((self.report["outcome"] == outcome).sum())


def receive_mail(cycle_dir: Path | str, mail_paths: list[Path | str]) -> ReceiveResult:
    """Store and register every form found in ``mail_paths``; see the module's docstring.

    Raises :class:`CycleError` when the cycle folder itself cannot be used (before reading any mail).
    """
    from ictaudit.rules.rubric import load_rubric

    cycle = load_cycle(Path(cycle_dir), for_run=False)
    rubric = load_rubric(cycle.rubric_id)
    forms = expected_forms(rubric, cycle.year)
    with _cycle_lock(cycle.root):
        cycle = load_cycle(cycle.root, rubric, for_run=False)  # the register as it is now, under the lock
        known = _known_receipts(cycle)
        report: list[dict] = []
        candidates: list[_Form] = []
        count = 0
        for mail in read_mail(mail_paths):
            count += 1
            _receive_one(mail, cycle, forms, known, report, candidates)
        stored, registered = _register(cycle, candidates, known)
    df = pd.DataFrame(report, columns=list(REPORT_COLUMNS)).astype(object).fillna("")
    df["line"] = [str(int(v)) if v != "" else "" for v in df["line"]]
    return ReceiveResult(cycle.root, df, count, registered, stored)


def _known_receipts(cycle: Cycle) -> dict:
    """What the register already holds: (message_id, sha256) → line, and sha256 → first line."""
    by_message: dict[tuple[str, str], int] = {}
    by_sha: dict[str, int] = {}
    for row in cycle.receipts.itertuples(index=False):
        if row.sha256:
            by_sha.setdefault(row.sha256, int(row.line))
            if row.message_id:
                by_message.setdefault((row.message_id, row.sha256), int(row.line))
    return {"message": by_message, "sha": by_sha, "batch": {}, "again": []}


def _report_row(mail: Mail, tz: str, attachment: Attachment | None = None, **cells) -> dict:
    """A row of the report; the received time on the cycle's clock ``tz``."""
    row = {
        "source": mail.source,
        "message_id": mail.message_id,
        "sender": mail.sender,
        "subject": mail.subject,
        "received_at": mail.received_at.astimezone(zone(tz)).isoformat(timespec="seconds") if mail.received_at else "",
        "attachment": attachment.name if attachment is not None else "",
    }
    row.update(cells)
    if "outcome" in row:
        row["outcome_vi"] = messages()["outcomes"][row["outcome"]]
    return row


def _receive_one(mail: Mail, cycle: Cycle, forms: dict, known: dict, report: list, candidates: list) -> None:
    if mail.refusal is not None:
        report.append(_report_row(mail, cycle.timezone, outcome="message_refused", reason=_refusal_text(mail.refusal)))
        return
    if not mail.attachments:
        report.append(_report_row(mail, cycle.timezone, outcome="no_form", reason=say("no_attachment")))
        return
    for attachment in mail.attachments:
        form = _judge(mail, attachment, cycle, forms, known, report)
        if form is not None:
            form.order = len(candidates)
            candidates.append(form)


def _judge(mail: Mail, attachment: Attachment, cycle: Cycle, forms: dict, known: dict, report: list) -> _Form | None:
    """The report row of one attachment; the form to register when it is one of this cycle's."""
    if attachment.refusal is not None:
        report.append(_report_row(mail, cycle.timezone, attachment, outcome="refused", reason=_refusal_text(attachment.refusal)))
        return None
    data = attachment.data or b""
    sha = hashlib.sha256(data).hexdigest()
    row = _report_row(mail, cycle.timezone, attachment, sha256=sha)
    fmt = spreadsheet_format(data)
    if fmt is None:
        report.append(_outcome(row, "not_a_form", say("not_spreadsheet", kind=attachment_kind(data, attachment.content_type))))
        return None
    stored_name = f"{sha}.{fmt}"
    try:
        meta = read_form_meta(data, attachment.name or stored_name)
    except SubmissionError as exc:
        report.append(_outcome(row, "refused", say("unusable_spreadsheet", message=exc.message_vi)))
        return None
    except Exception as exc:  # one bad attachment never stops the others
        report.append(_outcome(row, "refused", say("unusable_spreadsheet", message=describe_error(exc))))
        return None
    verdict = _recognise(meta, cycle)
    if isinstance(verdict, tuple):
        report.append(_outcome(row, *verdict))
        return None
    agency = cycle.agency(verdict)
    if (line := known["message"].get((mail.message_id, sha))) is not None:
        report.append(_outcome(row, "already", say("already_registered", line=line), agency_id=verdict, file=stored_name))
        return None
    if (earlier := known["batch"].get((mail.message_id, sha))) is not None:  # the same message twice in this batch
        again = _outcome(row, "already", "", agency_id=verdict, file=stored_name)
        known["again"].append((again, earlier))  # its reason names the line once lines are given
        report.append(again)
        return None
    row = _outcome(row, "registered", "", agency_id=verdict, file=stored_name)
    form = _Form(mail, attachment, 0, verdict, sha, stored_name, data, row)
    known["batch"][(mail.message_id, sha)] = form
    form.notes += _notes(form, agency, cycle, forms)
    report.append(row)
    return form


def _outcome(row: dict, outcome: str, reason: str, **cells) -> dict:
    return {**row, **cells, "outcome": outcome, "outcome_vi": messages()["outcomes"][outcome], "reason": reason}


def _recognise(meta: dict | None, cycle: Cycle) -> str | tuple[str, str]:
    """The roster id of the agency whose form this is, or (outcome, reason) why it is not registered."""
    if meta is None:
        return "not_a_form", say("no_meta")
    if meta.get("template_version", "") not in SUPPORTED_TEMPLATE_VERSIONS:
        return "not_a_form", say("unknown_template", version=meta.get("template_version", ""))
    agency_id = meta.get("agency_id", "")
    if meta.get("year", "") != str(cycle.year):
        return "refused", say("other_year", found=meta.get("year", "?"), agency_id=agency_id, year=cycle.year)
    if agency_id not in set(cycle.agencies["agency_id"]):
        return "refused", say("not_on_roster", agency_id=agency_id, agency_name=meta.get("agency_name", ""), year=cycle.year)
    return agency_id


def _notes(form: _Form, agency, cycle: Cycle, forms: dict) -> list[str]:
    """What the report says of a form registered: whose, when, and what the run will make of it."""
    mail = form.mail
    received = _received_text(mail.received_at, cycle.timezone)
    notes = [say("received", agency_name=agency["name"], agency_id=form.agency_id, received=received)]
    if cycle.deadline is not None and local_day(mail.received_at, cycle.timezone) > cycle.deadline:
        notes.append(say("late", deadline=fmt_date(cycle.deadline)))
    if not agency["ranked"]:
        notes.append(say("excluded"))
    if form.attachment.forwarded:
        notes.append(say("forwarded", sender=form.attachment.forwarded_from))
    if mail.time_header == "Date":
        notes.append(say("time_from_date"))
    try:
        read_submission(form.data, file_name=form.file, sha256=form.sha256, expected=forms[agency["group"]],
                        agency_id=form.agency_id)  # fmt: skip
    except SubmissionError as exc:
        notes.append(say("unusable_form", message=exc.message_vi))
    except Exception as exc:  # as intake would report it (I05), never a crash
        notes.append(say("unusable_form", message=describe_error(exc)))
    return notes


def _received_text(stamp: datetime, tz: str) -> str:
    local = stamp.astimezone(zone(tz))
    return f"{fmt_date(local.date())} lúc {local:%H:%M}"


# -- writing into the cycle folder ---------------------------------------------------------------------------


@contextlib.contextmanager
def _cycle_lock(root: Path):
    """Hold an exclusive lock on the cycle folder itself (no lock file is written into it), so that
    two ``receive`` runs on one folder register one after the other."""
    fd = os.open(root, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _register(cycle: Cycle, candidates: list[_Form], known: dict) -> tuple[int, int]:
    """Store the new files, then append the rows in the order received; (files stored, rows added)."""
    if not candidates:
        return 0, 0
    candidates.sort(key=lambda f: (f.mail.received_at, f.order))
    first_line = len(cycle.receipts) + 2
    by_sha = dict(known["sha"])
    for i, form in enumerate(candidates):
        form.line = first_line + i
        if (line := by_sha.get(form.sha256)) is not None:
            form.notes.append(say("same_bytes", line=line))
        else:
            by_sha[form.sha256] = form.line
        form.report["line"] = form.line
        form.report["reason"] = " ".join(form.notes)
    stored = _store_files(cycle.submissions_dir, candidates)
    _append_receipts(cycle.root / RECEIPTS_FILE, [_receipt_row(f, cycle) for f in candidates])
    for row, earlier in known["again"]:  # the same message given twice in this batch
        row["reason"] = say("already_registered", line=earlier.line)
    return stored, len(candidates)


def _store_files(folder: Path, candidates: list[_Form]) -> int:
    """Write each new file as ``submissions/<sha256>.<format>``; an existing one is left as it is (its
    name is its content). Returns how many were written."""
    folder.mkdir(exist_ok=True)
    written = 0
    done: set[str] = set()
    for form in candidates:
        if form.file in done:
            continue
        done.add(form.file)
        target = folder / form.file
        if target.exists() or target.is_symlink():
            if not target.is_symlink() and target.is_file() and hashlib.sha256(target.read_bytes()).hexdigest() == form.sha256:
                continue
            raise CycleError(
                f"{target}: đã có tệp này với nội dung khác, dù tên tệp là sha256 của tệp vừa nhận; thư mục submissions "
                "đã bị sửa bằng tay — hãy khôi phục tệp đó (chưa ghi gì)"
            )
        temp = folder / f".{form.file}.{os.getpid()}.part"
        try:
            with open(temp, "xb") as fh:
                fh.write(form.data)
                fh.flush()
                os.fsync(fh.fileno())
            os.link(temp, target)  # never replaces an existing file
        finally:
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()
        written += 1
    return written


def _receipt_row(form: _Form, cycle: Cycle) -> dict[str, str]:
    mail = form.mail
    local = mail.received_at.astimezone(zone(cycle.timezone))
    note = messages()["register_note"].format_map({"name": form.attachment.name or form.file})
    if form.attachment.forwarded:
        note += " " + say("forwarded", sender=form.attachment.forwarded_from)
    return {
        "agency_id": form.agency_id,
        "file": form.file,
        "received_on": local.date().isoformat(),
        "channel": messages()["channel"],
        "note": note,
        "received_at": local.isoformat(timespec="seconds"),
        "sender": mail.sender,
        "subject": mail.subject,
        "message_id": mail.message_id,
        "sha256": form.sha256,
    }


def _append_receipts(path: Path, rows: list[dict[str, str]]) -> None:
    """Add ``rows`` at the end of ``receipts.csv`` (created with every column when absent).

    The rows already there keep their bytes. A register typed by hand without the mail columns gets
    them added at the end of its header (its rows' values unchanged, the new columns empty). The file
    is replaced whole, so a failure leaves the register as it was.
    """
    wanted = [*RECEIPT_COLUMNS, *RECEIPT_MAIL_COLUMNS]
    if path.exists():
        raw = path.read_bytes()
        bom = raw.startswith(b"\xef\xbb\xbf")
        text = raw.decode("utf-8-sig")
        newline = "\r\n" if "\r\n" in text.split("\n", 1)[0] + "\n" else "\n"
        records = list(csv.reader(io.StringIO(text)))
        header = [c.strip() for c in records[0]] if records else []
        if all(c in header for c in wanted):
            body = text if text.endswith(("\n", "\r")) or not text else text + newline
            out = body + _csv_lines(header, rows, newline)
        else:  # a register typed by hand: the mail columns added, its values kept
            header = header + [c for c in wanted if c not in header] if header else wanted
            old = [dict(zip(header, r + [""] * (len(header) - len(r)), strict=False)) for r in records[1:] if r]
            out = (_csv_lines(header, old, newline, with_header=True, raw=True)  # the rows there, as they are
                   + _csv_lines(header, rows, newline))  # fmt: skip
    else:
        bom, newline, header = False, "\n", wanted
        out = _csv_lines(header, [], newline, with_header=True) + _csv_lines(header, rows, newline)
    data = ("\ufeff" if bom else "") + out
    temp = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        temp.write_text(data, encoding="utf-8", newline="")
        os.replace(temp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()


def _csv_lines(header: list[str], rows: list[dict], newline: str, *, with_header: bool = False, raw: bool = False) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=newline)
    if with_header:
        writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(c, "") if raw else _guarded(row.get(c, "")) for c in header])
    return buffer.getvalue()


def _guarded(value: str) -> str:
    """Text a sender wrote, kept inert when the register is opened in a spreadsheet (a leading ``'``
    before ``=``, ``+``, ``-``, ``@``), as the scored tables do."""
    return format_cell(str(value))


# -- the report -----------------------------------------------------------------------------------------


def write_report(result: ReceiveResult, path: Path | str) -> Path:
    """The receive report as CSV (UTF-8 with BOM); refused inside the cycle folder (its contract)."""
    path = Path(path)
    if path.resolve().is_relative_to(result.cycle_dir.resolve()):
        raise CycleError(f"--report {path} nằm trong thư mục đợt đánh giá {result.cycle_dir}: hãy ghi báo cáo ra một thư mục khác")
    return write_csv(result.report, path, list(REPORT_COLUMNS))


def report_text(result: ReceiveResult, cycle: Cycle | None = None) -> str:
    """The console report: one line per message or attachment, then the totals, in Vietnamese."""
    lines = []
    for row in result.report.to_dict("records"):
        what = row["attachment"] or "(cả thư)"
        whom = row["sender"] or "?"
        target = f" → {row['agency_id']}" if row["agency_id"] else ""
        at = f" (receipts.csv dòng {row['line']})" if row["line"] not in ("", None) and row["outcome"] == "registered" else ""
        lines.append(f"[{row['outcome_vi']}] {row['source']} — {whom} — “{what}”{target}{at}: {row['reason']}".rstrip(": "))
    words = messages()["outcomes"]
    totals = ", ".join(f"{result.count(o)} {words[o]}" for o in OUTCOMES if result.count(o))
    lines.append(f"Tổng cộng: {result.messages} thư; {totals or 'không có gì'}; {result.stored} tệp mới trong submissions/.")
    return "\n".join(lines)


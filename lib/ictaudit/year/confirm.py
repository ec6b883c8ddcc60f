"""``ictaudit confirm --cycle DIR FILE...``: the agencies' answered confirmation workbooks into
``corrections.csv`` (docs/confirmations.md, docs/contracts.md §8).

Each file is read (:mod:`ictaudit.year.replies`) and recognised from its contents — this cycle's year
and rubric version, an agency on the roster with this form, the hidden record of what it was made
from intact — and compared with the agency's **current data**: its submission read again from the
cycle folder by intake, with every row of ``corrections.csv`` laid over it (the rows an earlier file of
the same command added included). A workbook made from other values (the DIC typed a correction, or
the agency sent a new form, since it went out) is refused naming the values that changed: its
problem list no longer matches. This needs no earlier run; the values decide, because the problems
are the checks of the rubric on them.

Every answer becomes one row per field: the value held (``old_value``), the answer (``new_value``,
read by the forms' parser), the reasons given for it, who and when (from its row, else from the
cells given once for the workbook), the checks it answers, source ``agency reply``, the reply's
document, the file's name and sha256. A value written back unchanged is a confirmation (for a warning,
the explanation asked for; an error confirmed unchanged stays open for the DIC, listed). A value
unchanged on a field without a problem and without a reason says nothing and is not recorded. A
reply that would change a value the DIC decided is written, and listed as a conflict: the overlay
refuses it until the DIC decides (:mod:`ictaudit.validate.corrections`).

A refused file writes nothing; the other files go on. Rows are only appended (a file whose header
lacks the optional columns gets them, every row's content kept); a file whose sha256 is already in
``corrections.csv`` adds nothing, so running the command again on the same files changes no byte.
Submissions are never touched.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ictaudit.common.dates import DATE_FORMATS_VI, parse_date
from ictaudit.common.tables import format_cell
from ictaudit.intake.cycle import CORRECTION_COLUMNS, CORRECTION_OPTIONAL_COLUMNS, CORRECTIONS_FILE, Cycle, load_cycle
from ictaudit.intake.parsing import parse_value, value_text
from ictaudit.rules.rubric import Rubric, load_rubric
from ictaudit.validate.confirmations import SEVERITY_VI, TEMPLATE_VERSION, problems_digest, values_digest
from ictaudit.validate.corrections import CONFLICT, apply_corrections
from ictaudit.year.replies import Answer, Reply, ReplyRefused, read_reply

SOURCE = "agency reply"
REGISTER_COLUMNS = (*CORRECTION_COLUMNS, *CORRECTION_OPTIONAL_COLUMNS)
SHOWN_CHANGES = 8  # changed values a refusal names at most


@dataclass
class FileOutcome:
    """What became of one file: ``imported``, ``nothing`` (no answer), ``already`` or ``refused``."""

    path: Path
    sha256: str = ""
    agency_id: str = ""
    agency_name: str = ""
    status: str = "refused"
    problems: list[str] = field(default_factory=list)
    rows: list[dict] = field(default_factory=list)
    outcomes: list[dict] = field(default_factory=list)  # the overlay's report row of each new row
    waiting: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    unchanged: int = 0
    known_ids: list[str] = field(default_factory=list)


@dataclass
class ConfirmResult:
    files: list[FileOutcome]
    register: Path
    written: int
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        return all(f.status != "refused" for f in self.files)

    def text(self) -> str:
        """What the command says, in Vietnamese: per file what was recorded, what waits for the DIC,
        the conflicts, or why it was refused; then what was written and what to run next."""
        lines = [f"Phiếu xác nhận → {self.register}" + (" (chạy thử: không ghi gì)" if self.dry_run else "")]
        for f in self.files:
            lines += _file_lines(f)
        refused = sum(f.status == "refused" for f in self.files)
        if self.written and not self.dry_run:
            lines.append(f"Đã ghi {self.written} dòng vào {self.register.name}. Chạy lại để tính điểm: ictaudit run --cycle "
                         f"{self.register.parent}")  # fmt: skip
        elif self.written:
            lines.append(f"Sẽ ghi {self.written} dòng (chạy lại không có --dry-run để ghi).")
        else:
            lines.append(f"Không ghi gì vào {self.register.name}.")
        if refused:
            lines.append(f"{refused} tệp không được nhập (lý do ở trên); các tệp khác không bị ảnh hưởng.")
        return "\n".join(lines)


def _file_lines(f: FileOutcome) -> list[str]:
    who = f" — {f.agency_name} ({f.agency_id})" if f.agency_id else ""
    if f.status == "refused":
        return [f"✗ {f.path.name}{who}: KHÔNG NHẬP —", *(f"    • {p}" for p in f.problems)]
    if f.status == "already":
        return [f"= {f.path.name}: đã nhập trước đây ({', '.join(f.known_ids)}), không ghi thêm."]
    if f.status == "nothing":
        return [f"· {f.path.name}{who}: không có câu trả lời nào cần ghi nhận."]
    lines = [f"✓ {f.path.name}{who}: {len(f.rows)} dòng"]
    for r in f.outcomes:
        if r["status"] == "applied":
            what = f"điều chỉnh {r['old_value'] or 'trống'} → {r['new_value'] or 'trống'}"
        elif r["status"] == "confirmed":
            what = f"xác nhận giữ nguyên {r['new_value'] or 'trống'}"
        else:
            what = "xung đột, chưa áp dụng (xem dưới)"
        lines.append(f"    {r['correction_id']} {r['field']}: {what}" + (f" [{r['check_id']}]" if r["check_id"] else ""))
    if f.unchanged:
        lines.append(f"    ({f.unchanged} giá trị ghi lại không đổi, ở chỉ tiêu không có vấn đề và không kèm lý do: không cần ghi nhận)")
    lines += [f"    Lỗi chờ Sở quyết định: {w}" for w in f.waiting]
    lines += [f"    Xung đột: {c}" for c in f.conflicts]
    return lines


class _Cycle:
    """The cycle, its rubric and the register, with each agency's submission read once."""

    def __init__(self, cycle_dir: Path):
        self.cycle: Cycle = load_cycle(cycle_dir)
        self.rubric: Rubric = load_rubric(self.cycle.rubric_id)
        register = self.cycle.corrections
        self.rows: list[dict] = [] if register is None else register.drop(columns="line").to_dict("records")
        self._intake: dict[str, tuple[pd.DataFrame, pd.DataFrame]] = {}

    def submitted(self, agency_id: str) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(statuses, values as sent) of one agency, read by intake from the cycle folder."""
        if agency_id not in self._intake:
            from ictaudit.intake.submissions import intake_cycle

            c = self.cycle
            mine = dataclasses.replace(
                c, agencies=c.agencies[c.agencies["agency_id"] == agency_id],
                receipts=c.receipts[c.receipts["agency_id"] == agency_id],
            )  # fmt: skip
            result = intake_cycle(mine, self.rubric)
            self._intake[agency_id] = (result.statuses, result.values)
        return self._intake[agency_id]

    def current(self, agency_id: str, extra: list[dict] = ()) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        """(statuses, current values, the overlay's report) of one agency with the register (and ``extra``) laid over."""
        statuses, values = self.submitted(agency_id)
        rows = [r for r in [*self.rows, *extra] if str(r.get("agency_id", "")).strip() == agency_id]
        register = pd.DataFrame(rows, columns=list(REGISTER_COLUMNS)).fillna("") if rows else None
        corrected, report = apply_corrections(values, register, self.rubric, statuses)
        return statuses, corrected, report


def confirm_replies(cycle_dir: Path | str, files: list[Path | str], *, dry_run: bool = False) -> ConfirmResult:
    """Read ``files`` and append their answers to the cycle's corrections.csv (see the module doc)."""
    state = _Cycle(Path(cycle_dir))
    register = state.cycle.root / CORRECTIONS_FILE
    known: dict[str, list[str]] = {}
    for r in state.rows:
        if str(r.get("reply_sha256", "")).strip():
            known.setdefault(str(r["reply_sha256"]).strip(), []).append(str(r["correction_id"]))
    new_rows: list[dict] = []
    outcomes = []
    for path in map(Path, files):
        outcome = _one_file(state, path, known, new_rows)
        outcomes.append(outcome)
        if outcome.status == "imported":
            new_rows += outcome.rows
            known[outcome.sha256] = [r["correction_id"] for r in outcome.rows]
    if new_rows and not dry_run:
        append_rows(register, new_rows)
    return ConfirmResult(outcomes, register, len(new_rows), dry_run)


def _one_file(state: _Cycle, path: Path, known: dict[str, list[str]], batch: list[dict]) -> FileOutcome:
    outcome = FileOutcome(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        outcome.problems.append("không có tệp này (kiểm tra đường dẫn)")
        return outcome
    except OSError as exc:
        outcome.problems.append(f"không đọc được tệp ({exc.strerror or exc})")
        return outcome
    outcome.sha256 = hashlib.sha256(data).hexdigest()
    if outcome.sha256 in known:
        outcome.status, outcome.known_ids = "already", known[outcome.sha256]
        return outcome
    try:
        reply = read_reply(data, path.name)
    except ReplyRefused as exc:
        outcome.problems.append(str(exc))
        return outcome
    outcome.problems += _recognise(reply, state)
    if outcome.problems:
        return outcome
    agency = state.cycle.agency(reply.meta["agency_id"])
    outcome.agency_id, outcome.agency_name = str(agency["agency_id"]), str(agency["name"])
    statuses, current, _ = state.current(outcome.agency_id, batch)
    status = str(statuses.iloc[0]["status"]) if len(statuses) else "missing"
    if status != "ranked":
        outcome.problems.append(
            f"đơn vị {outcome.agency_id} hiện không được đánh giá (tình trạng “{status}”: "
            f"{statuses.iloc[0]['status_reason'] if len(statuses) else ''}); không có số liệu để xác nhận"
        )
        return outcome
    outcome.problems += _changed_since(reply, current, state.rubric)
    if outcome.problems:
        return outcome
    rows, problems, unchanged = answers_to_rows(reply, current, state.rubric, path.name, outcome.sha256)
    outcome.problems, outcome.unchanged = problems, unchanged
    if problems:
        return outcome
    _number_rows(rows, [*state.rows, *batch])
    outcome.rows = rows
    outcome.status = "imported" if rows else "nothing"
    if rows:
        _predict(state, outcome, reply, batch)
    if outcome.problems:  # the overlay would refuse a row for another reason than a conflict
        outcome.status, outcome.rows = "refused", []
    return outcome


def _recognise(reply: Reply, state: _Cycle) -> list[str]:
    """Why the workbook is not this cycle's confirmation workbook of an agency on the roster (empty: it is)."""
    meta, cycle, rubric = reply.meta, state.cycle, state.rubric
    version = meta.get("template_version", "")
    if version.startswith("ictaudit-form/"):
        return ["đây là phiếu cung cấp số liệu (phiếu gửi đi đầu kỳ), không phải phiếu xác nhận; phiếu số liệu "
                "được nhận vào thư mục submissions/ (receipts.csv), không qua lệnh confirm"]  # fmt: skip
    if version != TEMPLATE_VERSION:
        return [f"không phải phiếu xác nhận do ictaudit lập (phiên bản mẫu “{version or 'không có'}”)"]
    if meta.get("year") != str(cycle.year):
        return [f"phiếu xác nhận năm {meta.get('year') or '?'}, kỳ đánh giá này là năm {cycle.year}"]
    if meta.get("rubric") != rubric.id or meta.get("rubric_version") != str(rubric.version):
        return [
            f"phiếu lập theo thang điểm {meta.get('rubric')} phiên bản {meta.get('rubric_version')}, kỳ này dùng "
            f"{rubric.id} phiên bản {rubric.version}; chạy lại ictaudit run và gửi phiếu mới cho đơn vị"
        ]
    agency_id = meta.get("agency_id", "")
    roster = cycle.agencies[cycle.agencies["agency_id"] == agency_id]
    if roster.empty:
        return [f"phiếu của đơn vị “{agency_id}”, không có trong danh sách đơn vị của kỳ (agencies.csv)"]
    group = str(roster.iloc[0]["group"])
    problems = []
    if meta.get("form") != rubric.form_of(group):
        problems.append(f"phiếu {meta.get('form')} nhưng đơn vị {agency_id} thuộc nhóm dùng phiếu {rubric.form_of(group)}")
    if reply.shown_agency_id and reply.shown_agency_id != agency_id:
        problems.append(
            f"trang “Xác nhận” ghi mã đơn vị “{reply.shown_agency_id}” nhưng phiếu được lập cho “{agency_id}”: "
            "có thể là phiếu của đơn vị khác"
        )
    if values_digest(reply.values) != meta.get("values_sha256") or problems_digest(reply.problems) != meta.get(
        "problems_sha256"
    ):
        problems.append("phần ẩn ghi số liệu lúc lập phiếu đã bị sửa; đề nghị đơn vị trả lời trên phiếu Sở đã gửi")
    form_codes = [f.code for f in rubric.fields_for_form(rubric.form_of(group))]
    if sorted(set(reply.value_codes)) != sorted(form_codes) or [v[0] for v in reply.values] != form_codes:
        problems.append(f"trang “Số liệu” không có đúng các chỉ tiêu của phiếu {rubric.form_of(group)} (dòng bị thêm, xóa hay sửa mã)")
    return problems


def _changed_since(reply: Reply, current: pd.DataFrame, rubric: Rubric) -> list[str]:
    """The values that differ from those the workbook was made from: its problem list no longer matches."""
    now = {str(r["field"]): (float(r["value"]), str(r["correction_id"] or "")) for r in current.to_dict("records")}
    changed = []
    for code, text, _cid in reply.values:
        then = float(text) if text else math.nan
        value, cid = now.get(code, (math.nan, ""))
        if not (then == value or (math.isnan(then) and math.isnan(value))):
            spec = rubric.field_by_code[code]
            was, now_text = value_text(then, spec.type) or "trống", value_text(value, spec.type) or "trống"
            changed.append(f"{code}: phiếu ghi {was}, nay là {now_text}" + (f" (hiệu chỉnh {cid})" if cid else ""))
    if not changed:
        return []
    more = f" và {len(changed) - SHOWN_CHANGES} chỉ tiêu khác" if len(changed) > SHOWN_CHANGES else ""
    return [
        "số liệu của đơn vị đã thay đổi từ khi lập phiếu này (" + "; ".join(changed[:SHOWN_CHANGES]) + more + "), "
        "nên danh sách vấn đề trong phiếu không còn đúng; chạy lại ictaudit run và gửi phiếu mới "
        "(confirmations/<mã đơn vị>.xlsx) cho đơn vị"
    ]


def answers_to_rows(reply: Reply, current: pd.DataFrame, rubric: Rubric, file_name: str,
                    sha256: str) -> tuple[list[dict], list[str], int]:  # fmt: skip
    """(rows for corrections.csv, why the answers cannot be recorded, unchanged values not recorded)."""
    values = dict(zip(current["field"].astype(str), current["value"].astype(float)))
    flagged = {code for _check, _sev, fields, _r in reply.problems for code in fields.split(";")}
    by_field: dict[str, list[Answer]] = {}
    for a in reply.answers:
        by_field.setdefault(a.field, []).append(a)
    rows, problems, unchanged = [], [], 0
    for code in reply.value_codes:
        answers = by_field.get(code)
        if not answers:
            continue
        spec = rubric.field_by_code[code]
        held = values.get(code, math.nan)
        new, why = _answered_value(answers, spec, held)
        problems += why
        reasons = list(dict.fromkeys(a.reason for a in answers if a.reason))
        if why:
            continue
        if _same(new, held) and code not in flagged and not reasons:
            unchanged += 1
            continue
        row, why = _row(reply, answers, spec, held, new, reasons)
        problems += why
        if not why:
            rows.append(row | {"reply_file": file_name, "reply_sha256": sha256})
    return rows, problems, unchanged


def _same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


def _answered_value(answers: list[Answer], spec, held: float) -> tuple[float, list[str]]:
    """The value the answers give (``held`` when only reasons are given), or why there is none."""
    parsed, problems = [], []
    for a in answers:
        if a.value == "":
            continue
        p = parse_value(a.value, spec.type, spec.unit_vi)
        if not p.ok:
            problems.append(f"{a.where} ({spec.code}): {p.problem}")
        elif p.value is not None:
            parsed.append((a, p.value))
    if problems:
        return held, problems
    distinct = list(dict.fromkeys(v for _a, v in parsed))
    if len(distinct) > 1:
        cells = "; ".join(f"{a.where} ghi {value_text(v, spec.type, grouped=True)}" for a, v in parsed)
        return held, [f"{spec.code}: hai câu trả lời khác nhau ({cells}); đề nghị đơn vị ghi một giá trị"]
    return (distinct[0] if distinct else held), []


def _row(reply: Reply, answers: list[Answer], spec, held: float, new: float, reasons: list[str]) -> tuple[dict, list[str]]:
    problems = []
    first = answers[0]
    if not reasons:
        what = "giá trị mới" if not _same(new, held) else "xác nhận giữ nguyên"
        problems.append(f"{first.where} ({spec.code}): có {what} nhưng không ghi lý do, giải trình")
    who = next((a.who for a in answers if a.who), "") or reply.who
    when_answer = next((a for a in answers if a.when != ""), None)
    when, when_cell = (when_answer.when, f"trang “{when_answer.sheet}”, ô {when_answer.when_cell}") if when_answer else (
        reply.when, f"trang “Xác nhận”, ô {reply.when_cell}")  # fmt: skip
    if not who:
        problems.append(f"{spec.code}: không ghi người xác nhận (ở dòng của chỉ tiêu, hoặc ô “Người xác nhận” đầu phiếu)")
    day = parse_date(when.strip() if isinstance(when, str) else when)
    if when in ("", None):
        problems.append(f"{spec.code}: không ghi ngày xác nhận (ở dòng của chỉ tiêu, hoặc ô “Ngày xác nhận” đầu phiếu)")
    elif day is None:
        problems.append(f"{when_cell}: ngày xác nhận “{when}” không phải một ngày; ghi dạng {DATE_FORMATS_VI}")
    checks = list(dict.fromkeys(a.check_id for a in answers if a.check_id))
    by = f"{who} (ĐT/thư: {reply.phone})" if who and reply.phone else who
    row = {
        "agency_id": reply.meta["agency_id"], "field": spec.code, "old_value": value_text(held, spec.type),
        "new_value": value_text(new, spec.type), "reason": "; ".join(reasons), "check_id": ";".join(checks),
        "confirmed_by": by, "confirmed_on": day.isoformat() if day else "", "source": SOURCE,
        "document": reply.document,
    }  # fmt: skip
    return row, problems


def _number_rows(rows: list[dict], before: list[dict]) -> None:
    """Give each new row the next free id: K<n> by its place in the file, or the next one not taken."""
    taken = {str(r.get("correction_id", "")) for r in before}
    n = len(before)
    for row in rows:
        n += 1
        cid = f"K{n:03d}"
        while cid in taken:
            n += 1
            cid = f"K{n:03d}"
        taken.add(cid)
        row["correction_id"] = cid


def _predict(state: _Cycle, outcome: FileOutcome, reply: Reply, batch: list[dict]) -> None:
    """What the overlay will make of the new rows: conflicts with the DIC's rows, errors left open."""
    *_, report = state.current(outcome.agency_id, [*batch, *outcome.rows])
    mine = report[report["correction_id"].isin([r["correction_id"] for r in outcome.rows])]
    outcome.outcomes = mine.fillna("").astype(str).to_dict("records")
    changed = {r["field"] for r in outcome.outcomes if r["status"] == "applied"}
    for r in outcome.outcomes:
        if r["status"] == "rejected" and r["status_reason"].startswith(CONFLICT):
            outcome.conflicts.append(f"{r['correction_id']} {r['field']}: {r['status_reason']}")
        elif r["status"] == "rejected":
            outcome.problems.append(f"{r['field']}: {r['status_reason']}")
        elif r["status"] == "confirmed":
            for check_id, severity, fields, _round in reply.problems:
                answered = r["field"] in fields.split(";") or check_id in r["check_id"].split(";")
                if severity == "E" and answered and not changed & set(fields.split(";")):  # nothing of it corrected
                    outcome.waiting.append(
                        f"{check_id} ({SEVERITY_VI['E']}, {fields.replace(';', ', ')}): đơn vị xác nhận giữ nguyên "
                        f"{r['field']} = {r['new_value'] or 'trống'} ({r['correction_id']}) — Sở quyết định"
                    )
    outcome.waiting = list(dict.fromkeys(outcome.waiting))


# -- the register ------------------------------------------------------------------------------


def append_rows(path: Path, rows: list[dict]) -> None:
    """Append ``rows`` to corrections.csv, keeping every byte of what is there when its header has
    every column written; otherwise the missing columns are added to the header and every row keeps
    its content. A new file is UTF-8 with a BOM, so that Excel shows Vietnamese right."""
    if not path.exists():
        path.write_bytes(_csv_bytes([list(REGISTER_COLUMNS), *[_cells(r, REGISTER_COLUMNS) for r in rows]], "\n", True))
        return
    data = path.read_bytes()
    bom = data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8-sig")
    newline = "\r\n" if "\r\n" in text else "\n"
    records = list(csv.reader(io.StringIO(text, newline="")))
    header = [h.strip() for h in records[0]] if records else []
    missing = [c for c in REGISTER_COLUMNS if c not in header]
    if not missing and records:
        tail = b"" if data.endswith((b"\n", b"\r")) else newline.encode()
        with path.open("ab") as f:
            f.write(tail + _csv_bytes([_cells(r, header) for r in rows], newline, False))
        return
    header = header + missing
    width = len(header)
    old = [rec + [""] * (width - len(rec)) for rec in records[1:] if rec]
    path.write_bytes(_csv_bytes([header, *old, *[_cells(r, header) for r in rows]], newline, bom))


def _cells(row: dict, header) -> list[str]:
    return [format_cell(str(row.get(c, "") or "")) if c in row else "" for c in header]


def _csv_bytes(records: list[list[str]], newline: str, bom: bool) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator=newline).writerows(records)
    return ("\ufeff" if bom else "").encode() + out.getvalue().encode("utf-8")

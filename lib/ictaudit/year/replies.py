"""One returned confirmation workbook read: what it was made from, and every answer in it.

:func:`read_reply` takes the bytes of a workbook an agency sent back (renamed, or saved again by Excel
or LibreOffice: ``.xlsx``, ``.xls`` or ``.ods``), checks the package as intake checks a submission
(:func:`ictaudit.intake.package.inspect_package`: bombs, entity XML, encryption), opens it with
python-calamine and returns a :class:`Reply`: the hidden ``_meta`` and ``_goc`` sheets (cycle, agency,
the values and problems the workbook was made from) and the answers — each row of sheet ``Xác nhận``
(problem × field) and of sheet ``Số liệu`` (field) whose answer cells are not all blank, with the
cell each came from. Columns and rows are found by their headers and codes, never by fixed
addresses. Nothing is judged here; :mod:`ictaudit.year.confirm` decides what the answers mean.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date, datetime

from python_calamine import CalamineWorkbook, PasswordError

from ictaudit.intake.forms import cell_address
from ictaudit.intake.package import inspect_package
from ictaudit.intake.parsing import cell_text, loose_key, normalize_text, raw_text
from ictaudit.intake.problems import SubmissionError, describe_error
from ictaudit.validate.confirmations import (
    ANSWER_HEADERS,
    PROBLEM_HEADERS,
    SHEET_MADE_FROM,
    SHEET_META,
    SHEET_PROBLEMS,
    SHEET_VALUES,
    VALUE_HEADERS,
    wording,
)

MAX_ROWS = 2_000  # a confirmation workbook has a few hundred rows at most


class ReplyRefused(Exception):
    """A file that cannot be taken as a confirmation workbook; ``str()`` is the Vietnamese reason."""


@dataclass(frozen=True)
class Answer:
    """One answered row: the field, the check it answers (``""`` on sheet ``Số liệu``) and the cells."""

    sheet: str
    field: str
    check_id: str
    value: object  # the value cell as the reader gives it ("" when blank)
    value_cell: str
    reason: str
    who: str
    when: object
    when_cell: str

    @property
    def where(self) -> str:
        return f"trang “{self.sheet}”, ô {self.value_cell}"


@dataclass
class Reply:
    """What one returned workbook holds."""

    meta: dict[str, str]
    values: list[tuple[str, str, str]]  # (code, exact value, correction id) it was made from
    problems: list[tuple[str, str, str, str]]  # (check, severity, fields, round) it listed
    answers: list[Answer] = field(default_factory=list)
    who: str = ""
    phone: str = ""
    when: object = ""
    when_cell: str = ""
    document: str = ""
    shown_agency_id: str = ""
    value_codes: list[str] = field(default_factory=list)  # the codes of sheet ``Số liệu``, in order


def read_reply(data: bytes, file_name: str) -> Reply:
    """The workbook of ``data`` read; :class:`ReplyRefused` naming what makes it unusable."""
    wb = _open(data, file_name)
    meta = _key_values(wb, SHEET_META)
    if meta is None:
        raise ReplyRefused(
            "không phải phiếu xác nhận do ictaudit lập (không có trang ẩn “_meta”); hãy dùng tệp "
            "confirmations/<mã đơn vị>.xlsx mà Sở đã gửi, đơn vị trả lời ngay trong tệp đó"
        )
    made_from = _rows(wb, SHEET_MADE_FROM)
    values = [(_text(r, 1), _text(r, 2), _text(r, 3)) for r in made_from[1:] if _text(r, 0) == "value"]
    problems = [(_text(r, 1), _text(r, 4), _text(r, 5), _text(r, 6)) for r in made_from[1:] if _text(r, 0) == "problem"]
    reply = Reply(meta=meta, values=values, problems=problems)
    if not meta.get("template_version", "").startswith("ictaudit-confirmation/"):
        return reply  # the caller names what it is instead
    _read_problem_sheet(wb, reply, file_name)
    _read_value_sheet(wb, reply, file_name)
    return reply


def _open(data: bytes, file_name: str) -> CalamineWorkbook:
    try:
        inspect_package(data, file_name)
        return CalamineWorkbook.from_filelike(io.BytesIO(data))
    except SubmissionError as exc:
        raise ReplyRefused(exc.message_vi) from None
    except PasswordError:
        raise ReplyRefused("tệp có mật khẩu; đề nghị đơn vị gửi lại tệp không đặt mật khẩu") from None
    except Exception as exc:  # calamine raises several types for broken files
        raise ReplyRefused(f"không mở được tệp như một bảng tính ({describe_error(exc)})") from None


def _sheet(wb: CalamineWorkbook, wanted: str) -> str | None:
    for name in wb.sheet_names:
        if loose_key(name) == loose_key(wanted):
            return name
    return None


def _rows(wb: CalamineWorkbook, wanted: str) -> list[list]:
    name = _sheet(wb, wanted)
    if name is None:
        return []
    try:
        return wb.get_sheet_by_name(name).to_python(skip_empty_area=False, nrows=MAX_ROWS)
    except Exception as exc:
        raise ReplyRefused(f"không đọc được trang “{wanted}” ({describe_error(exc)})") from None


def _key_values(wb: CalamineWorkbook, wanted: str) -> dict[str, str] | None:
    if _sheet(wb, wanted) is None:
        return None
    return {cell_text(str(r[0])): cell_text(r[1]) for r in _rows(wb, wanted) if len(r) >= 2 and str(r[0]).strip()}


def _text(row: list, i: int) -> str:
    return cell_text(row[i]) if i < len(row) else ""


def _blank(cell) -> bool:
    return cell is None or (isinstance(cell, str) and not normalize_text(cell))


def _header(rows: list[list], required: list[str]) -> tuple[int, dict[str, int]] | None:
    """The first row holding every header of ``required``, and each header's column."""
    wanted = {loose_key(h): h for h in required}
    for r, row in enumerate(rows):
        found = {wanted[loose_key(c)]: i for i, c in enumerate(row) if isinstance(c, str) and loose_key(c) in wanted}
        if len(found) == len(wanted):
            return r, found
    return None


def _answer(sheet: str, r: int, row: list, cols: dict[str, int], code: str, check_id: str) -> Answer | None:
    value_col, reason_col, who_col, when_col = (cols[h] for h in ANSWER_HEADERS)
    cells = [row[c] if c < len(row) else "" for c in (value_col, reason_col, who_col, when_col)]
    if all(_blank(c) for c in cells):
        return None
    value, reason, who, when = cells
    return Answer(
        sheet=sheet, field=code, check_id=check_id, value="" if _blank(value) else value,
        value_cell=cell_address(r, value_col), reason=_plain(reason), who=_plain(who),
        when="" if _blank(when) else when, when_cell=cell_address(r, when_col),
    )  # fmt: skip


def _plain(cell) -> str:
    if _blank(cell):
        return ""
    if isinstance(cell, datetime | date):
        return raw_text(cell)
    return normalize_text(raw_text(cell))


def _read_problem_sheet(wb: CalamineWorkbook, reply: Reply, file_name: str) -> None:
    """Sheet ``Xác nhận``: the answers given once for every row, the agency shown, each problem row."""
    rows = _rows(wb, SHEET_PROBLEMS)
    if not rows:
        raise ReplyRefused(f"không có trang “{SHEET_PROBLEMS}”; đề nghị đơn vị trả lời ngay trong phiếu Sở đã gửi")
    labels = wording()["labels"]
    single = {loose_key(labels[k]): k for k in ("agency_id", "who", "phone", "when", "document")}
    for r, row in enumerate(rows):
        key = loose_key(row[0]) if row and isinstance(row[0], str) else ""
        if key not in single:
            continue
        at = next((i for i in range(1, len(row)) if not _blank(row[i])), None)
        value = row[at] if at is not None else ""
        what = single[key]
        if what == "agency_id":
            reply.shown_agency_id = _plain(value)
        elif what == "when":
            reply.when, reply.when_cell = value, cell_address(r, at if at is not None else 5)
        else:
            setattr(reply, what, _plain(value))
    found = _header(rows, [PROBLEM_HEADERS[1], PROBLEM_HEADERS[3], *ANSWER_HEADERS])
    if found is None:
        raise ReplyRefused(f"trang “{SHEET_PROBLEMS}” không còn dòng tiêu đề của bảng (cột “{PROBLEM_HEADERS[1]}”, …)")
    header_row, cols = found
    for r in range(header_row + 1, len(rows)):
        row = rows[r]
        check_id, code = _text(row, cols[PROBLEM_HEADERS[1]]), _text(row, cols[PROBLEM_HEADERS[3]])
        if not check_id:
            continue
        answer = _answer(SHEET_PROBLEMS, r, row, cols, code, check_id)
        if answer is not None:
            reply.answers.append(answer)


def _read_value_sheet(wb: CalamineWorkbook, reply: Reply, file_name: str) -> None:
    """Sheet ``Số liệu``: each field's row, found by its code."""
    rows = _rows(wb, SHEET_VALUES)
    if not rows:
        raise ReplyRefused(f"không có trang “{SHEET_VALUES}”; đề nghị đơn vị trả lời ngay trong phiếu Sở đã gửi")
    found = _header(rows, [VALUE_HEADERS[0], *ANSWER_HEADERS])
    if found is None:
        raise ReplyRefused(f"trang “{SHEET_VALUES}” không còn dòng tiêu đề của bảng (cột “{VALUE_HEADERS[0]}”, …)")
    header_row, cols = found
    for r in range(header_row + 1, len(rows)):
        code = _text(rows[r], cols[VALUE_HEADERS[0]])
        if not code:
            continue
        reply.value_codes.append(code)
        answer = _answer(SHEET_VALUES, r, rows[r], cols, code, "")
        if answer is not None:
            reply.answers.append(answer)

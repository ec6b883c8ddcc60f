"""Confirmation workbooks (phiếu xác nhận số liệu): one per agency with open problems, to send back and
to be returned answered (docs/confirmations.md, docs/contracts.md §7).

docs/domain.md §1 step 4: the DIC sends each agency its data back with every problem found; the
agency confirms or corrects each value and returns the workbook, which ``ictaudit confirm`` reads.
Each ``<agency_id>.xlsx`` has

- sheet ``Xác nhận``: who, which year, where to send the reply and by when (``reply_to``, ``reply_by``
  of cycle.yaml), how to answer; the person confirming, the date and the reply's document once for
  every row; one row per problem **and field** (a check naming three fields has three rows, each with
  its own answer cells: ``Giá trị xác nhận / điều chỉnh``, ``Lý do, giải trình``, ``Người xác nhận``,
  ``Ngày xác nhận``); then the block the head of the agency signs and stamps;
- sheet ``Số liệu``: every field of the form — as sent, as used now, its cell, its problems — with
  the same answer columns, for corrections the problem list does not ask for;
- hidden sheets ``_meta`` (template version, year, rubric and version, group, form, agency, the
  digests) and ``_goc`` (every value and every problem the workbook was made from), by which
  ``confirm`` recognises the cycle and the agency and tells whether the data changed since.

Both visible sheets print on A4 landscape, fitted to the width, with the table header repeated and
row heights that show every message whole. Only the answer cells are unlocked. Agency-supplied text
is always written as text (:func:`ictaudit.common.workbooks.write_text`). The wording lives in
``confirmation.yaml`` beside this module. The same inputs give the same bytes.
"""

from __future__ import annotations

import hashlib
import math
import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

import pandas as pd
import yaml

from ictaudit.common.numfmt import fmt_date
from ictaudit.common.workbooks import A4, new_workbook, write_text
from ictaudit.intake.parsing import format_float, parse_value, value_text
from ictaudit.rules.rubric import FieldSpec, Rubric

TEMPLATE_VERSION = "ictaudit-confirmation/1"
SHEET_PROBLEMS = "Xác nhận"
SHEET_VALUES = "Số liệu"
SHEET_META = "_meta"
SHEET_MADE_FROM = "_goc"
SEVERITY_VI = {"E": "Lỗi", "W": "Cảnh báo"}
ANSWER_HEADERS = ["Giá trị xác nhận / điều chỉnh", "Lý do, giải trình", "Người xác nhận", "Ngày xác nhận"]
PROBLEM_HEADERS = [
    "STT", "Mã kiểm tra", "Mức độ", "Mã chỉ tiêu", "Chỉ tiêu", "Giá trị hiện tại", "Nội dung cần xác nhận",
]  # fmt: skip
VALUE_HEADERS = ["Mã", "Chỉ tiêu", "Đơn vị", "Giá trị đơn vị gửi", "Giá trị đang dùng", "Ô", "Vấn đề", "Hiệu chỉnh"]
PROBLEM_WIDTHS = [4.5, 8.5, 8, 7, 24, 11, 38]
VALUE_WIDTHS = [6, 44, 9, 11, 11, 6, 9, 9]
ANSWER_WIDTHS = [12, 30, 15, 11]
#: the ``_goc`` rows: ``value`` rows (code, value, correction) then ``problem`` rows
MADE_FROM_HEADER = ["loại", "mã", "giá trị", "hiệu chỉnh", "mức độ", "chỉ tiêu", "vòng"]
WORDING_FILE = Path(__file__).with_name("confirmation.yaml")
_BLANK = "…"


@dataclass(frozen=True)
class Particulars:
    """What a workbook says about the cycle: a :class:`~ictaudit.intake.cycle.Cycle` has all of it."""

    year: int
    title: str
    province: str = ""
    reply_by: date | None = None
    reply_to: str = ""
    contact: str = ""


@cache
def wording() -> dict:
    """``confirmation.yaml``: the workbook's wording."""
    return yaml.safe_load(WORDING_FILE.read_text(encoding="utf-8"))


def _fill(text: str, values: dict) -> str:
    return text.format(**values)


def _placeholders(cycle, agency: dict, form: str) -> dict:
    reply_to = cycle.reply_to or cycle.contact or "Sở Thông tin và Truyền thông"
    return {
        "year": cycle.year, "agency_name": agency.get("agency_name", ""), "agency_id": agency["agency_id"],
        "form": form, "reply_by": fmt_date(cycle.reply_by) if cycle.reply_by else _BLANK, "reply_to": reply_to,
        "contact": cycle.contact or _BLANK, "province": cycle.province or _BLANK,
    }  # fmt: skip


# -- what the workbook was made from (recognised again by ``ictaudit confirm``) ----------------


def _by_code(values: pd.DataFrame | dict) -> dict[str, dict]:
    """An agency's long values as {field code: row}."""
    return values if isinstance(values, dict) else {str(r["field"]): r for r in values.to_dict("records")}


def made_from_values(values: pd.DataFrame | dict, fields: tuple[FieldSpec, ...]) -> list[tuple[str, str, str]]:
    """(code, value as exact text, correction id) of every field of the form, in form order."""
    by_code = _by_code(values)
    out = []
    for spec in fields:
        row = by_code.get(spec.code, {})
        value = row.get("value", math.nan)
        out.append((spec.code, format_float(float(value)) if _is_number(value) else "", str(row.get("correction_id", "") or "")))
    return out


def _is_number(x) -> bool:
    try:
        return not math.isnan(float(x))
    except (TypeError, ValueError):
        return False


def values_digest(rows: list[tuple[str, str, str]] | list[tuple[str, str]]) -> str:
    """sha256 of the agency's values (code and exact value, sorted by code): equal values, equal digest."""
    text = "\n".join(f"{r[0]}\t{r[1]}" for r in sorted(rows))
    return hashlib.sha256(text.encode()).hexdigest()


def problems_digest(rows: list[tuple[str, str, str, str]]) -> str:
    """sha256 of the problem list (check, severity, fields, round), sorted."""
    text = "\n".join("\t".join(r) for r in sorted(rows))
    return hashlib.sha256(text.encode()).hexdigest()


def _problem_rows(issues: pd.DataFrame) -> list[tuple[str, str, str, str]]:
    return [
        (str(r["check_id"]), str(r["severity"]), str(r["fields"]), str(int(r["round"])))
        for r in issues.to_dict("records")
    ]


# -- the workbook -----------------------------------------------------------------------------


def write_confirmation(path: Path, rubric: Rubric, agency: dict, values: pd.DataFrame, issues: pd.DataFrame,
                       cycle) -> Path:  # fmt: skip
    """One agency's workbook. ``values``: its long values (as used now); ``issues``: its open problems
    (docs/contracts.md §6 columns); ``cycle``: a Cycle or :class:`Particulars`."""
    form = rubric.form_of(agency["group"])
    fields = rubric.fields_for_form(form)
    wb = new_workbook(
        path,
        {"title": f"Phiếu xác nhận số liệu năm {cycle.year}", "author": "Sở Thông tin và Truyền thông"},
        default_format_properties={"font_name": "Times New Roman", "font_size": 11},
        in_memory=True,  # no temporary file per part: the same bytes, written faster
    )
    f = _formats(wb)
    text = _placeholders(cycle, agency, form)
    issues = issues.assign(_e=(issues["severity"] != "E").astype(int)).sort_values(
        ["_e", "check_id", "round"], kind="mergesort"
    )
    values = _by_code(values)
    shown = _shown_values(values, fields)
    problems = wb.add_worksheet(SHEET_PROBLEMS)
    row = _write_heading(problems, f, rubric, agency, cycle, text)
    row = _write_problem_rows(problems, f, fields, issues, shown, row)
    _write_sign_block(problems, f, row + 1)
    _write_values(wb.add_worksheet(SHEET_VALUES), f, fields, values, issues, shown, text)
    made_from = made_from_values(values, fields)
    _write_hidden(wb, rubric, agency, cycle, form, made_from, _problem_rows(issues))
    wb.close()
    return path


def _formats(wb) -> dict:
    """The workbook's cell formats, by use (added in a fixed order: the same bytes every time)."""
    cell = {"text_wrap": True, "valign": "top", "border": 1}
    answer = {**cell, "bg_color": "#FFF2CC", "locked": False}
    return {
        "title": wb.add_format({"bold": True, "font_size": 14, "align": "center", "valign": "vcenter", "text_wrap": True}),
        "subtitle": wb.add_format({"italic": True, "align": "center", "valign": "top", "text_wrap": True}),
        "label": wb.add_format({"bold": True, "valign": "top", "text_wrap": True}),
        "text": wb.add_format({"valign": "top", "text_wrap": True}),
        "bold": wb.add_format({"bold": True, "valign": "top"}),
        "head": wb.add_format({**cell, "bold": True, "valign": "vcenter", "align": "center", "bg_color": "#D9E1F2"}),
        "wrap": wb.add_format(cell),
        "centre": wb.add_format({**cell, "align": "center"}),
        "code": wb.add_format({**cell, "font_name": "Courier New", "font_size": 10}),
        "err": wb.add_format({**cell, "font_color": "#C00000", "bold": True}),
        "warn": wb.add_format({**cell, "font_color": "#9C5700", "bold": True}),
        "value": wb.add_format({**cell, "align": "right"}),
        "answer_text": wb.add_format({**answer, "num_format": "@"}),
        "answer_line": wb.add_format(
            {"bg_color": "#FFF2CC", "locked": False, "border": 1, "valign": "top", "text_wrap": True, "num_format": "@"}
        ),
        "muted": wb.add_format({**cell, "font_color": "#595959", "italic": True}),
        "sign_head": wb.add_format({"bold": True, "align": "center", "valign": "top", "text_wrap": True}),
        "sign": wb.add_format({"italic": True, "align": "center", "valign": "top", "text_wrap": True}),
    }


def _shown_values(values: pd.DataFrame | dict, fields: tuple[FieldSpec, ...]) -> dict[str, str]:
    """Each field's value as the workbook shows it: exact, Vietnamese style (``1.234``, ``45,5``, ``Có``);
    a value that could not be read shows the text the agency typed (``85%``), a blank ``trống``."""
    by_code = _by_code(values)
    out = {}
    for spec in fields:
        row = by_code.get(spec.code, {})
        value = row.get("value", math.nan)
        if _is_number(value):
            out[spec.code] = value_text(float(value), spec.type, grouped=True)
        else:
            raw = str(row.get("raw_value", "") or "")
            out[spec.code] = raw if raw and not row.get("correction_id") else "trống"
    return out


def _as_sent(raw, spec: FieldSpec) -> str:
    """What the agency sent, shown Vietnamese style when it reads as a value (``40.8`` from a number
    cell shows ``40,8``), else the text as typed (``85%``)."""
    raw = "" if raw is None or (isinstance(raw, float) and math.isnan(raw)) else str(raw)
    parsed = parse_value(raw, spec.type, spec.unit_vi)
    if parsed.ok and parsed.value is not None:
        return value_text(parsed.value, spec.type, grouped=True)
    return raw


def _char_width(ch: str) -> float:
    """A character's width in Times New Roman, in widths of a digit (the unit of a column's width)."""
    base = unicodedata.normalize("NFD", ch)[:1] or " "
    if base == " ":
        return 0.5
    if base in "iljtfr.,:;'|!()[]-/“”":
        return 0.6
    if base in "mwMW%&@":
        return 1.55
    if base.isupper():
        return 1.35
    return 1.0 if base.isdigit() else 0.9


def _lines(text: str, width: float) -> int:
    """How many lines ``text`` wraps to in a column ``width`` wide: word by word, as a spreadsheet wraps,
    with a margin so that a line estimated to fit does fit (a row too short cuts the text off)."""
    room = 0.93 * width - 1
    count = 0
    for paragraph in str(text).split("\n"):
        count += 1
        used = 0.0
        for word in paragraph.split(" "):
            size = sum(_char_width(ch) for ch in word)
            if used and used + 0.5 + size > room:
                count += 1 + int(size // room)
                used = size % room
            else:
                used += (0.5 if used else 0) + size
    return count


def _line_height(texts_and_widths: list[tuple[str, float]], minimum: int = 1) -> float:
    """A row height (points) that shows each wrapped text whole in its column width (Times New Roman 11)."""
    lines = max([minimum, *(_lines(text, width) for text, width in texts_and_widths)])
    return round(15.5 * lines + 3, 1)


def _write_heading(ws, f: dict, rubric: Rubric, agency: dict, cycle, text: dict) -> int:
    """Title, the agency, where and when to reply, how to answer, and who confirms; the next free row."""
    words = wording()
    widths = PROBLEM_WIDTHS + ANSWER_WIDTHS
    last = len(widths) - 1
    total = sum(widths)
    for c, width in enumerate(widths):
        ws.set_column(c, c, width)
    ws.merge_range(0, 0, 0, last, _fill(words["title"], text), f["title"])
    ws.set_row(0, 24)
    ws.merge_range(1, 0, 1, last, "", f["subtitle"])
    write_text(ws, 1, 0, cycle.title, f["subtitle"])
    ws.set_row(1, _line_height([(cycle.title, total)]))
    form = rubric.form_of(agency["group"])
    form_label = next((x.label_vi for x in rubric.forms if x.id == form), form)
    reply_by = _fill(words["reply_by"], text) if cycle.reply_by else _BLANK
    facts = [
        ("agency", agency.get("agency_name", "")), ("agency_id", agency["agency_id"]),
        ("form", f"{form} — {form_label}"), ("reply_to", text["reply_to"]),
        ("reply_by", reply_by), ("contact", text["contact"]),
    ]  # fmt: skip
    row = 3
    for key, value in facts:
        ws.merge_range(row, 0, row, 2, words["labels"][key], f["label"])
        ws.merge_range(row, 3, row, last, "", f["bold"] if key in ("agency", "reply_by") else f["text"])
        write_text(ws, row, 3, value, f["bold"] if key in ("agency", "reply_by") else f["text"])
        ws.set_row(row, _line_height([(value, total - sum(widths[:3]))]))
        row += 1
    row += 1
    ws.merge_range(row, 0, row, last, words["labels"]["how"], f["bold"])
    row += 1
    for n, line in enumerate(words["instructions"], start=1):
        line = f"{n}. {_fill(line, text | {'reply_by': reply_by})}"
        ws.merge_range(row, 0, row, last, line, f["text"])
        ws.set_row(row, _line_height([(line, total)]))
        row += 1
    row += 1
    for key in ("who", "phone", "when", "document"):
        ws.merge_range(row, 0, row, 4, words["labels"][key], f["label"])
        ws.merge_range(row, 5, row, 7, "", f["answer_line"])
        ws.set_row(row, 20)
        row += 1
    return row + 1


def _write_problem_rows(ws, f: dict, fields, issues: pd.DataFrame, shown: dict, header_row: int) -> int:
    """The problem table, one row per problem × field; the row after the last."""
    specs = {s.code: s for s in fields}
    headers = PROBLEM_HEADERS + ANSWER_HEADERS
    widths = PROBLEM_WIDTHS + ANSWER_WIDTHS
    for c, h in enumerate(headers):
        ws.write_string(header_row, c, h, f["head"])
    ws.set_row(header_row, _line_height([(h, w) for h, w in zip(headers, widths)]))
    row = header_row + 1
    answer_col = len(PROBLEM_HEADERS)
    for n, issue in enumerate(issues.to_dict("records"), start=1):
        codes = [c for c in str(issue["fields"]).split(";") if c in specs] or [""]
        sev = str(issue["severity"])
        message = _with_values(str(issue["message_vi"]), str(issue["values"]))
        # a rule applied to each field (L24 over many counts) says each field's part on its own row: a
        # message merged over many rows would be cut where a printed page ends
        own = _per_field(str(issue["message_vi"]), str(issue["values"]), codes)
        first = row
        for code in codes:
            spec = specs.get(code)
            label = spec.label_vi if spec else "(cả tệp)"
            ws.write_number(row, 0, n, f["centre"])
            write_text(ws, row, 1, issue["check_id"], f["code"])
            write_text(ws, row, 2, SEVERITY_VI.get(sev, sev), f["err"] if sev == "E" else f["warn"])
            write_text(ws, row, 3, code, f["code"])
            write_text(ws, row, 4, label, f["wrap"])
            write_text(ws, row, 5, shown.get(code, ""), f["value"])
            _answer_cells(ws, f, row, answer_col, spec)
            cells = [(label, widths[4]), (shown.get(code, ""), widths[5])]
            if own:
                write_text(ws, row, 6, own[code], f["wrap"])
                cells.append((own[code], widths[6]))
            ws.set_row(row, _line_height(cells, 2))
            row += 1
        if own:
            continue
        if len(codes) > 1:
            ws.merge_range(first, 6, row - 1, 6, "", f["wrap"])
        write_text(ws, first, 6, message, f["wrap"])
        need = _line_height([(message, widths[6])])
        have = sum(_line_height([(specs[c].label_vi if c in specs else "", widths[4])], 2) for c in codes)
        if need > have:  # the message spans the problem's rows: the last one grows to show it whole
            ws.set_row(row - 1, need - have + _line_height([("", 1)], 2))
    _print_setup(ws, header_row, len(headers) - 1)
    return row


def _with_values(message: str, values: str) -> str:
    return f"{message}\nSố liệu: {values}" if values else message


def _per_field(message: str, values: str, codes: list[str]) -> dict[str, str] | None:
    """Each field's own part of a problem's message, with its value, when the message is the fields'
    messages one after another (each sentence names exactly one of them as ``(F12)``, as a rule applied
    to each field writes them); None when it speaks of the fields together (``F02 > F01``)."""
    if len(codes) < 2:
        return None
    parts: dict[str, list[str]] = {c: [] for c in codes}
    for sentence in re.split(r"(?<=[.!?])\s+", message.strip()):
        owners = [c for c in codes if f"({c})" in sentence]
        if len(owners) != 1:
            return None
        parts[owners[0]].append(sentence)
    if not all(parts.values()):
        return None
    own_values = {v.split("=", 1)[0]: v for v in values.split("; ")} if values else {}
    return {c: _with_values(" ".join(parts[c]), own_values.get(c, "")) for c in codes}


def _answer_cells(ws, f: dict, row: int, col: int, spec: FieldSpec | None) -> None:
    """The four answer cells of a row, unlocked and kept as text (``1.234``, ``05/11/2017`` reach the one
    parser as typed, whatever the spreadsheet's locale would make of them), with a hint on selection."""
    if spec is None:
        for c in range(col, col + len(ANSWER_HEADERS)):
            ws.write_blank(row, c, None, f["muted"])
        return
    for c in range(col, col + len(ANSWER_HEADERS)):
        ws.write_blank(row, c, None, f["answer_text"])
    ws.data_validation(row, col, row, col, _hint(spec))
    ws.data_validation(row, col + 3, row, col + 3, {"validate": "any", "input_title": "Ngày xác nhận",
                                                    "input_message": "Ghi dạng dd/mm/yyyy, ví dụ 20/11/2017."})  # fmt: skip


def _hint(spec: FieldSpec) -> dict:
    """What the value cell asks for, shown when it is selected; Có/Không offered as a list."""
    if spec.type == "yesno":
        return {"validate": "list", "source": ["Có", "Không"], "error_type": "warning", "ignore_blank": True,
                "error_title": "Kiểm tra lại giá trị", "error_message": "Chỉ tiêu này nhận Có hoặc Không.",
                "input_title": "Có hoặc Không", "input_message": "Chọn Có hoặc Không."}  # fmt: skip
    unit = f" ({spec.unit_vi})" if spec.unit_vi else ""
    message = "Số nguyên, ví dụ 1234" if spec.type == "count" else "Số, phần thập phân sau dấu phẩy, ví dụ 45,5"
    return {"validate": "any", "input_title": f"{spec.code}{unit}"[:32], "input_message": f"{message}; không ghi đơn vị."}


def _write_sign_block(ws, f: dict, row: int) -> None:
    """Who prepared the answers (left) and the head of the agency who signs and stamps (right), the
    left block level with the last lines of the right one, then room for the signatures."""
    words = wording()["sign"]
    left, right = list(words["left"]), list(words["right"])
    left = [""] * (len(right) - len(left)) + left
    last = len(PROBLEM_HEADERS) + len(ANSWER_HEADERS) - 1
    for i, (lt, rt) in enumerate(zip(left, right)):
        ws.merge_range(row + i, 0, row + i, 4, lt, f["sign_head" if lt.isupper() else "sign"])
        ws.merge_range(row + i, len(PROBLEM_HEADERS), row + i, last, rt, f["sign_head" if rt.isupper() else "sign"])
    ws.set_row(row + len(right), 75)  # room to sign and stamp
    ws.print_area(0, 0, row + len(right), last)


def _print_setup(ws, header_row: int, last_col: int) -> None:
    ws.set_paper(A4)
    ws.set_landscape()
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(header_row)
    ws.set_margins(left=0.5, right=0.4, top=0.5, bottom=0.6)
    ws.set_footer("&L&A&RTrang &P/&N")
    ws.freeze_panes(header_row + 1, 0)
    ws.protect("", {"select_locked_cells": True, "select_unlocked_cells": True, "format_rows": True,
                    "format_columns": True})  # fmt: skip


def _write_values(ws, f: dict, fields, values: dict, issues: pd.DataFrame, shown: dict, text: dict) -> None:
    """Sheet ``Số liệu``: every field as sent and as used, its problems, and the answer columns."""
    flags: dict[str, list[tuple[str, str]]] = {}
    for check_id, severity, codes in zip(issues["check_id"], issues["severity"], issues["fields"]):
        for code in str(codes).split(";"):
            if check_id not in [c for c, _ in flags.setdefault(code, [])]:
                flags[code].append((check_id, severity))
    by_code = values
    headers = VALUE_HEADERS + ANSWER_HEADERS
    widths = VALUE_WIDTHS + ANSWER_WIDTHS
    last = len(headers) - 1
    for c, width in enumerate(widths):
        ws.set_column(c, c, width)
    words = wording()
    ws.merge_range(0, 0, 0, last, _fill(words["values_title"], text), f["title"])
    ws.set_row(0, _line_height([(_fill(words["values_title"], text), sum(widths))]) + 6)
    hint = " ".join(str(words["values_hint"]).split())
    ws.merge_range(1, 0, 1, last, hint, f["text"])
    ws.set_row(1, _line_height([(hint, sum(widths))]))
    header_row = 3
    for c, h in enumerate(headers):
        ws.write_string(header_row, c, h, f["head"])
    ws.set_row(header_row, _line_height([(h, w) for h, w in zip(headers, widths)]))
    for r, spec in enumerate(fields, start=header_row + 1):
        v = by_code.get(spec.code, {})
        flagged = flags.get(spec.code, [])
        ws.write_string(r, 0, spec.code, f["code"])
        ws.write_string(r, 1, spec.label_vi, f["wrap"])
        ws.write_string(r, 2, spec.unit_vi, f["wrap"])
        write_text(ws, r, 3, _as_sent(v.get("raw_value", ""), spec), f["value"])
        write_text(ws, r, 4, shown[spec.code] if _is_number(v.get("value")) else "trống", f["value"])
        write_text(ws, r, 5, v.get("cell", ""), f["code"])
        errors = any(s == "E" for _, s in flagged)
        write_text(ws, r, 6, ", ".join(c for c, _ in flagged), f["err"] if errors else f["warn"] if flagged else f["wrap"])
        write_text(ws, r, 7, v.get("correction_id", ""), f["code"])
        _answer_cells(ws, f, r, len(VALUE_HEADERS), spec)
        ws.set_row(r, _line_height([(spec.label_vi, widths[1]), (spec.unit_vi, widths[2]),
                                    (str(v.get("raw_value", "")), widths[3])]))  # fmt: skip
    _print_setup(ws, header_row, last)


def _write_hidden(wb, rubric: Rubric, agency: dict, cycle, form: str, made_from: list, problems: list) -> None:
    """``_meta`` (key/value) and ``_goc`` (values and problems): how ``confirm`` recognises the workbook."""
    meta = [
        ("template_version", TEMPLATE_VERSION), ("year", str(cycle.year)), ("rubric", rubric.id),
        ("rubric_version", str(rubric.version)), ("group", str(agency["group"])), ("form", form),
        ("agency_id", str(agency["agency_id"])), ("agency_name", str(agency.get("agency_name", ""))),
        ("values_sha256", values_digest(made_from)), ("problems_sha256", problems_digest(problems)),
    ]  # fmt: skip
    ws = wb.add_worksheet(SHEET_META)
    for i, (key, value) in enumerate(meta):
        ws.write_string(i, 0, key)
        write_text(ws, i, 1, value)
    ws.protect("", {"select_locked_cells": True, "select_unlocked_cells": True})
    ws.hide()
    ws = wb.add_worksheet(SHEET_MADE_FROM)
    for c, h in enumerate(MADE_FROM_HEADER):
        ws.write_string(0, c, h)
    for r, (code, value, cid) in enumerate(made_from, start=1):
        for c, cell in enumerate(("value", code, value, cid)):
            write_text(ws, r, c, cell)
    for r, (check_id, severity, fields, rnd) in enumerate(problems, start=len(made_from) + 1):
        for c, cell in enumerate(("problem", check_id, "", "", severity, fields, rnd)):
            write_text(ws, r, c, cell)
    ws.protect("", {"select_locked_cells": True, "select_unlocked_cells": True})
    ws.hide()


# -- which agencies get one -------------------------------------------------------------------


def open_problems(issues: pd.DataFrame, corrections: pd.DataFrame | None = None) -> pd.DataFrame:
    """The problems still to put to the agency: unresolved rows, a round-1 row left out when round 2
    repeats it, and an error the agency already confirmed unchanged left out (it waits for the DIC:
    :func:`ictaudit.validate.resolution.awaiting_decision`)."""
    from ictaudit.validate.resolution import awaiting_decision

    rows = issues
    if "resolved_by" in rows:
        rows = rows[rows["resolved_by"].fillna("").astype(str) == ""]
    rows = rows[rows["agency_id"].fillna("").astype(str) != ""]
    if "round" in rows and len(rows):
        rounds = rows["round"].astype(int)
        later = set(zip(rows.loc[rounds == 2, "agency_id"], rows.loc[rounds == 2, "check_id"]))
        superseded = (rounds == 1) & pd.Series(
            [(a, c) in later for a, c in zip(rows["agency_id"], rows["check_id"])], index=rows.index, dtype=bool
        )
        rows = rows[~superseded]
    if corrections is not None and len(corrections) and len(rows):
        waiting = awaiting_decision(rows, corrections)
        keep = [(str(a), str(c), int(r)) not in waiting for a, c, r in zip(rows["agency_id"], rows["check_id"], rows["round"])]
        rows = rows[pd.Series(keep, index=rows.index, dtype=bool)]
    return rows


def write_confirmations(
    out_dir: Path,
    rubric: Rubric,
    agencies: pd.DataFrame,
    values_long: pd.DataFrame,
    issues: pd.DataFrame,
    cycle,
    corrections: pd.DataFrame | None = None,
) -> list[Path]:
    """``<out_dir>/<agency_id>.xlsx`` for every evaluated agency with an open problem; the paths, sorted.

    ``issues`` may be round 1 alone (before any reply) or the resolved issues of both rounds (see
    :func:`open_problems`); ``corrections`` the corrections report, so that an error the agency
    confirmed is not asked again; ``cycle`` a Cycle or :class:`Particulars`. Agencies that are not
    ``ranked`` (late, missing, excluded, invalid) get none.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    roster = {str(a["agency_id"]): a for a in agencies.to_dict("records")}
    if "status" in agencies:
        roster = {k: a for k, a in roster.items() if str(a["status"]) == "ranked"}
    open_issues = open_problems(issues, corrections)
    open_issues = open_issues[open_issues["agency_id"].astype(str).isin(roster)]
    if open_issues.empty:
        return []
    ids = values_long["agency_id"].astype(str)
    wanted = ids.isin(set(open_issues["agency_id"].astype(str)))  # a national cycle: a few among thousands
    values_by_agency = dict(tuple(values_long[wanted].groupby(ids[wanted], sort=False)))
    paths = []
    for agency_id, agency_issues in open_issues.groupby(open_issues["agency_id"].astype(str), sort=True):
        if not agency_id or agency_id.startswith(".") or any(ch in agency_id for ch in "/\\:"):
            raise ValueError(f"agency id {agency_id!r} cannot be used as a file name")
        agency = roster[agency_id] | {"agency_id": agency_id}
        values = values_by_agency.get(agency_id, values_long.iloc[0:0])
        paths.append(write_confirmation(out_dir / f"{agency_id}.xlsx", rubric, agency, values, agency_issues, cycle))
    return paths

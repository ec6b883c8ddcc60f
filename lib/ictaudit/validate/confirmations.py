"""Confirmation workbooks (phiếu xác nhận số liệu): one per agency with problems, ready to send back.

docs/domain.md §1 step 4: the DIC sends each agency its data back with every problem found; the agency
confirms or corrects each value and returns the workbook. Each ``<agency_id>.xlsx`` has

- sheet ``Xác nhận``: who, which year, what to do and by when, then one row per problem (check id,
  severity, fields, values, message) with empty columns for the confirmed or corrected value, the
  reason, who confirmed and when;
- sheet ``Số liệu``: every value as read (code, label, unit, raw value, parsed value, source sheet and
  cell, the checks that flag it) with the same empty answer columns.

Agency-supplied text (names, raw values) is written with ``write_string``, so a value starting with
``=``, ``+``, ``-`` or ``@`` stays text. The workbook's dates are fixed, so the same inputs give the
same bytes. Only agencies with problems get a workbook (thousands of agencies, few problems).
"""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

import pandas as pd

from ictaudit.common.numfmt import fmt_date
from ictaudit.common.workbooks import new_workbook, print_setup, write_number, write_text
from ictaudit.rules.rubric import Rubric

SEVERITY_VI = {"E": "Lỗi", "W": "Cảnh báo"}
ANSWER_HEADERS = ["Giá trị xác nhận / điều chỉnh", "Lý do, giải trình", "Người xác nhận", "Ngày xác nhận"]
PROBLEM_HEADERS = ["STT", "Mã kiểm tra", "Mức độ", "Chỉ tiêu", "Giá trị hiện tại", "Nội dung cần xác nhận"]
VALUE_HEADERS = [
    "Mã", "Chỉ tiêu", "Đơn vị", "Giá trị gốc", "Giá trị đọc được", "Trang tính", "Ô", "Điều chỉnh", "Kiểm tra",
]  # fmt: skip


def _instructions(reply_by: date | str | None) -> list[str]:
    if isinstance(reply_by, date):
        deadline = f"trước ngày {fmt_date(reply_by)}"
    elif reply_by:
        deadline = str(reply_by)
    else:
        deadline = "trong thời hạn Sở Thông tin và Truyền thông thông báo"
    return [
        "Sở Thông tin và Truyền thông đã tổng hợp, rà soát số liệu đơn vị cung cấp và phát hiện các vấn đề dưới đây.",
        "Với mỗi dòng: nếu số liệu đúng, ghi lại giá trị và giải trình lý do; nếu sai, ghi giá trị đúng và lý do.",
        "Ghi rõ họ tên người xác nhận và ngày xác nhận. Số liệu đơn vị đã gửi được giữ nguyên; "
        "mọi điều chỉnh được ghi nhận riêng (giá trị cũ, giá trị mới, lý do, người xác nhận, ngày).",
        "Lỗi: số liệu chưa được dùng để chấm điểm cho đến khi đơn vị xác nhận hoặc điều chỉnh. "
        "Cảnh báo: đề nghị đơn vị giải trình.",
        f"Đề nghị gửi lại phiếu này {deadline}.",
    ]


def _print_setup(ws, header_row: int, last_col: int) -> None:
    print_setup(ws, header_row)
    ws.freeze_panes(header_row + 1, 0)
    ws.autofilter(header_row, 0, header_row, last_col)


def write_confirmation(
    path: Path,
    rubric: Rubric,
    agency: dict,
    values: pd.DataFrame,
    issues: pd.DataFrame,
    cycle_title: str,
    year: int,
    reply_by: date | str | None = None,
) -> Path:
    """One agency's workbook. ``values``: its long values; ``issues``: its issues (docs/contracts.md §6 columns)."""
    wb = new_workbook(path, {"title": f"Phiếu xác nhận số liệu năm {year}", "author": "Sở Thông tin và Truyền thông"})
    formats = _formats(wb)
    _write_problems(wb.add_worksheet("Xác nhận"), formats, rubric, agency, issues, cycle_title, year, reply_by)
    _write_values(wb.add_worksheet("Số liệu"), formats, rubric, agency, values, issues)
    wb.close()
    return path


def _formats(wb) -> dict:
    """The workbook's cell formats, by use (added in a fixed order: the same bytes every time)."""
    return {
        "title": wb.add_format({"bold": True, "font_size": 14}),
        "bold": wb.add_format({"bold": True}),
        "wrap": wb.add_format({"text_wrap": True, "valign": "top", "border": 1}),
        "head": wb.add_format({"bold": True, "text_wrap": True, "valign": "vcenter", "border": 1, "bg_color": "#D9E1F2"}),
        "answer": wb.add_format({"text_wrap": True, "valign": "top", "border": 1, "bg_color": "#FFF2CC", "locked": False}),
        "err": wb.add_format({"text_wrap": True, "valign": "top", "border": 1, "font_color": "#C00000", "bold": True}),
        "warn": wb.add_format({"text_wrap": True, "valign": "top", "border": 1, "font_color": "#9C5700"}),
        "number": wb.add_format({"valign": "top", "border": 1, "num_format": "#,##0.####"}),
    }


def _write_problems(ws, f: dict, rubric: Rubric, agency: dict, issues: pd.DataFrame, cycle_title: str, year: int,
                    reply_by: date | str | None) -> None:  # fmt: skip
    """Sheet ``Xác nhận``: who, which year, what to do and by when, then one row per problem."""
    ws.write_string(0, 0, f"PHIẾU XÁC NHẬN SỐ LIỆU ỨNG DỤNG CÔNG NGHỆ THÔNG TIN NĂM {year}", f["title"])
    write_text(ws, 1, 0, cycle_title)
    ws.write_string(2, 0, "Đơn vị:", f["bold"])
    write_text(ws, 2, 1, agency.get("agency_name", ""), f["bold"])
    ws.write_string(3, 0, "Mã đơn vị:", f["bold"])
    write_text(ws, 3, 1, agency["agency_id"])
    ws.write_string(4, 0, "Phiếu:", f["bold"])
    write_text(ws, 4, 1, rubric.form_of(agency["group"]))
    row = 6
    ws.write_string(row - 1, 0, "Hướng dẫn:", f["bold"])
    for line in _instructions(reply_by):
        ws.write_string(row, 0, line)
        row += 1
    row += 1
    header_row = row
    for c, h in enumerate(PROBLEM_HEADERS + ANSWER_HEADERS):
        ws.write_string(header_row, c, h, f["head"])
    for n, issue in enumerate(issues.to_dict("records"), start=1):
        r = header_row + n
        sev = str(issue["severity"])
        ws.write_number(r, 0, n, f["wrap"])
        write_text(ws, r, 1, issue["check_id"], f["wrap"])
        write_text(ws, r, 2, SEVERITY_VI.get(sev, sev), f["err"] if sev == "E" else f["warn"])
        write_text(ws, r, 3, str(issue["fields"]).replace(";", ", "), f["wrap"])
        write_text(ws, r, 4, issue["values"], f["wrap"])
        write_text(ws, r, 5, issue["message_vi"], f["wrap"])
        for c in range(len(PROBLEM_HEADERS), len(PROBLEM_HEADERS) + len(ANSWER_HEADERS)):
            ws.write_blank(r, c, None, f["answer"])
    for c, width in enumerate([5, 10, 10, 14, 28, 60, 18, 30, 18, 14]):
        ws.set_column(c, c, width)
    _print_setup(ws, header_row, len(PROBLEM_HEADERS) + len(ANSWER_HEADERS) - 1)


def _write_values(vs, f: dict, rubric: Rubric, agency: dict, values: pd.DataFrame, issues: pd.DataFrame) -> None:
    """Sheet ``Số liệu``: every value as read, the checks that flag it, and the answer columns."""
    flags: dict[str, list[str]] = {}
    for check_id, fields in zip(issues["check_id"], issues["fields"]):
        for code in str(fields).split(";"):
            if check_id not in flags.setdefault(code, []):
                flags[code].append(check_id)
    by_code = {str(r["field"]): r for r in values.to_dict("records")}
    for c, h in enumerate(VALUE_HEADERS + ANSWER_HEADERS):
        vs.write_string(0, c, h, f["head"])
    form = rubric.form_of(agency["group"])
    for r, spec in enumerate(rubric.fields_for_form(form), start=1):
        v = by_code.get(spec.code, {})
        flagged = flags.get(spec.code, [])
        vs.write_string(r, 0, spec.code, f["wrap"])
        vs.write_string(r, 1, spec.label_vi, f["wrap"])
        vs.write_string(r, 2, spec.unit_vi, f["wrap"])
        write_text(vs, r, 3, v.get("raw_value", ""), f["wrap"])
        write_number(vs, r, 4, v.get("value", math.nan), f["number"])
        write_text(vs, r, 5, v.get("sheet", ""), f["wrap"])
        write_text(vs, r, 6, v.get("cell", ""), f["wrap"])
        write_text(vs, r, 7, v.get("correction_id", ""), f["wrap"])
        write_text(vs, r, 8, ", ".join(flagged), f["err"] if flagged else f["wrap"])
        for c in range(len(VALUE_HEADERS), len(VALUE_HEADERS) + len(ANSWER_HEADERS)):
            vs.write_blank(r, c, None, f["answer"])
    for c, width in enumerate([7, 50, 10, 14, 14, 10, 6, 10, 12, 18, 30, 18, 14]):
        vs.set_column(c, c, width)
    _print_setup(vs, 0, len(VALUE_HEADERS) + len(ANSWER_HEADERS) - 1)


def open_problems(issues: pd.DataFrame) -> pd.DataFrame:
    """The problems still to confirm: unresolved rows, a round-1 row left out when round 2 repeats it."""
    rows = issues
    if "resolved_by" in rows:
        rows = rows[rows["resolved_by"].fillna("").astype(str) == ""]
    rows = rows[rows["agency_id"].fillna("").astype(str) != ""]
    if "round" in rows and len(rows):
        later = set(
            zip(
                rows.loc[rows["round"].astype(int) == 2, "agency_id"],
                rows.loc[rows["round"].astype(int) == 2, "check_id"],
            )
        )
        superseded = (rows["round"].astype(int) == 1) & pd.Series(
            [(a, c) in later for a, c in zip(rows["agency_id"], rows["check_id"])], index=rows.index, dtype=bool
        )
        rows = rows[~superseded]
    return rows


def write_confirmations(
    out_dir: Path,
    rubric: Rubric,
    agencies: pd.DataFrame,
    values_long: pd.DataFrame,
    issues: pd.DataFrame,
    cycle_title: str,
    year: int,
    reply_by: date | str | None = None,
) -> list[Path]:
    """``<out_dir>/<agency_id>.xlsx`` for every evaluated agency with an open problem; the paths, sorted.

    ``issues`` may be round 1 alone (before any reply) or the resolved issues of both rounds; see
    :func:`open_problems`. Agencies that are not ``ranked`` (late, missing, excluded, invalid) get none.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    roster = {str(a["agency_id"]): a for a in agencies.to_dict("records")}
    if "status" in agencies:
        roster = {k: a for k, a in roster.items() if str(a["status"]) == "ranked"}
    open_issues = open_problems(issues)
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
        agency_issues = agency_issues.sort_values(["check_id"], kind="mergesort")
        values = values_by_agency.get(agency_id, values_long.iloc[0:0])
        paths.append(
            write_confirmation(
                out_dir / f"{agency_id}.xlsx", rubric, agency, values, agency_issues, cycle_title, year, reply_by
            )
        )
    return paths

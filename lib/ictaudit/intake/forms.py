"""The data forms (phiếu cung cấp số liệu) written from the rubric, in the layout of docs/contracts.md §4.

One workbook per agency to be ranked, ``<agency_id>.xlsx``:

- ``Hướng dẫn``: instructions in Vietnamese (deadline dd/mm/yyyy, how to type numbers and Có/Không,
  who to contact, do not move or rename sheets);
- ``Số liệu``: three title rows (each merged across the five columns), the header row ``Mã | Chỉ tiêu |
  Đơn vị | Giá trị | Ghi chú``, then one row per field of the group's form in rubric catalogue order.
  Only the value cells (column D) are unlocked and highlighted; the sheet is protected without a
  password; each value cell carries Excel data validation (whole ≥ 0, decimal ≥ 0, or the list
  ``Có,Không``); A4 portrait, fit to width, the header row repeated on every printed page;
- ``_meta`` (hidden): key/value rows ``template_version, rubric, year, group, form, agency_id,
  agency_name`` that intake uses to recognise the form.

Every row that wraps gets the height its text needs (:func:`row_points`): a spreadsheet writer stores
no height, and LibreOffice then prints wrapped lines over each other. The guide's one column fits
the page at 100 % (LibreOffice does not shrink a one-column sheet to the page width).

Agency-supplied text (names) is always written as text: a name starting with ``=`` stays text. Files
are byte-identical for the same inputs (fixed document dates).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path

import xlsxwriter

from ictaudit.common.numfmt import fmt_date
from ictaudit.common.workbooks import write_text

TEMPLATE_VERSION = "ictaudit-form/1"
SUPPORTED_TEMPLATE_VERSIONS = (TEMPLATE_VERSION,)
SHEET_GUIDE = "Hướng dẫn"
SHEET_DATA = "Số liệu"
SHEET_META = "_meta"
HEADER = ("Mã", "Chỉ tiêu", "Đơn vị", "Giá trị", "Ghi chú")
HEADER_ROW = 3  # 0-based: the header is on row 4, fields start on row 5
DEFAULT_CONTACT = "Phòng Công nghệ thông tin, Sở Thông tin và Truyền thông"

_TYPE_NOTE = {
    "count": "Số nguyên ≥ 0",
    "decimal": "Số ≥ 0, có thể có phần thập phân",
    "yesno": "Chọn Có hoặc Không",
}


#: the note of a percentage field (unit %): the percentage itself, typed or shown by a % format
_PERCENT_NOTE = "Tỷ lệ phần trăm: nhập 85 (hoặc 85%) cho 85%"


def form_file_name(agency_id: str) -> str:
    return f"{agency_id}.xlsx"


def cell_address(row: int, col: int) -> str:
    """0-based row and column as an A1 address: ``cell_address(4, 3) == "D5"``."""
    letters = ""
    col += 1
    while col:
        col, rem = divmod(col - 1, 26)
        letters = chr(65 + rem) + letters
    return f"{letters}{row + 1}"


def meta_rows(rubric, group_id: str, agency_id: str, agency_name: str, year: int) -> list[tuple[str, str]]:
    """The ``_meta`` key/value rows, all as text."""
    return [
        ("template_version", TEMPLATE_VERSION),
        ("rubric", rubric.id),
        ("year", str(year)),
        ("group", group_id),
        ("form", rubric.form_of(group_id)),
        ("agency_id", agency_id),
        ("agency_name", agency_name),
    ]


def guide_lines(
    rubric, group_id: str, agency_name: str, year: int, deadline: date | None, contact: str, reply_to: str = ""
) -> list[str]:
    """The lines of the ``Hướng dẫn`` sheet (first line is the title)."""
    form = rubric.form_of(group_id)
    form_label = next((f.label_vi for f in rubric.forms if f.id == form), form)
    if deadline is not None:
        due = (
            f"Hạn gửi: phiếu phải đến Sở Thông tin và Truyền thông chậm nhất ngày {fmt_date(deadline)} (tính theo "
            "thời điểm Sở nhận được). Đơn vị gửi phiếu muộn hoặc không gửi phiếu sẽ không được đánh giá, xếp hạng."
        )
    else:
        due = (
            "Hạn gửi: theo văn bản đề nghị của Sở Thông tin và Truyền thông (tính theo thời điểm Sở nhận được). "
            "Đơn vị gửi phiếu muộn hoặc không gửi phiếu sẽ không được đánh giá, xếp hạng."
        )
    send = f"qua thư điện tử tới {reply_to} " if reply_to else ""
    return [
        "HƯỚNG DẪN ĐIỀN PHIẾU CUNG CẤP SỐ LIỆU",
        form_label,
        f"Cơ quan, đơn vị: {agency_name}",
        f"Năm đánh giá: {year}",
        "",
        f"1. Điền số liệu vào cột D (Giá trị) của trang “{SHEET_DATA}”. Chỉ các ô tô màu vàng được phép nhập.",
        "2. Số lượng (người, máy, văn bản, hồ sơ…): nhập số nguyên, không kèm đơn vị, ví dụ 1234.",
        "3. Số có phần thập phân (Mbps, triệu đồng): nhập dưới dạng số. Nếu phải gõ dạng chữ, dùng dấu phẩy "
        "cho phần thập phân và dấu chấm cho hàng nghìn theo cách viết Việt Nam, ví dụ 45,5 hoặc 1.234,5.",
        "4. Câu hỏi Có/Không: chọn Có hoặc Không trong danh sách của ô.",
        "5. Không có số liệu: để trống ô (ô trống không được hiểu là 0). Nếu giá trị bằng 0, nhập 0. "
        "Không nhập tỷ lệ phần trăm, ngày tháng hoặc công thức vào ô số liệu.",
        f"6. Không đổi tên, di chuyển, xóa hoặc thêm trang tính; không sửa cột Mã (A) và trang ẩn “{SHEET_META}”.",
        f"7. Gửi lại chính tệp này {send}(định dạng .xlsx; cũng nhận .xls hoặc .ods; không nén, không đặt mật "
        "khẩu). Nếu gửi lại phiếu đã sửa, Sở dùng phiếu nhận sau cùng trong hạn; phiếu nhận sau hạn không thay "
        "phiếu đã gửi trong hạn.",
        f"8. {due}",
        f"9. Liên hệ khi cần hỗ trợ: {contact or DEFAULT_CONTACT}.",
    ]


def write_form(
    path: Path | str,
    rubric,
    group_id: str,
    agency_id: str,
    agency_name: str,
    year: int,
    *,
    deadline: date | None = None,
    contact: str = "",
    reply_to: str = "",
    values: Mapping[str, object] | None = None,
) -> Path:
    """Write one agency's form to ``path`` (``.xlsx``) and return the path.

    ``values`` (field code → number or text) pre-fills column D, for synthetic samples and tests;
    numbers are written as numbers, text as text (as an agency would have typed it).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    form = rubric.form_of(group_id)
    fields = rubric.fields_for_form(form)
    values = dict(values or {})
    if unknown := sorted(set(values) - {f.code for f in fields}):
        raise ValueError(f"values for fields not on form {form}: {', '.join(unknown)}")

    wb = xlsxwriter.Workbook(
        str(path), {"strings_to_formulas": False, "strings_to_numbers": False, "strings_to_urls": False}
    )
    wb.set_properties(
        {
            "title": f"Phiếu cung cấp số liệu {form} năm {year}",
            "subject": "Đánh giá, xếp hạng mức độ ứng dụng CNTT",
            "author": "Sở Thông tin và Truyền thông",
            "company": "Sở Thông tin và Truyền thông",
            "comments": f"{TEMPLATE_VERSION}; rubric {rubric.id}",
            "created": datetime(year, 1, 1),
        }
    )
    fmt = _formats(wb)
    _write_guide(wb, fmt, guide_lines(rubric, group_id, agency_name, year, deadline, contact, reply_to))
    _write_data_sheet(wb, fmt, rubric, form, fields, agency_id, agency_name, year, values)
    _write_meta(wb, meta_rows(rubric, group_id, agency_id, agency_name, year))
    wb.close()
    return path


def _formats(wb) -> dict:
    base = {"font_name": "Times New Roman", "font_size": 12, "valign": "vcenter"}
    return {
        "title": wb.add_format({**base, "bold": True, "font_size": 14}),
        "text": wb.add_format({**base, "text_wrap": True}),
        "header": wb.add_format({**base, "bold": True, "border": 1, "bg_color": "#D9E1F2", "align": "center"}),
        "code": wb.add_format({**base, "border": 1, "align": "center"}),
        "cell": wb.add_format({**base, "border": 1, "text_wrap": True}),
        "input": wb.add_format({**base, "border": 1, "bg_color": "#FFF2CC", "locked": False}),
        "input_text": wb.add_format({**base, "border": 1, "bg_color": "#FFF2CC", "locked": False, "num_format": "@"}),
        "note": wb.add_format({**base, "border": 1, "italic": True, "font_color": "#595959", "text_wrap": True}),
    }


#: the width of the guide's one column, in Excel character units: it fits the width of an A4 page at
#: 100 % in Excel and in LibreOffice (which does not shrink a sheet of one column to the page)
GUIDE_WIDTH = 76
#: the data sheet's columns (Mã, Chỉ tiêu, Đơn vị, Giá trị, Ghi chú), fitted to the page width when printed
DATA_WIDTHS = (7, 52, 11, 12, 21)
#: the height of one line of 12-point Times New Roman, in points, and the padding of a cell
LINE_POINTS = 15.75
CELL_PADDING_POINTS = 3.0


def wrapped_lines(text: str, width: float) -> int:
    """How many lines ``text`` takes in a wrapping cell ``width`` characters wide (word by word, as a
    spreadsheet wraps). One Excel character unit holds about one character of 12-point Times New Roman;
    the estimate errs on the tall side, so a printed cell never hides its last line."""
    per_line = max(1.0, width * 0.97 - 1)
    lines = 0
    for paragraph in text.split("\n"):
        used = 0.0
        lines += 1
        for word in paragraph.split():
            need = len(word) if used == 0 else used + 1 + len(word)
            if need > per_line and used > 0:
                lines += 1
                used = len(word)
            else:
                used = need
            while used > per_line:  # a word longer than the line
                lines += 1
                used -= per_line
    return lines


def row_points(*cells: tuple[str, float]) -> float:
    """The height (points) a row needs for its wrapping cells, each given as (text, column width)."""
    lines = max((wrapped_lines(text, width) for text, width in cells if text), default=1)
    return lines * LINE_POINTS + CELL_PADDING_POINTS


def _write_guide(wb, fmt, lines: list[str]) -> None:
    ws = wb.add_worksheet(SHEET_GUIDE)
    ws.set_column(0, 0, GUIDE_WIDTH)
    for i, line in enumerate(lines):
        if line:
            ws.write_string(i, 0, line, fmt["title"] if i == 0 else fmt["text"])
            ws.set_row(i, row_points((line, GUIDE_WIDTH * (12 / 14 if i == 0 else 1))))
    ws.set_paper(9)
    ws.set_portrait()
    ws.set_margins(left=0.6, right=0.5, top=0.6, bottom=0.6)
    ws.fit_to_pages(1, 0)
    ws.print_area(0, 0, len(lines) - 1, 0)
    ws.protect("", {"select_locked_cells": True, "select_unlocked_cells": True})


def _write_data_sheet(wb, fmt, rubric, form, fields, agency_id, agency_name, year, values) -> None:
    ws = wb.add_worksheet(SHEET_DATA)
    form_label = next((f.label_vi for f in rubric.forms if f.id == form), form)
    last_col = len(HEADER) - 1
    title_width = sum(DATA_WIDTHS)
    titles = (
        (form_label, fmt["title"], title_width * 12 / 14),
        (f"Cơ quan, đơn vị: {agency_name}", fmt["text"], title_width),
        (f"Năm đánh giá: {year} — mã đơn vị: {agency_id}", fmt["text"], title_width),
    )
    for row, (text, cell_format, width) in enumerate(titles):  # each title across the five columns
        ws.merge_range(row, 0, row, last_col, "", cell_format)
        write_text(ws, row, 0, text, cell_format)
        ws.set_row(row, row_points((text, width)))
    for col, title in enumerate(HEADER):
        ws.write_string(HEADER_ROW, col, title, fmt["header"])
    for i, spec in enumerate(fields):
        row = HEADER_ROW + 1 + i
        ws.write_string(row, 0, spec.code, fmt["code"])
        ws.write_string(row, 1, spec.label_vi, fmt["cell"])
        ws.write_string(row, 2, spec.unit_vi, fmt["cell"])
        _write_value(ws, row, 3, values.get(spec.code), fmt, spec.type)
        note = (_PERCENT_NOTE if spec.percent else _TYPE_NOTE[spec.type]) + ("" if spec.required else " (không bắt buộc)")
        ws.write_string(row, 4, note, fmt["note"])
        ws.data_validation(row, 3, row, 3, _validation(spec.type))
        ws.set_row(row, row_points((spec.label_vi, DATA_WIDTHS[1]), (spec.unit_vi, DATA_WIDTHS[2]),
                                   (note, DATA_WIDTHS[4])))  # fmt: skip
    last = HEADER_ROW + len(fields)
    for col, width in enumerate(DATA_WIDTHS):
        ws.set_column(col, col, width)
    ws.freeze_panes(HEADER_ROW + 1, 0)
    ws.set_paper(9)
    ws.set_portrait()
    ws.set_margins(left=0.6, right=0.5, top=0.6, bottom=0.7)
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(HEADER_ROW)
    ws.print_area(0, 0, last, last_col)
    ws.set_footer("&CTrang &P / &N")
    ws.protect("", {"select_locked_cells": True, "select_unlocked_cells": True})


def _write_value(ws, row: int, col: int, value, fmt, field_type: str) -> None:
    if value is None:
        ws.write_blank(row, col, None, fmt["input_text"] if field_type == "yesno" else fmt["input"])
    elif isinstance(value, bool):
        ws.write_string(row, col, "Có" if value else "Không", fmt["input_text"])
    elif isinstance(value, int | float):
        ws.write_number(row, col, value, fmt["input"])
    else:
        ws.write_string(row, col, str(value), fmt["input_text"])


def _validation(field_type: str) -> dict:
    if field_type == "yesno":
        return {
            "validate": "list",
            "source": ["Có", "Không"],
            "input_title": "Có/Không",
            "input_message": "Chọn Có hoặc Không.",
            "error_title": "Giá trị không hợp lệ",
            "error_message": "Chỉ nhận Có hoặc Không.",
        }
    whole = field_type == "count"
    return {
        "validate": "integer" if whole else "decimal",
        "criteria": ">=",
        "value": 0,
        "ignore_blank": True,
        "input_title": "Số nguyên ≥ 0" if whole else "Số ≥ 0",
        "input_message": "Nhập số nguyên, không kèm đơn vị." if whole else "Nhập số, có thể có phần thập phân.",
        "error_title": "Giá trị không hợp lệ",
        "error_message": "Cần một số nguyên lớn hơn hoặc bằng 0." if whole else "Cần một số lớn hơn hoặc bằng 0.",
    }


def _write_meta(wb, rows: list[tuple[str, str]]) -> None:
    ws = wb.add_worksheet(SHEET_META)
    for i, (key, value) in enumerate(rows):
        ws.write_string(i, 0, key)
        write_text(ws, i, 1, value)  # the agency's name, as the roster gives it
    ws.set_column(0, 1, 24)
    ws.protect("", {"select_locked_cells": True, "select_unlocked_cells": True})
    ws.hide()


def write_forms(cycle_dir: Path | str, out_dir: Path | str) -> list[Path]:
    """One blank form per roster agency with ``ranked`` true, written to ``out_dir``; the paths, sorted.

    Needs only ``cycle.yaml``, ``agencies.csv`` and the rubric (forms go out before anything comes
    back; the deadline may still be unset). ``out_dir`` must not be inside the cycle folder, which
    holds what came back.
    """
    from ictaudit.intake.cycle import CycleError, load_cycle
    from ictaudit.rules.rubric import load_rubric

    cycle = load_cycle(Path(cycle_dir), for_run=False)  # blank forms go out before anything comes back
    out = Path(out_dir)
    if out.resolve().is_relative_to(cycle.root.resolve()):
        raise CycleError(f"--out {out} nằm trong thư mục đợt đánh giá {cycle.root}: hãy ghi phiếu trắng ra một thư mục khác")
    rubric = load_rubric(cycle.rubric_id)
    paths = []
    for row in cycle.agencies[cycle.agencies["ranked"]].sort_values("agency_id").itertuples(index=False):
        paths.append(
            write_form(
                out / form_file_name(row.agency_id),
                rubric,
                row.group,
                row.agency_id,
                row.name,
                cycle.year,
                deadline=cycle.deadline,
                contact=cycle.contact,
                reply_to=cycle.reply_to,
            )
        )
    return paths

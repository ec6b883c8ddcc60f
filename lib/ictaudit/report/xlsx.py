"""``report.xlsx``: the inputs and every computed number as a live formula with its cached value.

Sheets, in order: ``Giới thiệu`` (what the workbook is, the legal basis, the rubric's notice, a guide
to the sheets); one ``Xếp hạng …`` per group (:mod:`ictaudit.report.xlsx_ranking`: the ranking to
print); ``Số liệu`` and ``Điểm`` (:mod:`ictaudit.report.xlsx_scores`: the confirmed values, and the
scores as formulas, of the agencies evaluated); ``Không đánh giá`` (the agencies not evaluated, each
with its reason and no points); ``Diễn giải``, ``Nguồn số liệu``, ``Lỗi số liệu``, ``Hiệu chỉnh`` and
``Thang điểm`` (:mod:`ictaudit.report.xlsx_tables`: the trail, the source cells, the validation
problems, the corrections, the method). A sheet copying a scored table too long for a spreadsheet
is left out, and says which CSV file holds its rows (:data:`~ictaudit.report.xlsx_tables.SHEET_MAX_ROWS`).

Agency-supplied text is always a string cell, never a formula. The file's bytes depend only on the inputs.
"""

from __future__ import annotations

from pathlib import Path

from ictaudit.common.workbooks import print_setup, write_text
from ictaudit.report.inputs import RANKED, ReportInputs, gc_paused, records, status_vi
from ictaudit.report.xlsx_cells import Formats, new_workbook, wrapped_height
from ictaudit.report.xlsx_ranking import add_ranking_sheets, fill_ranking_sheet, ranking_sheet_names
from ictaudit.report.xlsx_scores import SCORES_SHEET, VALUES_SHEET, sheet_scores, sheet_values
from ictaudit.report.xlsx_tables import (
    CORRECTIONS_SHEET,
    ISSUES_SHEET,
    METHOD_SHEET,
    SOURCES_SHEET,
    TABLE_OF_SHEET,
    TRAIL_SHEET,
    left_out,
    sheet_corrections,
    sheet_issues,
    sheet_method,
    sheet_sources,
    sheet_trail,
    table_rows,
)

INTRO_SHEET = "Giới thiệu"
NOT_EVALUATED_SHEET = "Không đánh giá"

#: what each sheet holds, in the guide of the intro sheet
GUIDE = {
    VALUES_SHEET: "Số liệu đã xác nhận dùng để tính điểm: mỗi dòng một đơn vị, mỗi cột một chỉ tiêu của phiếu.",
    SCORES_SHEET: "Điểm từng chỉ tiêu, tiêu chí, tổng điểm, điểm quy đổi 100, chỉ số, xếp loại, thứ hạng — "
                  "tất cả là công thức tính lại từ sheet Số liệu.",
    NOT_EVALUATED_SHEET: "Đơn vị xem như không được đánh giá, xếp hạng (gửi phiếu sau hạn, không gửi phiếu, không "
                         "thuộc diện xếp hạng, phiếu không hợp lệ): không có điểm; lý do của từng đơn vị.",
    TRAIL_SHEET: "Từng bước tính điểm của từng đơn vị (bảng diễn giải).",
    SOURCES_SHEET: "Ô nguồn của từng số liệu: tệp, sheet, ô, giá trị gốc và mã hiệu chỉnh.",
    ISSUES_SHEET: "Các lỗi, cảnh báo do kiểm tra tính logic phát hiện (vòng 1: phiếu gốc; vòng 2: sau hiệu chỉnh).",
    CORRECTIONS_SHEET: "Các hiệu chỉnh số liệu đã được đơn vị xác nhận, đã áp dụng hay không.",
    METHOD_SHEET: "Phương pháp: chỉ tiêu, cách tính, điểm tối đa, xếp loại, quy tắc xếp hạng.",
}  # fmt: skip


def write_report_xlsx(data: ReportInputs, path: Path) -> Path:
    """Write ``report.xlsx`` of the run's inputs to ``path``; returns ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    r = data.rubric
    with gc_paused():  # millions of short-lived objects, no reference cycles
        wb = new_workbook(
            path,
            title=str(data.cycle_info.get("title") or r.title_vi),
            subject=r.title_vi,
            keywords=f"ictaudit, {r.id} {r.version}",
        )
        fm = Formats(wb)
        sheet_intro(wb, data, fm)
        rankings = add_ranking_sheets(wb, r)  # right after the intro, filled once the scores sheet is laid out
        values_rows, value_cols = sheet_values(wb, data, fm)
        layout, score_rows = sheet_scores(wb, data, fm, values_rows, value_cols)
        for group_id, ws in rankings.items():
            fill_ranking_sheet(ws, data, fm, layout, score_rows, group_id)
        sheet_not_evaluated(wb, data, fm)
        sheet_trail(wb, data, fm)
        sheet_sources(wb, data, fm)
        sheet_issues(wb, data, fm)
        sheet_corrections(wb, data, fm)
        sheet_method(wb, data, fm)
        wb.close()
    return path


def guide(data: ReportInputs) -> list[tuple[str, str]]:
    """(sheet, what it holds) of each sheet after the intro; a sheet left out says where its rows are."""
    rows = table_rows(data)
    rankings = [
        (name, f"Kết quả xếp hạng khối {data.rubric.group(g).label_vi}, để in: thứ hạng, điểm từng tiêu chí, "
               "tổng điểm, điểm quy đổi, xếp loại, ghi chú (số liệu bị giữ lại) — lấy từ sheet Điểm.")
        for g, name in ranking_sheet_names(data.rubric).items()
    ]  # fmt: skip
    return rankings + [
        (
            name,
            text
            + (
                f" Quá nhiều dòng để chép vào tệp này: xem tệp {TABLE_OF_SHEET[name]}."
                if left_out(rows.get(name, 0))
                else ""
            ),
        )
        for name, text in GUIDE.items()
    ]


def sheet_not_evaluated(wb, data: ReportInputs, fm: Formats) -> None:
    """The agencies that are not ranked — not evaluated, so not scored —, each with its status and reason
    (wrapped, each row as high as its reason needs, so that it prints whole on A4)."""
    labels = {g.id: g.label_vi for g in data.rubric.groups}
    rows = [r for r in records(data.scores[["agency_id", "agency_name", "group", "status", "status_reason"]])
            if r["status"] != RANKED]  # fmt: skip
    ws = wb.add_worksheet(NOT_EVALUATED_SHEET)
    title = (
        "Đơn vị xem như không được đánh giá, xếp hạng: không được chấm điểm, nên không có trong sheet Số liệu và Điểm. "
        "Phiếu đã nhận vẫn được lưu (sheet Nguồn số liệu)." if rows else "Mọi đơn vị trong danh sách đều được đánh giá, xếp hạng."
    )  # fmt: skip
    write_text(ws, 0, 0, title, fm.text)
    widths = (16, 34, 22, 24, 80)
    for j, (head, width) in enumerate(zip(("Mã đơn vị", "Tên đơn vị", "Khối", "Tình trạng", "Lý do"), widths, strict=True)):
        ws.set_column(j, j, width)
        write_text(ws, 1, j, head, fm.header)
    for i, r in enumerate(rows, start=2):
        cells = (r["agency_id"], r["agency_name"], labels.get(r["group"], r["group"]), status_vi(r["status"]), r["status_reason"])
        for j, text in enumerate(cells):
            write_text(ws, i, j, text, fm.wrap)
        lines = max(-(-len(str(text)) // int(width * 1.1)) for text, width in zip(cells, widths, strict=True))
        ws.set_row(i, 15 * max(lines, 1))
    ws.freeze_panes(2, 0)
    print_setup(ws, 1)


def sheet_intro(wb, data: ReportInputs, fm: Formats) -> None:
    ws = wb.add_worksheet(INTRO_SHEET)
    ws.set_column(0, 0, 24)
    ws.set_column(1, 1, 110)
    r = data.rubric
    ci = data.cycle_info
    write_text(ws, 0, 0, str(ci.get("title") or r.title_vi), fm.title)
    facts = [
        ("Tỉnh", ci.get("province", "")),
        ("Năm đánh giá", str(ci.get("year", ""))),
        ("Thang điểm", f"{r.title_vi} (mã {r.id}, phiên bản {r.version})"),
        ("Căn cứ", r.legal_reference_vi),
    ]
    if data.deadline is not None:
        facts.append(("Hạn nộp phiếu", data.deadline.strftime("%d/%m/%Y")))
    row = 2
    if data.is_sample:
        write_text(ws, row, 0, "DỮ LIỆU MẪU", fm.notice)
        write_text(
            ws, row, 1, "Số liệu trong tệp này là dữ liệu mẫu, không phải số liệu thật của các đơn vị.", fm.notice
        )
        row += 2
    if r.status == "reconstructed" and r.notice_vi:
        write_text(ws, row, 0, "LƯU Ý VỀ THANG ĐIỂM", fm.notice)
        write_text(ws, row, 1, r.notice_vi, fm.notice)
        ws.set_row(row, wrapped_height([(r.notice_vi, 110)]))
        row += 2
    for k, v in facts:
        write_text(ws, row, 0, k, fm.header)
        write_text(ws, row, 1, v, fm.wrap)
        ws.set_row(row, wrapped_height([(v, 110)]))
        row += 1
    row += 1
    write_text(ws, row, 0, "Sheet", fm.header)
    write_text(ws, row, 1, "Nội dung", fm.header)
    for name, text in guide(data):
        row += 1
        write_text(ws, row, 0, name, fm.text)
        write_text(ws, row, 1, text, fm.wrap)
        ws.set_row(row, wrapped_height([(name, 24), (text, 110)]))
    print_setup(ws, 0, landscape=False)

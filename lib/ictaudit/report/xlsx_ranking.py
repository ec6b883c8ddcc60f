"""The ranking sheets of ``report.xlsx``: one per group, the page a DIC prints and signs.

Each lists the group's ranked agencies in rank order: rank, agency, the points of each criterion,
total, attainable maximum, score out of 100 as published, band, and a note — an agency scored with
values held back by an unresolved error is marked there with the fields, and so is a row whose shown
criterion points do not add up to its shown total (the total is computed from the unrounded points).
Every number is a formula reading the agency's row of the ``Điểm`` sheet, with its cached value, so
the two sheets cannot disagree. Below the table, the group's agencies that are not ranked and why.

The sheet prints on A4 landscape, fitted to the width, the header row repeated on every page.
"""

from __future__ import annotations

import re

from xlsxwriter.utility import xl_col_to_name

from ictaudit.common.numfmt import fmt_number, is_nan
from ictaudit.common.workbooks import print_setup, write_text
from ictaudit.report.inputs import RANKED, ReportInputs, records, shown_sum_differs, status_vi
from ictaudit.report.xlsx_cells import Formats, wrapped_height, write_formula
from ictaudit.report.xlsx_scores import SCORES_SHEET, ScoresLayout
from ictaudit.rules.rubric import Rubric

PREFIX = "Xếp hạng"
_SHEET_NAME_MAX = 31
_FORBIDDEN = re.compile(r"[\[\]:*?/\\']")
_HEADER_ROW = 2


def ranking_sheet_names(rubric: Rubric) -> dict[str, str]:
    """The sheet name of each group's ranking: ``Xếp hạng Sở, ban, ngành``, cut at a word (with "…") to
    the 31 characters a sheet name may have, made unique."""
    names: dict[str, str] = {}
    for k, g in enumerate(rubric.groups, start=1):
        label = _FORBIDDEN.sub(" ", g.label_vi).strip()
        name = f"{PREFIX} {label}"
        if len(name) > _SHEET_NAME_MAX:
            cut = name[: _SHEET_NAME_MAX - 1]
            at_word_end = name[len(cut)] in " ,;."
            if not at_word_end and " " in cut[len(PREFIX) + 2 :]:
                cut = cut[: cut.rfind(" ")]
            name = cut.rstrip(" ,;.-") + "…"
        if name in names.values():
            name = f"{PREFIX} {k}"
        names[g.id] = name
    return names


def add_ranking_sheets(wb, rubric: Rubric) -> dict[str, object]:
    """The (empty) ranking sheet of each group, added to ``wb`` in group order."""
    return {g: wb.add_worksheet(name) for g, name in ranking_sheet_names(rubric).items()}


def fill_ranking_sheet(
    ws, data: ReportInputs, fm: Formats, lay: ScoresLayout, rows: dict[str, int], group_id: str
) -> None:
    """The ranking of group ``group_id``; ``lay``, ``rows``: where the scores sheet holds each number."""
    rubric = data.rubric
    g = rubric.group(group_id)
    criteria = list(rubric.criteria_for(group_id))
    scores = [r for r in records(data.scores) if r["group"] == group_id]
    ranked = [r for r in scores if r["status"] == RANKED and not is_nan(r["rank"]) and r["agency_id"] in rows]
    year = data.cycle_info.get("year", "")
    write_text(ws, 0, 0, f"Kết quả xếp hạng — {g.label_vi}" + (f" — năm {year}" if year else ""), fm.title)
    heads = ["Hạng", "Đơn vị"]
    heads += [f"{c.id}. {c.label_vi} (tối đa {fmt_number(c.max_points[group_id], 2, trim=True)})" for c in criteria]
    heads += ["Tổng điểm", "Điểm tối đa áp dụng", "Điểm quy đổi (thang 100)", "Xếp loại", "Ghi chú"]
    last_col = len(heads) - 1
    widths = [6, 34] + [10.5] * len(criteria) + [9, 9, 10.5, 10.5, 34]
    for j, w in enumerate(widths):
        ws.set_column(j, j, w)
    ws.merge_range(1, 0, 1, last_col, "", fm.wrap)
    write_text(ws, 1, 0, _note(rubric), fm.wrap)
    ws.set_row(1, wrapped_height([(_note(rubric), sum(widths))]))
    ws.set_row(_HEADER_ROW, wrapped_height(list(zip(heads, widths)), bold=True))
    for j, h in enumerate(heads):
        write_text(ws, _HEADER_ROW, j, h, fm.header)
    score_cols = [lay.c_rank, None] + [lay.criterion_col[c.id] for c in criteria]
    score_cols += [lay.c_points, lay.c_appmax, lay.c_score, lay.c_band]
    formats = [fm.rank, None] + [fm.pts] * len(criteria) + [fm.pts_bold, fm.pts, fm.pts_bold, fm.text]
    refs = [None if col is None else f"='{SCORES_SHEET}'!${xl_col_to_name(col)}$" for col in score_cols]
    for i, r in enumerate(ranked):
        row = _HEADER_ROW + 1 + i
        cached = [int(r["rank"]), None] + [float(r[c.id]) for c in criteria]
        cached += [float(r["points"]), float(r["applicable_max"]), float(r["score_100_published"]), r["band"] or ""]
        scores_row = str(rows[r["agency_id"]] + 1)
        for j, (ref, fmt, value) in enumerate(zip(refs, formats, cached)):
            if ref is None:
                write_text(ws, row, j, r["agency_name"], fm.wrap)
            else:
                write_formula(ws, row, j, ref + scores_row, fmt, value, plain=True)
        note = _row_note(data, r, criteria)
        write_text(ws, row, last_col, note, fm.held_wrap if r["agency_id"] in data.blocked else fm.wrap)
        ws.set_row(row, wrapped_height([(r["agency_name"], widths[1]), (note, widths[-1])]))
    end = _HEADER_ROW + 1 + len(ranked)
    if not ranked:
        write_text(ws, end, 1, "Không có đơn vị nào của khối được xếp hạng.", fm.text)
        end += 1
    _not_ranked(ws, fm, [r for r in scores if r["status"] != RANKED], end + 1, widths)
    ws.freeze_panes(_HEADER_ROW + 1, 2)
    print_setup(ws, _HEADER_ROW)
    ws.repeat_rows(_HEADER_ROW)  # the header on every page; the title and the note on the first only


def _note(rubric: Rubric) -> str:
    decimals = rubric.ranking.decimals
    return (
        f"Xếp hạng theo điểm quy đổi thang 100 làm tròn {decimals} chữ số thập phân; bằng điểm thì cùng hạng "
        "và hạng kế tiếp bị bỏ qua (1-2-2-4). Điểm tiêu chí và tổng điểm hiển thị 2 chữ số; tổng điểm tính từ "
        "điểm chưa làm tròn nên có thể chênh vài phần trăm điểm so với tổng các số hiển thị (ghi ở cột Ghi chú). "
        "Mỗi số là công thức lấy từ sheet Điểm. Ghi chú tô đỏ: đơn vị có số liệu bị giữ lại do lỗi chưa được "
        "xác nhận, tính như thiếu số liệu."
    )


def _row_note(data: ReportInputs, r: dict, criteria) -> str:
    """The note of an agency's row: the fields held back, and shown points that do not add up."""
    parts = []
    if held := data.blocked.get(r["agency_id"]):
        parts.append(f"Có số liệu bị giữ lại, tính như thiếu số liệu: {', '.join(held)}.")
    if (shown := shown_sum_differs([float(r[c.id]) for c in criteria], float(r["points"]))) is not None:
        parts.append(f"Cộng các điểm tiêu chí hiển thị: {shown} (tổng điểm tính từ điểm chưa làm tròn).")
    return " ".join(parts)


def _not_ranked(ws, fm: Formats, rows: list[dict], start: int, widths: list[float]) -> None:
    """The group's agencies that are not ranked, each with its status and reason (across the criteria columns)."""
    if not rows:
        return
    write_text(ws, start, 1, "Đơn vị không được xếp hạng", fm.header)
    last = len(widths) - 2
    for i, r in enumerate(rows, start=start + 1):
        write_text(ws, i, 1, r["agency_name"], fm.wrap)
        status, why = status_vi(r["status"]), r["status_reason"]
        reason = why if why.startswith(status) else f"{status}: {why}" if why else status
        ws.merge_range(i, 2, i, last, "", fm.wrap)
        write_text(ws, i, 2, reason, fm.wrap)
        ws.set_row(i, wrapped_height([(r["agency_name"], widths[1]), (reason, sum(widths[2 : last + 1]))]))

"""``report.xlsx``: the inputs and every computed number as a live formula with its cached value.

Sheets:

- ``Giới thiệu``: what the workbook is, the legal basis, the rubric's notice, a guide to the sheets;
- ``Số liệu``: the confirmed values used for scoring, one row per agency with values, one column per
  field (a value held back by an unresolved error is left blank there and listed in the last column);
- ``Điểm``: per group a row of maxima and a row of "best" values (``MAXIFS`` over a helper column
  of each ``ratio_to_best`` indicator, ranked agencies only); then one row per agency: one formula per
  indicator (``kind.excel_formula``), criterion sums, points, applicable maximum, ``score_100``,
  index, band and competition rank within the group — each formula carrying the library's number as
  its cached value;
- ``Diễn giải`` (the trail, as an Excel table), ``Nguồn số liệu`` (source cells), ``Lỗi số liệu``
  (validation problems), ``Hiệu chỉnh`` (corrections) and ``Thang điểm`` (the method).

Agency-supplied text is always written with ``write_string`` (and the workbook refuses to turn
strings into formulas anyway). The file's bytes depend only on the inputs.
"""

from __future__ import annotations

import json
import math
import re
from datetime import datetime
from pathlib import Path

import xlsxwriter
from xlsxwriter.utility import xl_col_to_name, xl_rowcol_to_cell

from ictaudit.report import (
    CORRECTION_STATUS_VI,
    KIND_VI,
    RANKED,
    SEVERITY_VI,
    ReportInputs,
    bands_text,
    flags_vi,
    fmt_date_text,
    formula_vi,
    status_vi,
)
from ictaudit.xlsx_text import write_text

FIXED_CREATED = datetime(2000, 1, 1, 0, 0, 0)
VALUES_SHEET = "Số liệu"
SCORES_SHEET = "Điểm"
A4 = 9


def _q(text: str) -> str:
    """A string literal inside a formula."""
    return '"' + str(text).replace('"', '""') + '"'


def _nan(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


class _Formats:
    def __init__(self, wb: xlsxwriter.Workbook):
        base = {"font_name": "Arial", "font_size": 10, "valign": "top"}
        self.text = wb.add_format(base)
        self.wrap = wb.add_format({**base, "text_wrap": True})
        self.title = wb.add_format({**base, "bold": True, "font_size": 13})
        self.notice = wb.add_format({**base, "text_wrap": True, "bg_color": "#FFF2CC", "border": 1})
        self.header = wb.add_format(
            {**base, "bold": True, "text_wrap": True, "bg_color": "#D9E1F2", "border": 1, "valign": "vcenter"}
        )
        self.header_small = wb.add_format({**base, "text_wrap": True, "bg_color": "#EDF1F9", "font_size": 8})
        self.int = wb.add_format({**base, "num_format": "#,##0"})
        self.dec = wb.add_format({**base, "num_format": "#,##0.####"})
        self.yesno = wb.add_format({**base, "num_format": '[=1]"Có";[=0]"Không";General'})
        self.held = wb.add_format({**base, "bg_color": "#F4CCCC"})
        self.na_field = wb.add_format({**base, "bg_color": "#EEEEEE"})
        self.pts = wb.add_format({**base, "num_format": "0.00"})
        self.pts_bold = wb.add_format({**base, "num_format": "0.00", "bold": True})
        self.ratio = wb.add_format({**base, "num_format": "0.0000"})
        self.index = wb.add_format({**base, "num_format": "0.000"})
        self.rank = wb.add_format({**base, "num_format": "0", "bold": True, "align": "center"})
        self.max_row = wb.add_format({**base, "num_format": "0.##", "italic": True, "bg_color": "#F2F2F2"})
        self.best_row = wb.add_format({**base, "num_format": "0.0000", "italic": True, "bg_color": "#E2EFDA"})
        self.label_row = wb.add_format({**base, "italic": True, "bg_color": "#F2F2F2"})


#: a function name followed by "(": the whole run of name characters before the parenthesis
_FUNCTION_CALL = re.compile(r"[A-Za-z0-9_.]+(?=\()")
#: functions of Excel 2007 that XlsxWriter leaves as they are (no ``_xlfn.`` prefix, no dynamic-array rewrite)
_PLAIN_FUNCTIONS = frozenset({
    "ABS", "AND", "AVERAGE", "COUNT", "COUNTA", "COUNTIF", "COUNTIFS", "IF", "IFERROR", "INDEX", "ISBLANK",
    "ISNUMBER", "LEN", "MATCH", "MAX", "MIN", "MOD", "NOT", "OR", "ROUND", "ROUNDDOWN", "ROUNDUP", "SUM",
    "SUMIF", "SUMIFS", "SUMPRODUCT",
})  # fmt: skip


def _fast_formulas(ws) -> None:
    """Skip XlsxWriter's ~150 regex rewrites per formula when a formula calls only plain functions.

    ``Worksheet._prepare_formula`` strips ``=`` and braces, then tries one regex per future or
    dynamic-array function (``MAXIFS`` → ``_xlfn.MAXIFS``). A formula whose every call is a plain
    Excel 2007 function comes out of those rewrites unchanged, so it is only stripped here; any
    other formula goes through XlsxWriter's own code. Same bytes, a fraction of the time (the
    rewrites were half of the workbook's cost at 2,200 agencies).
    """
    original = ws._prepare_formula

    def prepare(formula: str, expand_future_functions: bool = False) -> str:
        if all(name in _PLAIN_FUNCTIONS for name in _FUNCTION_CALL.findall(formula)):
            if formula.startswith("{"):
                formula = formula[1:]
            if formula.startswith("="):
                formula = formula[1:]
            if formula.endswith("}"):
                formula = formula[:-1]
            return formula
        return original(formula, expand_future_functions)

    ws._prepare_formula = prepare


#: the trail is an Excel table (banded, filterable, named) up to this many rows; above, a filtered range
#: written row by row — XlsxWriter must hold a table's sheet in memory (~1 GB at 10,000 agencies)
TABLE_MAX_ROWS = 100_000


def _add_sheet(wb, name: str, streamed: bool = False):
    """A new worksheet; ``streamed``: its rows go to a temporary file as they are written.

    XlsxWriter's ``constant_memory`` mode, per sheet: memory stays flat whatever the number of rows,
    text is stored in the cell rather than in the shared strings. Rows must then be written in
    increasing order, and ``set_row`` must come before the row's cells.
    """
    before = wb.constant_memory
    wb.constant_memory = streamed
    try:
        return wb.add_worksheet(name)
    finally:
        wb.constant_memory = before


class _InRowOrder:
    """Stands in for a streamed worksheet while its header rows are written in any order.

    Cell writes (``write_*``, ``merge_range``) are recorded and :meth:`flush` replays them sorted by
    row (stably), as a streamed sheet requires; everything else goes straight to the worksheet.
    """

    def __init__(self, ws):
        self.ws = ws
        self.calls: list[tuple[int, int, object, tuple]] = []

    def __getattr__(self, name: str):
        method = getattr(self.ws, name)
        if not (name.startswith("write") or name == "merge_range"):
            return method

        def record(row: int, *args) -> None:
            self.calls.append((row, len(self.calls), method, args))

        return record

    def flush(self):
        for row, _, method, args in sorted(self.calls, key=lambda c: (c[0], c[1])):
            method(row, *args)
        self.calls = []
        return self.ws


def _print_setup(ws, repeat_to: int, landscape: bool = True) -> None:
    ws.set_paper(A4)
    if landscape:
        ws.set_landscape()
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(0, repeat_to)
    ws.set_margins(left=0.4, right=0.4, top=0.5, bottom=0.6)
    ws.set_footer("&L&A&RTrang &P/&N")


_write_text = write_text  # agency text stays text (see ictaudit.xlsx_text)


def _write_num(ws, row: int, col: int, value, fmt=None) -> None:
    if _nan(value):
        ws.write_blank(row, col, None, fmt)
    else:
        ws.write_number(row, col, float(value), fmt)


def write_report_xlsx(data: ReportInputs, path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = xlsxwriter.Workbook(
        str(path),
        {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False,
         "use_future_functions": True},
    )  # fmt: skip
    wb.set_properties(
        {
            "title": str(data.cycle_info.get("title") or data.rubric.title_vi),
            "subject": data.rubric.title_vi,
            "author": "ictaudit",
            "keywords": f"ictaudit, {data.rubric.id} {data.rubric.version}",
            "created": FIXED_CREATED,
        }
    )
    fm = _Formats(wb)
    _sheet_intro(wb, data, fm)
    input_rows, input_cols = _sheet_values(wb, data, fm)
    _sheet_scores(wb, data, fm, input_rows, input_cols)
    _sheet_trail(wb, data, fm)
    _sheet_sources(wb, data, fm)
    _sheet_issues(wb, data, fm)
    _sheet_corrections(wb, data, fm)
    _sheet_method(wb, data, fm)
    wb.close()
    return path


# -- Giới thiệu ---------------------------------------------------------------------------------


def _sheet_intro(wb, data: ReportInputs, fm: _Formats) -> None:
    ws = wb.add_worksheet("Giới thiệu")
    ws.set_column(0, 0, 24)
    ws.set_column(1, 1, 110)
    r = data.rubric
    ci = data.cycle_info
    _write_text(ws, 0, 0, str(ci.get("title") or r.title_vi), fm.title)
    rows = [
        ("Tỉnh", ci.get("province", "")),
        ("Năm đánh giá", str(ci.get("year", ""))),
        ("Thang điểm", f"{r.title_vi} (mã {r.id}, phiên bản {r.version})"),
        ("Căn cứ", r.legal_reference_vi),
    ]
    if data.deadline is not None:
        rows.append(("Hạn nộp phiếu", data.deadline.strftime("%d/%m/%Y")))
    row = 2
    if data.is_sample:
        _write_text(ws, row, 0, "DỮ LIỆU MẪU", fm.notice)
        _write_text(
            ws, row, 1, "Số liệu trong tệp này là dữ liệu mẫu, không phải số liệu thật của các đơn vị.", fm.notice
        )
        row += 2
    if r.status == "reconstructed" and r.notice_vi:
        _write_text(ws, row, 0, "LƯU Ý VỀ THANG ĐIỂM", fm.notice)
        _write_text(ws, row, 1, r.notice_vi, fm.notice)
        ws.set_row(row, 48)
        row += 2
    for k, v in rows:
        _write_text(ws, row, 0, k, fm.header)
        _write_text(ws, row, 1, v, fm.wrap)
        row += 1
    row += 1
    guide = [
        (VALUES_SHEET, "Số liệu đã xác nhận dùng để tính điểm: mỗi dòng một đơn vị, mỗi cột một chỉ tiêu của phiếu."),
        (SCORES_SHEET, "Điểm từng chỉ tiêu, tiêu chí, tổng điểm, điểm quy đổi 100, chỉ số, xếp loại, thứ hạng — "
                       "tất cả là công thức tính lại từ sheet Số liệu."),
        ("Diễn giải", "Từng bước tính điểm của từng đơn vị (bảng diễn giải)."),
        ("Nguồn số liệu", "Ô nguồn của từng số liệu: tệp, sheet, ô, giá trị gốc và mã hiệu chỉnh."),
        ("Lỗi số liệu", "Các lỗi, cảnh báo do kiểm tra tính logic phát hiện (vòng 1: phiếu gốc; vòng 2: sau hiệu chỉnh)."),
        ("Hiệu chỉnh", "Các hiệu chỉnh số liệu đã được đơn vị xác nhận, đã áp dụng hay không."),
        ("Thang điểm", "Phương pháp: chỉ tiêu, cách tính, điểm tối đa, xếp loại, quy tắc xếp hạng."),
    ]  # fmt: skip
    _write_text(ws, row, 0, "Sheet", fm.header)
    _write_text(ws, row, 1, "Nội dung", fm.header)
    for name, text in guide:
        row += 1
        _write_text(ws, row, 0, name, fm.text)
        _write_text(ws, row, 1, text, fm.wrap)
    _print_setup(ws, 0, landscape=False)


# -- Số liệu ------------------------------------------------------------------------------------

_VALUES_FIRST_ROW = 3
_VALUES_FIRST_FIELD_COL = 4


def _sheet_values(wb, data: ReportInputs, fm: _Formats) -> tuple[dict[str, int], dict[str, int]]:
    """One row per agency with values; returns the row of each agency and the column of each field."""
    ws = _InRowOrder(_add_sheet(wb, VALUES_SHEET, streamed=True))
    rubric = data.rubric
    fields = list(rubric.fields)
    cols = {f.code: _VALUES_FIRST_FIELD_COL + j for j, f in enumerate(fields)}
    held_col = _VALUES_FIRST_FIELD_COL + len(fields)
    _write_text(
        ws, 0, 0,
        "Số liệu đã xác nhận dùng để tính điểm. Ô tô đỏ nhạt: số liệu bị giữ lại do lỗi chưa được xác nhận "
        "(tính như thiếu số liệu); ô xám: chỉ tiêu không có trong phiếu của khối.", fm.text,
    )  # fmt: skip
    heads = ["Mã đơn vị", "Tên đơn vị", "Khối", "Trạng thái"]
    ws.set_row(1, 64)
    for j, h in enumerate(heads):
        _write_text(ws, 1, j, "", fm.header_small)
        _write_text(ws, 2, j, h, fm.header)
    for f in fields:
        _write_text(ws, 1, cols[f.code], f"{f.label_vi} ({f.unit_vi})", fm.header_small)
        _write_text(ws, 2, cols[f.code], f.code, fm.header)
    _write_text(ws, 1, held_col, "", fm.header_small)
    _write_text(ws, 2, held_col, "Số liệu bị giữ lại (giá trị đã gửi)", fm.header)
    ws = ws.flush()
    rows: dict[str, int] = {}
    scores = data.scores.set_index("agency_id")
    for i, a in enumerate(data.scored_ids):
        r = _VALUES_FIRST_ROW + i
        rows[a] = r
        group = scores.at[a, "group"]
        form_fields = {f.code for f in rubric.fields_for_form(rubric.form_of(group))}
        held = set(data.blocked.get(a, ()))
        _write_text(ws, r, 0, a, fm.text)
        _write_text(ws, r, 1, scores.at[a, "agency_name"], fm.text)
        _write_text(ws, r, 2, group, fm.text)
        _write_text(ws, r, 3, status_vi(scores.at[a, "status"]), fm.text)
        for f in fields:
            c = cols[f.code]
            if f.code not in form_fields:
                ws.write_blank(r, c, None, fm.na_field)
                continue
            if f.code in held:
                ws.write_blank(r, c, None, fm.held)
                continue
            v = data.value_of.get((a, f.code), math.nan)
            fmt = fm.yesno if f.type == "yesno" else fm.int if f.type == "count" else fm.dec
            _write_num(ws, r, c, v, fmt)
        if held:
            shown = "; ".join(f"{code} = {_shown(data.value_of.get((a, code)))}" for code in sorted(held))
            _write_text(ws, r, held_col, shown, fm.text)
    last = _VALUES_FIRST_ROW + max(len(data.scored_ids), 1) - 1
    ws.set_column(0, 0, 14)
    ws.set_column(1, 1, 36)
    ws.set_column(2, 3, 16)
    ws.set_column(_VALUES_FIRST_FIELD_COL, held_col - 1, 9)
    ws.set_column(held_col, held_col, 30)
    ws.freeze_panes(_VALUES_FIRST_ROW, 2)
    ws.autofilter(2, 0, last, held_col)
    _print_setup(ws, 2)
    return rows, cols


def _shown(x) -> str:
    from ictaudit.numfmt import fmt_value

    return fmt_value(None if _nan(x) else float(x))


# -- Điểm ---------------------------------------------------------------------------------------


def _sheet_scores(wb, data: ReportInputs, fm: _Formats, input_rows: dict[str, int], input_cols: dict[str, int]):
    ws = _InRowOrder(_add_sheet(wb, SCORES_SHEET, streamed=True))
    rubric = data.rubric
    groups = list(rubric.groups)
    # union of indicators, in rubric order (contiguous per criterion)
    ind_ids: list[str] = []
    ind_crit: dict[str, str] = {}
    for c in rubric.criteria:
        for ind in c.indicators:
            ind_ids.append(ind.id)
            ind_crit[ind.id] = c.id
    kinds = {g.id: {ind.id: ind for _, ind in rubric.indicators(g.id)} for g in groups}
    best_ids = [i for i in ind_ids if any(i in kinds[g.id] and kinds[g.id][i].uses_best for g in groups)]
    crit_ids = [c.id for c in rubric.criteria]

    c_id, c_name, c_group, c_status, c_ranked = 0, 1, 2, 3, 4
    first_ind = 5
    ind_col = {iid: first_ind + j for j, iid in enumerate(ind_ids)}
    first_crit = first_ind + len(ind_ids)
    crit_col = {cid: first_crit + j for j, cid in enumerate(crit_ids)}
    c_points = first_crit + len(crit_ids)
    c_appmax, c_score, c_index, c_band, c_rank = (c_points + k for k in range(1, 6))
    first_help = c_rank + 1
    help_col = {iid: first_help + j for j, iid in enumerate(best_ids)}
    last_col = first_help + len(best_ids) - 1 if best_ids else c_rank

    _write_text(
        ws, 0, 0,
        "Điểm theo từng chỉ tiêu: mỗi ô là công thức tính từ sheet Số liệu (giá trị đã tính sẵn đi kèm). "
        "Ô trống (\"\"): chỉ tiêu không áp dụng, không tính vào điểm tối đa.", fm.text,
    )  # fmt: skip
    # maxima and best rows, per group
    max_row: dict[str, int] = {}
    best_row: dict[str, int] = {}
    r = 2
    for g in groups:
        max_row[g.id] = r
        best_row[g.id] = r + 1
        r += 2
    header_row = r + 1  # row r: criterion labels, r+1: column headers
    first_data = header_row + 1
    ids = data.scored_ids
    last_data = first_data + max(len(ids), 1) - 1

    def rng(col: int) -> str:
        return f"${xl_col_to_name(col)}${first_data + 1}:${xl_col_to_name(col)}${last_data + 1}"

    best_cached = _best_values(data)
    for g in groups:
        mr, br = max_row[g.id], best_row[g.id]
        _write_text(ws, mr, c_name, f"Điểm tối đa — {g.label_vi}", fm.label_row)
        _write_text(ws, mr, c_group, g.id, fm.label_row)
        _write_text(ws, br, c_name, f"Giá trị cao nhất trong khối (đơn vị được xếp hạng) — {g.label_vi}", fm.label_row)
        _write_text(ws, br, c_group, g.id, fm.label_row)
        for iid, ind in kinds[g.id].items():
            ws.write_number(mr, ind_col[iid], ind.max_points, fm.max_row)
        for c in rubric.criteria_for(g.id):
            ws.write_number(mr, crit_col[c.id], c.max_points[g.id], fm.max_row)
        ws.write_number(mr, c_points, g.max_points, fm.max_row)
        for iid in best_ids:
            if iid in kinds[g.id] and kinds[g.id][iid].uses_best:
                formula = f"=MAXIFS({rng(help_col[iid])},{rng(c_group)},{_q(g.id)},{rng(c_ranked)},1)"
                ws.write_formula(br, ind_col[iid], formula, fm.best_row, best_cached.get((g.id, iid), 0.0))

    # headers
    hr = header_row
    ws.set_row(hr, 45)
    ws.set_row(hr - 1, 30)
    for cid in crit_ids:
        cols = [ind_col[i] for i in ind_ids if ind_crit[i] == cid]
        label = next(c.label_vi for c in rubric.criteria if c.id == cid)
        if len(cols) > 1:
            ws.merge_range(hr - 1, cols[0], hr - 1, cols[-1], f"{cid}. {label}", fm.header_small)
        else:
            _write_text(ws, hr - 1, cols[0], f"{cid}. {label}", fm.header_small)
    heads = {
        c_id: "Mã đơn vị", c_name: "Tên đơn vị", c_group: "Khối", c_status: "Trạng thái",
        c_ranked: "Được xếp hạng (1/0)", c_points: "Tổng điểm", c_appmax: "Điểm tối đa áp dụng",
        c_score: "Điểm quy đổi (thang 100)", c_index: "Chỉ số", c_band: "Xếp loại", c_rank: "Thứ hạng trong khối",
    }  # fmt: skip
    heads |= {ind_col[i]: i for i in ind_ids}
    heads |= {crit_col[c]: f"Tiêu chí {c}" for c in crit_ids}
    heads |= {help_col[i]: f"Giá trị v của {i} (tính giá trị cao nhất)" for i in best_ids}
    for col, text in heads.items():
        _write_text(ws, hr, col, text, fm.header)
    ws = ws.flush()

    scores = {r["agency_id"]: r for r in data.scores.to_dict("records")}
    trail = {
        (r["agency_id"], r["indicator_id"]): r
        for r in data.trail[["agency_id", "indicator_id", "points", "applicable", "inputs"]].to_dict("records")
    }
    bands = list(rubric.bands)
    _fast_formulas(ws)
    for i, a in enumerate(ids):
        row = first_data + i
        x = row + 1  # 1-based row number in formulas
        srow = scores[a]
        g = srow["group"]
        ranked = srow["status"] == RANKED
        vr = input_rows[a] + 1
        refs = {code: f"'{VALUES_SHEET}'!${xl_col_to_name(c)}${vr}" for code, c in input_cols.items()}
        _write_text(ws, row, c_id, a, fm.text)
        _write_text(ws, row, c_name, srow["agency_name"], fm.text)
        _write_text(ws, row, c_group, g, fm.text)
        _write_text(ws, row, c_status, status_vi(srow["status"]), fm.text)
        ws.write_number(row, c_ranked, 1 if ranked else 0, fm.int)
        for iid, kind in kinds[g].items():
            best_ref = None
            if kind.uses_best:
                best_ref = f"${xl_col_to_name(ind_col[iid])}${best_row[g] + 1}"
            t = trail[(a, iid)]
            cached = float(t["points"]) if bool(t["applicable"]) else ""
            ws.write_formula(row, ind_col[iid], kind.excel_formula(refs, best_ref), fm.pts, cached)
            if kind.uses_best:
                ws.write_formula(row, help_col[iid], kind.excel_value(refs), fm.ratio, _v_cached(kind, t))
        for c in rubric.criteria_for(g):
            cols = [ind_col[j] for j in ind_ids if ind_crit[j] == c.id]
            span = f"{xl_rowcol_to_cell(row, cols[0])}:{xl_rowcol_to_cell(row, cols[-1])}"
            ws.write_formula(row, crit_col[c.id], f"=SUM({span})", fm.pts, float(srow[c.id]))
        crit_span = f"{xl_rowcol_to_cell(row, first_crit)}:{xl_rowcol_to_cell(row, first_crit + len(crit_ids) - 1)}"
        ws.write_formula(row, c_points, f"=SUM({crit_span})", fm.pts_bold, float(srow["points"]))
        ind_span = f"{xl_rowcol_to_cell(row, first_ind)}:{xl_rowcol_to_cell(row, first_crit - 1)}"
        mr = max_row[g] + 1
        max_span = f"${xl_col_to_name(first_ind)}${mr}:${xl_col_to_name(first_crit - 1)}${mr}"
        ws.write_formula(
            row, c_appmax, f'=SUMPRODUCT(({ind_span}<>"")*({max_span}))', fm.pts, float(srow["applicable_max"])
        )
        pts, amx = xl_rowcol_to_cell(row, c_points), xl_rowcol_to_cell(row, c_appmax)
        dec = rubric.ranking.decimals
        score_cached = float(srow["score_100"]) if not _nan(srow["score_100"]) else ""
        index_cached = float(srow["index"]) if not _nan(srow["index"]) else ""
        ws.write_formula(row, c_score, f'=IF({amx}>0,ROUND(100*{pts}/{amx},{dec}),"")', fm.pts_bold, score_cached)
        ws.write_formula(row, c_index, f'=IF({amx}>0,ROUND({pts}/{amx},3),"")', fm.index, index_cached)
        sc = xl_rowcol_to_cell(row, c_score)
        band_expr = _q(bands[-1].label_vi)
        for b in reversed(bands[:-1]):
            band_expr = f"IF({sc}>={b.min_score:g},{_q(b.label_vi)},{band_expr})"
        ranked_ref = f"${xl_col_to_name(c_ranked)}{x}"
        ws.write_formula(row, c_band, f'=IF(AND({ranked_ref}=1,{sc}<>""),{band_expr},"")', fm.text, srow["band"] or "")
        rank_f = (
            f'=IF(AND({ranked_ref}=1,{sc}<>""),COUNTIFS({rng(c_group)},${xl_col_to_name(c_group)}{x},'
            f'{rng(c_ranked)},1,{rng(c_score)},">"&{sc})+1,"")'
        )
        rank_cached = int(srow["rank"]) if not _nan_rank(srow["rank"]) else ""
        ws.write_formula(row, c_rank, rank_f, fm.rank, rank_cached)

    ws.set_column(c_id, c_id, 12)
    ws.set_column(c_name, c_name, 34)
    ws.set_column(c_group, c_status, 13)
    ws.set_column(c_ranked, c_ranked, 8)
    ws.set_column(first_ind, first_crit - 1, 6.5)
    ws.set_column(first_crit, c_appmax, 8)
    ws.set_column(c_score, c_rank, 10)
    if best_ids:
        ws.set_column(first_help, last_col, 12)
    ws.freeze_panes(first_data, 2)
    ws.autofilter(header_row, 0, last_data, last_col)
    _print_setup(ws, header_row)


def _nan_rank(x) -> bool:
    try:
        return x is None or x is __import__("pandas").NA or (isinstance(x, float) and math.isnan(x))
    except TypeError:
        return True


def _best_values(data: ReportInputs) -> dict[tuple[str, str], float]:
    """The group's best value of each ratio_to_best indicator, as the trail recorded it (0 when none)."""
    out: dict[tuple[str, str], float] = {}
    rows = data.trail[data.trail["kind"] == "ratio_to_best"]
    for g, iid, inputs in zip(rows["group"], rows["indicator_id"], rows["inputs"]):
        best = json.loads(inputs).get("best")
        out[(g, iid)] = 0.0 if best is None else float(best)
    return out


def _v_cached(kind, trail_row):
    """``v = num / den`` as the spreadsheet sees it: blank ("") when an input is blank or held, or den = 0."""
    inputs = json.loads(trail_row["inputs"])
    held = set(inputs.get("blocked") or ())
    vals = {}
    for code in kind.input_fields:
        v = inputs.get(code)
        if v is None or code in held:
            return ""
        vals[code] = float(v)
    den = sum(vals[c] for c in kind.den)
    if den == 0:
        return ""
    return sum(vals[c] for c in kind.num) / den


# -- tables -------------------------------------------------------------------------------------


def _table_sheet(
    wb,
    name: str,
    fm: _Formats,
    title: str,
    columns: list[tuple[str, float, str]],
    rows: list[list],
    table_name: str | None = None,
) -> None:
    """A sheet with a title line, a header row and rows; ``columns``: (header, width, kind).

    With ``table_name`` and at most :data:`TABLE_MAX_ROWS` rows, the rows are an Excel table; otherwise
    a range with an autofilter, streamed to disk as it is written.
    """
    use_table = bool(table_name and rows and len(rows) <= TABLE_MAX_ROWS)
    ws = _add_sheet(wb, name, streamed=not use_table)
    _write_text(ws, 0, 0, title, fm.text)
    hr = 1
    ws.set_row(hr, 30)
    for j, (_head, width, _k) in enumerate(columns):
        ws.set_column(j, j, width)
    last = hr + max(len(rows), 1)
    if use_table:
        ws.add_table(
            hr, 0, last, len(columns) - 1,
            {"name": table_name, "style": "Table Style Light 9", "autofilter": True,
             "columns": [{"header": h, "header_format": fm.header} for h, _w, _k in columns]},
        )  # fmt: skip
    else:
        for j, (head, _w, _k) in enumerate(columns):
            _write_text(ws, hr, j, head, fm.header)
        ws.autofilter(hr, 0, last, len(columns) - 1)
    formats = {"text": fm.text, "wrap": fm.wrap, "int": fm.int, "pts": fm.pts}
    column_formats = [(kind in ("text", "wrap"), formats.get(kind, fm.dec)) for _h, _w, kind in columns]
    if not use_table and _stream_rows(ws, hr + 1, column_formats, rows):
        rows = []  # written
    for i, values in enumerate(rows):
        r = hr + 1 + i
        for j, ((_h, _w, kind), v) in enumerate(zip(columns, values)):
            if kind == "text":
                _write_text(ws, r, j, v, fm.text)
            elif kind == "wrap":
                _write_text(ws, r, j, v, fm.wrap)
            elif kind == "int":
                _write_num(ws, r, j, v, fm.int)
            elif kind == "pts":
                _write_num(ws, r, j, v, fm.pts)
            else:
                _write_num(ws, r, j, v, fm.dec)
    ws.freeze_panes(hr + 1, 0)
    _print_setup(ws, hr)


def _stream_rows(ws, first: int, columns: list[tuple[bool, object]], rows: list[list]) -> bool:
    """Write the data rows of a streamed sheet straight into its XML, as XlsxWriter would, byte for byte.

    ``columns``: (is text, format) per column; a text cell goes through :func:`_write_text`'s rules, a
    number through :func:`_write_num`'s, and the XML of each cell is what ``Worksheet._write_cell``
    writes in constant_memory mode, with XlsxWriter's own escaping functions — without its per-cell
    objects and calls, which cost ~6 µs a cell (~7 million cells at 10,000 agencies). Returns False,
    having written nothing, when a row holds anything off that common path (a text XlsxWriter would
    treat as rich text or truncate, a number that is not finite, a row past the sheet's end); the
    caller then writes the rows cell by cell. ``tests/test_report_scale.py`` holds the bytes equal.
    """
    from xlsxwriter.utility import _preserve_whitespace, xl_col_to_name
    from xlsxwriter.xmlwriter import XMLwriter

    if not rows or not getattr(ws, "constant_memory", False) or first + len(rows) > ws.xls_rowmax:
        return False
    cells: list[list[str | float | None]] = []
    for values in rows:
        row: list[str | float | None] = []
        for (is_text, _fmt), v in zip(columns, values):
            if _nan(v) or (is_text and v == ""):
                row.append(None)
            elif is_text:
                text = str(v)
                if (text.startswith("<r>") and text.endswith("</r>")) or len(text) > ws.xls_strmax // 2:
                    return False
                row.append(text)
            else:
                try:
                    number = float(v)
                except (TypeError, ValueError):
                    return False
                if not math.isfinite(number):
                    return False
                row.append(number)
        cells.append(row)
    ws._write_single_row(first)  # the rows above (title, header) go out first, as a cell write would do
    letters = [xl_col_to_name(j) for j in range(len(columns))]
    styles = [f' s="{fmt._get_xf_index()}"' if fmt else "" for _t, fmt in columns]
    control, escape = XMLwriter._escape_control_characters, ws._escape_data
    inline: dict[str, str] = {}  # text → its <is> element (names, labels, codes repeat on many rows)
    fh = ws.fh
    for i, row in enumerate(cells):
        r = first + i
        ws._write_row(r, None, ws.row_info.get(r))
        out = []
        for j, value in enumerate(row):
            ref = f'{letters[j]}{r + 1}"{styles[j]}'
            if value is None:
                out.append(f'<c r="{ref}/>')
            elif isinstance(value, str):
                element = inline.get(value)
                if element is None:
                    text = control(value)
                    space = ' xml:space="preserve"' if _preserve_whitespace(text) else ""
                    element = inline[value] = f"<is><t{space}>{escape(text)}</t></is>"
                out.append(f'<c r="{ref} t="inlineStr">{element}</c>')
            else:
                out.append(f'<c r="{ref}><v>{value:.16G}</v></c>')
        out.append("</row>")
        fh.write("".join(out))
    last = first + len(cells) - 1
    ws.dim_rowmin = first if ws.dim_rowmin is None else min(ws.dim_rowmin, first)
    ws.dim_rowmax = last if ws.dim_rowmax is None else max(ws.dim_rowmax, last)
    ws.dim_colmin = 0 if ws.dim_colmin is None else min(ws.dim_colmin, 0)
    ws.dim_colmax = len(columns) - 1 if ws.dim_colmax is None else max(ws.dim_colmax, len(columns) - 1)
    ws.previous_row = last
    ws.table.clear()
    return True


def _sheet_trail(wb, data: ReportInputs, fm: _Formats) -> None:
    labels = {ind.id: ind.label_vi for c in data.rubric.criteria for ind in c.indicators}
    yesno = {f.code for f in data.rubric.fields if f.type == "yesno"}
    cols = [
        ("Mã đơn vị", 12, "text"), ("Tên đơn vị", 28, "text"), ("Khối", 13, "text"), ("Tiêu chí", 7, "text"),
        ("Chỉ tiêu", 7, "text"), ("Nội dung chỉ tiêu", 36, "wrap"), ("Cách tính", 16, "text"),
        ("Số liệu đầu vào", 26, "wrap"), ("Diễn giải", 60, "wrap"), ("Công thức", 36, "wrap"),
        ("Điểm", 8, "pts"), ("Điểm tối đa", 8, "pts"), ("Áp dụng", 8, "text"), ("Ghi chú", 22, "wrap"),
    ]  # fmt: skip
    t = data.trail
    order = {a: i for i, a in enumerate(data.scored_ids)}
    t = t.assign(_o=t["agency_id"].map(order)).sort_values("_o", kind="mergesort")
    rows = [
        [
            r.agency_id, data.names.get(r.agency_id, ""), r.group, r.criterion_id, r.indicator_id,
            labels.get(r.indicator_id, ""), KIND_VI.get(r.kind, r.kind), _inputs_text(r.inputs, yesno), r.explanation_vi,
            formula_vi(r.formula), r.points, r.max_points, "Có" if r.applicable else "Không", flags_vi(r.flags),
        ]
        for r in t.itertuples(index=False)
    ]  # fmt: skip
    _table_sheet(
        wb,
        "Diễn giải",
        fm,
        "Diễn giải từng bước tính điểm (một dòng cho mỗi đơn vị × chỉ tiêu).",
        cols,
        rows,
        table_name="DienGiai",
    )


def _inputs_text(inputs: str, yesno: set[str]) -> str:
    from ictaudit.numfmt import fmt_value

    d = json.loads(inputs) if inputs else {}
    parts = []
    for k, v in d.items():
        if k == "blocked":
            parts.append(f"giữ lại: {', '.join(v)}")
        elif k == "best":
            parts.append(f"cao nhất trong khối = {fmt_value(v)}")
        elif k in yesno and v in (0, 1):
            parts.append(f"{k} = {'Có' if v == 1 else 'Không'}")
        else:
            parts.append(f"{k} = {fmt_value(v)}")
    return "; ".join(parts)


def _sheet_sources(wb, data: ReportInputs, fm: _Formats) -> None:
    labels = {f.code: f.label_vi for f in data.rubric.fields}
    cols = [
        ("Mã đơn vị", 12, "text"), ("Tên đơn vị", 28, "text"), ("Mã chỉ tiêu", 8, "text"),
        ("Chỉ tiêu", 40, "wrap"), ("Giá trị gốc (như đơn vị gửi)", 14, "text"), ("Giá trị dùng", 12, "num"),
        ("Tệp", 20, "text"), ("Sheet", 10, "text"), ("Ô", 6, "text"), ("Mã hiệu chỉnh", 10, "text"),
        ("SHA-256 của tệp", 20, "text"),
    ]  # fmt: skip
    v = data.values
    nums = [data.value_of.get((a, f), math.nan) for a, f in zip(v["agency_id"], v["field"])]
    rows = [
        [a, data.names.get(a, ""), f, labels.get(f, ""), raw, n, sf, sh, cell, corr, sha]
        for a, f, raw, n, sf, sh, cell, corr, sha in zip(
            v["agency_id"], v["field"], v["raw_value"], nums, v["source_file"], v["sheet"], v["cell"],
            v["correction_id"], v["source_sha256"],
        )
    ]  # fmt: skip
    _table_sheet(wb, "Nguồn số liệu", fm, "Nguồn của từng số liệu (ô trong phiếu của đơn vị).", cols, rows)


def _sheet_issues(wb, data: ReportInputs, fm: _Formats) -> None:
    cols = [
        ("Mã đơn vị", 12, "text"), ("Tên đơn vị", 28, "text"), ("Mã kiểm tra", 9, "text"), ("Mức độ", 10, "text"),
        ("Chỉ tiêu", 12, "text"), ("Giá trị", 22, "wrap"), ("Nội dung", 50, "wrap"), ("Vòng", 6, "int"),
        ("Đã xử lý bởi hiệu chỉnh", 14, "text"),
    ]  # fmt: skip
    i = data.issues
    rows = [
        [a, data.names.get(a, ""), c, SEVERITY_VI.get(s, s), f, v, m, rd, rb]
        for a, c, s, f, v, m, rd, rb in zip(
            i["agency_id"], i["check_id"], i["severity"], i["fields"], i["values"], i["message_vi"], i["round"],
            i["resolved_by"],
        )
    ]  # fmt: skip
    _table_sheet(
        wb,
        "Lỗi số liệu",
        fm,
        "Lỗi (E) và cảnh báo (W) do kiểm tra tính logic phát hiện; vòng 1: phiếu gốc, vòng 2: sau hiệu chỉnh.",
        cols,
        rows,
    )


def _sheet_corrections(wb, data: ReportInputs, fm: _Formats) -> None:
    cols = [
        ("Mã hiệu chỉnh", 10, "text"), ("Mã đơn vị", 12, "text"), ("Tên đơn vị", 28, "text"), ("Chỉ tiêu", 8, "text"),
        ("Giá trị cũ", 12, "text"), ("Giá trị mới", 12, "text"), ("Lý do", 34, "wrap"), ("Mã kiểm tra", 9, "text"),
        ("Người xác nhận", 18, "text"), ("Ngày xác nhận", 12, "text"), ("Kết quả", 14, "text"),
        ("Lý do không áp dụng", 34, "wrap"),
    ]  # fmt: skip
    c = data.corrections
    rows = [
        [cid, a, data.names.get(a, ""), f, o, n, r, ch, by, fmt_date_text(on), CORRECTION_STATUS_VI.get(st, st), sr]
        for cid, a, f, o, n, r, ch, by, on, st, sr in zip(
            c["correction_id"], c["agency_id"], c["field"], c["old_value"], c["new_value"], c["reason"],
            c["check_id"], c["confirmed_by"], c["confirmed_on"], c["status"], c["status_reason"],
        )
    ]  # fmt: skip
    _table_sheet(
        wb, "Hiệu chỉnh", fm, "Hiệu chỉnh số liệu đã được đơn vị xác nhận (không ghi đè số liệu gốc).", cols, rows
    )


def _sheet_method(wb, data: ReportInputs, fm: _Formats) -> None:
    r = data.rubric
    cols = [
        ("Khối", 22, "text"), ("Tiêu chí", 7, "text"), ("Nội dung tiêu chí", 30, "wrap"), ("Chỉ tiêu", 7, "text"),
        ("Nội dung chỉ tiêu", 44, "wrap"), ("Cách tính", 18, "text"), ("Công thức", 50, "wrap"),
        ("Điểm tối đa", 9, "pts"),
    ]  # fmt: skip
    rows = []
    for g in r.groups:
        for c, inds in r.scale(g.id):
            for ind in inds:
                spec = next(i for i in c.indicators if i.id == ind.id)
                rows.append(
                    [
                        g.label_vi,
                        c.id,
                        c.label_vi,
                        ind.id,
                        spec.label_vi,
                        KIND_VI.get(ind.kind, ind.kind),
                        formula_vi(ind.formula()),
                        ind.max_points,
                    ]
                )
    title = (
        f"Thang điểm: {r.title_vi} (mã {r.id}, phiên bản {r.version}). Xếp loại: {bands_text(r)}. "
        f"Xếp hạng theo điểm quy đổi 100 làm tròn {r.ranking.decimals} chữ số thập phân; bằng điểm thì cùng hạng."
    )
    _table_sheet(wb, "Thang điểm", fm, title, cols, rows)

"""The two computing sheets of ``report.xlsx``: the confirmed values, and the scores as live formulas.

- ``Số liệu``: one row per agency with values, one column per field (a value held back by an
  unresolved error is left blank there and listed in the last column; a field not on the agency's
  form is grey; yes/no values show as Có / Không);
- ``Điểm``: per group a row of maxima and a row of "best" values (``MAX`` over the group's rows of a
  helper column that holds ``v`` for ranked agencies only); then one row per agency, the agencies of
  a group together: one formula per indicator (``kind.excel_formula``), criterion sums, points,
  applicable maximum, ``score_100`` as published (``ROUND``), index, band, competition rank within
  the group (``COUNTIFS`` over the group's rows), and the fields held back.

Every formula uses only functions Excel 2007 already had (no ``_xlfn.`` prefix: Excel 2010 and
LibreOffice compute it as it is written) and carries the library's number in full as its cached
value. The library computes each number in the formula's order of operations
(:mod:`ictaudit.score.scoring`), and ``ROUND`` is the one rounding: LibreOffice, recalculating the
whole workbook, finds every cached value again (``tests/test_workbook_recalculation.py``).

An agency's formulas are its group's formulas with its own row numbers: each group's are built
once, with markers for the row numbers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from xlsxwriter.utility import xl_col_to_name

from ictaudit.common.numfmt import fmt_value, is_nan
from ictaudit.common.workbooks import print_setup, write_number, write_text
from ictaudit.report.inputs import RANKED, ReportInputs, records, status_vi
from ictaudit.report.xlsx_cells import WIDE_SHEET_SCALE, Formats, column_page_breaks, wrapped_height, write_formula
from ictaudit.report.xlsx_internals import is_plain_formula
from ictaudit.rules.rubric import Rubric

VALUES_SHEET = "Số liệu"
SCORES_SHEET = "Điểm"

_VALUES_FIRST_ROW = 3
_VALUES_FIRST_FIELD_COL = 4
#: stand-ins for an agency's row numbers in a group's formulas (its scores row, its values row)
_ROW, _VALUES_ROW = "\x02", "\x01"


def held_text(data: ReportInputs, agency_id: str) -> str:
    """``F02 (đã gửi 60); F05 (đã gửi 1.100)``: the fields held back from an agency's score and what it sent."""
    return "; ".join(
        f"{code} (đã gửi {_shown(data.value_of.get((agency_id, code)))})" for code in data.blocked.get(agency_id, ())
    )


def _shown(x) -> str:
    return fmt_value(None if is_nan(x) else float(x))


# -- Số liệu ------------------------------------------------------------------------------------


def sheet_values(wb, data: ReportInputs, fm: Formats) -> tuple[dict[str, int], dict[str, int]]:
    """One row per agency with values; returns the row of each agency and the column of each field."""
    ws = wb.add_worksheet(VALUES_SHEET)
    fields = list(data.rubric.fields)
    cols = {f.code: _VALUES_FIRST_FIELD_COL + j for j, f in enumerate(fields)}
    held_col = _VALUES_FIRST_FIELD_COL + len(fields)
    widths = [16, 32, 22, 20] + [8.5] * len(fields) + [30]
    note = (
        "Số liệu đã xác nhận dùng để tính điểm. Ô tô đỏ nhạt: số liệu bị giữ lại do lỗi chưa được xác nhận "
        "(tính như thiếu số liệu, giá trị đã gửi ở cột cuối); ô xám: chỉ tiêu không có trong phiếu của khối."
    )
    _title(ws, "Số liệu đã xác nhận", note, widths, None, fm)
    ws.set_row(1, 78)
    for j in range(_VALUES_FIRST_FIELD_COL):
        write_text(ws, 1, j, "", fm.header_small)
    for f in fields:
        write_text(ws, 1, cols[f.code], f"{f.label_vi} ({f.unit_vi})", fm.header_small)
    write_text(ws, 1, held_col, "", fm.header_small)
    for j, head in enumerate(["Mã đơn vị", "Tên đơn vị", "Khối", "Trạng thái"]):
        write_text(ws, 2, j, head, fm.header)
    for f in fields:
        write_text(ws, 2, cols[f.code], f.code, fm.header)
    write_text(ws, 2, held_col, "Số liệu bị giữ lại (giá trị đã gửi)", fm.header)
    _values_rows(ws, data, fm, cols, held_col)
    last = _VALUES_FIRST_ROW + max(len(data.scored_ids), 1) - 1
    for j, w in enumerate(widths):
        ws.set_column(j, j, w)
    ws.freeze_panes(_VALUES_FIRST_ROW, 2)
    ws.autofilter(2, 0, last, held_col)
    _print_wide(ws, widths, 1, 2)
    return {a: _VALUES_FIRST_ROW + i for i, a in enumerate(data.scored_ids)}, cols


def _title(ws, title: str, note: str, widths: list[float], allowed: set[int] | None, fm: Formats) -> None:
    """The sheet's first row: ``title`` in the name column (printed on every page, as that column is), and
    ``note`` wrapped across the columns after it that the first printed page holds."""
    breaks = column_page_breaks(widths, (1, 1), allowed)
    last = (breaks[0] if breaks else len(widths)) - 1
    write_text(ws, 0, 1, title, fm.title)
    ws.merge_range(0, 2, 0, last, "", fm.wrap)
    write_text(ws, 0, 2, note, fm.wrap)
    ws.set_row(0, wrapped_height([(note, sum(widths[2 : last + 1]))]))


def _print_wide(ws, widths: list[float], first_repeated_row: int, last_repeated_row: int, allowed=None) -> None:
    """Landscape A4 at :data:`WIDE_SHEET_SCALE` %, across as many pages as the columns take: the name
    column and the header rows repeated on each, a page never splitting what ``allowed`` keeps together."""
    print_setup(ws, last_repeated_row, fit_width=False, repeat_columns=(1, 1))
    ws.repeat_rows(first_repeated_row, last_repeated_row)
    ws.set_print_scale(WIDE_SHEET_SCALE)
    ws.set_v_pagebreaks(column_page_breaks(widths, (1, 1), allowed))


def _values_rows(ws, data: ReportInputs, fm: Formats, cols: dict[str, int], held_col: int) -> None:
    """A row per scored agency: its values (grey off its form, red when held back) and what was held back."""
    rubric = data.rubric
    scores = {r["agency_id"]: r for r in records(data.scores[["agency_id", "agency_name", "group", "status"]])}
    value_fmt = {
        f.code: fm.yesno if f.type == "yesno" else fm.int if f.type == "count" else fm.dec for f in rubric.fields
    }
    in_form = {g.id: {f.code for f in rubric.fields_for_form(g.form)} for g in rubric.groups}
    group_label = {g.id: g.label_vi for g in rubric.groups}
    value_of = data.value_of
    for i, a in enumerate(data.scored_ids):
        r = _VALUES_FIRST_ROW + i
        s = scores[a]
        form = in_form[s["group"]]
        held = set(data.blocked.get(a, ()))
        for col, text in enumerate((a, s["agency_name"], group_label.get(s["group"], s["group"]), status_vi(s["status"]))):
            write_text(ws, r, col, text, fm.text)
        for code, c in cols.items():
            if code not in form:
                ws.write_blank(r, c, None, fm.na_field)
            elif code in held:
                ws.write_blank(r, c, None, fm.held)
            else:
                write_number(ws, r, c, value_of.get((a, code)), value_fmt[code])
        if held:
            write_text(ws, r, held_col, held_text(data, a), fm.wrap)


# -- Điểm ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScoresLayout:
    """Where everything is on the scores sheet (0-based rows and columns)."""

    indicator_ids: list[str]  # the union over the groups, in rubric order (contiguous per criterion)
    criterion_of: dict[str, str]  # indicator → criterion
    criterion_ids: list[str]
    best_ids: list[str]  # indicators of some group that compare with the group's best
    indicator_col: dict[str, int]
    criterion_col: dict[str, int]
    help_col: dict[str, int]  # the helper column ("v" of ranked agencies) of each best indicator
    max_row: dict[str, int]  # per group
    best_row: dict[str, int]
    blocks: dict[str, tuple[int, int]]  # per group with agencies: its first and last row
    header_row: int
    first_data: int
    last_data: int
    c_id: int = 0
    c_name: int = 1
    c_group: int = 2
    c_status: int = 3
    c_ranked: int = 4
    first_ind: int = 5

    @property
    def first_crit(self) -> int:
        return self.first_ind + len(self.indicator_ids)

    @property
    def c_points(self) -> int:
        return self.first_crit + len(self.criterion_ids)

    @property
    def c_appmax(self) -> int:
        return self.c_points + 1

    @property
    def c_score(self) -> int:
        return self.c_points + 2

    @property
    def c_index(self) -> int:
        return self.c_points + 3

    @property
    def c_band(self) -> int:
        return self.c_points + 4

    @property
    def c_rank(self) -> int:
        return self.c_points + 5

    @property
    def c_held(self) -> int:
        return self.c_points + 6

    @property
    def last_col(self) -> int:
        return self.c_held + len(self.best_ids)

    def block_range(self, group: str, col: int) -> str:
        """The group's rows of a column, absolute: ``$C$12:$C$48``."""
        first, last = self.blocks[group]
        letter = xl_col_to_name(col)
        return f"${letter}${first + 1}:${letter}${last + 1}"


def scores_layout(rubric: Rubric, groups_in_order: list[str]) -> ScoresLayout:
    """The layout for agencies of the groups ``groups_in_order`` (one entry per agency, in row order;
    the agencies of a group must be together)."""
    indicator_ids = [ind.id for c in rubric.criteria for ind in c.indicators]
    criterion_of = {ind.id: c.id for c in rubric.criteria for ind in c.indicators}
    best_ids = [i for i in indicator_ids if any(k.id == i and k.uses_best for g in rubric.groups
                                                for _c, k in rubric.indicators(g.id))]  # fmt: skip
    criterion_ids = [c.id for c in rubric.criteria]
    first_ind = 5
    first_crit = first_ind + len(indicator_ids)
    first_help = first_crit + len(criterion_ids) + 7
    groups = [g.id for g in rubric.groups]
    header_row = 2 + 2 * len(groups) + 1  # the row above it: the criteria's labels
    first_data = header_row + 1
    blocks: dict[str, tuple[int, int]] = {}
    previous = None
    for row, g in enumerate(groups_in_order, start=first_data):
        if g != previous and g in blocks:
            raise ValueError(f"the agencies of group {g} are not together on the scores sheet")
        blocks[g] = (blocks[g][0] if g in blocks else row, row)
        previous = g
    return ScoresLayout(
        indicator_ids=indicator_ids,
        criterion_of=criterion_of,
        criterion_ids=criterion_ids,
        best_ids=best_ids,
        indicator_col={iid: first_ind + j for j, iid in enumerate(indicator_ids)},
        criterion_col={cid: first_crit + j for j, cid in enumerate(criterion_ids)},
        help_col={iid: first_help + j for j, iid in enumerate(best_ids)},
        max_row={g: 2 + 2 * k for k, g in enumerate(groups)},
        best_row={g: 3 + 2 * k for k, g in enumerate(groups)},
        blocks=blocks,
        header_row=header_row,
        first_data=first_data,
        last_data=header_row + max(len(groups_in_order), 1),
        first_ind=first_ind,
    )


def _quoted(text: str) -> str:
    """A string literal inside a formula."""
    return '"' + str(text).replace('"', '""') + '"'


def sheet_scores(
    wb, data: ReportInputs, fm: Formats, values_rows: dict[str, int], value_cols: dict[str, int]
) -> tuple[ScoresLayout, dict[str, int]]:
    """The scores sheet; ``values_rows``, ``value_cols``: where each agency's row and each field's
    column are on the values sheet. Returns the layout and each agency's row (0-based)."""
    ws = wb.add_worksheet(SCORES_SHEET)
    group_of = dict(zip(data.scores["agency_id"].tolist(), data.scores["group"].tolist()))
    lay = scores_layout(data.rubric, [group_of[a] for a in data.scored_ids])
    widths = _scores_widths(lay)
    note = (
        "Mỗi ô là công thức tính từ sheet Số liệu, kèm giá trị đã tính sẵn đầy đủ. Ô trống (\"\"): chỉ tiêu không "
        "áp dụng, không tính vào điểm tối đa. Điểm quy đổi (thang 100) làm tròn "
        f"{data.rubric.ranking.decimals} chữ số (ROUND) là số dùng để xếp loại, xếp hạng; các số khác giữ đầy đủ, "
        "chỉ hiển thị 2 chữ số. Dòng „Tối đa“: điểm tối đa của khối; dòng „Cao nhất“: giá trị cao nhất trong các "
        "đơn vị được xếp hạng của khối, và ở cột giá trị v (cuối bảng) đơn vị đạt giá trị đó."
    )
    allowed = {lay.indicator_col[c.indicators[0].id] for c in data.rubric.criteria if c.indicators}
    allowed |= {lay.first_crit, lay.c_held, lay.c_held + 1}
    _title(ws, "Điểm theo từng chỉ tiêu", note, widths, allowed, fm)
    _group_rows(ws, data, fm, lay)
    _header_rows(ws, data.rubric, fm, lay)
    rows = _agency_rows(ws, data, fm, lay, values_rows, value_cols)
    for j, w in enumerate(widths):
        ws.set_column(j, j, w)
    ws.freeze_panes(lay.first_data, 2)
    ws.autofilter(lay.header_row, 0, lay.last_data, lay.last_col)
    # a page never splits a criterion's indicators; the criteria and totals, the helpers start pages of their own
    _print_wide(ws, widths, 2, lay.header_row, allowed)
    return lay, rows


def _scores_widths(lay: ScoresLayout) -> list[float]:
    """The width of each column of the scores sheet."""
    per_criterion = {c: sum(lay.criterion_of[i] == c for i in lay.indicator_ids) for c in lay.criterion_ids}
    indicators = [10.0 if per_criterion[lay.criterion_of[i]] == 1 else 6.5 for i in lay.indicator_ids]
    widths = [16.0, 36.0, 22.0, 20.0, 9.0] + indicators + [8.0] * (len(lay.criterion_ids) + 2)
    widths += [10.0] * 4 + [24.0] + [24.0] * len(lay.best_ids)
    return widths


def _group_rows(ws, data: ReportInputs, fm: Formats, lay: ScoresLayout) -> None:
    """Per group, the row of maxima and the row of best values (over the group's ranked agencies), with
    the agency that holds each best value."""
    rubric = data.rubric
    best_cached = _best_values(data)
    for g in rubric.groups:
        mr, br = lay.max_row[g.id], lay.best_row[g.id]
        kinds = [k for _c, k in rubric.indicators(g.id)]
        write_text(ws, mr, lay.c_name, f"Tối đa: {g.label_vi}", fm.label_row)
        write_text(ws, mr, lay.c_group, g.label_vi, fm.label_row)
        for kind in kinds:
            ws.write_number(mr, lay.indicator_col[kind.id], kind.max_points, fm.max_row)
        for c in rubric.criteria_for(g.id):
            ws.write_number(mr, lay.criterion_col[c.id], c.max_points[g.id], fm.max_row)
        ws.write_number(mr, lay.c_points, g.max_points, fm.max_row)
        write_text(ws, br, lay.c_name, f"Cao nhất: {g.label_vi}", fm.label_row)
        write_text(ws, br, lay.c_group, g.label_vi, fm.label_row)
        if g.id not in lay.blocks:
            continue  # no agency of the group: no best to compute, none to use it
        for kind in kinds:
            if kind.uses_best:
                best, holder = best_cached.get((g.id, kind.id), (0.0, ""))
                help_col = lay.help_col[kind.id]
                block = lay.block_range(g.id, help_col)
                write_formula(ws, br, lay.indicator_col[kind.id], f"=MAX({block})", fm.best_row, best)
                # who holds it: the first ranked agency of the group whose v is the best (none when 0)
                best_ref = f"{xl_col_to_name(lay.indicator_col[kind.id])}{br + 1}"
                names = lay.block_range(g.id, lay.c_name)
                who = f'=IF({best_ref}>0,INDEX({names},MATCH({best_ref},{block},0)),"")'
                write_formula(ws, br, help_col, who, fm.label_row, holder)


def _header_rows(ws, rubric: Rubric, fm: Formats, lay: ScoresLayout) -> None:
    """The criteria's labels above their indicators, then the column headers."""
    hr = lay.header_row
    widths = _scores_widths(lay)
    labels = []
    for c in rubric.criteria:
        cols = [lay.indicator_col[i] for i in lay.indicator_ids if lay.criterion_of[i] == c.id]
        text = f"{c.id}. {c.label_vi}"
        if len(cols) > 1:
            ws.merge_range(hr - 1, cols[0], hr - 1, cols[-1], "", fm.header_small)
        if cols:
            write_text(ws, hr - 1, cols[0], text, fm.header_small)
            labels.append((text, sum(widths[cols[0] : cols[-1] + 1]) * 1.25))  # 8 pt: a line holds 10/8 as much
    ws.set_row(hr - 1, wrapped_height(labels))
    heads = {
        lay.c_id: "Mã đơn vị", lay.c_name: "Tên đơn vị", lay.c_group: "Khối", lay.c_status: "Trạng thái",
        lay.c_ranked: "Được xếp hạng", lay.c_points: "Tổng điểm", lay.c_appmax: "Điểm tối đa áp dụng",
        lay.c_score: "Điểm quy đổi (thang 100)", lay.c_index: "Chỉ số", lay.c_band: "Xếp loại",
        lay.c_rank: "Thứ hạng trong khối", lay.c_held: "Số liệu bị giữ lại (tính như thiếu)",
    }  # fmt: skip
    heads |= {lay.indicator_col[i]: i for i in lay.indicator_ids}
    heads |= {lay.criterion_col[c]: f"Tiêu chí {c}" for c in lay.criterion_ids}
    heads |= {lay.help_col[i]: f"{i}: giá trị v (đơn vị xếp hạng)" for i in lay.best_ids}
    for col, text in heads.items():
        write_text(ws, hr, col, text, fm.header)
    ws.set_row(hr, wrapped_height([(t, widths[c]) for c, t in heads.items()], bold=True))


def _agency_rows(
    ws, data: ReportInputs, fm: Formats, lay: ScoresLayout, values_rows: dict[str, int], value_cols: dict[str, int]
) -> dict[str, int]:
    """One row per scored agency: its name and status, then its group's formulas with its cached values."""
    scores = {r["agency_id"]: r for r in records(data.scores)}
    formulas = GroupFormulas(data.rubric, fm, lay, value_cols)
    cached = CachedValues(data)
    group_label = {g.id: g.label_vi for g in data.rubric.groups}
    rows = {}
    for i, a in enumerate(data.scored_ids):
        row = rows[a] = lay.first_data + i
        s = scores[a]
        for col, text in enumerate((a, s["agency_name"], group_label.get(s["group"], s["group"]), status_vi(s["status"]))):
            write_text(ws, row, col, text, fm.text)
        ws.write_number(row, lay.c_ranked, 1 if s["status"] == RANKED else 0, fm.yesno)
        values = cached.of(a, s)
        for col, formula, fmt, key, plain in formulas.at(s["group"], row + 1, values_rows[a] + 1):
            write_formula(ws, row, col, formula, fmt, values[key], plain)
        if a in data.blocked:
            write_text(ws, row, lay.c_held, ", ".join(data.blocked[a]), fm.held)
    return rows


class GroupFormulas:
    """The formula cells of an agency's row on the scores sheet: its group's, with its row numbers.

    Each group's formulas are built once with markers for the two row numbers (the scores row, the
    values row) and checked, on the group's first agency, against those built for that agency.
    """

    def __init__(self, rubric: Rubric, fm: Formats, lay: ScoresLayout, value_cols: dict[str, int]):
        self.rubric, self.fm, self.lay = rubric, fm, lay
        self.value_letter = {code: xl_col_to_name(c) for code, c in value_cols.items()}
        self.templates: dict[str, list[tuple[int, str, object, tuple]]] = {}

    def at(self, group: str, row: int, values_row: int) -> list[tuple[int, str, object, tuple, bool]]:
        """(column, formula, format, key of the cached value, whether it is plain) of each formula cell,
        in column order; ``row``, ``values_row``: 1-based."""
        x, vr = str(row), str(values_row)
        templates = self.templates.get(group)
        if templates is None:
            templates = self.templates[group] = [
                (*cell, is_plain_formula(cell[1])) for cell in self.build(group, _ROW, _VALUES_ROW)
            ]
            filled = self._filled(templates, x, vr)
            if [cell[:4] for cell in filled] != self.build(group, x, vr) or any(
                plain != is_plain_formula(formula) for _c, formula, _f, _k, plain in filled
            ):
                raise ValueError(f"an Excel formula of group {group} depends on its row other than by the row number")
        return self._filled(templates, x, vr)

    @staticmethod
    def _filled(templates, x: str, vr: str) -> list[tuple[int, str, object, tuple, bool]]:
        return [(c, t.replace(_ROW, x).replace(_VALUES_ROW, vr), f, k, p) for c, t, f, k, p in templates]

    def build(self, g: str, x: str, vr: str) -> list[tuple[int, str, object, tuple]]:
        """The formula cells of an agency of group ``g`` in row ``x`` whose values are in row ``vr`` of the values sheet."""
        lay, fm = self.lay, self.fm
        letter = xl_col_to_name
        refs = {code: f"'{VALUES_SHEET}'!${col}${vr}" for code, col in self.value_letter.items()}
        ranked = f"${letter(lay.c_ranked)}{x}"
        out = []
        for _c, kind in self.rubric.indicators(g):
            col = lay.indicator_col[kind.id]
            best_ref = f"${letter(col)}${lay.best_row[g] + 1}" if kind.uses_best else None
            out.append((col, kind.excel_formula(refs, best_ref), fm.pts, ("points", kind.id)))
            if kind.uses_best:  # v of a ranked agency, the candidates for the group's best
                v = kind.excel_value(refs)[1:]
                out.append((lay.help_col[kind.id], f'=IF({ranked}=1,{v},"")', fm.ratio, ("v", kind.id)))
        for c in self.rubric.criteria_for(g):
            cols = [lay.indicator_col[i] for i in lay.indicator_ids if lay.criterion_of[i] == c.id]
            out.append(
                (lay.criterion_col[c.id], f"=SUM({letter(min(cols))}{x}:{letter(max(cols))}{x})", fm.pts, (c.id,))
            )
        crit_span = f"{letter(lay.first_crit)}{x}:{letter(lay.c_points - 1)}{x}"
        out.append((lay.c_points, f"=SUM({crit_span})", fm.pts_bold, ("points",)))
        return sorted(out + self._totals(g, x), key=lambda cell: cell[0])

    def _totals(self, g: str, x: str) -> list[tuple[int, str, object, tuple]]:
        """Applicable maximum, score out of 100 as published, index, band and rank of the agency in row ``x``."""
        lay, fm, letter = self.lay, self.fm, xl_col_to_name
        ind_span = f"{letter(lay.first_ind)}{x}:{letter(lay.first_crit - 1)}{x}"
        mr = lay.max_row[g] + 1
        max_span = f"${letter(lay.first_ind)}${mr}:${letter(lay.first_crit - 1)}${mr}"
        pts, amx, sc = (f"{letter(c)}{x}" for c in (lay.c_points, lay.c_appmax, lay.c_score))
        dec = self.rubric.ranking.decimals
        bands = list(self.rubric.bands)
        band_expr = _quoted(bands[-1].label_vi)
        for b in reversed(bands[:-1]):
            band_expr = f"IF({sc}>={b.min_score:g},{_quoted(b.label_vi)},{band_expr})"
        ranked = f"${letter(lay.c_ranked)}{x}"
        rank = (
            f'=IF(AND({ranked}=1,{sc}<>""),COUNTIFS({lay.block_range(g, lay.c_ranked)},1,'
            f'{lay.block_range(g, lay.c_score)},">"&{sc})+1,"")'
        )
        return [
            (lay.c_appmax, f'=SUMPRODUCT(({ind_span}<>"")*({max_span}))', fm.pts, ("applicable_max",)),
            (lay.c_score, f'=IF({amx}>0,ROUND(100*{pts}/{amx},{dec}),"")', fm.pts_bold, ("score_100_published",)),
            (lay.c_index, f'=IF({amx}>0,{pts}/{amx},"")', fm.index, ("index",)),
            (lay.c_band, f'=IF(AND({ranked}=1,{sc}<>""),{band_expr},"")', fm.text, ("band",)),
            (lay.c_rank, rank, fm.rank, ("rank",)),
        ]


class CachedValues:
    """The library's number for each formula cell of an agency's row (keys as :class:`GroupFormulas` names them)."""

    def __init__(self, data: ReportInputs):
        self.rubric = data.rubric
        t = data.trail
        self.trail = dict(
            zip(
                zip(t["agency_id"].tolist(), t["indicator_id"].tolist()),
                zip(t["points"].tolist(), t["applicable"].tolist(), t["inputs"].tolist()),
            )
        )

    def of(self, a: str, s: dict) -> dict[tuple, object]:
        """Agency ``a``'s values; ``s``: its row of scores.csv."""
        out: dict[tuple, object] = {}
        ranked = s["status"] == RANKED
        for _c, kind in self.rubric.indicators(s["group"]):
            points, applicable, inputs = self.trail[(a, kind.id)]
            out["points", kind.id] = float(points) if bool(applicable) else ""
            if kind.uses_best:
                out["v", kind.id] = _v_cached(kind, inputs) if ranked else ""
        for c in self.rubric.criteria_for(s["group"]):
            out[(c.id,)] = float(s[c.id])
        out["points",] = float(s["points"])
        out["applicable_max",] = float(s["applicable_max"])
        published = s["score_100_published"]
        out["score_100_published",] = "" if is_nan(published) else float(published)
        out["index",] = "" if is_nan(s["index"]) else float(s["index"])
        out["band",] = s["band"] or ""
        out["rank",] = "" if is_nan(s["rank"]) else int(s["rank"])
        return out


def _best_values(data: ReportInputs) -> dict[tuple[str, str], tuple[float, str]]:
    """The group's best value of each ratio_to_best indicator as the trail recorded it (0 when none), and
    the name of the first ranked agency (in the sheet's order) whose value it is ("" when 0)."""
    out: dict[tuple[str, str], tuple[float, str]] = {}
    rows = data.trail[data.trail["kind"] == "ratio_to_best"]
    ranked = set(data.scores.loc[data.scores["status"] == RANKED, "agency_id"])
    order = {a: i for i, a in enumerate(data.scored_ids)}
    kinds = {(g.id, k.id): k for g in data.rubric.groups for _c, k in data.rubric.indicators(g.id) if k.uses_best}
    holders: dict[tuple[str, str], tuple[int, str]] = {}
    for a, g, iid, inputs in zip(rows["agency_id"], rows["group"], rows["indicator_id"], rows["inputs"]):
        parsed = json.loads(inputs)
        best = 0.0 if parsed.get("best") is None else float(parsed["best"])
        out[(g, iid)] = (best, "")
        kind = kinds.get((g, iid))
        if kind is None or a not in ranked or best <= 0 or _v_cached(kind, inputs) != best:
            continue
        if (g, iid) not in holders or order.get(a, 0) < holders[(g, iid)][0]:
            holders[(g, iid)] = (order.get(a, 0), data.names.get(a, a))
    return {key: (best, holders.get(key, (0, ""))[1]) for key, (best, _) in out.items()}


def _v_cached(kind, inputs: str):
    """``v = num / den`` as the spreadsheet sees it: blank ("") when an input is blank or held, or den = 0."""
    inputs = json.loads(inputs)
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

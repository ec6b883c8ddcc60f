"""The two computing sheets of ``report.xlsx``: the confirmed values, and the scores as live formulas.

- ``Số liệu``: one row per agency with values, one column per field (a value held back by an
  unresolved error is left blank there and listed in the last column; a field not on the agency's
  form is grey);
- ``Điểm``: per group a row of maxima and a row of "best" values (``MAXIFS`` over a helper column of
  each ``ratio_to_best`` indicator, ranked agencies only); then one row per agency: one formula per
  indicator (``kind.excel_formula``), criterion sums, points, applicable maximum, ``score_100``,
  index, band and competition rank within the group, each formula carrying the library's number as
  its cached value.

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
from ictaudit.report.xlsx_cells import Formats, write_formula
from ictaudit.report.xlsx_internals import is_plain_formula
from ictaudit.rules.rubric import Rubric

VALUES_SHEET = "Số liệu"
SCORES_SHEET = "Điểm"

_VALUES_FIRST_ROW = 3
_VALUES_FIRST_FIELD_COL = 4
#: stand-ins for an agency's row numbers in a group's formulas (its scores row, its values row)
_ROW, _VALUES_ROW = "\x02", "\x01"


# -- Số liệu ------------------------------------------------------------------------------------


def sheet_values(wb, data: ReportInputs, fm: Formats) -> tuple[dict[str, int], dict[str, int]]:
    """One row per agency with values; returns the row of each agency and the column of each field."""
    ws = wb.add_worksheet(VALUES_SHEET)
    fields = list(data.rubric.fields)
    cols = {f.code: _VALUES_FIRST_FIELD_COL + j for j, f in enumerate(fields)}
    held_col = _VALUES_FIRST_FIELD_COL + len(fields)
    write_text(
        ws, 0, 0,
        "Số liệu đã xác nhận dùng để tính điểm. Ô tô đỏ nhạt: số liệu bị giữ lại do lỗi chưa được xác nhận "
        "(tính như thiếu số liệu); ô xám: chỉ tiêu không có trong phiếu của khối.", fm.text,
    )  # fmt: skip
    ws.set_row(1, 64)
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
    ws.set_column(0, 0, 14)
    ws.set_column(1, 1, 36)
    ws.set_column(2, 3, 16)
    ws.set_column(_VALUES_FIRST_FIELD_COL, held_col - 1, 9)
    ws.set_column(held_col, held_col, 30)
    ws.freeze_panes(_VALUES_FIRST_ROW, 2)
    ws.autofilter(2, 0, last, held_col)
    print_setup(ws, 2)
    return {a: _VALUES_FIRST_ROW + i for i, a in enumerate(data.scored_ids)}, cols


def _values_rows(ws, data: ReportInputs, fm: Formats, cols: dict[str, int], held_col: int) -> None:
    """A row per scored agency: its values (grey off its form, red when held back) and what was held back."""
    rubric = data.rubric
    scores = {r["agency_id"]: r for r in records(data.scores[["agency_id", "agency_name", "group", "status"]])}
    value_fmt = {
        f.code: fm.yesno if f.type == "yesno" else fm.int if f.type == "count" else fm.dec for f in rubric.fields
    }
    in_form = {g.id: {f.code for f in rubric.fields_for_form(g.form)} for g in rubric.groups}
    value_of = data.value_of
    for i, a in enumerate(data.scored_ids):
        r = _VALUES_FIRST_ROW + i
        s = scores[a]
        form = in_form[s["group"]]
        held = set(data.blocked.get(a, ()))
        for col, text in enumerate((a, s["agency_name"], s["group"], status_vi(s["status"]))):
            write_text(ws, r, col, text, fm.text)
        for code, c in cols.items():
            if code not in form:
                ws.write_blank(r, c, None, fm.na_field)
            elif code in held:
                ws.write_blank(r, c, None, fm.held)
            else:
                write_number(ws, r, c, value_of.get((a, code)), value_fmt[code])
        if held:
            held_text = "; ".join(f"{code} = {_shown(value_of.get((a, code)))}" for code in sorted(held))
            write_text(ws, r, held_col, held_text, fm.text)


def _shown(x) -> str:
    return fmt_value(None if is_nan(x) else float(x))


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
    help_col: dict[str, int]  # the helper column ("v") of each best indicator
    max_row: dict[str, int]  # per group
    best_row: dict[str, int]
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
    def last_col(self) -> int:
        return self.c_rank + len(self.best_ids)

    def column_range(self, col: int) -> str:
        """The data rows of a column, absolute: ``$C$12:$C$48``."""
        letter = xl_col_to_name(col)
        return f"${letter}${self.first_data + 1}:${letter}${self.last_data + 1}"


def scores_layout(rubric: Rubric, n_agencies: int) -> ScoresLayout:
    indicator_ids = [ind.id for c in rubric.criteria for ind in c.indicators]
    criterion_of = {ind.id: c.id for c in rubric.criteria for ind in c.indicators}
    best_ids = [i for i in indicator_ids if any(k.id == i and k.uses_best for g in rubric.groups
                                                for _c, k in rubric.indicators(g.id))]  # fmt: skip
    criterion_ids = [c.id for c in rubric.criteria]
    first_ind = 5
    first_crit = first_ind + len(indicator_ids)
    first_help = first_crit + len(criterion_ids) + 6
    groups = [g.id for g in rubric.groups]
    header_row = 2 + 2 * len(groups) + 1  # the row above it: the criteria's labels
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
        header_row=header_row,
        first_data=header_row + 1,
        last_data=header_row + max(n_agencies, 1),
        first_ind=first_ind,
    )


def _quoted(text: str) -> str:
    """A string literal inside a formula."""
    return '"' + str(text).replace('"', '""') + '"'


def sheet_scores(wb, data: ReportInputs, fm: Formats, values_rows: dict[str, int], value_cols: dict[str, int]) -> None:
    """The scores sheet; ``values_rows``, ``value_cols``: where each agency's row and each field's
    column are on the values sheet."""
    ws = wb.add_worksheet(SCORES_SHEET)
    lay = scores_layout(data.rubric, len(data.scored_ids))
    write_text(
        ws, 0, 0,
        "Điểm theo từng chỉ tiêu: mỗi ô là công thức tính từ sheet Số liệu (giá trị đã tính sẵn đi kèm). "
        "Ô trống (\"\"): chỉ tiêu không áp dụng, không tính vào điểm tối đa.", fm.text,
    )  # fmt: skip
    _group_rows(ws, data, fm, lay)
    _header_rows(ws, data.rubric, fm, lay)
    _agency_rows(ws, data, fm, lay, values_rows, value_cols)
    ws.set_column(lay.c_id, lay.c_id, 12)
    ws.set_column(lay.c_name, lay.c_name, 34)
    ws.set_column(lay.c_group, lay.c_status, 13)
    ws.set_column(lay.c_ranked, lay.c_ranked, 8)
    ws.set_column(lay.first_ind, lay.first_crit - 1, 6.5)
    ws.set_column(lay.first_crit, lay.c_appmax, 8)
    ws.set_column(lay.c_score, lay.c_rank, 10)
    if lay.best_ids:
        ws.set_column(lay.c_rank + 1, lay.last_col, 12)
    ws.freeze_panes(lay.first_data, 2)
    ws.autofilter(lay.header_row, 0, lay.last_data, lay.last_col)
    print_setup(ws, lay.header_row)


def _group_rows(ws, data: ReportInputs, fm: Formats, lay: ScoresLayout) -> None:
    """Per group, the row of maxima and the row of best values (over the group's ranked agencies)."""
    rubric = data.rubric
    best_cached = _best_values(data)
    for g in rubric.groups:
        mr, br = lay.max_row[g.id], lay.best_row[g.id]
        kinds = [k for _c, k in rubric.indicators(g.id)]
        write_text(ws, mr, lay.c_name, f"Điểm tối đa — {g.label_vi}", fm.label_row)
        write_text(ws, mr, lay.c_group, g.id, fm.label_row)
        for kind in kinds:
            ws.write_number(mr, lay.indicator_col[kind.id], kind.max_points, fm.max_row)
        for c in rubric.criteria_for(g.id):
            ws.write_number(mr, lay.criterion_col[c.id], c.max_points[g.id], fm.max_row)
        ws.write_number(mr, lay.c_points, g.max_points, fm.max_row)
        label = f"Giá trị cao nhất trong khối (đơn vị được xếp hạng) — {g.label_vi}"
        write_text(ws, br, lay.c_name, label, fm.label_row)
        write_text(ws, br, lay.c_group, g.id, fm.label_row)
        for kind in kinds:
            if kind.uses_best:
                formula = (
                    f"=MAXIFS({lay.column_range(lay.help_col[kind.id])},{lay.column_range(lay.c_group)},"
                    f"{_quoted(g.id)},{lay.column_range(lay.c_ranked)},1)"
                )
                write_formula(
                    ws, br, lay.indicator_col[kind.id], formula, fm.best_row, best_cached.get((g.id, kind.id), 0.0)
                )


def _header_rows(ws, rubric: Rubric, fm: Formats, lay: ScoresLayout) -> None:
    """The criteria's labels above their indicators, then the column headers."""
    hr = lay.header_row
    ws.set_row(hr - 1, 30)
    ws.set_row(hr, 45)
    for c in rubric.criteria:
        cols = [lay.indicator_col[i] for i in lay.indicator_ids if lay.criterion_of[i] == c.id]
        if len(cols) > 1:
            ws.merge_range(hr - 1, cols[0], hr - 1, cols[-1], f"{c.id}. {c.label_vi}", fm.header_small)
        elif cols:
            write_text(ws, hr - 1, cols[0], f"{c.id}. {c.label_vi}", fm.header_small)
    heads = {
        lay.c_id: "Mã đơn vị", lay.c_name: "Tên đơn vị", lay.c_group: "Khối", lay.c_status: "Trạng thái",
        lay.c_ranked: "Được xếp hạng (1/0)", lay.c_points: "Tổng điểm", lay.c_appmax: "Điểm tối đa áp dụng",
        lay.c_score: "Điểm quy đổi (thang 100)", lay.c_index: "Chỉ số", lay.c_band: "Xếp loại",
        lay.c_rank: "Thứ hạng trong khối",
    }  # fmt: skip
    heads |= {lay.indicator_col[i]: i for i in lay.indicator_ids}
    heads |= {lay.criterion_col[c]: f"Tiêu chí {c}" for c in lay.criterion_ids}
    heads |= {lay.help_col[i]: f"Giá trị v của {i} (tính giá trị cao nhất)" for i in lay.best_ids}
    for col, text in heads.items():
        write_text(ws, hr, col, text, fm.header)


def _agency_rows(
    ws, data: ReportInputs, fm: Formats, lay: ScoresLayout, values_rows: dict[str, int], value_cols: dict[str, int]
) -> None:
    """One row per scored agency: its name and status, then its group's formulas with its cached values."""
    scores = {r["agency_id"]: r for r in records(data.scores)}
    formulas = GroupFormulas(data.rubric, fm, lay, value_cols)
    cached = CachedValues(data)
    for i, a in enumerate(data.scored_ids):
        row = lay.first_data + i
        s = scores[a]
        for col, text in enumerate((a, s["agency_name"], s["group"], status_vi(s["status"]))):
            write_text(ws, row, col, text, fm.text)
        ws.write_number(row, lay.c_ranked, 1 if s["status"] == RANKED else 0, fm.int)
        values = cached.of(a, s)
        for col, formula, fmt, key, plain in formulas.at(s["group"], row + 1, values_rows[a] + 1):
            write_formula(ws, row, col, formula, fmt, values[key], plain)


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
        out = []
        for _c, kind in self.rubric.indicators(g):
            col = lay.indicator_col[kind.id]
            best_ref = f"${letter(col)}${lay.best_row[g] + 1}" if kind.uses_best else None
            out.append((col, kind.excel_formula(refs, best_ref), fm.pts, ("points", kind.id)))
            if kind.uses_best:
                out.append((lay.help_col[kind.id], kind.excel_value(refs), fm.ratio, ("v", kind.id)))
        for c in self.rubric.criteria_for(g):
            cols = [lay.indicator_col[i] for i in lay.indicator_ids if lay.criterion_of[i] == c.id]
            out.append(
                (lay.criterion_col[c.id], f"=SUM({letter(min(cols))}{x}:{letter(max(cols))}{x})", fm.pts, (c.id,))
            )
        crit_span = f"{letter(lay.first_crit)}{x}:{letter(lay.c_points - 1)}{x}"
        out.append((lay.c_points, f"=SUM({crit_span})", fm.pts_bold, ("points",)))
        return sorted(out + self._totals(g, x), key=lambda cell: cell[0])

    def _totals(self, g: str, x: str) -> list[tuple[int, str, object, tuple]]:
        """Applicable maximum, score out of 100, index, band and rank of the agency in row ``x``."""
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
            f'=IF(AND({ranked}=1,{sc}<>""),COUNTIFS({lay.column_range(lay.c_group)},${letter(lay.c_group)}{x},'
            f'{lay.column_range(lay.c_ranked)},1,{lay.column_range(lay.c_score)},">"&{sc})+1,"")'
        )
        return [
            (lay.c_appmax, f'=SUMPRODUCT(({ind_span}<>"")*({max_span}))', fm.pts, ("applicable_max",)),
            (lay.c_score, f'=IF({amx}>0,ROUND(100*{pts}/{amx},{dec}),"")', fm.pts_bold, ("score_100",)),
            (lay.c_index, f'=IF({amx}>0,ROUND({pts}/{amx},3),"")', fm.index, ("index",)),
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
        for _c, kind in self.rubric.indicators(s["group"]):
            points, applicable, inputs = self.trail[(a, kind.id)]
            out["points", kind.id] = float(points) if bool(applicable) else ""
            if kind.uses_best:
                out["v", kind.id] = _v_cached(kind, inputs)
        for c in self.rubric.criteria_for(s["group"]):
            out[(c.id,)] = float(s[c.id])
        out["points",] = float(s["points"])
        out["applicable_max",] = float(s["applicable_max"])
        out["score_100",] = "" if is_nan(s["score_100"]) else float(s["score_100"])
        out["index",] = "" if is_nan(s["index"]) else float(s["index"])
        out["band",] = s["band"] or ""
        out["rank",] = "" if is_nan(s["rank"]) else int(s["rank"])
        return out


def _best_values(data: ReportInputs) -> dict[tuple[str, str], float]:
    """The group's best value of each ratio_to_best indicator, as the trail recorded it (0 when none)."""
    out: dict[tuple[str, str], float] = {}
    rows = data.trail[data.trail["kind"] == "ratio_to_best"]
    for g, iid, inputs in zip(rows["group"], rows["indicator_id"], rows["inputs"]):
        best = json.loads(inputs).get("best")
        out[(g, iid)] = 0.0 if best is None else float(best)
    return out


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

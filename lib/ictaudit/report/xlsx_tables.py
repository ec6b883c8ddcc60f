"""The table sheets of ``report.xlsx``: a title, a header row, one row per item, filterable.

``Diễn giải`` (the trail, an Excel table), ``Nguồn số liệu`` (the source cell of each value),
``Lỗi số liệu`` (validation problems), ``Hiệu chỉnh`` (corrections) and ``Thang điểm`` (the method).
The first four copy a scored table (``trail.csv``, ``values.csv``, ``issues.csv``,
``corrections.csv``) with names and labels beside the codes; one that would hold more than
:data:`SHEET_MAX_ROWS` rows is left out of the workbook, its sheet saying which table holds its rows.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from ictaudit.common.numfmt import fmt_number, fmt_value
from ictaudit.common.workbooks import print_setup, write_number, write_text
from ictaudit.report.inputs import (
    CORRECTION_STATUS_VI,
    KIND_VI,
    SEVERITY_VI,
    Memo,
    ReportInputs,
    bands_text,
    flags_vi,
    fmt_date_text,
    formula_vi,
    parse_inputs,
    source_vi,
)
from ictaudit.report.xlsx_cells import Formats, wrapped_height

#: a sheet copying a scored table holds at most this many rows (the row limit of Excel 2003 and of the
#: .xls format, which every spreadsheet opens and filters in seconds); a longer table is left out of
#: the workbook, whose sheet then names the CSV file that holds its rows. At 35 agencies the longest
#: table has ~2,000 rows; at 2,200 agencies the trail has ~66,000 and the sources ~131,000; at 10,000,
#: 300,000 and 600,000 (850 MB of sheet XML, 35 s and 1.4 GB for LibreOffice to open).
SHEET_MAX_ROWS = 65_536

TRAIL_SHEET = "Diễn giải"
SOURCES_SHEET = "Nguồn số liệu"
ISSUES_SHEET = "Lỗi số liệu"
CORRECTIONS_SHEET = "Hiệu chỉnh"
METHOD_SHEET = "Thang điểm"

#: the scored table each copying sheet comes from
TABLE_OF_SHEET = {
    TRAIL_SHEET: "trail.csv",
    SOURCES_SHEET: "values.csv",
    ISSUES_SHEET: "issues.csv",
    CORRECTIONS_SHEET: "corrections.csv",
}


def left_out(n_rows: int) -> bool:
    """Whether a sheet of ``n_rows`` rows is left out of the workbook (its rows only in the CSV table)."""
    return n_rows > SHEET_MAX_ROWS


def table_rows(data: ReportInputs) -> dict[str, int]:
    """How many rows each copying sheet would hold."""
    return {
        TRAIL_SHEET: len(data.trail),
        SOURCES_SHEET: len(data.values),
        ISSUES_SHEET: len(data.issues),
        CORRECTIONS_SHEET: len(data.corrections),
    }


def left_out_text(n_rows: int, csv_name: str) -> str:
    return (
        f"Bảng này có {fmt_number(n_rows, 0)} dòng, nhiều hơn {fmt_number(SHEET_MAX_ROWS, 0)} dòng mà tệp này "
        f"chép vào một sheet, nên không chép vào đây: đủ các dòng có trong tệp {csv_name} của thư mục bảng điểm "
        "của kỳ (data/scored/<năm>/), mở được bằng Excel."
    )


def copy_sheet(
    wb,
    name: str,
    fm: Formats,
    title: str,
    columns: list[tuple[str, float, str]],
    n_rows: int,
    data: Callable[[], list[list]],
    table_name: str | None = None,
    print_columns: int | None = None,
) -> None:
    """The sheet copying the scored table of :data:`TABLE_OF_SHEET` (``n_rows`` rows): :func:`table_sheet`
    of ``data()``, or, when the rows are left out, the title and where they are."""
    if not left_out(n_rows):
        table_sheet(wb, name, fm, title, columns, data(), table_name, print_columns)
        return
    ws = wb.add_worksheet(name)
    ws.set_column(0, 0, 110)
    write_text(ws, 0, 0, title, fm.text)
    ws.set_row(2, 45)
    write_text(ws, 2, 0, left_out_text(n_rows, TABLE_OF_SHEET[name]), fm.notice)
    print_setup(ws, 0, landscape=False)


def table_sheet(
    wb,
    name: str,
    fm: Formats,
    title: str,
    columns: list[tuple[str, float, str]],
    data: list[list],
    table_name: str | None = None,
    print_columns: int | None = None,
) -> None:
    """A sheet with a title line, a header row and rows; ``columns``: (header, width, kind); ``data``:
    the values, column by column. With ``table_name``, the rows are an Excel table (banded, named);
    otherwise a filtered range.

    Kinds: ``text``, ``wrap`` (wrapped text: each row is made as tall as its longest wrapped cell),
    ``int``, ``pts``, ``num``, and ``value`` (a confirmed value: ``(number, is_yes_no)``, shown as
    Có / Không for a yes/no field). ``print_columns``: only the first so many columns are printed (the
    others are technical: ids, hashes), fitted to the width of A4 landscape.
    """
    n = len(data[0]) if data else 0
    use_table = bool(table_name and n)
    ws = wb.add_worksheet(name)
    write_text(ws, 0, 0, title, fm.text)
    hr = 1
    widths = [w for _h, w, _k in columns]
    ws.set_row(hr, wrapped_height([(h, w) for h, w, _k in columns], bold=True))
    for j, width in enumerate(widths):
        ws.set_column(j, j, width)
    last = hr + max(n, 1)
    if use_table:
        ws.add_table(
            hr, 0, last, len(columns) - 1,
            {"name": table_name, "style": "Table Style Light 9", "autofilter": True,
             "columns": [{"header": h, "header_format": fm.header} for h, _w, _k in columns]},
        )  # fmt: skip
    else:
        for j, (head, _w, _k) in enumerate(columns):
            write_text(ws, hr, j, head, fm.header)
        ws.autofilter(hr, 0, last, len(columns) - 1)
    writers = [_writer(kind, fm) for _h, _w, kind in columns]
    wrapped = [j for j, (_h, _w, kind) in enumerate(columns) if kind == "wrap"]
    for i, values in enumerate(zip(*data)):
        r = hr + 1 + i
        for j, (write, v) in enumerate(zip(writers, values)):
            write(ws, r, j, v)
        if wrapped:
            height = wrapped_height([(values[j], widths[j]) for j in wrapped if isinstance(values[j], str)])
            if height > _ONE_LINE:
                ws.set_row(r, height)
    ws.freeze_panes(hr + 1, 0)
    print_setup(ws, hr)
    if print_columns is not None and print_columns < len(columns):
        ws.print_area(0, 0, last, print_columns - 1)


#: the height of a row of one line: rows that need no more keep the default
_ONE_LINE = wrapped_height([("", 1)])


def _writer(kind: str, fm: Formats):
    """How a cell of a column of ``kind`` is written: ``write(ws, row, col, value)``."""
    if kind in ("text", "wrap"):
        fmt = fm.wrap if kind == "wrap" else fm.text
        return lambda ws, r, c, v: write_text(ws, r, c, v, fmt)
    if kind == "value":
        return lambda ws, r, c, v: write_number(ws, r, c, v[0], fm.yesno if v[1] else fm.dec)
    fmt = {"int": fm.int, "pts": fm.pts}.get(kind, fm.dec)
    return lambda ws, r, c, v: write_number(ws, r, c, v, fmt)


def _mapped(values: list, fn) -> list:
    """``[fn(v) for v in values]``, with ``fn`` called once per distinct value (names, labels, codes repeat)."""
    memo = {v: fn(v) for v in dict.fromkeys(values)}
    return list(map(memo.__getitem__, values))


def _inputs_texts(inputs: list[str], yesno: set[str]) -> list[str]:
    """The "inputs" cell of each trail row: ``F02 = 64; F01 = 69`` (each distinct JSON text read once)."""
    value = Memo(fmt_value).__getitem__
    distinct = list(dict.fromkeys(inputs))
    texts = {}
    for text, d in zip(distinct, parse_inputs(distinct)):
        parts = []
        held = set(d.get("blocked") or ())
        for k, v in d.items():
            if k == "blocked":
                continue
            if k == "best":
                parts.append(f"cao nhất trong khối = {value(v)}")
                continue
            shown = f"{k} = {'Có' if v == 1 else 'Không'}" if k in yesno and v in (0, 1) else f"{k} = {value(v)}"
            parts.append(f"{shown} (giữ lại, không dùng)" if k in held else shown)
        texts[text] = "; ".join(parts)
    return list(map(texts.__getitem__, inputs))


def sheet_trail(wb, data: ReportInputs, fm: Formats) -> None:
    cols = [
        ("Mã đơn vị", 11, "text"), ("Tên đơn vị", 22, "wrap"), ("Chỉ tiêu", 6.5, "text"),
        ("Nội dung chỉ tiêu", 26, "wrap"), ("Số liệu đầu vào", 22, "wrap"), ("Diễn giải", 46, "wrap"),
        ("Điểm", 7, "pts"), ("Điểm tối đa", 7, "pts"), ("Ghi chú", 15, "wrap"),
        ("Khối", 20, "text"), ("Tiêu chí", 7, "text"), ("Cách tính", 18, "text"), ("Công thức", 40, "text"),
        ("Áp dụng", 8, "text"),
    ]  # fmt: skip
    title = (
        "Diễn giải từng bước tính điểm (một dòng cho mỗi đơn vị × chỉ tiêu). Điểm giữ đầy đủ, hiển thị 2 chữ số; "
        "tổng điểm tính từ điểm chưa làm tròn. Bản in gồm các cột đến Ghi chú."
    )
    copy_sheet(
        wb, TRAIL_SHEET, fm, title, cols, len(data.trail), lambda: _trail_columns(data), "DienGiai", print_columns=9
    )


def _trail_columns(data: ReportInputs) -> list[list]:
    """The trail sheet's columns: the trail in the order of the scored agencies, with names and labels."""
    labels = {ind.id: ind.label_vi for c in data.rubric.criteria for ind in c.indicators}
    group_labels = {g.id: g.label_vi for g in data.rubric.groups}
    yesno = {f.code for f in data.rubric.fields if f.type == "yesno"}
    t = data.trail
    order = {a: i for i, a in enumerate(data.scored_ids)}
    t = t.assign(_o=t["agency_id"].map(order)).sort_values("_o", kind="mergesort")
    ids = t["agency_id"].tolist()
    indicators = t["indicator_id"].tolist()
    return [
        ids, _mapped(ids, lambda a: data.names.get(a, "")), indicators, _mapped(indicators, lambda i: labels.get(i, "")),
        _inputs_texts(t["inputs"].tolist(), yesno), t["explanation_vi"].tolist(), t["points"].tolist(),
        t["max_points"].tolist(), _mapped(t["flags"].tolist(), flags_vi),
        _mapped(t["group"].tolist(), lambda g: group_labels.get(g, g)), t["criterion_id"].tolist(),
        _mapped(t["kind"].tolist(), lambda k: KIND_VI.get(k, k)), _mapped(t["formula"].tolist(), formula_vi),
        ["Có" if x else "Không" for x in t["applicable"].tolist()],
    ]  # fmt: skip


def sheet_sources(wb, data: ReportInputs, fm: Formats) -> None:
    cols = [
        ("Mã đơn vị", 14, "text"), ("Tên đơn vị", 30, "wrap"), ("Mã chỉ tiêu", 7, "text"),
        ("Chỉ tiêu", 46, "wrap"), ("Giá trị gốc (như đơn vị gửi)", 13, "text"), ("Giá trị dùng", 11, "value"),
        ("Ghi chú", 26, "wrap"), ("Tệp", 20, "wrap"), ("Sheet", 9, "text"), ("Ô", 6, "text"),
        ("Mã hiệu chỉnh", 9, "text"), ("SHA-256 của tệp", 20, "text"),
    ]  # fmt: skip
    title = (
        "Nguồn của từng số liệu (ô trong phiếu của đơn vị). Giá trị gốc: ô số như bảng tính của đơn vị hiển thị "
        "(dấu phẩy thập phân), ô chữ đúng như đơn vị gõ; giá trị dùng: số liệu đã đọc và xác nhận, dùng để tính điểm."
    )
    copy_sheet(wb, SOURCES_SHEET, fm, title, cols, len(data.values), lambda: _sources_columns(data), print_columns=11)


#: the note of a source row whose value is held back (the sheet Số liệu leaves it blank too)
HELD_SOURCE_NOTE = "Bị giữ lại do lỗi chưa được xác nhận: không dùng để tính điểm (tính như thiếu số liệu)."


def _sources_columns(data: ReportInputs) -> list[list]:
    labels = {f.code: f.label_vi for f in data.rubric.fields}
    yesno = {f.code for f in data.rubric.fields if f.type == "yesno"}
    v = data.values
    ids, fields = v["agency_id"].tolist(), v["field"].tolist()
    blocked = data.blocked
    held = [f in blocked.get(a, ()) for a, f in zip(ids, fields)]
    used = [(math.nan if h else x, f in yesno) for x, f, h in zip(data.row_values, fields, held)]
    return [
        ids, _mapped(ids, lambda a: data.names.get(a, "")), fields, _mapped(fields, lambda f: labels.get(f, "")),
        data.raw_shown, used, [HELD_SOURCE_NOTE if h else "" for h in held], v["source_file"].tolist(),
        v["sheet"].tolist(), v["cell"].tolist(), v["correction_id"].tolist(), v["source_sha256"].tolist(),
    ]  # fmt: skip


def sheet_issues(wb, data: ReportInputs, fm: Formats) -> None:
    cols = [
        ("Mã đơn vị", 12, "text"), ("Tên đơn vị", 28, "text"), ("Mã kiểm tra", 9, "text"), ("Mức độ", 10, "text"),
        ("Chỉ tiêu", 12, "text"), ("Giá trị", 22, "wrap"), ("Nội dung", 50, "wrap"), ("Vòng", 6, "int"),
        ("Đã xử lý bởi (hiệu chỉnh, xác nhận)", 30, "wrap"),
    ]  # fmt: skip
    title = "Lỗi (E) và cảnh báo (W) do kiểm tra tính logic phát hiện; vòng 1: phiếu gốc, vòng 2: sau hiệu chỉnh."
    copy_sheet(wb, ISSUES_SHEET, fm, title, cols, len(data.issues), lambda: _issues_columns(data))


def _issues_columns(data: ReportInputs) -> list[list]:
    i = data.issues
    ids = i["agency_id"].tolist()
    return [
        ids, _mapped(ids, lambda a: data.names.get(a, "")), i["check_id"].tolist(),
        _mapped(i["severity"].tolist(), lambda s: SEVERITY_VI.get(s, s)), i["fields"].tolist(), i["values"].tolist(),
        i["message_vi"].tolist(), i["round"].tolist(), [data.resolution_vi(r) for r in i.to_dict("records")],
    ]  # fmt: skip


def sheet_corrections(wb, data: ReportInputs, fm: Formats) -> None:
    cols = [
        ("Mã hiệu chỉnh", 10, "text"), ("Mã đơn vị", 12, "text"), ("Tên đơn vị", 28, "text"), ("Chỉ tiêu", 8, "text"),
        ("Giá trị cũ", 12, "text"), ("Giá trị mới", 12, "text"), ("Lý do", 34, "wrap"), ("Mã kiểm tra", 9, "text"),
        ("Người xác nhận", 18, "wrap"), ("Ngày xác nhận", 12, "text"), ("Nguồn, văn bản", 28, "wrap"),
        ("Kết quả", 14, "text"), ("Lý do không áp dụng", 34, "wrap"), ("Dòng trong corrections.csv", 9, "text"),
    ]  # fmt: skip
    title = (
        "Hiệu chỉnh và xác nhận số liệu (đơn vị trả lời, khảo sát thực tế, Sở rà soát); số liệu gốc không bị ghi đè."
    )
    copy_sheet(wb, CORRECTIONS_SHEET, fm, title, cols, len(data.corrections), lambda: _corrections_columns(data))


def _corrections_columns(data: ReportInputs) -> list[list]:
    c = data.corrections
    ids = c["agency_id"].tolist()
    return [
        c["correction_id"].tolist(), ids, _mapped(ids, lambda a: data.names.get(a, "")), c["field"].tolist(),
        c["old_value"].tolist(), c["new_value"].tolist(), c["reason"].tolist(), c["check_id"].tolist(),
        c["confirmed_by"].tolist(), _mapped(c["confirmed_on"].tolist(), fmt_date_text),
        [source_vi(s, d, f) for s, d, f in zip(c["source"], c["document"], c["reply_file"])],
        _mapped(c["status"].tolist(), lambda s: CORRECTION_STATUS_VI.get(s, s)), c["status_reason"].tolist(),
        c["line"].tolist(),
    ]  # fmt: skip


def sheet_method(wb, data: ReportInputs, fm: Formats) -> None:
    r = data.rubric
    cols = [
        ("Khối", 22, "text"), ("Tiêu chí", 7, "text"), ("Nội dung tiêu chí", 30, "wrap"), ("Chỉ tiêu", 7, "text"),
        ("Nội dung chỉ tiêu", 44, "wrap"), ("Cách tính", 18, "text"), ("Công thức", 50, "wrap"),
        ("Điểm tối đa", 9, "pts"),
    ]  # fmt: skip
    rows = []
    for g in r.groups:
        for c, inds in r.scale(g.id):
            labels = {i.id: i.label_vi for i in c.indicators}
            for ind in inds:
                rows.append(
                    [g.label_vi, c.id, c.label_vi, ind.id, labels[ind.id], KIND_VI.get(ind.kind, ind.kind),
                     formula_vi(ind.formula()), ind.max_points]
                )  # fmt: skip
    title = (
        f"Thang điểm: {r.title_vi} (mã {r.id}, phiên bản {r.version}). Xếp loại: {bands_text(r)}. "
        f"Xếp hạng theo điểm quy đổi 100 làm tròn {r.ranking.decimals} chữ số thập phân; bằng điểm thì cùng hạng."
    )
    table_sheet(wb, METHOD_SHEET, fm, title, cols, [list(c) for c in zip(*rows)] if rows else [[] for _ in cols])

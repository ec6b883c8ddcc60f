"""``bao-cao.docx``: the DIC's report to the provincial IT Steering Committee, in the order such reports run.

Header block, "BÁO CÁO" and its summary, "Kính gửi", the legal bases (the rubric's references and the
cycle's notice); I. how the evaluation was done (forms expected and received, the logic checks and the
confirmation round, the scale); II. the results per group (ranking, agencies not ranked and why, the
movement against last year, the criteria's averages with the group's strengths and weaknesses); III. a
section marked for the DIC to write; "Nơi nhận" and the signer; a landscape annex with every group's
full ranking table (points per criterion). The words are :mod:`.particulars`' wording; the numbers
:mod:`.figures`'.
"""

from __future__ import annotations

from pathlib import Path

from ictaudit.report.documents.figures import Figures, GroupFigures, count_text, share_text
from ictaudit.report.documents.nd30 import Column, Layout, Style, Writer
from ictaudit.report.documents.particulars import DocumentSettings
from ictaudit.report.documents.parts import BODY, HEADING, ROMAN, Composer, max_text, sentence_label
from ictaudit.report.inputs import ReportInputs, bands_text


def with_end(text: str, end: str) -> str:
    """``text`` ending in ``end`` (``;`` or ``.``) instead of whatever punctuation it had."""
    return text.rstrip().rstrip(";.,") + end


def write_bao_cao(data: ReportInputs, settings: DocumentSettings, figures: Figures, path: Path) -> Path:
    c = Composer("bao_cao", data, settings, figures)
    w = Writer(c.properties())
    c.header(w)
    w.paragraph(c.text("addressee"), Style(), Layout(align="center", after=12))
    c.notes(w)
    bases = [*c.legal_bases(), c.text("notice_basis"), *c.texts("extra_bases")]
    for basis in bases:
        w.paragraph(with_end(basis, ";"), Style(), BODY)
    w.paragraph(c.text("opening"), Style(), BODY)
    w.paragraph(c.text("part_process"), Style(bold=True), HEADING)
    _collection(c, w)
    _review(c, w)
    _method(c, w)
    w.paragraph(c.text("part_results"), Style(bold=True), HEADING)
    for i, g in enumerate(figures.groups, start=1):
        _group(c, w, g, i)
    w.paragraph(c.text("part_assessment"), Style(bold=True), HEADING)
    for t in c.texts("assessment"):
        w.paragraph(t, Style(italic=True, highlight=True), BODY)
    w.paragraph(c.text("closing"), Style(), BODY)
    c.signature(w)
    c.annex(w)
    for i, g in enumerate(figures.groups):
        heading = c.text("annex_group", roman=ROMAN[i % len(ROMAN)], GROUP=g.label.upper(), group=sentence_label(g.label))
        w.paragraph(heading, Style(bold=True), Layout(before=6, after=6, keep_next=True))
        c.ranking_table(w, g, full=True)
    return w.save(path)


def _collection(c: Composer, w: Writer) -> None:
    f = c.figures
    w.paragraph(c.text("collection_heading"), Style(bold=True), HEADING)
    excluded = ""
    if f.excluded:
        listed = "; ".join(f"{name} ({reason.rstrip('. ')})" if reason else name for name, reason in f.excluded)
        excluded = c.text("excluded_sentence", excluded=count_text(len(f.excluded)), excluded_list=listed)
    expected = sum(g.expected for g in f.groups)
    values = {
        "expected": count_text(expected),
        "expected_by_group": "; ".join(f"{sentence_label(g.label)}: {count_text(g.expected)}" for g in f.groups),
        "deadline": c.data.deadline.strftime("%d/%m/%Y") if c.data.deadline else c.unset,
        "received": count_text(expected - f.total("missing")),
        **{k: count_text(f.total(k)) for k in ("ranked", "late", "missing", "invalid", "excluded")},
        "excluded_sentence": excluded,
    }
    c.paragraphs(w, "collection", **values)
    h = c.heading("collection_table")
    keys = ("roster", "expected", "ranked", "late", "missing", "invalid")
    columns = [Column(h.get("group", ""), 45, "left"), *(Column(h.get(k, ""), 20, "right") for k in keys)]
    counts = [{"roster": g.roster, "expected": g.expected, **g.by_status} for g in f.groups]
    rows = [[g.label, *(count_text(n[k]) for k in keys)] for g, n in zip(f.groups, counts)]
    rows.append([h.get("total", ""), *(count_text(sum(n[k] for n in counts)) for k in keys)])
    w.table(columns, rows, bold_rows=frozenset({len(rows) - 1}))


def _review(c: Composer, w: Writer) -> None:
    r = c.figures.review
    w.paragraph(c.text("review_heading"), Style(bold=True), HEADING)
    held = ""
    if r.held_fields:
        held = c.text("held_sentence", held_fields=count_text(r.held_fields), held_agencies=count_text(r.held_agencies))
    numbers = ("checks", "found", "errors", "warnings", "agencies_found", "agencies_confirm", "corrections",
               "corrected", "confirmed", "rejected", "resolved", "remaining", "remaining_errors")  # fmt: skip
    values = {k: count_text(getattr(r, k)) for k in numbers}
    values["remaining_warnings"] = count_text(r.remaining - r.remaining_errors)
    c.paragraphs(w, "review" if r.found else "review_none", **values, held_sentence=held)
    if not r.by_check:
        return
    h = c.heading("review_table")
    columns = [Column(h.get("check", ""), 18), Column(h.get("description", ""), w.width_mm - 93, "left"),
               Column(h.get("severity", ""), 21), *(Column(h.get(k, ""), 18, "right") for k in ("found", "resolved", "remaining"))]  # fmt: skip
    severity = {"E": "Lỗi", "W": "Cảnh báo"}
    rows = [[b["check_id"], b["message"], severity.get(b["severity"], b["severity"]), count_text(b["found"]),
             count_text(b["resolved"]), count_text(b["remaining"])] for b in r.by_check]  # fmt: skip
    w.table(columns, rows)


def _method(c: Composer, w: Writer) -> None:
    rubric = c.data.rubric
    w.paragraph(c.text("method_heading"), Style(bold=True), HEADING)
    groups = "; ".join(f"{sentence_label(g.label_vi)} (phiếu {g.form}, tối đa {max_text(g.max_points)} điểm)" for g in rubric.groups)
    c.paragraphs(w, "method", rubric_title=rubric.title_vi, rubric_version=rubric.version, groups=groups,
                 decimals=str(rubric.ranking.decimals), bands=bands_text(rubric))  # fmt: skip
    h = c.heading("method_table")
    group_w = min(35.0, (w.width_mm - 85) / max(1, len(rubric.groups)))
    columns = [Column(h.get("criterion", ""), w.width_mm - group_w * len(rubric.groups), "left")]
    columns += [Column(f"{h.get('max', '')}\n{g.label_vi}", group_w, "right") for g in rubric.groups]
    rows = [[f"{cr.id} – {cr.label_vi}", *(max_text(cr.max_points[g.id]) if g.id in cr.max_points else "—"
                                           for g in rubric.groups)] for cr in rubric.criteria]  # fmt: skip
    rows.append(["Tổng cộng", *(max_text(g.max_points) for g in rubric.groups)])
    w.table(columns, rows, bold_rows=frozenset({len(rows) - 1}))


def _group(c: Composer, w: Writer, g: GroupFigures, number: int) -> None:
    values = c.group_values(g)
    w.paragraph(c.text("group_heading", number=str(number), **values), Style(bold=True), HEADING)
    w.paragraph(c.text("ranking_heading"), Style(bold=True, italic=True), HEADING)
    if g.ranking:
        c.paragraphs(w, "ranking", **values)
    c.ranking_table(w, g, full=False)
    w.paragraph(c.text("not_ranked_heading"), Style(bold=True, italic=True), HEADING)
    if g.not_ranked:
        c.not_ranked_table(w, [(name, status, reason) for _, name, status, reason in g.not_ranked], (55, 35, w.width_mm - 90))
    else:
        c.paragraphs(w, "not_ranked_none")
    letter = "c"
    if c.figures.previous_year is not None:
        _yoy(c, w, g)
        letter = "d"
    w.paragraph(c.text("criteria_heading", letter=letter), Style(bold=True, italic=True), HEADING)
    if not g.ranking:
        w.paragraph(c.common_text("no_ranked"), Style(), BODY)
        return
    strengths, weaknesses = c.strengths(g)
    c.paragraphs(w, "criteria", strengths=strengths, weaknesses=weaknesses)
    h = c.heading("criteria_columns")
    columns = [Column(h.get("criterion", ""), w.width_mm - 80, "left"), Column(h.get("max", ""), 25, "right"),
               Column(h.get("mean", ""), 28, "right"), Column(h.get("share", ""), 27, "right")]  # fmt: skip
    rows = [[f"{a.id} – {a.label}", max_text(a.max_points), c.figures.num(a.mean_points), share_text(a.share)]
            for a in g.averages]  # fmt: skip
    w.table(columns, rows)


def _yoy(c: Composer, w: Writer, g: GroupFigures) -> None:
    previous = str(c.figures.previous_year)
    w.paragraph(c.text("yoy_heading", previous_year=previous), Style(bold=True, italic=True), HEADING)
    rows = g.yoy or []
    if not rows:
        c.paragraphs(w, "yoy_none", previous_year=previous)
    else:
        changes = [r.rank_change for r in rows]
        c.paragraphs(
            w, "yoy", previous_year=previous, compared=count_text(len(rows)),
            up=count_text(sum(1 for x in changes if x and x > 0)), down=count_text(sum(1 for x in changes if x and x < 0)),
            same=count_text(sum(1 for x in changes if x == 0)),
        )  # fmt: skip
        h = c.heading("yoy_columns", previous_year=previous)
        columns = [Column(h.get("agency", ""), w.width_mm - 110, "left")]
        columns += [Column(h.get(k, ""), 22, "right") for k in ("previous_rank", "previous_score", "rank", "score")]
        columns.append(Column(h.get("rank_change", ""), 22))
        num = c.figures.num
        table = [[r.name, str(r.previous_rank), num(r.previous_score), str(r.rank), num(r.score), _change(r.rank_change)]
                 for r in rows]  # fmt: skip
        w.table(columns, table)
    if differences := (c.data.previous_info or {}).get("scale_differences"):
        c.paragraphs(w, "yoy_scale", previous_year=previous, differences="; ".join(differences))
    if g.yoy_new:
        c.paragraphs(w, "yoy_new", previous_year=previous, agencies="; ".join(g.yoy_new))


def _change(places: int | None) -> str:
    if places is None:
        return "—"
    if places > 0:
        return f"tăng {places}"
    if places < 0:
        return f"giảm {-places}"
    return "giữ nguyên"

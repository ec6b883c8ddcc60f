"""``quyet-dinh.docx``: the draft decision announcing the results, with the ranking tables as its annex.

Header block, "QUYẾT ĐỊNH" and its summary, the issuing authority, the bases (in italics, one per line,
the last ending with a full stop: the law, the rubric's references, the DIC's proposal with the
report's number and date), "QUYẾT ĐỊNH:", the articles ("Điều 1." bold), "Nơi nhận" and the signer;
then a landscape annex: each group's full ranking table, then the agencies not ranked and why.
"""

from __future__ import annotations

import re
from pathlib import Path

from ictaudit.report.documents.bao_cao import with_end
from ictaudit.report.documents.figures import Figures
from ictaudit.report.documents.nd30 import Layout, Style, Writer
from ictaudit.report.documents.particulars import DocumentSettings
from ictaudit.report.documents.parts import BODY, ROMAN, Composer, sentence_label
from ictaudit.report.inputs import ReportInputs

_ARTICLE = re.compile(r"^(Điều\s+\d+\.)\s*")


def write_quyet_dinh(data: ReportInputs, settings: DocumentSettings, figures: Figures, path: Path) -> Path:
    c = Composer("quyet_dinh", data, settings, figures)
    w = Writer(c.properties())
    c.header(w)
    c.notes(w)
    w.paragraph(c.p.authority or c.unset, Style(bold=True), Layout(align="center", before=6, after=12))
    bases = [*c.texts("bases"), *c.legal_bases(), *c.texts("proposal")]
    for i, basis in enumerate(bases):
        w.paragraph(with_end(basis, "." if i == len(bases) - 1 else ";"), Style(italic=True), BODY)
    w.paragraph(c.text("decides"), Style(bold=True), Layout(align="center", before=6, after=6, keep_next=True))
    results = "; ".join(c.text("group_result", **c.group_values(g)) for g in figures.groups)
    for article in c.texts("articles", group_results=results):
        m = _ARTICLE.match(article)
        runs = [(m.group(1) + " ", Style(bold=True)), (article[m.end():], Style())] if m else [(article, Style())]
        w.paragraph(runs, Style(), BODY)
    c.signature(w)
    c.annex(w)
    i = 0
    for i, g in enumerate(figures.groups):
        heading = c.text("annex_group", roman=ROMAN[i % len(ROMAN)], GROUP=g.label.upper(), group=sentence_label(g.label))
        w.paragraph(heading, Style(bold=True), Layout(before=6, after=6, keep_next=True))
        c.ranking_table(w, g, full=True)
    not_ranked = [(g, row) for g in figures.groups for row in g.not_ranked]
    if not_ranked:
        heading = c.text("annex_not_ranked", roman=ROMAN[(i + 1) % len(ROMAN)])
        w.paragraph(heading, Style(bold=True), Layout(before=6, after=6, keep_next=True))
        rows = [(f"{name} ({sentence_label(g.label)})", status, reason) for g, (_, name, status, reason) in not_ranked]
        c.not_ranked_table(w, rows, (80, 50, w.width_mm - 130))
    return w.save(path)


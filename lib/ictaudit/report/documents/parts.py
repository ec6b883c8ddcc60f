"""What both documents share: the wording filled in, the header block, the ranking and other tables.

In: the run's figures (:mod:`.figures`), the particulars and wording (:mod:`.particulars`), the
scored tables. Out: blocks written into a :class:`~.nd30.Writer`. Numbers reach the text only through
:meth:`Figures.num` (the published rounding) and :func:`~.figures.count_text`.
"""

from __future__ import annotations

import math
from datetime import date

from ictaudit.common.numfmt import fmt_number
from ictaudit.report.documents.figures import Figures, GroupFigures, count_text, mean_score, share_text
from ictaudit.report.documents.nd30 import (
    Column,
    Layout,
    Style,
    Writer,
    annex_title_xml,
    header_block_xml,
    recipient_lines,
    signature_block_xml,
    title_block_xml,
)
from ictaudit.report.documents.particulars import DocumentSettings, Particulars
from ictaudit.report.inputs import ReportInputs

BODY = Layout(first_line=10, after=6)
HEADING = Layout(first_line=10, before=6, after=6, keep_next=True)
ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X")


def day_month(d: date) -> tuple[str, str]:
    """Day and month as Nghị định 30/2020 writes them: a 0 before a day below 10 and before months 1 and 2."""
    return f"{d.day:02d}", f"{d.month:02d}" if d.month < 3 else str(d.month)


def sentence_label(label: str) -> str:
    """A group's label inside a sentence: ``Sở, ban, ngành`` → ``sở, ban, ngành``; ``UBND …`` stays."""
    if len(label) > 1 and label[0].isupper() and label[1].islower():
        return label[0].lower() + label[1:]
    return label


def max_text(x: float) -> str:
    return fmt_number(x, 2, trim=True)


class Composer:
    """One document's wording, particulars and figures, and the blocks both documents write."""

    def __init__(self, doc: str, data: ReportInputs, settings: DocumentSettings, figures: Figures):
        self.doc, self.data, self.settings, self.figures = doc, data, settings, figures
        self.p: Particulars = settings.particulars[doc]
        self.words: dict = settings.wording[doc]
        self.common: dict = settings.wording["common"]
        self.unset = str(self.common.get("unset") or "…")
        report = settings.particulars["bao_cao"]
        self.values: dict[str, str] = {
            "province": settings.province, "PROVINCE": settings.province.upper(), "year": str(settings.year),
            "issuer_name": self.p.issuer_name or self.unset, "issuer_short": self.p.issuer_short or self.unset,
            "steering_committee": self.p.steering_committee or self.unset, "notice": settings.notice or self.unset,
            "number": self.p.number or self.unset, "date": self.date_short(self.p.date),
            "report_issuer_name": report.issuer_name or self.unset, "report_number": report.number or self.unset,
            "report_date": self.date_short(report.date),
        }  # fmt: skip
        self.values["report_number_suffix"] = self._fill(
            settings.wording["bao_cao"]["number_suffix"], "bao_cao.number_suffix", issuer_short=report.issuer_short or self.unset
        )
        self.values["number_suffix"] = self.text("number_suffix")

    # -- wording ----------------------------------------------------------------------------------
    def _fill(self, text: str, where: str, **extra: str) -> str:
        return self.settings.fill(str(text), {**self.values, **extra}, where)

    def text(self, key: str, **extra: str) -> str:
        """The document's wording entry ``key`` (a text), filled in."""
        return self._fill(self.words.get(key, ""), f"{self.doc}.{key}", **extra)

    def texts(self, key: str, **extra: str) -> list[str]:
        """The paragraphs of the wording entry ``key`` (a list, or one text), filled in; empty ones dropped."""
        value = self.words.get(key, [])
        items = value if isinstance(value, list) else [value]
        out = [self._fill(t, f"{self.doc}.{key}", **extra) for t in items if str(t).strip()]
        return [t for t in out if t.strip()]

    def common_text(self, key: str, **extra: str) -> str:
        return self._fill(self.common.get(key, ""), f"common.{key}", **extra)

    def heading(self, key: str, **extra: str) -> dict[str, str]:
        """A mapping of the wording (column headings), each filled in."""
        return {k: self._fill(v, f"{self.doc}.{key}.{k}", **extra) for k, v in self.words.get(key, {}).items()}

    def date_short(self, d: date | None) -> str:
        return d.strftime("%d/%m/%Y") if d is not None else self.unset

    def place_date(self) -> str:
        u = self.unset
        day, month = day_month(self.p.date) if self.p.date else (u, u)
        year = str(self.p.date.year) if self.p.date else u
        return self.common_text("place_date", place=self.p.place or u, day=day, month=month, year=year)

    def properties(self) -> dict[str, str]:
        return {
            "title": f"{self.text('type').capitalize()} — {self.text('summary')}",
            "subject": self.text("summary"),
            "author": self.p.issuer_name or "",
            "keywords": f"ictaudit; {self.settings.year}; {self.data.rubric.id}",
            "comments": "Dự thảo do ictaudit lập từ kết quả đánh giá (outputs/<năm>/documents)",
        }

    # -- blocks -----------------------------------------------------------------------------------
    def header(self, w: Writer) -> None:
        """The header block, the document type and its summary, then the sample and scale notices."""
        number = self.common_text("number")
        w.add(header_block_xml(self.p.issuer_parent, self.p.issuer or (self.unset,), number, self.place_date()))
        w.add(title_block_xml(self.text("type"), self.text("summary"), w.width_mm))

    def notes(self, w: Writer) -> None:
        """The sample notice and the reconstructed scale's notice, where they apply."""
        if self.data.is_sample:
            w.paragraph(self.common_text("sample"), Style(bold=True, italic=True), BODY)
        rubric = self.data.rubric
        if rubric.status == "reconstructed" and rubric.notice_vi:
            w.paragraph(self.common_text("reconstructed", notice=rubric.notice_vi), Style(italic=True), BODY)

    def legal_bases(self) -> list[str]:
        """The rubric's legal references, one per line (its text separates them with ";")."""
        parts = [b.strip().rstrip(".;").strip() for b in self.data.rubric.legal_reference_vi.split(";")]
        return [self.text("legal_basis", basis=b) for b in parts if b]

    def signature(self, w: Writer) -> None:
        w.add(signature_block_xml(self.common_text("recipients_title"), recipient_lines(self.p.recipients or (self.unset,)),
                                  self.p.signer_title, self.p.signer_name or self.unset))  # fmt: skip

    def annex(self, w: Writer) -> None:
        """A landscape section opening with the annex's title."""
        w.landscape_annex()
        of = self.common_text("annex_of", document=self.text("document"))
        w.add(annex_title_xml(self.text("annex_heading"), of, w.width_mm, self.common_text("annex_title")))
        self.notes(w)

    def paragraphs(self, w: Writer, key: str, **extra: str) -> None:
        for t in self.texts(key, **extra):
            w.paragraph(t, Style(), BODY)

    # -- tables -----------------------------------------------------------------------------------
    def ranking_table(self, w: Writer, g: GroupFigures, full: bool) -> None:
        """The group's ranking: rank (ties as published), agency, [points per criterion, total,] score, band."""
        h = self.common.get("ranking_columns", {})
        if not g.ranking:
            w.paragraph(self.common_text("no_ranked"), Style(), BODY)
            return
        if full:
            crit_w = 15.0
            name_w = w.width_mm - 16 - crit_w * len(g.criteria) - 18 - 22 - 24
            columns = [Column(h.get("rank", ""), 16), Column(h.get("agency", ""), name_w, "left")]
            columns += [Column(f"{cid}\n({max_text(m)})", crit_w, "right") for cid, _, m in g.criteria]
            columns += [Column(h.get("points", ""), 18, "right"), Column(h.get("score", ""), 22, "right"),
                        Column(h.get("band", ""), 24)]  # fmt: skip
        else:
            columns = [Column(h.get("rank", ""), 20), Column(h.get("agency", ""), w.width_mm - 80, "left"),
                       Column(h.get("score", ""), 35, "right"), Column(h.get("band", ""), 25)]  # fmt: skip
        w.table(columns, self.figures.ranking_texts(g, full))
        if full:
            legend = "; ".join(f"{cid} – {label} (tối đa {max_text(m)} điểm)" for cid, label, m in g.criteria)
            w.paragraph(self.common_text("criteria_legend", legend=legend), Style(size=12, italic=True), Layout(after=6))

    def not_ranked_table(self, w: Writer, rows: list[tuple[str, str, str]], widths: tuple[float, float, float]) -> None:
        h = self.common.get("not_ranked_columns", {})
        columns = [Column(h.get("agency", ""), widths[0], "left"), Column(h.get("status", ""), widths[1], "left"),
                   Column(h.get("reason", ""), widths[2], "left")]  # fmt: skip
        w.table(columns, [list(r) for r in rows])

    def group_values(self, g: GroupFigures) -> dict[str, str]:
        """The placeholders of one group's paragraphs."""
        num = self.figures.num
        top = [r for r in g.ranking if r.rank == 1]
        return {
            "group": sentence_label(g.label), "GROUP": g.label.upper(), "ranked": count_text(len(g.ranking)),
            "top_score": num(top[0].score_100) if top else self.unset,
            "top_agencies": ", ".join(r.name for r in top) or self.unset,
            "bottom_score": num(g.ranking[-1].score_100) if g.ranking else self.unset,
            "mean_score": num(mean_score(g.ranking)) if g.ranking else self.unset,
            "band_counts": ", ".join(f"{label}: {count_text(n)}" for label, n in g.band_counts),
        }  # fmt: skip

    def strengths(self, g: GroupFigures) -> tuple[str, str]:
        """The criteria with the highest and the lowest share of their points, as text."""
        count = self.words.get("criteria_count", 2)
        count = count if isinstance(count, int) and count > 0 else 2
        rated = [a for a in g.averages if not math.isnan(a.share)]  # NaN: nothing attainable
        order = sorted(rated, key=lambda a: -a.share)
        if not order:
            return self.unset, self.unset
        k = min(count, max(1, len(order) // 2))

        def text(items) -> str:
            return "; ".join(f"{a.id} – {a.label} ({share_text(a.share)}%)" for a in items)

        return text(order[:k]), text(list(reversed(order[-k:])))


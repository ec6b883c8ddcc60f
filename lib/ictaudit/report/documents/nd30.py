"""The administrative format of Nghị định 30/2020/NĐ-CP (Phụ lục I), written with python-docx.

In: texts and tables. Out: a .docx in that format, the same bytes for the same content:
- A4 portrait (a landscape section for a wide annex), margins top and bottom 20 mm, left 30 mm, right
  15 mm; Times New Roman (Unicode), black, the body at 14 pt;
- the header block: the issuing body's parent (upright capitals) and name (bold capitals) top left with
  a rule under the name, the number ``Số: …/BC-…`` under them; top right the Quốc hiệu (bold capitals,
  12 pt) over the Tiêu ngữ (bold, 13 pt, centred, a rule as long as it underneath), and the place and
  date in italics; then the document type (bold capitals) over its summary (trích yếu, bold) and a rule;
- "Nơi nhận:" (bold italic 12 pt) with its list (11 pt) beside the signer's title (bold capitals) and
  name (bold);
- page numbers centred in the top margin from page 2; an annex section numbers its pages anew.

Blocks are written as WordprocessingML text and put into the body python-docx saves (its sections'
breaks); every run outside the tables names its font, size and colour, and table cells use one
paragraph style that does, so the document reads the same in Word and LibreOffice. Text is NFC with the characters XML cannot hold shown as "�": agency text
stays text. :func:`save` writes the zip with fixed entry times and core properties.
"""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from xml.sax.saxutils import escape

from docx import Document
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.style import WD_STYLE_TYPE
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.shared import Mm, Pt, RGBColor

FONT = "Times New Roman"
BODY_PT = 14
TABLE_PT = 12
QUOC_HIEU = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
TIEU_NGU = "Độc lập - Tự do - Hạnh phúc"
#: millimetres: Nghị định 30/2020 allows top/bottom 20–25, left 30–35, right 15–20
MARGINS = {"top": 20, "bottom": 20, "left": 30, "right": 15}
A4 = (210, 297)
HEADER_DISTANCE_MM = 10  # the page number sits in the middle of the 20 mm top margin
#: the header block's two columns (mm): the issuer's, and the Quốc hiệu's (its 12 pt line prints 90.5 mm
#: wide); 170 mm in all, centred: 2.5 mm into each side margin, as the usual office templates do
HEADER_COLUMNS = (76, 94)
#: the Tiêu ngữ at 13 pt bold as LibreOffice prints it in Liberation Serif (Times New Roman's metrics)
TIEU_NGU_WIDTH_MM = 58.8
FIXED_TIME = datetime(2000, 1, 1, 0, 0, 0)
_ZIP_TIME = (2000, 1, 1, 0, 0, 0)
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
TWIPS_PER_MM = 1440 / 25.4


def clean(text) -> str:
    """Text as a document may hold it: NFC, the characters XML 1.0 cannot carry shown as "�"."""
    return _NOT_XML.sub("\ufffd", unicodedata.normalize("NFC", "" if text is None else str(text)))


def twips(mm: float) -> int:
    return round(mm * TWIPS_PER_MM)


# -- how wide a line of Times New Roman is (for the rules under the header lines) ---------------
# Advance widths in thousandths of an em (Times-Roman and Times-Bold, the metrics Times New Roman and
# Liberation Serif share); a Vietnamese letter is as wide as its base letter.
_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_LOWER = "abcdefghijklmnopqrstuvwxyz"
_WIDTHS = {
    False: dict(zip(_UPPER, (722, 667, 667, 722, 611, 556, 722, 722, 333, 389, 722, 611, 889, 722, 722, 556, 722, 667,
                             556, 611, 722, 722, 944, 722, 722, 611)))
    | dict(zip(_LOWER, (444, 500, 444, 500, 444, 333, 500, 500, 278, 278, 500, 278, 778, 500, 500, 500, 500, 333, 389,
                        278, 500, 500, 722, 500, 500, 444))),
    True: dict(zip(_UPPER, (722, 667, 722, 722, 667, 611, 778, 778, 389, 500, 778, 667, 944, 722, 778, 611, 778, 722,
                            556, 667, 722, 722, 1000, 722, 722, 667)))
    | dict(zip(_LOWER, (500, 556, 444, 556, 444, 333, 500, 556, 278, 333, 556, 278, 833, 556, 500, 556, 556, 444, 389,
                        333, 556, 500, 722, 500, 500, 444))),
}  # fmt: skip
_PUNCT = {" ": 250, "-": 333, ".": 250, ",": 250, ":": 300, "/": 278, "(": 333, ")": 333}


def text_width_mm(text: str, size_pt: float, bold: bool = False) -> float:
    """About how wide ``text`` prints in Times New Roman (within a few per cent)."""
    widths = _WIDTHS[bold]
    total = 0
    for ch in text:
        base = unicodedata.normalize("NFD", ch)[0].replace("Đ", "D").replace("đ", "d")
        total += widths.get(base, _PUNCT.get(base, 500))
    return total / 1000 * size_pt * 25.4 / 72


# -- runs, paragraphs and tables as WordprocessingML --------------------------------------------


@dataclass(frozen=True)
class Style:
    """How a run of text looks (size in points)."""

    size: float = BODY_PT
    bold: bool = False
    italic: bool = False
    underline: bool = False
    highlight: bool = False  # a yellow mark on a passage the DIC writes itself

    def rpr(self) -> str:
        half = round(self.size * 2)
        return (
            f'<w:rPr><w:rFonts w:ascii="{FONT}" w:hAnsi="{FONT}" w:eastAsia="{FONT}" w:cs="{FONT}"/>'
            + ("<w:b/><w:bCs/>" if self.bold else "")
            + ("<w:i/><w:iCs/>" if self.italic else "")
            + f'<w:color w:val="000000"/><w:sz w:val="{half}"/><w:szCs w:val="{half}"/>'
            + ('<w:highlight w:val="yellow"/>' if self.highlight else "")
            + ('<w:u w:val="single"/>' if self.underline else "")
            + "</w:rPr>"
        )


def _text_xml(text) -> str:
    """A run's content: the text escaped, line breaks as ``w:br`` and tabs as ``w:tab``."""
    parts = []
    for i, line in enumerate(clean(text).replace("\r\n", "\n").replace("\r", "\n").split("\n")):
        if i:
            parts.append("<w:br/>")
        for j, chunk in enumerate(line.split("\t")):
            if j:
                parts.append("<w:tab/>")
            if chunk:
                parts.append(f'<w:t xml:space="preserve">{escape(chunk)}</w:t>')
    return "".join(parts)


def run_xml(text, style: Style) -> str:
    """One run: its text escaped, line breaks as ``w:br`` and tabs as ``w:tab``."""
    return f"<w:r>{style.rpr()}{_text_xml(text)}</w:r>"


Runs = str | list[tuple[str, Style]]


@dataclass(frozen=True)
class Layout:
    """How a paragraph sits: alignment (``both``, ``center``, ``left``, ``right``), indents in mm,
    spacing in points, line spacing in 240ths of a line (276 = 1.15 lines), keep with the next."""

    align: str = "both"
    first_line: float = 0
    left: float = 0
    right: float = 0
    before: float = 0
    after: float = 6
    line: int = 264
    keep_next: bool = False
    rule_below: bool = False
    page_break_before: bool = False

    def ppr(self, mark: Style) -> str:
        ind = []
        if self.left:
            ind.append(f'w:left="{twips(self.left)}"')
        if self.right:
            ind.append(f'w:right="{twips(self.right)}"')
        if self.first_line:
            ind.append(f'w:firstLine="{twips(self.first_line)}"')
        return (
            "<w:pPr>"
            + ("<w:keepNext/>" if self.keep_next else "")
            + ("<w:pageBreakBefore/>" if self.page_break_before else "")
            + ('<w:pBdr><w:bottom w:val="single" w:sz="6" w:space="1" w:color="000000"/></w:pBdr>'
               if self.rule_below else "")
            + f'<w:spacing w:before="{round(self.before * 20)}" w:after="{round(self.after * 20)}" '
            f'w:line="{self.line}" w:lineRule="auto"/>'
            + (f"<w:ind {' '.join(ind)}/>" if ind else "")
            + f'<w:jc w:val="{self.align}"/>'
            + mark.rpr()
            + "</w:pPr>"
        )  # fmt: skip


def paragraph_xml(runs: Runs, style: Style = Style(), layout: Layout = Layout()) -> str:
    """A paragraph of ``runs`` (one text in ``style``, or ``(text, style)`` pairs)."""
    pairs = [(runs, style)] if isinstance(runs, str) else runs
    return f"<w:p>{layout.ppr(pairs[0][1] if pairs else style)}{''.join(run_xml(t, s) for t, s in pairs)}</w:p>"


def rule_xml(width_mm: float, within_mm: float, after: float = 0, before: float = 0) -> str:
    """A centred horizontal rule ``width_mm`` long (a bottom border on an all but empty paragraph)."""
    side = max(0.0, (within_mm - width_mm) / 2)
    layout = Layout(align="center", left=side, right=side, before=before, after=after, line=240, rule_below=True)
    return f"<w:p>{layout.ppr(Style(size=3))}</w:p>"


@dataclass(frozen=True)
class Column:
    header: str
    width_mm: float
    align: str = "center"  # of the body cells; headers are centred


def _cell(content: str, width_mm: float, borders: bool = True) -> str:
    nil = "" if borders else (
        '<w:tcBorders><w:top w:val="nil"/><w:left w:val="nil"/><w:bottom w:val="nil"/><w:right w:val="nil"/></w:tcBorders>'
    )
    return (
        f'<w:tc><w:tcPr><w:tcW w:w="{twips(width_mm)}" w:type="dxa"/>{nil}<w:vAlign w:val="center"/></w:tcPr>'
        f"{content or '<w:p/>'}</w:tc>"
    )


def _table_open(widths: list[float], borders: bool, margin_mm: float) -> str:
    edge = "single" if borders else "nil"
    lines = "".join(
        f'<w:{side} w:val="{edge}" w:sz="4" w:space="0" w:color="000000"/>'
        for side in ("top", "left", "bottom", "right", "insideH", "insideV")
    )
    grid = "".join(f'<w:gridCol w:w="{twips(w)}"/>' for w in widths)
    pad = twips(margin_mm)
    return (
        f"<w:tbl><w:tblPr><w:tblW w:w=\"{sum(twips(w) for w in widths)}\" w:type=\"dxa\"/>"
        f'<w:jc w:val="center"/><w:tblBorders>{lines}</w:tblBorders><w:tblLayout w:type="fixed"/>'
        f'<w:tblCellMar><w:top w:w="0" w:type="dxa"/><w:left w:w="{pad}" w:type="dxa"/>'
        f'<w:bottom w:w="0" w:type="dxa"/><w:right w:w="{pad}" w:type="dxa"/></w:tblCellMar>'
        f'<w:tblLook w:val="0000" w:firstRow="0" w:lastRow="0" w:firstColumn="0" w:lastColumn="0" '
        f'w:noHBand="1" w:noVBand="1"/></w:tblPr><w:tblGrid>{grid}</w:tblGrid>'
    )


#: the paragraph style of table cells (Times New Roman 12 pt, black, 1 pt before and after, single lines):
#: a national cycle's tables have ~100,000 cells, and a style keeps each cell to ~150 bytes
TABLE_STYLE = "Ictaudit Table"
TABLE_STYLE_ID = "IctauditTable"


def cell_text_xml(text, bold: bool = False) -> str:
    """One table cell's paragraph runs in the table style (line breaks and tabs kept)."""
    rpr = "<w:rPr><w:b/><w:bCs/></w:rPr>" if bold else ""
    content = _text_xml(text)
    return f"<w:r>{rpr}{content}</w:r>" if content else ""


def table_xml(columns: list[Column], rows: list[list[str]], bold_rows: frozenset[int] = frozenset()) -> str:
    """A bordered table: a bold header row repeated on every page, then ``rows`` (texts), none split
    across pages. Built as one text: a national cycle's tables have thousands of rows."""
    widths = [c.width_mm for c in columns]
    ppr = {a: f'<w:pPr><w:pStyle w:val="{TABLE_STYLE_ID}"/><w:jc w:val="{a}"/></w:pPr>' for a in ("center", "left", "right", "both")}
    tc = [f'<w:tc><w:tcPr><w:tcW w:w="{twips(w)}" w:type="dxa"/><w:vAlign w:val="center"/></w:tcPr><w:p>' for w in widths]
    out = [_table_open(widths, True, 1.2), '<w:tr><w:trPr><w:cantSplit/><w:tblHeader/></w:trPr>']
    for i, c in enumerate(columns):
        out.append(f"{tc[i]}{ppr['center']}{cell_text_xml(c.header, bold=True)}</w:p></w:tc>")
    out.append("</w:tr>")
    aligned = [ppr[c.align] for c in columns]
    runs: dict[str, str] = {}  # numbers and bands repeat: each text's run is built once
    for r, row in enumerate(rows):
        out.append("<w:tr><w:trPr><w:cantSplit/></w:trPr>")
        if r in bold_rows:
            out += [f"{tc[i]}{aligned[i]}{cell_text_xml(text, True)}</w:p></w:tc>" for i, text in enumerate(row)]
        else:
            for i, text in enumerate(row):
                if (run := runs.get(text)) is None:
                    run = runs[text] = cell_text_xml(text)
                out.append(f"{tc[i]}{aligned[i]}{run}</w:p></w:tc>")
        out.append("</w:tr>")
    out.append("</w:tbl>")
    return "".join(out)


def layout_table_xml(widths: list[float], rows: list[list[str]], margin_mm: float = 0) -> str:
    """A table without borders holding blocks side by side (the header and signature blocks); rows
    keep the blocks of each row level with each other and are never split across pages."""
    out = [_table_open(widths, False, margin_mm)]
    for cells in rows:
        out.append("<w:tr><w:trPr><w:cantSplit/></w:trPr>")
        out += [_cell(c, w, borders=False).replace('<w:vAlign w:val="center"/>', '<w:vAlign w:val="top"/>')
                for w, c in zip(widths, cells)]  # fmt: skip
        out.append("</w:tr>")
    return "".join(out) + "</w:tbl>"


# -- the blocks of Nghị định 30/2020 ------------------------------------------------------------

_LINE = Layout(align="center", after=0, line=240)


def header_block_xml(parent: tuple[str, ...], issuer: tuple[str, ...], number: str, place_date: str) -> str:
    """The issuing body (its parent upright, its name bold, a rule under it) and its number, beside the
    Quốc hiệu, the Tiêu ngữ with its rule, and the place and date in italics."""
    left_w, right_w = HEADER_COLUMNS
    left = [paragraph_xml(line.upper(), Style(size=12), _LINE) for line in parent]
    left += [paragraph_xml(line.upper(), Style(size=12, bold=True), _LINE) for line in issuer]
    name_width = max((text_width_mm(line.upper(), 12, bold=True) for line in issuer), default=30)
    left.append(rule_xml(max(12.0, min(name_width, left_w) * 0.4), left_w))
    right = [
        paragraph_xml(QUOC_HIEU, Style(size=12, bold=True), _LINE),
        paragraph_xml(TIEU_NGU, Style(size=13, bold=True), _LINE),
        rule_xml(TIEU_NGU_WIDTH_MM, right_w),
    ]
    below_left = paragraph_xml(number, Style(size=13), Layout(align="center", before=6, after=0, line=240))
    below_right = paragraph_xml(place_date, Style(size=14, italic=True), Layout(align="center", before=6, after=0, line=240))
    return layout_table_xml(list(HEADER_COLUMNS), [["".join(left), "".join(right)], [below_left, below_right]])


def title_block_xml(kind: str, summary: str, width_mm: float, before: float = 18) -> str:
    """The document type (bold capitals) over its summary (bold) and a rule a third of a line long."""
    line = min(text_width_mm(summary, BODY_PT, bold=True), width_mm - 20)
    return (
        paragraph_xml(kind.upper(), Style(bold=True), Layout(align="center", before=before, after=0, line=240, keep_next=True))
        + paragraph_xml(summary, Style(bold=True), Layout(align="center", left=10, right=10, after=0, line=240, keep_next=True))
        + rule_xml(max(20.0, line * 0.4), width_mm, after=12)
    )  # fmt: skip


def recipient_lines(items: tuple[str, ...]) -> list[str]:
    """``- Như trên;`` … ``- Lưu: VT.``: a dash before each, a semicolon after, a full stop after the last."""
    out = []
    for i, item in enumerate(items):
        text = clean(item).strip().rstrip(";.").strip()
        text = text[1:].strip() if text.startswith(("-", "–")) else text
        out.append(f"- {text}{'.' if i == len(items) - 1 else ';'}")
    return out


def signature_block_xml(title: str, recipients: list[str], signer_title: tuple[str, ...], signer_name: str) -> str:
    """"Nơi nhận:" and its list on the left; the signer's title lines and name on the right."""
    left = [paragraph_xml(title, Style(size=12, bold=True, italic=True), Layout(align="left", before=12, after=0, line=240))]
    left += [paragraph_xml(r, Style(size=11), Layout(align="left", after=0, line=240)) for r in recipients]
    right = [paragraph_xml(t.upper(), Style(bold=True), Layout(align="center", after=0, line=240))
             for t in (signer_title or ("…",))]  # fmt: skip
    right[0] = right[0].replace('w:before="0"', 'w:before="240"', 1)
    right += [paragraph_xml("", Style(), _LINE) for _ in range(4)]  # room for the signature and the seal
    right.append(paragraph_xml(signer_name, Style(bold=True), _LINE))
    return layout_table_xml(list(HEADER_COLUMNS), [["".join(left), "".join(right)]])


def annex_title_xml(heading: str, of_document: str, width_mm: float, label: str = "Phụ lục") -> str:
    """"Phụ lục", its title (bold capitals) and "(Kèm theo … số … ngày … của …)" in italics, a rule below."""
    line = min(text_width_mm(of_document, BODY_PT), width_mm) if of_document else 60
    return (
        paragraph_xml(label, Style(bold=True), Layout(align="center", after=0, line=240, keep_next=True))
        + paragraph_xml(heading, Style(bold=True), Layout(align="center", left=15, right=15, after=0, line=240, keep_next=True))
        + paragraph_xml(of_document, Style(italic=True), Layout(align="center", after=0, line=240, keep_next=True))
        + rule_xml(max(20.0, line * 0.35), width_mm, after=12, before=2)
    )  # fmt: skip


# -- the document ---------------------------------------------------------------------------------


class Writer:
    """A document being written: blocks are appended in order to the current section.

    python-docx holds the package, the styles, the sections (page set-up, the page-number header) and
    the core properties; the body's blocks are kept as WordprocessingML text and put in place when the
    document is saved (:meth:`body_xml`), so that tables of thousands of rows cost string joins only.
    """

    def __init__(self, properties: dict[str, str]):
        self.doc = Document()
        self._defaults()
        self.body = self.doc.element.body
        self.sections: list[list[str]] = [[]]
        section = self.doc.sections[0]
        self._page(section, landscape=False)
        self._page_numbers(section)
        props = self.doc.core_properties
        props.title, props.subject = properties.get("title", ""), properties.get("subject", "")
        props.author = props.last_modified_by = properties.get("author", "")
        props.keywords, props.comments = properties.get("keywords", ""), properties.get("comments", "")
        props.category, props.language = "", "vi-VN"
        props.created = props.modified = FIXED_TIME
        props.revision = 1

    @property
    def width_mm(self) -> float:
        """The text width of the current section."""
        s = self.doc.sections[-1]
        return (s.page_width - s.left_margin - s.right_margin) / Mm(1)

    def _defaults(self) -> None:
        styles = self.doc.styles
        normal = styles["Normal"]
        normal.font.name = FONT
        normal.font.size = Pt(BODY_PT)
        rpr = styles.element.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr"))
        for child in list(rpr):
            rpr.remove(child)
        rpr.append(parse_xml(
            f'<w:rFonts {nsdecls("w")} w:ascii="{FONT}" w:hAnsi="{FONT}" w:eastAsia="{FONT}" w:cs="{FONT}"/>'
        ))  # fmt: skip
        rpr.append(parse_xml(f'<w:color {nsdecls("w")} w:val="000000"/>'))
        rpr.append(parse_xml(f'<w:sz {nsdecls("w")} w:val="{BODY_PT * 2}"/>'))
        rpr.append(parse_xml(f'<w:szCs {nsdecls("w")} w:val="{BODY_PT * 2}"/>'))
        rpr.append(parse_xml(f'<w:lang {nsdecls("w")} w:val="vi-VN" w:eastAsia="vi-VN" w:bidi="ar-SA"/>'))
        table = styles.add_style(TABLE_STYLE, WD_STYLE_TYPE.PARAGRAPH)
        table.base_style = normal
        table.font.name, table.font.size, table.font.color.rgb = FONT, Pt(TABLE_PT), RGBColor(0, 0, 0)
        fmt = table.paragraph_format
        fmt.space_before, fmt.space_after, fmt.line_spacing, fmt.first_line_indent = Pt(1), Pt(1), 1.0, 0
        table_rpr = table.element.find(qn("w:rPr"))
        table_rpr.find(qn("w:rFonts")).set(qn("w:eastAsia"), FONT)
        table_rpr.find(qn("w:rFonts")).set(qn("w:cs"), FONT)

    @staticmethod
    def _page(section, landscape: bool) -> None:
        width, height = A4
        section.orientation = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT
        section.page_width, section.page_height = (Mm(height), Mm(width)) if landscape else (Mm(width), Mm(height))
        section.top_margin, section.bottom_margin = Mm(MARGINS["top"]), Mm(MARGINS["bottom"])
        section.left_margin, section.right_margin = Mm(MARGINS["left"]), Mm(MARGINS["right"])
        section.header_distance, section.footer_distance = Mm(HEADER_DISTANCE_MM), Mm(HEADER_DISTANCE_MM)
        section.gutter = 0

    @staticmethod
    def _page_numbers(section) -> None:
        """The page number centred in the top margin, on every page but the first."""
        section.different_first_page_header_footer = True
        section.first_page_header.is_linked_to_previous = False
        section.header.is_linked_to_previous = False
        p = section.header.paragraphs[0].paragraph_format.element
        for child in list(p):
            p.remove(child)
        style = Style(size=13)
        p.append(parse_xml(f"<w:pPr {nsdecls('w')}><w:jc w:val=\"center\"/>{style.rpr()}</w:pPr>"))
        p.append(parse_xml(
            f'<w:fldSimple {nsdecls("w")} w:instr=" PAGE "><w:r>{style.rpr()}<w:t>2</w:t></w:r></w:fldSimple>'
        ))  # fmt: skip

    def add(self, xml: str) -> None:
        """Append blocks (``<w:p>``, ``<w:tbl>``… as text) at the end of the current section."""
        self.sections[-1].append(xml)

    def paragraph(self, runs: Runs, style: Style = Style(), layout: Layout = Layout()) -> None:
        self.add(paragraph_xml(runs, style, layout))

    def table(self, columns: list[Column], rows: list[list[str]], **kwargs) -> None:
        self.add(table_xml(columns, rows, **kwargs))
        self.paragraph("", Style(size=6), Layout(after=0, line=240))  # a table is never glued to the next

    def landscape_annex(self) -> None:
        """Start a landscape section on a new page, its pages numbered from 1 (the first one unnumbered)."""
        section = self.doc.add_section(WD_SECTION.NEW_PAGE)
        self.sections.append([])
        self._page(section, landscape=True)
        section.different_first_page_header_footer = True
        sect = self.body.find(qn("w:sectPr"))
        for old in sect.findall(qn("w:pgNumType")):
            sect.remove(old)
        later = ("cols", "formProt", "vAlign", "noEndnote", "titlePg", "textDirection", "bidi", "rtlGutter",
                 "docGrid", "printerSettings")  # fmt: skip
        number = parse_xml(f'<w:pgNumType {nsdecls("w")} w:start="1"/>')
        anchor = next((c for c in sect if c.tag in {qn(f"w:{n}") for n in later}), None)
        if anchor is None:
            sect.append(number)
        else:
            anchor.addprevious(number)

    def body_xml(self, document_xml: str) -> str:
        """``word/document.xml`` as python-docx wrote it (its body: the sections' breaks only), with each
        section's blocks put before the break that ends it."""
        start = document_xml.index("<w:body>") + len("<w:body>")
        end = document_xml.rindex("</w:body>")
        inner = document_xml[start:end]
        breaks = re.findall(r"<w:p[ >].*?</w:p>", inner, flags=re.S)
        if len(breaks) != len(self.sections) - 1:
            raise ValueError(f"python-docx wrote {len(breaks)} section breaks for {len(self.sections)} sections")
        parts: list[str] = []
        for blocks, closing in zip(self.sections, [*breaks, inner[inner.rindex("<w:sectPr"):]]):
            parts += blocks
            parts.append(closing)
        return document_xml[:start] + "".join(parts) + document_xml[end:]

    def save(self, path: Path) -> Path:
        buffer = io.BytesIO()
        self.doc.save(buffer)
        return write_fixed_zip(buffer.getvalue(), Path(path), self.body_xml)


_THUMBNAIL = "docProps/thumbnail.jpeg"


def write_fixed_zip(data: bytes, path: Path, document=None) -> Path:
    """Rewrite a .docx with fixed entry times and order, without python-docx's stock thumbnail (a
    picture of an empty page that is not this document): the same content gives the same bytes.
    ``document``: a function giving ``word/document.xml``'s new text from its text."""
    with zipfile.ZipFile(io.BytesIO(data)) as src:
        names = [n for n in src.namelist() if n != _THUMBNAIL]
        contents = {n: src.read(n) for n in names}
    if document is not None:
        contents["word/document.xml"] = document(contents["word/document.xml"].decode("utf-8")).encode("utf-8")
    rels = contents.get("_rels/.rels")
    if rels is not None:
        contents["_rels/.rels"] = re.sub(rb"<Relationship [^>]*Target=\"docProps/thumbnail\.jpeg\"[^>]*/>", b"", rels)
    first = [n for n in ("[Content_Types].xml", "_rels/.rels") if n in contents]
    order = first + sorted(n for n in names if n not in first)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.partial")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as out:
        for name in order:
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            out.writestr(info, contents[name], compresslevel=6)
    tmp.replace(path)
    return path

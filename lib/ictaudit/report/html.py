"""``report.html`` and ``agencies/<agency_id>.html``: Vietnamese, self-contained, printable on A4.

The pages are rendered by Jinja2 templates (``templates/``, autoescape on: every agency-supplied
string is escaped) from contexts built out of the scored tables: report.html's by
:mod:`ictaudit.report.html_report`, the agency pages' by :mod:`ictaudit.report.html_agency`. The rows
of the long tables are assembled there instead, each piece escaped with the same function
(:func:`ictaudit.report.html_text.esc`, markupsafe's), byte for byte what the templates' loops wrote.
Charts are inline SVG (:mod:`ictaudit.report.html_svg`). No wall-clock time goes into the content.
"""

from __future__ import annotations

from pathlib import Path

import jinja2

from ictaudit.report.html_agency import AgencyPages
from ictaudit.report.html_report import report_context
from ictaudit.report.html_text import num_memo, rank_text
from ictaudit.report.inputs import FLAG_VI, ReportInputs, agency_file_name, fmt_date_text, gc_paused

TEMPLATES_DIR = Path(__file__).parent / "templates"


def _num_filter():
    """The ``num`` filter, each distinct number's text computed once per run (a page repeats many)."""
    memos: dict[tuple[int, bool], object] = {}

    def num_filter(x, decimals: int = 2, trim: bool = False) -> str:
        memo = memos.get((decimals, trim))
        if memo is None:
            memo = memos[decimals, trim] = num_memo(decimals, trim)
        return memo(x)

    return num_filter


def jinja_env() -> jinja2.Environment:
    """The templates' environment: autoescape on, undefined names an error, the pages' filters."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["num"] = _num_filter()
    env.filters["rank"] = rank_text
    env.filters["date"] = fmt_date_text
    env.globals["flag_text"] = lambda f: FLAG_VI.get(f, f)
    return env


def write_html_reports(data: ReportInputs, out_dir: Path, validation_index: str | None = None) -> dict[str, Path]:
    """Render ``report.html`` and one page per agency on the roster; returns the paths written."""
    with gc_paused():
        return _write_html_reports(data, out_dir, validation_index)


def _write_html_reports(data: ReportInputs, out_dir: Path, validation_index: str | None) -> dict[str, Path]:
    env = jinja_env()
    out_dir = Path(out_dir)
    paths: dict[str, Path] = {}
    ctx = report_context(data, validation_index)
    html = out_dir / "report.html"
    html.write_text(env.get_template("report.html.j2").render(**ctx), encoding="utf-8")
    paths["html"] = html
    if validation_index is not None:  # the Vietnamese validation page the report links to
        from ictaudit.report.html_validation import write_validation_page

        paths["validation"] = write_validation_page(data, out_dir, env)
    pages = AgencyPages(data, ctx["title"], ctx["year"])
    template = env.get_template("agency.html.j2")
    agencies_dir = out_dir / "agencies"
    agencies_dir.mkdir(parents=True, exist_ok=True)
    for agency_id in data.scores["agency_id"].tolist():
        page = agencies_dir / agency_file_name(agency_id)
        page.write_bytes(pages.page(template, agency_id))
        paths[f"agency:{agency_id}"] = page
    return paths

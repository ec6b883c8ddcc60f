"""The steps of one cycle's audit, as the notebooks call them: files in, files out, a summary back.

Each step reads what earlier steps wrote into the scored folder (``data/scored/<year>/``) and writes
its own tables there, so notebooks pass nothing to each other but files (docs/contracts.md §9):

==============  =====================================================  ==============================
step            reads                                                  writes (scored folder)
==============  =====================================================  ==============================
intake          the cycle folder (with last year's published results   statuses.csv, values_submitted.csv,
                under previous/, when cycle.yaml links them)           intake_problems.csv, previous.json,
                                                                       previous_links.csv, previous_values.csv
validate        values_submitted.csv, statuses.csv, corrections.csv,   values.csv (confirmed), issues.csv,
                previous_values.csv                                    corrections.csv; out/validation/,
                                                                       out/confirmations/
score           values.csv, statuses.csv, issues.csv                   trail.csv, scores.csv, criteria.csv
report          everything above, cycle.yaml's documents: particulars  out/report.html, report.xlsx, agencies/,
                                                                       validation/index.html, status.html,
                                                                       documents/
==============  =====================================================  ==============================

Last year is compared as it was published: its scores and confirmed values are the copies the cycle
folder links (``previous:`` in cycle.yaml, :mod:`ictaudit.intake.previous`), never a re-scoring of
last year's raw files with this year's rubric; a cycle without that link has no comparison and no
L24, and ``previous.json`` says why.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ictaudit.common.tables import read_csv, write_csv
from ictaudit.common.timings import timed
from ictaudit.intake.cycle import Cycle, load_cycle
from ictaudit.intake.previous import previous_wide as read_previous_wide
from ictaudit.intake.previous import write_previous_tables
from ictaudit.intake.values import read_values, to_wide, write_values
from ictaudit.rules.rubric import Rubric, load_rubric, rubric_path

STATUS_COLUMNS = ["agency_id", "agency_name", "group", "status", "status_reason"]
ISSUE_COLUMNS = ["agency_id", "check_id", "severity", "fields", "values", "message_vi", "round", "resolved_by"]


@dataclass(frozen=True)
class Context:
    """A cycle and its rubric, loaded and checked."""

    cycle: Cycle
    rubric: Rubric

    @property
    def cycle_info(self) -> dict:
        c = self.cycle
        return {
            "year": c.year, "title": c.title, "province": c.province, "deadline": c.deadline,
            "sample": c.sample, "rubric": self.rubric.id,
        }  # fmt: skip


def open_cycle(cycle_dir: Path | str) -> Context:
    """Load the cycle folder and its rubric; raises CycleError / RubricError naming the file."""
    cycle = load_cycle(Path(cycle_dir))
    return Context(cycle, load_rubric(cycle.rubric_id))


# -- reading the tables back ----------------------------------------------------------------


def read_statuses(scored_dir: Path) -> pd.DataFrame:
    return read_csv(Path(scored_dir) / "statuses.csv")


def read_issues(path: Path) -> pd.DataFrame:
    df = read_csv(path)
    df["round"] = pd.to_numeric(df["round"]).astype(int)
    return df


# -- steps ----------------------------------------------------------------------------------


def intake_step(cycle_dir: Path | str, scored_dir: Path | str) -> pd.DataFrame:
    """Statuses and values as submitted (with provenance); last year's published results linked to this year's ids."""
    from ictaudit.intake.submissions import intake_cycle

    ctx = open_cycle(cycle_dir)
    scored = Path(scored_dir)
    with timed("intake.read"):
        result = intake_cycle(ctx.cycle, ctx.rubric)
    with timed("intake.write"):
        write_csv(result.statuses, scored / "statuses.csv", STATUS_COLUMNS)
        write_values(result.values, scored / "values_submitted.csv")
        write_csv(result.problems, scored / "intake_problems.csv")

    with timed("intake.previous"):
        write_previous_tables(ctx.cycle, ctx.rubric, rubric_path(ctx.cycle.rubric_id), scored)
    counts = result.statuses.groupby(["group", "status"]).size().rename("agencies").reset_index()
    return counts


def validate_step(cycle_dir: Path | str, scored_dir: Path | str, out_dir: Path | str) -> pd.DataFrame:
    """Round 1 on the values as sent, the corrections overlay, round 2, confirmation workbooks."""
    from ictaudit.validate.confirmations import write_confirmations
    from ictaudit.validate.corrections import REPORT_COLUMNS, apply_corrections
    from ictaudit.validate.gx import make_context, validate_rounds
    from ictaudit.validate.resolution import resolve_issues

    ctx = open_cycle(cycle_dir)
    scored, out = Path(scored_dir), Path(out_dir)
    statuses = read_statuses(scored)
    submitted = read_values(scored / "values_submitted.csv")
    previous_wide = read_previous_wide(scored)

    with timed("validate.gx_context"):
        gx = make_context()
    docs = out / "validation"
    corrections = ctx.cycle.corrections
    with timed("validate.corrections"):
        if corrections is not None and len(corrections):
            confirmed, report = apply_corrections(submitted, corrections, ctx.rubric, statuses)
        else:
            confirmed, report = submitted.copy(), pd.DataFrame(columns=REPORT_COLUMNS)
    with timed("validate.rounds"):  # round 2 re-validates only the agencies a correction changed
        round1, round2 = validate_rounds(
            ctx.rubric, to_wide(submitted), to_wide(confirmed), statuses, previous_wide, docs, gx
        )
    with timed("validate.resolve"):  # logic checks and intake problems, each marked with what answers it
        issues = resolve_issues(round1, round2, report, _intake_issues(read_csv(scored / "intake_problems.csv")))
    issues = issues.sort_values(["agency_id", "check_id", "round", "fields"], kind="mergesort").reset_index(drop=True)

    with timed("validate.write"):
        write_values(confirmed, scored / "values.csv")
        write_csv(report, scored / "corrections.csv", REPORT_COLUMNS)
        write_csv(issues, scored / "issues.csv", ISSUE_COLUMNS)
    with timed("validate.confirmations"):
        write_confirmations(out / "confirmations", ctx.rubric, statuses, confirmed, issues, ctx.cycle, report)
    return _issue_summary(issues)


def _intake_issues(problems: pd.DataFrame) -> pd.DataFrame:
    """Intake problems (unparseable cells, formulas without a value, …) as issues.csv rows."""
    if problems.empty:
        return pd.DataFrame(columns=ISSUE_COLUMNS)
    where = problems["sheet"].where(problems["sheet"] == "", problems["sheet"] + "!") + problems["cell"]
    values = problems["field"].where(problems["field"] == "", problems["field"] + "=") + problems["raw_value"]
    return pd.DataFrame(
        {
            "agency_id": problems["agency_id"],
            "check_id": problems["code"],
            "severity": problems["severity"],
            "fields": problems["field"],
            "values": values,
            "message_vi": problems["message_vi"] + where.map(lambda w: f" ({w})" if w else ""),
            "round": 1,
            "resolved_by": "",
        }
    )[ISSUE_COLUMNS]


def _issue_summary(issues: pd.DataFrame) -> pd.DataFrame:
    if issues.empty:
        return pd.DataFrame(columns=["check_id", "severity", "round", "issues"])
    return issues.groupby(["check_id", "severity", "round"]).size().rename("issues").reset_index()


def score_step(cycle_dir: Path | str, scored_dir: Path | str) -> pd.DataFrame:
    """Points, totals, bands and ranks with the trail; values blocked by a remaining E issue count as missing."""
    from ictaudit.score.scoring import score_cycle, write_score_tables
    from ictaudit.validate.resolution import blocked_fields

    ctx = open_cycle(cycle_dir)
    scored = Path(scored_dir)
    statuses = read_statuses(scored)
    values = read_values(scored / "values.csv")
    issues = read_issues(scored / "issues.csv")
    blocked = blocked_fields(issues, ctx.rubric)
    with timed("score.compute"):
        result = score_cycle(ctx.rubric, to_wide(values), statuses, blocked)
    with timed("score.write"):
        write_score_tables(result, scored)

    ranked = result.scores[result.scores["status"] == "ranked"]
    return ranked[["agency_id", "agency_name", "group", "score_100_published", "band", "rank"]].reset_index(drop=True)


def report_step(cycle_dir: Path | str, scored_dir: Path | str, out_dir: Path | str) -> dict[str, Path]:
    """report.html, report.xlsx, one page per agency and the official documents (documents/), built
    from the scored tables and, for the documents, the particulars in cycle.yaml; and the status of the
    year, status.html (who sent what and when, whom to chase), linked from report.html."""
    from ictaudit.report.build import build_reports
    from ictaudit.report.documents import settings_for
    from ictaudit.report.status import STATUS_PAGE, run_status
    from ictaudit.report.status_views import write_status_page

    ctx = open_cycle(cycle_dir)
    scored, out = Path(scored_dir), Path(out_dir)
    info = report_cycle_info(ctx)
    paths = build_reports(ctx.rubric, scored, out, info, status_page=STATUS_PAGE, documents=settings_for(ctx.cycle))
    with timed("report.status"):
        paths["status"] = write_status_page(run_status(ctx.cycle, ctx.rubric, scored, out), out / STATUS_PAGE)
    return paths


def report_cycle_info(ctx: Context) -> dict:
    """The cycle's metadata as the reports show it, with the rubric's version check."""
    from ictaudit.rules.versions import version_check

    check = version_check(ctx.rubric, rubric_path(ctx.cycle.rubric_id))
    return {**ctx.cycle_info, "rubric_check": {"state": check.state, "message_vi": check.message_vi()}}


def documents_step(cycle_dir: Path | str, scored_dir: Path | str, out_dir: Path | str,
                   pdf_any_size: bool = False) -> dict[str, Path]:
    """The official documents alone (``ictaudit document``): ``out_dir/documents/`` from the scored
    tables, as :func:`report_step` writes them (``pdf_any_size``: print the PDFs however many agencies)."""
    from ictaudit.report.documents import DOCUMENTS_DIR, PDF_MAX_AGENCIES, settings_for, write_documents
    from ictaudit.report.inputs import load_report_inputs

    ctx = open_cycle(cycle_dir)
    data = load_report_inputs(ctx.rubric, Path(scored_dir), report_cycle_info(ctx))
    limit = None if pdf_any_size else PDF_MAX_AGENCIES
    return write_documents(data, settings_for(ctx.cycle), Path(out_dir) / DOCUMENTS_DIR, pdf_max_agencies=limit)


def band_counts(scores: pd.DataFrame) -> pd.DataFrame:
    """How many ranked agencies fall in each band, per group (for the notebooks' summaries)."""
    ranked = scores[scores["status"] == "ranked"]
    return ranked.groupby(["group", "band"]).size().rename("agencies").reset_index()


def run_notes(scored_dir: Path | str, rubric_file: Path | str) -> list[str]:
    """What a run's summary must say beside the counts, in Vietnamese: the rubric's version when its
    content changed or is unrecorded (:mod:`ictaudit.rules.versions`), and last year's comparison
    (as published, on another scale, or none and why: :func:`ictaudit.intake.previous.previous_notes_vi`)."""
    from ictaudit.intake.previous import previous_notes_vi, read_previous_info
    from ictaudit.rules.versions import version_check

    check = version_check(load_rubric(rubric_file), rubric_file)
    lines = [] if check.state == "recorded" else [("CẢNH BÁO: " if check.state == "changed" else "Lưu ý: ") + check.message_vi()]
    return lines + previous_notes_vi(read_previous_info(Path(scored_dir)))

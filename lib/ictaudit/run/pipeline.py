"""The steps of one cycle's audit, as the notebooks call them: files in, files out, a summary back.

Each step reads what earlier steps wrote into the scored folder (``data/scored/<year>/``) and writes
its own tables there, so notebooks pass nothing to each other but files (docs/contracts.md §9):

==============  =====================================================  ==============================
step            reads                                                  writes (scored folder)
==============  =====================================================  ==============================
intake          the cycle folder (and the previous year's, if any)     statuses.csv, values_submitted.csv,
                                                                       intake_problems.csv, previous/
validate        values_submitted.csv, statuses.csv, corrections.csv    values.csv (confirmed), issues.csv,
                                                                       corrections.csv; out/validation/,
                                                                       out/confirmations/
score           values.csv, statuses.csv, issues.csv                   trail.csv, scores.csv, criteria.csv
report          everything above, cycle.yaml's documents: particulars  out/report.html, report.xlsx, agencies/,
                                                                       documents/
==============  =====================================================  ==============================

The previous cycle (the sibling folder of the year before, when it exists) is taken through intake,
its corrections and scoring from its own raw files, so a comparison never depends on whether an older
run happens to lie on the machine.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ictaudit.common.tables import read_csv, write_csv
from ictaudit.common.timings import timed
from ictaudit.intake.cycle import Cycle, CycleError, load_cycle
from ictaudit.intake.values import read_values, to_wide, write_values
from ictaudit.rules.rubric import Rubric, RubricError, load_rubric

STATUS_COLUMNS = ["agency_id", "agency_name", "group", "status", "status_reason"]
ISSUE_COLUMNS = ["agency_id", "check_id", "severity", "fields", "values", "message_vi", "round", "resolved_by"]
PREVIOUS = "previous"


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


def previous_cycle_dir(cycle_dir: Path | str) -> Path | None:
    """The folder of the year before (``<parent>/<year-1>``), when it holds a cycle."""
    cycle_dir = Path(cycle_dir)
    try:
        year = int(cycle_dir.name)
    except ValueError:
        try:
            year = open_cycle(cycle_dir).cycle.year
        except (CycleError, RubricError):
            return None
    prev = cycle_dir.parent / str(year - 1)
    return prev if (prev / "cycle.yaml").exists() else None


# -- reading the tables back ----------------------------------------------------------------


def read_statuses(scored_dir: Path) -> pd.DataFrame:
    return read_csv(Path(scored_dir) / "statuses.csv")


def read_issues(path: Path) -> pd.DataFrame:
    df = read_csv(path)
    df["round"] = pd.to_numeric(df["round"]).astype(int)
    return df


# -- steps ----------------------------------------------------------------------------------


def intake_step(cycle_dir: Path | str, scored_dir: Path | str) -> pd.DataFrame:
    """Statuses and values as submitted (with provenance), for this cycle and the previous one."""
    from ictaudit.intake.submissions import intake_cycle

    ctx = open_cycle(cycle_dir)
    scored = Path(scored_dir)
    with timed("intake.read"):
        result = intake_cycle(ctx.cycle, ctx.rubric)
    with timed("intake.write"):
        write_csv(result.statuses, scored / "statuses.csv", STATUS_COLUMNS)
        write_values(result.values, scored / "values_submitted.csv")
        write_csv(result.problems, scored / "intake_problems.csv")

    prev_dir = previous_cycle_dir(cycle_dir)
    if prev_dir is not None:
        try:
            with timed("intake.previous"):
                _previous_intake(prev_dir, scored / PREVIOUS)
        except (CycleError, RubricError) as exc:
            # last year's folder is only a comparison: this year's audit goes on without it
            warnings.warn(
                f"năm trước ({prev_dir}) không đọc được, bỏ qua so sánh với năm trước (L24 và báo cáo): {exc}",
                stacklevel=1,
            )
    counts = result.statuses.groupby(["group", "status"]).size().rename("agencies").reset_index()
    return counts


def _previous_intake(prev_dir: Path, out: Path) -> None:
    """Last year's confirmed values: its submissions read and its recorded corrections applied."""
    from ictaudit.intake.submissions import intake_cycle
    from ictaudit.validate.corrections import apply_corrections

    prev = open_cycle(prev_dir)
    result = intake_cycle(prev.cycle, prev.rubric)
    values = result.values
    if prev.cycle.corrections is not None and len(prev.cycle.corrections):
        values, _ = apply_corrections(values, prev.cycle.corrections, prev.rubric, result.statuses)
    write_csv(result.statuses, out / "statuses.csv", STATUS_COLUMNS)
    write_values(values, out / "values.csv")


def validate_step(cycle_dir: Path | str, scored_dir: Path | str, out_dir: Path | str) -> pd.DataFrame:
    """Round 1 on the values as sent, the corrections overlay, round 2, confirmation workbooks."""
    from ictaudit.validate.confirmations import write_confirmations
    from ictaudit.validate.corrections import REPORT_COLUMNS, apply_corrections, resolve_rounds
    from ictaudit.validate.gx import make_context, validate_rounds

    ctx = open_cycle(cycle_dir)
    scored, out = Path(scored_dir), Path(out_dir)
    statuses = read_statuses(scored)
    submitted = read_values(scored / "values_submitted.csv")
    previous_values = scored / PREVIOUS / "values.csv"
    previous_wide = to_wide(read_values(previous_values)) if previous_values.exists() else None

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
    with timed("validate.resolve"):
        issues = resolve_rounds(round1, round2, report)
    issues = pd.concat([issues, _intake_issues(read_csv(scored / "intake_problems.csv"))], ignore_index=True)
    issues = issues.sort_values(["agency_id", "check_id", "round", "fields"], kind="mergesort").reset_index(drop=True)

    with timed("validate.write"):
        write_values(confirmed, scored / "values.csv")
        write_csv(report, scored / "corrections.csv", REPORT_COLUMNS)
        write_csv(issues, scored / "issues.csv", ISSUE_COLUMNS)
    with timed("validate.confirmations"):
        write_confirmations(
            out / "confirmations", ctx.rubric, statuses, confirmed, issues, ctx.cycle.title, ctx.cycle.year
        )
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
    from ictaudit.validate.corrections import blocked_fields

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

    prev_dir = previous_cycle_dir(cycle_dir)
    prev_scored = scored / PREVIOUS
    if prev_dir is not None and (prev_scored / "values.csv").exists():
        with timed("score.previous"):
            prev = open_cycle(prev_dir)
            prev_result = score_cycle(
                prev.rubric, to_wide(read_values(prev_scored / "values.csv")), read_statuses(prev_scored)
            )
            write_score_tables(prev_result, prev_scored)
    ranked = result.scores[result.scores["status"] == "ranked"]
    return ranked[["agency_id", "agency_name", "group", "score_100", "band", "rank"]].reset_index(drop=True)


def report_step(cycle_dir: Path | str, scored_dir: Path | str, out_dir: Path | str) -> dict[str, Path]:
    """report.html, report.xlsx, one page per agency and the official documents (documents/), built
    from the scored tables and, for the documents, the particulars in cycle.yaml."""
    from ictaudit.report.build import build_reports
    from ictaudit.report.documents import settings_for

    ctx = open_cycle(cycle_dir)
    scored = Path(scored_dir)
    return build_reports(ctx.rubric, scored, Path(out_dir), ctx.cycle_info, previous_scored_dir=previous_scored(scored),
                         documents=settings_for(ctx.cycle))  # fmt: skip


def previous_scored(scored_dir: Path) -> Path | None:
    """Where last year's scores of this run lie (for the comparison), or None."""
    return scored_dir / PREVIOUS if (scored_dir / PREVIOUS / "scores.csv").exists() else None


def documents_step(cycle_dir: Path | str, scored_dir: Path | str, out_dir: Path | str,
                   pdf_any_size: bool = False) -> dict[str, Path]:
    """The official documents alone (``ictaudit document``): ``out_dir/documents/`` from the scored
    tables, as :func:`report_step` writes them (``pdf_any_size``: print the PDFs however many agencies)."""
    from ictaudit.report.documents import DOCUMENTS_DIR, PDF_MAX_AGENCIES, settings_for, write_documents
    from ictaudit.report.inputs import load_report_inputs

    ctx = open_cycle(cycle_dir)
    scored = Path(scored_dir)
    data = load_report_inputs(ctx.rubric, scored, ctx.cycle_info, previous_scored(scored))
    limit = None if pdf_any_size else PDF_MAX_AGENCIES
    return write_documents(data, settings_for(ctx.cycle), Path(out_dir) / DOCUMENTS_DIR, pdf_max_agencies=limit)


def band_counts(scores: pd.DataFrame) -> pd.DataFrame:
    """How many ranked agencies fall in each band, per group (for the notebooks' summaries)."""
    ranked = scores[scores["status"] == "ranked"]
    return ranked.groupby(["group", "band"]).size().rename("agencies").reset_index()

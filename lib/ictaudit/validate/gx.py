"""Run the logic checks: one GX 1.x validation per form, the suites of :mod:`ictaudit.validate.suites`.

One validation per form, with every agency of that form as a row of one dataframe (GX is slow to
start and has a per-expectation cost, not a per-row one)::

    context = make_context()                       # ephemeral, offline, no progress bars
    issues = validate_values(rubric, values_wide, agencies, previous_wide=last_year, round=1,
                             docs_dir=Path("outputs/2017/validation"), context=context)
    write_issues_csv(issues, Path("data/scored/2017/issues.csv"))   # ictaudit.validate.issues

``issues`` has the columns of docs/contracts.md §6 ``issues.csv``: one row per agency × check.

A run validates both rounds at once with :func:`validate_rounds` (what ``pipeline.validate_step``
calls): one GX validation per form holds round 1 and the round-2 rows of the agencies a correction
changed; the other agencies' round-2 findings are their round-1 findings.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import logging
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ictaudit.common.paths import EXPECTATIONS_DIR
from ictaudit.common.timings import timed
from ictaudit.rules.checks import CheckTable, shipped_checks
from ictaudit.rules.rubric import Rubric
from ictaudit.validate.frames import derive_columns, field_rows
from ictaudit.validate.issues import ISSUE_COLUMNS, failing_rows, issues_from_failures, issues_from_results, sort_issues
from ictaudit.validate.suites import ValidationSetupError, build_suite, check_committed_suite, rules_for_form

os.environ["GX_ANALYTICS_ENABLED"] = "false"

DOCS_SITE = "ictaudit_validation"
#: the Data Docs site's folder inside the validation folder (the technical appendix; validation/index.html
#: is the project's own Vietnamese page)
DATA_DOCS_DIR = "data-docs"

_names = itertools.count(1)


# -- GX plumbing ---------------------------------------------------------------------------------


def make_context(docs_dir: Path | None = None):
    """An ephemeral GX context: nothing written except Data Docs, no analytics, no progress bars."""
    os.environ["GX_ANALYTICS_ENABLED"] = "false"
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    for name in ("great_expectations", "great_expectations.core", "great_expectations.data_context"):
        logging.getLogger(name).setLevel(logging.ERROR)
    context = gx.get_context(mode="ephemeral")
    if hasattr(context, "enable_analytics"):
        context.enable_analytics(False)
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    if docs_dir is not None:
        _ensure_docs_site(context, Path(docs_dir))
    return context


def _ensure_docs_site(context, docs_dir: Path) -> str:
    """Register a Data Docs site writing into ``docs_dir`` (one site per folder); return its name."""
    docs_dir = docs_dir.resolve()
    name = f"{DOCS_SITE}_{hashlib.sha256(str(docs_dir).encode()).hexdigest()[:12]}"
    sites = context.get_config().data_docs_sites or {}
    if name not in sites:
        docs_dir.mkdir(parents=True, exist_ok=True)
        context.add_data_docs_site(
            name,
            {
                "class_name": "SiteBuilder",
                "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)},
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            },
        )
    return name


def run_suite(
    context, suite, frames: dict[str, pd.DataFrame], label: str, keys: tuple[str, ...] = ("agency_id",)
):
    """Validate one form's suite, each expectation against the frame it is written for.

    ``frames["agencies"]`` has one row per agency (:func:`~ictaudit.validate.frames.derive_columns`, a
    column per key); ``frames["fields"]`` one row per agency × field (:func:`~ictaudit.validate.frames.field_rows`,
    the same key columns and ``field``), for the expectations whose ``meta.frame`` is ``fields``. Each
    frame is one GX validation (a ValidationDefinition run by a Checkpoint, so Data Docs show both);
    the result returned is the whole suite's: every expectation's result, in suite order, with COMPLETE
    results, so every failing row is listed in ``unexpected_index_list`` by its key columns (and
    ``field``).
    """
    parts: dict[str, list] = {}
    for expectation in suite.expectations:
        parts.setdefault(expectation.meta.get("frame", "agencies"), []).append(expectation)
    results = {}
    for part, expectations in sorted(parts.items()):  # agencies, then fields
        if part not in frames:
            raise ValidationSetupError(f"suite {suite.name}: no {part!r} frame to validate {len(expectations)} expectations on")
        part_keys = keys if part == "agencies" else (*keys, "field")
        frame = frames[part]
        read = [_columns_read(e) for e in expectations]
        if all(columns is not None for columns in read):  # GX's cost grows with the frame's width
            wanted = set(part_keys).union(*read)
            frame = frame[[c for c in frame.columns if c in wanted]]
        results[part] = _run_checkpoint(context, suite, expectations, frame, f"{label}_{part}", part_keys)
    return _whole_suite_result(suite, parts, results)


def _columns_read(expectation) -> set[str] | None:
    """The columns an expectation reads: its column(s) and those of its row condition; ``None`` when
    that cannot be told (a table-level expectation, a column list, a row condition given as text),
    and the expectation must see the whole frame."""
    kwargs = expectation.configuration.to_json_dict()["kwargs"]
    out = {kwargs[k] for k in ("column", "column_A", "column_B") if k in kwargs}
    if not out or {"column_list", "column_set"} & set(kwargs) or isinstance(kwargs.get("row_condition"), str):
        return None

    def names(condition) -> None:  # {"column": {"name": "F04"}, ...}, possibly nested (and / or)
        if isinstance(condition, dict):
            if isinstance(condition.get("column"), dict) and "name" in condition["column"]:
                out.add(condition["column"]["name"])
            for value in condition.values():
                names(value)
        elif isinstance(condition, list):
            for value in condition:
                names(value)

    names(kwargs.get("row_condition"))
    return out


def _run_checkpoint(context, suite, expectations: list, frame: pd.DataFrame, label: str, keys: tuple[str, ...]):
    import great_expectations as gx

    name = f"{label}_{next(_names)}"
    source = context.data_sources.add_pandas(name)
    batch = source.add_dataframe_asset(name).add_batch_definition_whole_dataframe(name)
    # an expectation not yet in a context joins the part as it is (GX's copy is a deep one, ~2.5 ms each)
    own = [copy.copy(e) if e.id else e for e in expectations]
    part = context.suites.add(gx.ExpectationSuite(name=name, expectations=own, meta=dict(suite.meta)))
    definition = context.validation_definitions.add(gx.ValidationDefinition(data=batch, suite=part, name=name))
    checkpoint = context.checkpoints.add(
        gx.Checkpoint(
            name=name,
            validation_definitions=[definition],
            actions=[],
            result_format={"result_format": "COMPLETE", "unexpected_index_column_names": list(keys)},
        )
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = checkpoint.run(batch_parameters={"dataframe": frame})
    (suite_result,) = result.run_results.values()
    return suite_result, [e.id for e in part.expectations]


def _whole_suite_result(suite, parts: dict[str, list], results: dict):
    """One ExpectationSuiteValidationResult for the whole suite from its parts' (results in suite
    order, statistics counted as GX counts them, the parts' batches named in ``meta.parts``)."""
    from great_expectations.core import ExpectationSuiteValidationResult

    pending = {}
    for part, (result, ids) in results.items():  # GX gives results in its own order (row conditions last)
        by_id = {r.expectation_config.id: r for r in result.results}
        pending[part] = iter([by_id[i] for i in ids])
    ordered = [next(pending[e.meta.get("frame", "agencies")]) for e in suite.expectations]
    for e, r in zip(suite.expectations, ordered, strict=True):
        if r.expectation_config.type != e.expectation_type or r.expectation_config.meta != e.meta:
            raise ValidationSetupError(f"suite {suite.name}: a result does not match its expectation")
    results = {part: result for part, (result, _) in results.items()}
    passed = sum(bool(r.success) for r in ordered)
    first = results["agencies"] if "agencies" in results else next(iter(results.values()))
    return ExpectationSuiteValidationResult(
        success=passed == len(ordered),
        results=ordered,
        suite_name=suite.name,
        statistics={
            "evaluated_expectations": len(ordered),
            "successful_expectations": passed,
            "unsuccessful_expectations": len(ordered) - passed,
            "success_percent": passed / len(ordered) * 100 if ordered else None,
        },
        meta={
            **first.meta,
            "parts": {
                part: {"suite_name": r.suite_name, "expectations": len(parts[part]), "batch": r.meta.get("active_batch_definition")}
                for part, r in results.items()
            },
        },
        batch_id=first.batch_id,
    )


# -- values → frames -----------------------------------------------------------------------------


def _frames_by_form(rubric: Rubric, values_wide: pd.DataFrame, agencies: pd.DataFrame) -> dict[str, list[str]]:
    """Agency ids with at least one value and status ``ranked`` (when the roster has a status), by form."""
    has_values = values_wide.notna().any(axis=1)
    with_values = set(values_wide.index[has_values].astype(str))
    roster = agencies.assign(agency_id=agencies["agency_id"].astype(str)).set_index("agency_id")
    unknown = sorted(with_values - set(roster.index))
    if unknown:
        warnings.warn(f"values for agencies not on the roster are not validated: {', '.join(unknown)}", stacklevel=3)
    evaluated = set(roster.index)
    if "status" in roster:  # late, missing, excluded, invalid: not evaluated, so nothing to confirm
        evaluated = set(roster.index[roster["status"].astype(str) == "ranked"])
    out: dict[str, list[str]] = {}
    for agency_id in sorted(with_values & evaluated):
        out.setdefault(rubric.form_of(roster.at[agency_id, "group"]), []).append(agency_id)
    return out


def validate_values(
    rubric: Rubric,
    values_wide: pd.DataFrame,
    agencies: pd.DataFrame,
    previous_wide: pd.DataFrame | None = None,
    round: int = 1,
    docs_dir: Path | None = None,
    context=None,
    checks: CheckTable | None = None,
    suites_dir: Path = EXPECTATIONS_DIR,
) -> pd.DataFrame:
    """Run every form's suite over the agencies that have values; return the issues (docs/contracts.md §6 columns).

    ``values_wide``: floats indexed by ``agency_id``, one column per field code (NaN = blank).
    ``agencies``: the roster with ``agency_id`` and ``group`` (the form is the group's form); when it has
    a ``status`` column (intake's statuses), only ``ranked`` agencies are validated.
    ``previous_wide``: last year's confirmed values, same shape; enables L24 (year over year).
    ``docs_dir``: where ``results_<form>_round<n>.json`` are written, and GX's Data Docs in its
    ``data-docs/`` (assets bundled: :mod:`ictaudit.validate.datadocs`).
    ``context``: a context from :func:`make_context` to reuse (GX start-up costs seconds).
    ``checks``: the check table (default: the shipped one); ``suites_dir``: where its committed suites
    are, which must hold the suites built from it (:func:`~ictaudit.validate.suites.check_committed_suite`).
    """
    checks = checks or shipped_checks()
    if context is None:
        context = make_context()
    if docs_dir is not None:
        docs_dir = Path(docs_dir)
        site = _ensure_docs_site(context, docs_dir / DATA_DOCS_DIR)
    wide = values_wide.copy()
    wide.index = wide.index.astype(str)
    previous = None
    if previous_wide is not None:
        previous = previous_wide.copy()
        previous.index = previous.index.astype(str)
    parts = [pd.DataFrame(columns=ISSUE_COLUMNS)]
    for form_id, agency_ids in sorted(_frames_by_form(rubric, wide, agencies).items()):
        suite = _checked_suite(rubric, form_id, checks, suites_dir)
        specs = rubric.fields_for_form(form_id)
        prev = previous.reindex(index=agency_ids) if previous is not None else None
        frame = derive_columns(wide.loc[agency_ids], specs, checks)
        frames = {
            "agencies": frame.rename_axis("agency_id").reset_index(),
            "fields": field_rows(wide.loc[agency_ids], specs, checks, prev).rename_axis("agency_id").reset_index(),
        }
        with timed(f"validate.round{round}.gx"):
            result = run_suite(context, suite, frames, f"{form_id}_round{round}")
        if docs_dir is not None:
            with timed(f"validate.round{round}.results_json"):
                _write_results_json(result, docs_dir / f"results_{form_id}_round{round}.json")
        parts.append(issues_from_results(result, rules_for_form(rubric, form_id, checks), frame, rubric, round, prev))
    if docs_dir is not None:
        with timed(f"validate.round{round}.data_docs"):
            _build_docs(context, site, docs_dir / DATA_DOCS_DIR)
    return sort_issues(pd.concat([p for p in parts if not p.empty] or parts, ignore_index=True))


def _checked_suite(rubric: Rubric, form_id: str, checks: CheckTable, suites_dir: Path):
    """The form's suite, built from the check table; refused when the committed one has other checks."""
    suite = build_suite(rubric, form_id, checks)
    check_committed_suite(rubric, form_id, suite, suites_dir)
    return suite


def changed_agencies(before: pd.DataFrame, after: pd.DataFrame) -> set[str]:
    """Agencies whose row differs between two wide frames (a blank equals a blank; a row in one only differs)."""
    before, after = before.copy(), after.copy()
    before.index, after.index = before.index.astype(str), after.index.astype(str)
    columns = before.columns.union(after.columns)
    common = before.index.intersection(after.index)
    a = before.reindex(index=common, columns=columns).to_numpy(dtype=float)
    b = after.reindex(index=common, columns=columns).to_numpy(dtype=float)
    differs = ~((a == b) | (np.isnan(a) & np.isnan(b))).all(axis=1)
    only_one = set(before.index).symmetric_difference(after.index)
    return set(common[differs]) | only_one


def validate_rounds(
    rubric: Rubric,
    submitted_wide: pd.DataFrame,
    confirmed_wide: pd.DataFrame,
    agencies: pd.DataFrame,
    previous_wide: pd.DataFrame | None = None,
    docs_dir: Path | None = None,
    context=None,
    checks: CheckTable | None = None,
    suites_dir: Path = EXPECTATIONS_DIR,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Round 1 (values as sent) and round 2 (confirmed values) with one GX validation per form.

    Gives the same issues as :func:`validate_values` called once per round, at the cost of one:
    round 2 re-validates only the agencies whose values a correction changed — for the others the
    values, last year's values and therefore the findings are those of round 1, which are reused
    with ``round = 2``. The rows of both rounds are stacked into one frame per form, told apart by a
    ``round`` column, so GX's per-expectation cost is paid once per form, not once per round.
    ``docs_dir`` receives ``results_<form>.json`` (both rounds) and the Data Docs, built once;
    ``checks`` and ``suites_dir`` as for :func:`validate_values`.
    """
    checks = checks or shipped_checks()
    if context is None:
        context = make_context()
    site = _ensure_docs_site(context, Path(docs_dir) / DATA_DOCS_DIR) if docs_dir is not None else None
    wide1, wide2 = submitted_wide.copy(), confirmed_wide.copy()
    wide1.index, wide2.index = wide1.index.astype(str), wide2.index.astype(str)
    previous = None
    if previous_wide is not None:
        previous = previous_wide.copy()
        previous.index = previous.index.astype(str)
    changed = changed_agencies(wide1, wide2)
    forms1 = _frames_by_form(rubric, wide1, agencies)
    forms2 = _frames_by_form(rubric, wide2, agencies)
    jobs = [
        _FormJob(rubric, checks, suites_dir, form_id, forms1.get(form_id, []), forms2.get(form_id, []), changed,
                 wide1, wide2, previous, docs_dir)
        for form_id in sorted(set(forms1) | set(forms2))
    ]
    parts1, parts2 = [pd.DataFrame(columns=ISSUE_COLUMNS)], [pd.DataFrame(columns=ISSUE_COLUMNS)]
    for issues1, issues2 in _run_jobs(context, jobs):
        parts1.append(issues1)
        parts2.append(issues2)
    if site is not None:
        with timed("validate.rounds.data_docs"):
            _build_docs(context, site, Path(docs_dir) / DATA_DOCS_DIR)

    def combine(parts: list[pd.DataFrame]) -> pd.DataFrame:
        return sort_issues(pd.concat([p for p in parts if not p.empty] or parts[:1], ignore_index=True))

    return combine(parts1), combine(parts2)


@dataclass(frozen=True)
class _FormJob:
    """Everything :func:`_validate_form` needs for one form (read-only, shared with a forked worker)."""

    rubric: Rubric
    checks: CheckTable
    suites_dir: Path
    form_id: str
    ids1: list[str]
    ids2: list[str]
    changed: set[str]
    wide1: pd.DataFrame
    wide2: pd.DataFrame
    previous: pd.DataFrame | None
    docs_dir: Path | None


def _validate_form(context, job: _FormJob) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Round-1 and round-2 issues of one form from one GX validation of both rounds' rows."""
    rubric, checks, form_id, ids1, ids2 = job.rubric, job.checks, job.form_id, job.ids1, job.ids2
    in_round1 = set(ids1)
    reused = [a for a in ids2 if a not in job.changed and a in in_round1]
    reused_set = set(reused)
    rerun = [a for a in ids2 if a not in reused_set]
    suite = _checked_suite(rubric, form_id, checks, job.suites_dir)
    specs = rubric.fields_for_form(form_id)
    prev1 = job.previous.reindex(index=ids1) if job.previous is not None else None
    prev2 = job.previous.reindex(index=rerun) if job.previous is not None else None
    frame1 = derive_columns(job.wide1.loc[ids1], specs, checks)
    frame2 = derive_columns(job.wide2.loc[rerun], specs, checks)
    rows1 = field_rows(job.wide1.loc[ids1], specs, checks, prev1)
    rows2 = field_rows(job.wide2.loc[rerun], specs, checks, prev2)
    frames = {"agencies": _stack_rounds(frame1, frame2), "fields": _stack_rounds(rows1, rows2)}
    with timed("validate.rounds.gx"):
        result = run_suite(context, suite, frames, f"{form_id}_rounds", keys=("agency_id", "round"))
    if job.docs_dir is not None:
        with timed("validate.rounds.results_json"):
            _write_results_json(result, Path(job.docs_dir) / f"results_{form_id}.json")
    by_round: dict[int, list[tuple[dict, list[str]]]] = {1: [], 2: []}
    for meta, rows in failing_rows(result, rules_for_form(rubric, form_id, checks)):
        for n in (1, 2):
            ids = [str(row["agency_id"]) for row in rows if int(row["round"]) == n]
            if ids:
                by_round[n].append((meta, ids))
    issues1 = issues_from_failures(by_round[1], frame1, rubric, 1, prev1)
    issues2 = pd.concat(
        [issues_from_failures(by_round[2], frame2, rubric, 2, prev2),
         issues1[issues1["agency_id"].isin(set(reused))].assign(round=2)],
        ignore_index=True,
    )  # fmt: skip
    return issues1, issues2


def _stack_rounds(frame1: pd.DataFrame, frame2: pd.DataFrame) -> pd.DataFrame:
    """Both rounds' rows in one frame, the agency as an ``agency_id`` column and a ``round`` column."""
    return pd.concat(
        [frame.rename_axis("agency_id").reset_index().assign(round=n) for n, frame in ((1, frame1), (2, frame2))],
        ignore_index=True,
    )


def _run_jobs(context, jobs: list[_FormJob]) -> list[tuple[pd.DataFrame, pd.DataFrame]]:
    """Each form's :func:`_validate_form`, the forms after the first in a forked copy of this process.

    GX's cost is per expectation and single-threaded, so with two cores the two forms validate side
    by side. The worker hands back its issues and what its validation added to the context's stores
    (the suite and the serialised result, as stored), which are put into this process's stores so
    that the Data Docs built afterwards show every form, as if they had been validated here.
    """
    from ictaudit.common.forked import can_fork, forked_worker

    if len(jobs) < 2 or not can_fork():
        return [_validate_form(context, job) for job in jobs]
    with forked_worker((context, jobs)) as pool:
        pending = [pool.submit(_forked_validate_form, i) for i in range(1, len(jobs))]
        out = [_validate_form(context, jobs[0])]
        for future in pending:
            issues, added = future.result()
            for store, entries in zip(_stores(context), added, strict=True):
                for key, value in entries:
                    store.store_backend.set(key, value)
            out.append(issues)
    return out


def _stores(context) -> tuple:
    """The context's stores a validation adds to and Data Docs read from."""
    return context.expectations_store, context.validation_results_store


def _forked_validate_form(index: int):
    """In the forked worker: validate job ``index``; return its issues and the store entries it added."""
    from ictaudit.common.forked import inherited

    context, jobs = inherited()
    before = [set(store.store_backend.list_keys()) for store in _stores(context)]
    issues = _validate_form(context, jobs[index])
    added = [
        [(key, store.store_backend.get(key)) for key in sorted(set(store.store_backend.list_keys()) - keys)]
        for store, keys in zip(_stores(context), before, strict=True)
    ]
    return issues, added


def _write_results_json(suite_result, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(suite_result.to_json_dict(), ensure_ascii=False, indent=2, sort_keys=True, default=_jsonable)
    path.write_text(text + "\n", encoding="utf-8")


def _jsonable(x):
    if hasattr(x, "item"):
        return x.item()
    return str(x)


def _build_docs(context, site: str, site_dir: Path) -> None:
    """Build the Data Docs site, then bundle the assets its pages load from CDNs (works offline)."""
    from ictaudit.validate.datadocs import bundle_assets

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        context.build_data_docs(site_names=[site])
    bundle_assets(site_dir)

"""Integration: the sample cycle's planted logic errors are found, and its corrections resolve them.

Uses the bundled ``data/raw/2017`` when it exists; otherwise writes the same sample (``ictaudit.year.sample``,
year 2017, default seed) into a temporary folder, so the test runs in a fresh checkout too.
"""

import pandas as pd
import pytest

from ictaudit.common.paths import DATA_DIR

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory, rubric):
    from ictaudit.intake.cycle import load_cycle
    from ictaudit.intake.submissions import intake_cycle
    from ictaudit.intake.values import to_wide as long_to_wide
    from ictaudit.validate.corrections import apply_corrections
    from ictaudit.validate.gx import make_context, validate_values
    from ictaudit.validate.resolution import resolve_rounds

    folder = DATA_DIR / "raw" / "2017"
    if not (folder / "planted.csv").exists():
        from ictaudit.year.sample import write_sample_cycle

        folder = write_sample_cycle(2017, tmp_path_factory.mktemp("raw") / "2017")
    cycle = load_cycle(folder, rubric)
    intake = intake_cycle(cycle, rubric)
    context = make_context()
    round1 = validate_values(rubric, long_to_wide(intake.values), intake.statuses, round=1, context=context)
    corrected, report = apply_corrections(intake.values, cycle.corrections, rubric, intake.statuses)
    round2 = validate_values(rubric, long_to_wide(corrected), intake.statuses, round=2, context=context)
    planted = pd.read_csv(folder / "planted.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    return planted[planted.kind == "logic"], resolve_rounds(round1, round2, report), report


def test_sample_plants_logic_errors(sample_run):
    logic, _issues, _report = sample_run
    assert len(logic) >= 4


def test_planted_errors_are_found_with_their_check(sample_run):
    logic, issues, _report = sample_run
    round1 = issues[issues["round"] == 1]
    for p in logic.itertuples():
        found = round1[(round1.agency_id == p.agency_id) & (round1.check_id == p.check_id)]
        assert len(found) == 1, f"{p.agency_id}: {p.check_id} on {p.field} not found ({p.description})"
        assert p.field in found.iloc[0].fields.split(";")


def test_corrections_resolve_what_they_fix_and_the_rest_remains(sample_run):
    logic, issues, report = sample_run
    assert set(report.status) == {"applied"}, report[report.status != "applied"].to_string()
    for p in logic.itertuples():
        r1 = issues[(issues.agency_id == p.agency_id) & (issues.check_id == p.check_id) & (issues["round"] == 1)]
        r2 = issues[(issues.agency_id == p.agency_id) & (issues.check_id == p.check_id) & (issues["round"] == 2)]
        if p.correction_id:
            assert p.correction_id in r1.iloc[0].resolved_by.split(";"), p.description
            assert r2.empty, p.description
        else:
            assert r1.iloc[0].resolved_by == ""
            assert len(r2) == 1, p.description


@pytest.fixture(scope="module")
def rounds_inputs(rubric):
    from ictaudit.intake.cycle import load_cycle
    from ictaudit.intake.submissions import intake_cycle
    from ictaudit.intake.values import to_wide as long_to_wide
    from ictaudit.validate.corrections import apply_corrections

    folder = DATA_DIR / "raw" / "2017"
    cycle = load_cycle(folder, rubric)
    intake = intake_cycle(cycle, rubric)
    corrected, _report = apply_corrections(intake.values, cycle.corrections, rubric, intake.statuses)
    return long_to_wide(intake.values), long_to_wide(corrected), intake.statuses


def test_both_rounds_at_once_equal_one_validation_per_round(rubric, rounds_inputs, tmp_path):
    """validate_rounds (the second form validated by a forked worker) finds exactly what two
    sequential validate_values runs find, and its Data Docs list every form's suite and result."""
    from ictaudit.validate.gx import make_context, validate_rounds, validate_values

    submitted, confirmed, statuses = rounds_inputs
    context = make_context()
    round1, round2 = validate_rounds(rubric, submitted, confirmed, statuses, docs_dir=tmp_path, context=context)
    assert set(statuses[statuses.status == "ranked"].group) == {"so_ban_nganh", "ubnd_huyen"}  # two forms: a fork
    assert not round1.empty and not round2.empty
    # (object or string dtype of an empty part aside: the same rows, the same text)
    one_per_round = [validate_values(rubric, v, statuses, round=n, context=context) for n, v in ((1, submitted), (2, confirmed))]
    for at_once, alone in zip((round1, round2), one_per_round, strict=True):
        pd.testing.assert_frame_equal(at_once, alone, check_dtype=False)
    index = (tmp_path / "data-docs" / "index.html").read_text(encoding="utf-8")  # GX's Data Docs, the appendix
    for form_id in ("PL1", "PL2"):
        assert (tmp_path / f"results_{form_id}.json").exists()
        assert f"expectations/{form_id}_rounds_" in index, f"{form_id} suite missing from the Data Docs index"
        assert f"validations/{form_id}_rounds_" in index, f"{form_id} result missing from the Data Docs index"


def test_one_core_validates_the_forms_in_turn_with_the_same_issues(rubric, rounds_inputs, tmp_path, monkeypatch):
    from ictaudit.validate.gx import make_context, validate_rounds

    submitted, confirmed, statuses = rounds_inputs
    context = make_context()
    forked = validate_rounds(rubric, submitted, confirmed, statuses, context=context)
    monkeypatch.setattr("os.cpu_count", lambda: 1)
    in_turn = validate_rounds(rubric, submitted, confirmed, statuses, docs_dir=tmp_path, context=context)
    for a, b in zip(forked, in_turn, strict=True):
        pd.testing.assert_frame_equal(a, b)
    assert "validations/PL2_rounds_" in (tmp_path / "data-docs" / "index.html").read_text(encoding="utf-8")

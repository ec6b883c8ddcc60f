"""Reading the scenario files of this folder (YAML an auditor can read) into the frames scoring takes."""

from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from ictaudit.rules.rubric import Rubric, load_rubric

HERE = Path(__file__).parent
YES = {"Có": 1.0, "Không": 0.0}


def _value(x):
    if x is None:
        return np.nan
    return YES[x] if isinstance(x, str) else float(x)


def load_scenario(path: Path | str) -> tuple[dict, Rubric, pd.DataFrame, pd.DataFrame]:
    """``(spec, rubric, values_wide, agencies)`` of one scenario file (a name here, or a path).

    Agencies take their group, status (default ``ranked``) and values (Có/Không for yes/no, null
    for a blank); the rubric is a file beside the scenario or a rubric id.
    """
    path = Path(path) if Path(path).is_absolute() else HERE / path
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    ref = spec["rubric"]
    rubric = load_rubric(path.parent / ref if ref.endswith(".yaml") else ref)
    agencies = pd.DataFrame(
        {
            "agency_id": a["id"],
            "agency_name": a.get("name", a["id"]),
            "group": a["group"],
            "status": a.get("status", "ranked"),
            "status_reason": "",
        }
        for a in spec["agencies"]
    )
    rows = {a["id"]: {k: _value(v) for k, v in a["values"].items()} for a in spec["agencies"] if "values" in a}
    return spec, rubric, pd.DataFrame.from_dict(rows, orient="index"), agencies


CHECK_SCENARIOS = sorted((HERE / "checks").glob("*.yaml"))


def load_check_scenarios(paths=CHECK_SCENARIOS) -> tuple[Rubric, pd.DataFrame, pd.DataFrame, pd.DataFrame, dict]:
    """``(rubric, values_wide, last_year_wide, agencies, cases)`` of the check scenario files, all at once.

    Each agency is the plausible agency of ``tests/plausible.py`` with its ``values`` changed, and
    last year the plausible agency with its ``last_year`` values changed (no row without them). An
    agency's id is ``<file stem>/<id>``; ``cases`` maps it to its entry in the file.
    """
    from ..plausible import plausible_values

    rows, last_rows, groups, cases, rubric = {}, {}, {}, {}, None
    for path in paths:
        spec = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        rubric = rubric or load_rubric(spec["rubric"])
        assert spec["rubric"] == rubric.id, f"{path}: every check scenario uses one rubric"
        for case in spec["agencies"]:
            agency_id = f"{Path(path).stem}/{case['id']}"
            assert agency_id not in cases, f"{agency_id} twice"
            base = plausible_values(rubric, rubric.form_of(case["group"]))
            rows[agency_id] = base | {k: _value(v) for k, v in case.get("values", {}).items()}
            if "last_year" in case:
                last_rows[agency_id] = base | {k: _value(v) for k, v in case["last_year"].items()}
            groups[agency_id], cases[agency_id] = case["group"], case
    wide = pd.DataFrame.from_dict(rows, orient="index").astype(float).rename_axis("agency_id")
    last_year = pd.DataFrame.from_dict(last_rows, orient="index").astype(float).rename_axis("agency_id")
    agencies = pd.DataFrame(
        {"agency_id": list(groups), "agency_name": list(groups), "group": list(groups.values()), "status": "ranked",
         "status_reason": ""}
    )  # fmt: skip
    return rubric, wide, last_year, agencies, cases

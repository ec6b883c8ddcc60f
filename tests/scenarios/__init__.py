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

"""Wall time of validating 2,000 agencies (1,000 per form), GX import and context creation included.

    .venv/bin/python benchmarks/validation_2000.py [--agencies 2000] [--seed 7] [--docs DIR]

The frame is synthetic: plausible agencies with a few values perturbed (logic errors, blanks), and a
previous year so that L24 runs too. Prints each phase's wall time and the issue counts.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ["GX_ANALYTICS_ENABLED"] = "false"
T0 = time.perf_counter()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agencies", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--docs", default=None, help="also build Data Docs and results JSON into this folder")
    args = parser.parse_args()

    import numpy as np
    import pandas as pd

    from ictaudit.rules.rubric import load_rubric
    from ictaudit.validate.gx import make_context, validate_values

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the plausible agency is a test helper
    from tests.plausible import plausible_values

    rubric = load_rubric("caobang-2310-2016")
    rng = np.random.default_rng(args.seed)
    ids, groups, rows = [], [], []
    for i in range(args.agencies):
        group = "so_ban_nganh" if i % 2 == 0 else "ubnd_huyen"
        values = plausible_values(rubric, rubric.form_of(group))
        for code, v in values.items():  # vary counts by ±30 %
            if v > 1 and rubric.field_by_code[code].type == "count":
                values[code] = float(round(v * rng.uniform(0.7, 1.0)))
        if rng.random() < 0.05:
            values["F02"] = values["F01"] + 5  # L03
        if rng.random() < 0.03:
            values["F05"] = np.nan  # L25
        if rng.random() < 0.02:
            values["F33"] = values["F29"] + values["F30"] + 1  # L15
        ids.append(f"a{i:05d}")
        groups.append(group)
        rows.append(values)
    wide = pd.DataFrame(rows, index=pd.Index(ids, name="agency_id")).astype(float)
    previous = wide * rng.choice([1.0, 0.3, 4.0], size=wide.shape, p=[0.98, 0.01, 0.01])
    agencies = pd.DataFrame(
        {"agency_id": ids, "agency_name": ids, "group": groups, "status": "ranked", "status_reason": ""}
    )
    t_data = time.perf_counter()

    context = make_context()
    t_context = time.perf_counter()
    issues = validate_values(
        rubric, wide, agencies, previous_wide=previous, round=1, docs_dir=args.docs, context=context
    )
    t_validate = time.perf_counter()

    print(
        f"agencies: {len(wide)} ({(agencies.group == 'so_ban_nganh').sum()} PL1, {(agencies.group == 'ubnd_huyen').sum()} PL2)"
    )
    print(f"imports (pandas, ictaudit) + synthetic data:    {t_data - T0:6.2f} s")
    print(f"GX import + context creation:                  {t_context - t_data:6.2f} s")
    print(f"validation (2 suites, issues frame):           {t_validate - t_context:6.2f} s")
    print(f"total wall time:                               {t_validate - T0:6.2f} s")
    print(issues.groupby(["check_id", "severity"]).size().to_string())


if __name__ == "__main__":
    main()

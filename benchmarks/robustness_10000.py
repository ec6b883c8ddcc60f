"""Wall time of the weight-perturbation analysis: 10,000 draws for a 35-agency cycle.

Synthetic values for 20 departments (PL1) and 15 districts (PL2), all ranked, on the shipped
Cao Bằng rubric. Run from the checkout::

    .venv/bin/python benchmarks/robustness_10000.py [--draws 10000] [--repeat 3]

Prints the time of scoring (once) and of the sampling, best of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from ictaudit.rules.rubric import load_rubric
from ictaudit.score import robustness as rb
from ictaudit.score.reweighting import group_criteria
from ictaudit.year.sample import random_values


def synthetic_values(rubric, departments: int = 20, districts: int = 15, seed: int = 2017):
    rng = np.random.default_rng(seed)
    rows, roster = {}, []
    for group, n in (("so_ban_nganh", departments), ("ubnd_huyen", districts)):
        fields = rubric.fields_for_form(rubric.form_of(group))
        for i in range(n):
            agency_id = f"{group}-{i:02d}"
            rows[agency_id] = random_values(fields, rng)
            roster.append({"agency_id": agency_id, "agency_name": agency_id, "group": group, "status": "ranked"})
    return pd.DataFrame.from_dict(rows, orient="index"), pd.DataFrame(roster).assign(status_reason="")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--draws", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--spread", type=float, default=0.25)
    args = ap.parse_args()

    rubric = load_rubric("caobang-2310-2016")
    values, agencies = synthetic_values(rubric)
    t0 = time.perf_counter()
    group_criteria(rubric, values, agencies)
    scoring = time.perf_counter() - t0

    times = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        result = rb.monte_carlo(rubric, values, agencies, draws=args.draws, spread=args.spread)
        times.append(time.perf_counter() - t0)
    t = result.table
    print(
        f"agencies: {len(t)} ranked ({(t['group'] == 'so_ban_nganh').sum()} departments, "
        f"{(t['group'] == 'ubnd_huyen').sum()} districts); draws: {args.draws}; spread: {args.spread}"
    )
    print(f"scoring once (score_points for both groups): {scoring * 1000:.1f} ms")
    print(
        f"monte_carlo, {args.draws} draws (scoring included): best {min(times):.3f} s, "
        f"runs {', '.join(f'{x:.3f}' for x in times)} s"
    )
    print(
        f"widest 95% interval: {int((t['p95_rank'] - t['p05_rank']).max())} ranks; "
        f"agencies with a band probability < 0.9: "
        f"{int((t[rb.band_columns(rubric)].max(axis=1) < 0.9).sum())}"
    )


if __name__ == "__main__":
    main()

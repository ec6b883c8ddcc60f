"""The trail built a column at a time against the row-by-row trail it replaced: the same frame."""

import json
import math

import numpy as np
import pandas as pd
import pytest

from ictaudit.rules.kinds import FLAG_ORDER
from ictaudit.score import scoring
from ictaudit.score.scoring import TRAIL_COLUMNS, score_cycle

# -- the reference: one row at a time, explain per agency × indicator ------------------------------


def _json_number(x):
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return None
    x = float(x)  # in full
    return int(x) if x.is_integer() and abs(x) < 1e15 else x


def _json_column(x):
    return ["null" if v is None else json.dumps(v) for v in map(_json_number, x.tolist())]


def reference_trail_rows(gp, original, used, blocked, with_explanations):
    ids = gp.agency_ids
    n = len(ids)
    orig = original.to_numpy()
    col_pos = {c: j for j, c in enumerate(original.columns)}
    json_of = {}
    blocked_by_agency = {}
    for agency_id, code in sorted(blocked):
        blocked_by_agency.setdefault(agency_id, []).append(code)
    parts = []
    for (criterion, ind), res in zip(gp.indicators, gp.results):
        fields = ind.input_fields
        for f in fields:
            if f not in json_of:
                json_of[f] = _json_column(orig[:, col_pos[f]])
        blank = {f: np.isnan(orig[:, col_pos[f]]) for f in fields}
        held = [[f for f in fields if f in blocked_by_agency.get(a, ())] for a in ids]
        detail = res.detail
        best = _json_column(detail["best"]) if ind.uses_best else None
        inputs_json, flags_col, explanations = [], [], []
        for i in range(n):
            h = held[i]
            body = ", ".join(f'"{f}": {json_of[f][i]}' for f in fields)
            if best is not None:
                body += f', "best": {best[i]}'
            if h:
                body += ", " + '"blocked": ' + json.dumps(h)
            inputs_json.append("{" + body + "}")
            flags = [name for name in FLAG_ORDER if name in res.flags and name != "missing" and res.flags[name][i]]
            if any(blank[f][i] for f in fields if f not in h):
                flags.insert(0, "missing")
            if h:
                flags.insert(1 if flags[:1] == ["missing"] else 0, "blocked")
            flags_col.append(";".join(flags))
            if with_explanations:
                d = {k: float(v[i]) for k, v in detail.items()}
                used_inputs = {f: (None if (f in h or blank[f][i]) else float(orig[i, col_pos[f]])) for f in fields}
                text = ind.explain(used_inputs, d, "vi")
                if h:
                    text = (
                        f"Số liệu {', '.join(h)} bị giữ lại do lỗi nghiêm trọng chưa được xác nhận, "
                        f"tính như thiếu số liệu. {text}"
                    )
                explanations.append(text)
            else:
                explanations.append("")
        parts.append(
            pd.DataFrame(
                {
                    "agency_id": ids, "group": gp.group_id, "criterion_id": criterion.id, "indicator_id": ind.id,
                    "kind": ind.kind, "inputs": inputs_json, "explanation_vi": explanations,
                    "formula": ind.formula(), "points": res.points.astype(float), "max_points": ind.max_points,
                    "applicable": res.applicable.astype(bool), "flags": flags_col,
                }
            )
        )  # fmt: skip
    df = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=TRAIL_COLUMNS)
    order = {ind.id: j for j, (_, ind) in enumerate(gp.indicators)}
    df["_o"] = df["indicator_id"].map(order)
    return df.sort_values(["agency_id", "_o"], kind="mergesort").drop(columns="_o").reset_index(drop=True)[TRAIL_COLUMNS]


# -- cycles with everything the trail has to say ------------------------------------------------------

ODD = [math.nan, 0.0, 1.0, 2.675, 84.995, 0.125, 1 / 3, 1e-7, 1234.5, 1e6, 123456789.25, 5e11]


def random_cycle(rubric, n: int, seed: int):
    """Type-correct values for every group (blanks, zeros, odd decimals, huge numbers), a roster with
    late and excluded agencies and one without values, and blocked values (some of them blank)."""
    rng = np.random.default_rng(seed)
    rows, roster = {}, []
    for g in rubric.group_ids:
        fields = rubric.fields_for_form(rubric.form_of(g))
        for i in range(n):
            agency = f"{g}-{i:03d}"
            roster.append((agency, g, str(rng.choice(["ranked", "ranked", "ranked", "late", "excluded"]))))
            if i == n - 1:
                continue  # on the roster, no values
            row = {}
            for f in fields:
                r = rng.random()
                if r < 0.06:
                    row[f.code] = math.nan
                elif f.type == "yesno":
                    row[f.code] = float(rng.integers(0, 2))
                elif r < 0.12:
                    row[f.code] = 0.0
                elif r < 0.2:
                    row[f.code] = float(rng.choice(ODD))
                else:
                    row[f.code] = float(rng.integers(0, 400))
            rows[agency] = row
    values = pd.DataFrame.from_dict(rows, orient="index")
    agencies = pd.DataFrame(roster, columns=["agency_id", "group", "status"])
    agencies["agency_name"] = "Sở " + agencies["agency_id"]
    agencies["status_reason"] = ""
    some = rng.choice(values.index.to_numpy(), min(6, len(values)), replace=False).tolist()
    blocked = {(a, str(rng.choice(values.columns))) for a in some}
    blocked |= {(some[0], c) for c in values.columns[:5]} | {("not-an-agency", "F01"), (some[1], "NOT_A_FIELD")}
    return values, agencies[["agency_id", "agency_name", "group", "status", "status_reason"]], blocked


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("with_explanations", [True, False])
def test_the_trail_is_the_row_by_row_trail(rubric, monkeypatch, seed, with_explanations):
    values, agencies, blocked = random_cycle(rubric, 40, seed)
    new = score_cycle(rubric, values, agencies, blocked, with_explanations)
    monkeypatch.setattr(scoring, "_trail_rows", reference_trail_rows)
    old = score_cycle(rubric, values, agencies, blocked, with_explanations)
    assert new.trail["flags"].str.contains("blocked").any() and new.trail["flags"].str.contains("missing").any()
    for name in ("trail", "scores", "criteria"):
        pd.testing.assert_frame_equal(getattr(new, name), getattr(old, name), check_exact=True)


def test_a_group_of_one_agency_and_a_cycle_without_values(rubric, monkeypatch):
    values, agencies, blocked = random_cycle(rubric, 2, 5)
    new = score_cycle(rubric, values, agencies, blocked)
    empty = score_cycle(rubric, values.iloc[:0], agencies)
    monkeypatch.setattr(scoring, "_trail_rows", reference_trail_rows)
    pd.testing.assert_frame_equal(new.trail, score_cycle(rubric, values, agencies, blocked).trail, check_exact=True)
    pd.testing.assert_frame_equal(empty.trail, score_cycle(rubric, values.iloc[:0], agencies).trail, check_exact=True)

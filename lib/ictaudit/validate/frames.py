"""The two frames the logic checks run on, built from the values of one form.

- the *agencies* frame (:func:`derive_columns`): one row per agency, the form's fields and the derived
  columns the check table declares (``F29_F30: F29 + F30``, ``F05_per_F01: F05 ÷ F01``), each
  computed over all agencies at once and blank whenever an input is blank;
- the *fields* frame (:func:`field_rows`): one row per agency × field, what the rules with ``types``
  read (:data:`~ictaudit.rules.checks.FIELD_ROW_COLUMNS`), so that one expectation checks every field
  of a type at once.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from ictaudit.rules.checks import CheckTable
from ictaudit.rules.expressions import evaluate
from ictaudit.rules.rubric import FieldSpec


def derive_columns(values: pd.DataFrame, specs: Iterable[FieldSpec], checks: CheckTable) -> pd.DataFrame:
    """The agencies frame: the form's fields (missing ones as blank columns), then every derived column
    of ``checks`` whose fields are all on the form, in the table's order.

    Pure: returns a new frame; ``values`` (floats, one row per agency) is not modified.
    """
    codes = [s.code for s in specs]
    out = values.reindex(columns=codes).astype(float)
    parameters = checks.parameter_values
    derived: dict[str, pd.Series] = {}
    for name, expression in checks.derived_expressions.items():
        fields = [n for n in expression.names if n not in parameters]
        if set(fields) <= set(codes):
            derived[name] = evaluate(expression, lambda n: parameters[n] if n in parameters else out[n])
    return pd.concat([out, pd.DataFrame(derived, index=out.index)], axis=1)


def field_rows(
    values: pd.DataFrame, specs: Iterable[FieldSpec], checks: CheckTable, previous: pd.DataFrame | None = None
) -> pd.DataFrame:
    """The fields frame: one row per agency × field of the form.

    Indexed like ``values`` (the agency, repeated for each field, agencies in order and each agency's
    fields in form order); columns :data:`~ictaudit.rules.checks.FIELD_ROW_COLUMNS`, in that order: ``value``, and
    the value again in the column of its type (``count`` / ``decimal`` / ``yesno``, blank in the
    others, so each rule sees only its type); ``count_fraction`` (the part after the decimal point of
    a count); ``yoy_ratio`` (this year / last year for a count, blank when either is blank, last year
    is not above 0, or both are below the table's ``yoy_min_base``); ``required`` (1 for the
    rubric's required fields). ``previous`` is last year's confirmed wide frame (same index name).
    """
    specs = list(specs)
    codes = [s.code for s in specs]
    now = values.reindex(columns=codes).astype(float).to_numpy()
    n, m = now.shape
    types = np.array([s.type for s in specs], dtype=object)
    before = np.full((n, m), np.nan)
    if previous is not None:  # last year's counts (yoy_ratio reads nothing else)
        counts = [j for j, s in enumerate(specs) if s.type == "count"]
        last = previous.reindex(index=values.index, columns=[codes[j] for j in counts])
        before[:, counts] = last.astype(float).to_numpy()
    min_base = checks.parameters["yoy_min_base"].value
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where((before > 0) & (np.fmax(now, before) >= min_base), now / before, np.nan)
    is_count = np.broadcast_to(types == "count", (n, m))
    count = np.where(is_count, now, np.nan)
    columns = {
        "field": np.tile(np.array(codes, dtype=object), n),
        "value": now.ravel(),
        "count": count.ravel(),
        "count_fraction": (count - np.floor(count)).ravel(),
        "decimal": np.where(types == "decimal", now, np.nan).ravel(),
        "yesno": np.where(types == "yesno", now, np.nan).ravel(),
        "yoy_ratio": np.where(is_count, ratio, np.nan).ravel(),
        "required": np.tile(np.array([int(s.required) for s in specs], dtype=np.int64), n),
    }
    return pd.DataFrame(columns, index=values.index.repeat(m))

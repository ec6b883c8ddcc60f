"""Values in long form (``values.csv``, docs/contracts.md §6) and as the wide frame scoring and validation use.

Long: one row per agency × field with its provenance (file, sha256, sheet, cell) and the correction
that set it, if any. Wide: one row per agency (index ``agency_id``), one float column per field,
NaN for a blank, yes/no as 1/0.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ictaudit.common.tables import read_csv, write_csv

VALUE_COLUMNS = (
    "agency_id", "field", "raw_value", "value", "source_file", "source_sha256", "sheet", "cell", "correction_id",
)  # fmt: skip


def to_wide(values: pd.DataFrame) -> pd.DataFrame:
    """Long values → wide floats; fields in the order they first appear, agencies sorted.

    A field listed twice for one agency is an error (it would hide which value was scored).
    """
    if missing := sorted({"agency_id", "field", "value"} - set(values.columns)):
        raise ValueError(f"values table lacks columns: {', '.join(missing)}")
    if values.empty:
        return pd.DataFrame(index=pd.Index([], name="agency_id", dtype=str), dtype=float)
    dup = values[values.duplicated(["agency_id", "field"])]
    if len(dup):
        pairs = ", ".join(f"{a}/{f}" for a, f in dup[["agency_id", "field"]].head(5).itertuples(index=False))
        raise ValueError(f"values table lists a field twice for one agency: {pairs}")
    fields = list(dict.fromkeys(values["field"].tolist()))
    wide = values.pivot(index="agency_id", columns="field", values="value").reindex(columns=fields).astype(float)
    wide.columns.name = None
    wide.index = wide.index.astype(str)
    wide.index.name = "agency_id"
    return wide.sort_index()


def _numbers(text: pd.Series) -> pd.Series:
    """``pd.to_numeric`` of a text column (blank → NaN) as float, each distinct text parsed once.

    to_numeric's choices (int or float, …) depend on which texts occur, not on how often, so the
    distinct texts give the same numbers; a text that is not a number is reported by the full call.
    """
    codes, distinct = pd.factorize(text.to_numpy(dtype=object))
    try:
        parsed = pd.to_numeric(pd.Series(distinct, dtype=text.dtype).replace("", np.nan), errors="raise")
    except (ValueError, TypeError):
        return pd.to_numeric(text.replace("", np.nan), errors="raise").astype(float)
    return pd.Series(parsed.astype(float).to_numpy()[codes], index=text.index, name=text.name)


def read_values(path: Path | str) -> pd.DataFrame:
    """``values.csv`` (or ``values_submitted.csv``) with ``value`` as float (blank → NaN)."""
    df = read_csv(Path(path))
    df["value"] = _numbers(df["value"])
    return df


def write_values(values: pd.DataFrame, path: Path | str) -> Path:
    """``values.csv``: the contract's columns, rows by agency (form order kept), UTF-8 with BOM."""
    ordered = values.sort_values("agency_id", kind="stable")
    return write_csv(ordered, Path(path), list(VALUE_COLUMNS))

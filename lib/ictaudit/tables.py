"""Writing the tidy tables of DESIGN §6: UTF-8 with BOM, fixed column order, stable bytes."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

# A text cell starting with one of these is run as a formula by Excel when the CSV is opened
# ("CSV injection"); such text is written with a leading apostrophe, which keeps it inert text.
# Text that itself starts with an apostrophe gets one too, so read_csv can undo the guard exactly.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
GUARD = "'"


def format_cell(x) -> str:
    """One cell as text, the same on every machine: 45.0 → "45", 0.1+0.2 → "0.3", NaN → "".

    Text that Excel would take for a formula (``=cmd|…``, ``+1``, ``-2``, ``@SUM``) gets a leading
    ``'`` so it stays text when the CSV is opened in a spreadsheet; numbers are never altered.
    """
    if isinstance(x, str):
        return GUARD + x if x.startswith((*FORMULA_START, GUARD)) else x
    if x is None or x is pd.NA or x is pd.NaT:
        return ""
    if isinstance(x, bool | np.bool_):
        return "true" if x else "false"
    if isinstance(x, int | np.integer):
        return str(int(x))
    if isinstance(x, float | np.floating):
        if math.isnan(x):
            return ""
        if math.isinf(x):
            return "inf" if x > 0 else "-inf"
        r = round(float(x), 6)
        if r.is_integer() and abs(r) < 1e15:
            return str(int(r))
        return repr(r)
    return str(x)


def write_csv(df: pd.DataFrame, path: Path, columns: list[str] | None = None) -> Path:
    """Write ``df`` (already sorted by the caller) with exactly ``columns``, in UTF-8 with BOM."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    cols = list(columns) if columns is not None else list(df.columns)
    if missing := [c for c in cols if c not in df.columns]:
        raise KeyError(f"{path.name}: columns {', '.join(missing)} are missing from the table")
    out = pd.DataFrame({c: [format_cell(x) for x in df[c].tolist()] for c in cols}, columns=cols)
    out.to_csv(path, index=False, encoding="utf-8-sig", lineterminator="\n")
    return path


def read_csv(path: Path) -> pd.DataFrame:
    """Read a table written by :func:`write_csv` back as strings (no type guessing), with each text
    exactly as it was before writing: the apostrophe guard is removed."""
    df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    for c in df.columns:
        col = df[c]
        guarded = col.str.startswith(GUARD)
        if guarded.any():
            df[c] = col.where(~guarded, col.str[1:])
    return df

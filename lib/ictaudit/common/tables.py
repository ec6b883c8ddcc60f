"""Writing the tidy tables of docs/contracts.md §6: UTF-8 with BOM, fixed column order, stable bytes."""

from __future__ import annotations

import codecs
import csv
import io
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from pandas.api.types import infer_dtype

# A text cell starting with one of these is run as a formula by Excel when the CSV is opened
# ("CSV injection"); such text is written with a leading apostrophe, which keeps it inert text.
# Text that itself starts with an apostrophe gets one too, so read_csv can undo the guard exactly.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
GUARD = "'"
_GUARDED_START = (*FORMULA_START, GUARD)


#: a whole float below this is written without a decimal point ("45", not "45.0")
_WHOLE_BELOW = 1e15


def format_cell(x) -> str:
    """One cell as text, the same on every machine: 45.0 → "45", 2/3 → "0.6666666666666666", NaN → "".

    A number is written in full: the shortest text that reads back as the very same double (Python's
    ``repr``), so a table read back gives the numbers the library computed, to the last bit
    (docs/contracts.md §6); a whole number below 10**15 without ``.0``.

    Text that Excel would take for a formula (``=cmd|…``, ``+1``, ``-2``, ``@SUM``) gets a leading
    ``'`` so it stays text when the CSV is opened in a spreadsheet; numbers are never altered.
    """
    if isinstance(x, str):
        return GUARD + x if x.startswith(_GUARDED_START) else x
    if x is None or x is pd.NA or x is pd.NaT:
        return ""
    if isinstance(x, bool | np.bool_):
        return "true" if x else "false"
    if isinstance(x, int | np.integer):
        return str(int(x))
    if isinstance(x, float | np.floating):
        x = float(x)
        if math.isnan(x):
            return ""
        if math.isinf(x):
            return "inf" if x > 0 else "-inf"
        if x.is_integer() and abs(x) < _WHOLE_BELOW:
            return str(int(x))
        return repr(x)
    return str(x)


# -- whole columns ------------------------------------------------------------------------------
# A national trail has millions of cells: format_cell per cell costs more than the scoring. The
# column versions give the same text, each distinct number (and each text of a column that repeats
# a few texts, like ids and codes) formatted once, and text cells touched only for the guard.


def _number_distinct(x: np.ndarray, scalar: Callable[[float], str]) -> tuple[np.ndarray, np.ndarray]:
    """The texts of the distinct values of ``x`` and the position of each element among them."""
    values, where = np.unique(x, return_inverse=True)
    with np.errstate(invalid="ignore"):
        whole = (np.abs(values) < _WHOLE_BELOW) & (values == np.floor(values))  # False for NaN, ±∞
    texts = np.empty(len(values), dtype=object)
    texts[whole] = [str(v) for v in values[whole].astype(np.int64).tolist()]
    texts[~whole] = [scalar(v) for v in values[~whole].tolist()]
    return texts, where.reshape(-1)


def number_texts(x: np.ndarray, scalar: Callable[[float], str] = format_cell) -> np.ndarray:
    """``scalar`` over a float array (object array of str), for a ``scalar`` that writes a whole
    ``|x| < 10**15`` as ``str(int(x))`` (format_cell, or a number's JSON text); other values are
    passed to ``scalar``. Each distinct value is formatted once (0.0 and -0.0 count as one: both give "0").
    """
    x = np.asarray(x, dtype=float).reshape(-1)
    texts, where = _number_distinct(x, scalar)
    return texts[where]


def _guard_texts(texts: list[str]) -> list[str]:
    """``format_cell`` of each str: the guard added where the text starts like a formula."""
    first = np.array(texts, dtype="U1")  # the first character of each text ("" for an empty one)
    starts = np.flatnonzero(np.isin(first, _GUARDED_START))
    if len(starts):
        texts = list(texts)
        for i in starts.tolist():
            texts[i] = GUARD + texts[i]
    return texts


def _repeats(values: np.ndarray) -> bool:
    """Whether a column of texts repeats a few texts (ids, codes), judged on its first rows."""
    head = values[:1024].tolist()
    return len(set(head)) * 4 <= len(head)


def _formatted(col: pd.Series) -> tuple[list[str], np.ndarray | None]:
    """:func:`format_cell` of a column: ``(texts, None)``, one text per cell, or ``(texts, codes)``,
    one text per distinct value and each cell's position among them."""
    dtype = col.dtype
    kind = dtype.kind if isinstance(dtype, np.dtype) else None
    if kind == "f":
        texts, where = _number_distinct(col.to_numpy(dtype=float), format_cell)
        return texts.tolist(), where
    if kind == "b":
        return ["false", "true"], col.to_numpy().astype(np.intp)
    if kind in ("i", "u"):
        return [str(v) for v in col.tolist()], None
    if isinstance(dtype, pd.Int64Dtype | pd.Int32Dtype | pd.Int16Dtype | pd.Int8Dtype):
        texts = np.array([str(v) for v in col.to_numpy(dtype=np.int64, na_value=0).tolist()], dtype=object)
        texts[col.isna().to_numpy()] = ""
        return texts.tolist(), None
    if kind == "O" or isinstance(dtype, pd.StringDtype):
        values = col.to_numpy(dtype=object)
        if infer_dtype(values, skipna=False) != "string":  # not str only: NaN, None or numbers among them
            if not isinstance(dtype, pd.StringDtype):
                return [format_cell(x) for x in values.tolist()], None
            values = col.fillna("").to_numpy(dtype=object)  # str or missing, which format_cell writes as ""
        if _repeats(values):
            codes, distinct = pd.factorize(values)
            return _guard_texts(distinct.tolist()), codes
        return _guard_texts(values.tolist()), None
    return [format_cell(x) for x in col.tolist()], None


def _expand(texts: list[str], codes: np.ndarray | None) -> list[str]:
    return texts if codes is None else np.array(texts, dtype=object)[codes].tolist()


def format_column(col: pd.Series) -> list[str]:
    """:func:`format_cell` of every cell of ``col``, vectorised by dtype (other dtypes cell by cell)."""
    return _expand(*_formatted(col))


def _csv_quoted_chars() -> str:
    """The characters that make Python's csv writer (pandas' too) put a field in quotes."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    chars = [chr(c) for c in range(128)]
    for ch in chars:
        writer.writerow([f"a{ch}b", "c"])
    lines = out.getvalue()
    return "".join(ch for ch in chars if f'"a{ch}b' in lines or f'"a{ch}{ch}b' in lines)


#: what makes a field quoted: the csv writer's own characters, and "\r" always — Python 3.11's
#: writer leaves a lone "\r" unquoted with "\n" line ends, and every reader then breaks the row there
_QUOTED = "".join(sorted(set(_csv_quoted_chars()) | {"\r"}))
_QUOTED_USUAL = set(_QUOTED) == set(',"\n\r')


def _quote_texts(texts: list[str]) -> list[str]:
    """Fields as the csv writer writes them (QUOTE_MINIMAL, quotes doubled), in rows of ≥ 2 fields,
    and a field holding "\r" in quotes too."""
    if _QUOTED_USUAL:
        needs = [("," in t or '"' in t or "\n" in t or "\r" in t) for t in texts]
    else:
        needs = [any(c in t for c in _QUOTED) for t in texts]
    if not any(needs):
        return texts
    if any('"' in t for t in texts):  # the csv module doubles them
        return ['"' + t.replace('"', '""') + '"' if q else t for t, q in zip(texts, needs)]
    return [f'"{t}"' if q else t for t, q in zip(texts, needs)]


def write_csv(df: pd.DataFrame, path: Path, columns: list[str] | None = None) -> Path:
    """Write ``df`` (already sorted by the caller) with exactly ``columns``, in UTF-8 with BOM."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    cols = list(columns) if columns is not None else list(df.columns)
    if missing := [c for c in cols if c not in df.columns]:
        raise KeyError(f"{path.name}: columns {', '.join(missing)} are missing from the table")
    if len(cols) < 2 or not all(isinstance(c, str) for c in cols):  # the csv module's corner cases
        out = pd.DataFrame({c: format_column(df[c]) for c in cols}, columns=cols)
        has_cr = any("\r" in t for c in cols for t in out[c]) or any("\r" in str(c) for c in cols)
        quoting = csv.QUOTE_ALL if has_cr else csv.QUOTE_MINIMAL  # a lone "\r" would break the row
        out.to_csv(path, index=False, encoding="utf-8-sig", lineterminator="\n", quoting=quoting)
        return path
    # The bytes of pandas' to_csv (the csv module: QUOTE_MINIMAL, "\n") at a fraction of its cost:
    # each column formatted once (a column repeating a few texts: each of them once, and quoted
    # once), then the rows joined and written a chunk at a time, which keeps the memory in bounds.
    columns = []
    for c in cols:
        texts, codes = _formatted(df[c])
        columns.append((texts, None) if codes is None else (np.array(_quote_texts(texts), dtype=object), codes))
    with open(path, "wb") as f:
        f.write(codecs.BOM_UTF8)
        f.write(_joined_rows([[t] for t in _quote_texts([str(c) for c in cols])]))
        for begin in range(0, len(df), _CHUNK_ROWS):
            end = begin + _CHUNK_ROWS
            f.write(
                _joined_rows(
                    [_quote_texts(texts[begin:end]) if codes is None else texts[codes[begin:end]].tolist()
                     for texts, codes in columns]
                )
            )  # fmt: skip
    return path


_CHUNK_ROWS = 50_000


def _joined_rows(fields: list[list[str]]) -> bytes:
    """Rows of CSV in UTF-8 from each column's fields (quoted already): one flat list, one join."""
    k, n = len(fields), len(fields[0])
    flat = [","] * (2 * k * n)
    flat[2 * k - 1 :: 2 * k] = ["\n"] * n
    for j, column in enumerate(fields):
        flat[2 * j :: 2 * k] = column
    return "".join(flat).encode("utf-8")


def _may_start_a_cell(data: bytes, mark: bytes) -> bool:
    """Whether some cell of CSV ``data`` may start with ``mark``: found at the start, after the BOM,
    a comma or a line end, or behind the opening quote of a field (a look at the bytes that never
    misses such a cell; a text holding ``,'`` only costs the exact check)."""
    count = data.count(mark)
    if count == 0:
        return False
    if count > 100_000:
        return True
    bom = codecs.BOM_UTF8 if data.startswith(codecs.BOM_UTF8) else b""
    i = data.find(mark)
    while i >= 0:
        start = i - 1 if i > len(bom) and data[i - 1] == ord('"') else i
        if start == len(bom) or data[start - 1] in b",\n\r":
            return True
        i = data.find(mark, i + 1)
    return False


def read_csv(path: Path, columns: list[str] | None = None) -> pd.DataFrame:
    """Read a table written by :func:`write_csv` back as strings (no type guessing), with each text
    exactly as it was before writing: the apostrophe guard is removed. ``columns``: only these."""
    path = Path(path)
    df = pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False, encoding="utf-8-sig", usecols=columns)
    if not _may_start_a_cell(path.read_bytes(), GUARD.encode()):  # nothing is guarded
        return df
    for c in df.columns:
        col = df[c]
        texts = col.tolist()
        joined = "\x00".join(texts)
        if joined.startswith(GUARD) or "\x00" + GUARD in joined:
            df[c] = pd.Series([t[1:] if t.startswith(GUARD) else t for t in texts], index=df.index, dtype=col.dtype)
    return df

"""Numbers as people read them: Vietnamese (1.234,56) or English (1,234.56), and rounding."""

from __future__ import annotations

import math
from datetime import date

import numpy as np

#: from 2**52 on, a float has no fraction: when x · 10**decimals gets there, x has no digit to round at
#: 10**-decimals (and the product may overflow), so rounding gives x back
_WHOLE_FROM = 2.0**52


def round_half_up(x, decimals: int):
    """Round half away from zero, as Excel's ROUND and published tables do (not banker's rounding).

    Works on scalars and numpy arrays; NaN stays NaN. A tiny epsilon absorbs binary noise such as
    84.995 being stored as 84.99499999….
    """
    factor = 10.0**decimals
    if isinstance(x, int | float) and not isinstance(x, bool):  # fast path: one Python number
        if math.isnan(x) or math.isinf(x):
            return float(x)
        if abs(x) * factor >= _WHOLE_FROM:  # no digit left at 10**-decimals (the product may be inf)
            return float(x) + 0.0
        r = math.floor(abs(x) * factor + 0.5 + 1e-9) / factor
        return (r if x >= 0 else -r) + 0.0
    arr = np.asarray(x, dtype=float)
    with np.errstate(over="ignore", invalid="ignore"):
        scaled = np.abs(arr) * factor
        out = np.where(scaled >= _WHOLE_FROM, arr, np.sign(arr) * np.floor(scaled + 0.5 + 1e-9) / factor)
    out = out + 0.0  # turn -0.0 into 0.0
    if np.ndim(out) == 0:
        return float(out)
    return out


def is_nan(x) -> bool:
    """No number here: None, pandas' NA or NaN (a text or other value that is not a number is not NaN)."""
    if x is None:
        return True
    try:
        return math.isnan(float(x))
    except (TypeError, ValueError):
        from pandas import NA  # loaded already wherever pandas' NA can be met

        return x is NA


_VI_SEPARATORS = str.maketrans({",": ".", ".": ","})


def fmt_number(x: float | None, decimals: int = 2, lang: str = "vi", trim: bool = False) -> str:
    """``fmt_number(1234.5) == "1.234,50"``; ``lang="en"`` gives ``"1,234.50"``; None/NaN give ``"—"``.

    ``trim=True`` drops trailing zeros of the decimals (``0,9`` rather than ``0,90``).
    """
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    if math.isinf(x):
        return "∞" if x > 0 else "-∞"
    x = round_half_up(float(x), decimals)
    text = f"{x:,.{decimals}f}"
    if trim and "." in text:
        text = text.rstrip("0").rstrip(".")
    if lang == "vi":
        text = text.translate(_VI_SEPARATORS)
    return text


def fmt_value(x: float | None, lang: str = "vi") -> str:
    """An input value as typed: whole numbers without decimals, others with up to 4 decimals."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "trống" if lang == "vi" else "blank"
    if float(x).is_integer():
        return fmt_number(x, 0, lang)
    return fmt_number(x, 4, lang, trim=True)


def fmt_ratio(x: float, lang: str = "vi") -> str:
    """A ratio with at least 2 and at most 4 decimals: ``0,90``, ``0,3333``."""
    text = fmt_number(x, 4, lang)
    sep = "," if lang == "vi" else "."
    if sep not in text:  # ∞ (a ratio to a best that is all but zero)
        return text
    whole, frac = text.split(sep)
    frac = frac.rstrip("0").ljust(2, "0")
    return f"{whole}{sep}{frac}"


def fmt_date(d: date, lang: str = "vi") -> str:
    """Dates as dd/mm/yyyy (the Vietnamese convention); ISO for ``lang="iso"``."""
    return d.isoformat() if lang == "iso" else d.strftime("%d/%m/%Y")


# -- whole columns ------------------------------------------------------------------------------
# The trail formats a few numbers per agency × indicator; calling the functions above per value
# costs more than the scoring itself. The column versions below give the same text for every
# value: a finite value below _ARRAY_EXACT_BELOW is printed from k = |round_half_up(x)|·10^d, an
# integer computed by the very operations of round_half_up (whole part once per distinct value,
# decimals by table look-up); any other value (NaN, ±∞, huge) goes through the scalar function.

_ARRAY_EXACT_BELOW = 1e9  # below this f"{k / 10**d:.{d}f}" prints k's digits exactly (ulp ≪ 10**-d)
_MAX_ARRAY_DECIMALS = 4
_decimal_tables: dict[tuple[int, str, str], np.ndarray] = {}


def _decimals_table(decimals: int, lang: str, style: str) -> np.ndarray:
    """The text after the whole part for every ``k % 10**decimals``: ``",05"`` (style ``fixed``),
    ``",05"``/``""`` without trailing zeros (``trim``), or at least 2 decimals (``ratio``)."""
    key = (decimals, lang, style)
    if (table := _decimal_tables.get(key)) is None:
        sep = "," if lang == "vi" else "."
        texts = []
        for f in range(10**decimals):
            digits = f"{f:0{decimals}d}" if decimals else ""
            if style == "trim":
                digits = digits.rstrip("0")
            elif style == "ratio":
                digits = digits.rstrip("0").ljust(2, "0")
            texts.append(sep + digits if digits else "")
        table = _decimal_tables[key] = np.array(texts, dtype=object)
    return table


def _distinct_ints(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(keys, return_inverse=True)`` for integers ≥ 0, without sorting when their range is small."""
    if not len(keys):
        return keys, np.zeros(0, dtype=np.intp)
    low, high = int(keys.min()), int(keys.max())
    if high - low > 4 * len(keys) + 1024:
        distinct, where = np.unique(keys, return_inverse=True)
        return distinct, where.reshape(-1)
    present = np.zeros(high - low + 1, dtype=bool)
    present[keys - low] = True
    rank = np.cumsum(present) - 1
    return np.flatnonzero(present) + low, rank[keys - low]


def _fixed_texts(x: np.ndarray, decimals: int, lang: str, style: str) -> np.ndarray:
    """Text of finite ``|x| < _ARRAY_EXACT_BELOW`` rounded half up: ``fmt_number`` (styles fixed and
    trim) or ``fmt_ratio`` (style ratio). Object array of str."""
    factor = 10.0**decimals
    k = np.floor(np.abs(x) * factor + 0.5 + 1e-9)  # the operations of round_half_up, in its order
    k_int = k.astype(np.int64)
    scale = 10**decimals
    whole, frac = np.divmod(k_int, scale)
    negative = (x < 0) & (k > 0)  # round_half_up turns -0.0 into 0.0: no sign for a value rounding to 0
    keys, where = _distinct_ints(whole * 2 + negative)
    wholes = [("-" if key & 1 else "") + f"{key >> 1:,}" for key in keys.tolist()]
    if lang == "vi":
        wholes = [w.replace(",", ".") for w in wholes]
    out = np.array(wholes, dtype=object)[where]
    if decimals:
        out = out + _decimals_table(decimals, lang, style)[frac]
    return out


def _column(x, easy_texts, scalar) -> np.ndarray:
    """Object array: ``easy_texts`` of the finite values below _ARRAY_EXACT_BELOW, ``scalar`` of the rest."""
    x = np.asarray(x, dtype=float).reshape(-1)
    out = np.empty(len(x), dtype=object)
    with np.errstate(invalid="ignore"):
        easy = np.abs(x) < _ARRAY_EXACT_BELOW  # False for NaN and ±∞
    if easy.any():
        out[easy] = easy_texts(x[easy])
    if not easy.all():
        out[~easy] = [scalar(v) for v in x[~easy].tolist()]
    return out


def fmt_number_array(x, decimals: int = 2, lang: str = "vi", trim: bool = False) -> np.ndarray:
    """:func:`fmt_number` of every element (an object array of str, the same text)."""
    if not 0 <= decimals <= _MAX_ARRAY_DECIMALS:
        values = np.asarray(x, dtype=float).reshape(-1).tolist()
        return np.array([fmt_number(v, decimals, lang, trim) for v in values], dtype=object)
    style = "trim" if trim else "fixed"
    return _column(x, lambda v: _fixed_texts(v, decimals, lang, style), lambda v: fmt_number(v, decimals, lang, trim))


def fmt_ratio_array(x, lang: str = "vi") -> np.ndarray:
    """:func:`fmt_ratio` of every element."""
    return _column(x, lambda v: _fixed_texts(v, 4, lang, "ratio"), lambda v: fmt_ratio(v, lang))


def fmt_value_array(x, lang: str = "vi") -> np.ndarray:
    """:func:`fmt_value` of every element (NaN is a blank)."""

    def easy(v: np.ndarray) -> np.ndarray:
        out = np.empty(len(v), dtype=object)
        whole = v == np.floor(v)
        if whole.any():
            out[whole] = _fixed_texts(v[whole], 0, lang, "fixed")
        if not whole.all():
            out[~whole] = _fixed_texts(v[~whole], 4, lang, "trim")
        return out

    return _column(x, easy, lambda v: fmt_value(v, lang))

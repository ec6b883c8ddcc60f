"""Numbers as people read them: Vietnamese (1.234,56) or English (1,234.56), and rounding."""

from __future__ import annotations

import math
from datetime import date

import numpy as np

#: from 2**52 on, a float has no fraction: when x · 10**decimals gets there, x has no digit to round at
#: 10**-decimals (and the product may overflow), so rounding gives x back
_WHOLE_FROM = 2.0**52
#: above 2**41 a spreadsheet takes a number as it is (no more than 11 bits of it are a fraction)
_APPROX_ABOVE = 2.0**41
#: z · (1 − this) and above, below the next whole number, is a candidate for 15-digit rounding up to it
_NEAR_WHOLE = 1e-13


def _approx_15_digits(z: float) -> float:
    """``z > 0`` rounded to 15 significant digits as LibreOffice's ``rtl::math::approxValue`` does.

    A whole number, a number with at most 11 bits of fraction or one above 2**41 is taken as it is;
    otherwise ``z · 10**(14 − floor(log10 z))`` is rounded half away from zero and scaled back.
    """
    if z > _APPROX_ABOVE or z.is_integer() or z.as_integer_ratio()[1].bit_length() - 1 <= 11:
        return z
    n = 14 - math.floor(math.log10(z))
    f = 10.0 ** abs(n)
    w = math.floor((z * f if n >= 0 else z / f) + 0.5)  # std::round of a positive number
    return w / f if n >= 0 else w * f


def half_up_units(scaled: np.ndarray) -> np.ndarray:
    """``floor(approx15(scaled + 0.5))`` for ``0 ≤ scaled < 2**52`` (``|x| · 10**decimals``): the whole number
    of units of the last decimal that round half up gives, as a float array (NaN stays NaN).

    The 15-significant-digit step is what spreadsheets do (see :func:`round_half_up`): it can only
    lift a sum just below a whole number up to it, so it is taken only there.
    """
    z = np.asarray(scaled, dtype=float) + 0.5
    k = np.floor(z)
    with np.errstate(invalid="ignore"):
        near = (k + 1.0 - z) <= z * _NEAR_WHOLE  # False for NaN
    if near.any():
        k[near] = [math.floor(_approx_15_digits(v)) for v in z[near].tolist()]
    return k


def round_half_up(x, decimals: int):
    """Round half away from zero to ``decimals`` places, exactly as a spreadsheet's ``ROUND`` does.

    Spreadsheets see a number at 15 significant digits: ``ROUND(x, 2)`` in LibreOffice computes
    ``floor(approx15(|x| · 100 + 0.5)) / 100`` (``rtl::math::round``, "corrected" mode), so 84.995
    stored as 84.99499999999999… gives 85 while 84.99499999 gives 84.99; Excel, which shows and
    rounds numbers at 15 digits, agrees. This function does those very operations, so the library,
    ``report.xlsx``'s ``ROUND`` cells and every page agree to the bit on each published number
    (``tests/test_rounding_boundaries.py`` holds library and LibreOffice together at x,xx5).

    Works on scalars and numpy arrays; NaN and ±∞ stay as they are; once ``|x| · 10**decimals``
    reaches 2**52 there is no digit left to round and ``x`` comes back.
    """
    factor = 10.0**decimals
    if isinstance(x, int | float) and not isinstance(x, bool):  # fast path: one Python number
        if math.isnan(x) or math.isinf(x):
            return float(x)
        scaled = abs(x) * factor
        if scaled >= _WHOLE_FROM:  # no digit left at 10**-decimals (the product may be inf)
            return float(x) + 0.0
        z = scaled + 0.5
        k = math.floor(z)
        if k + 1.0 - z <= z * _NEAR_WHOLE:
            k = math.floor(_approx_15_digits(z))
        r = k / factor
        return (r if x >= 0 else -r) + 0.0
    arr = np.asarray(x, dtype=float)
    with np.errstate(over="ignore", invalid="ignore"):
        scaled = np.abs(arr) * factor
        whole = scaled >= _WHOLE_FROM  # ±∞ too
        units = half_up_units(np.where(whole, 0.0, scaled))
        out = np.where(whole, arr, np.sign(arr) * units / factor)
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
    k = half_up_units(np.abs(x) * factor)  # the operations of round_half_up, in its order
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

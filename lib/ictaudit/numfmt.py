"""Numbers as people read them: Vietnamese (1.234,56) or English (1,234.56), and rounding."""

from __future__ import annotations

import math
from datetime import date

import numpy as np


def round_half_up(x, decimals: int):
    """Round half away from zero, as Excel's ROUND and published tables do (not banker's rounding).

    Works on scalars and numpy arrays; NaN stays NaN. A tiny epsilon absorbs binary noise such as
    84.995 being stored as 84.99499999….
    """
    factor = 10.0**decimals
    if isinstance(x, int | float) and not isinstance(x, bool):  # fast path: one Python number
        if math.isnan(x) or math.isinf(x):
            return float(x)
        r = math.floor(abs(x) * factor + 0.5 + 1e-9) / factor
        return (r if x >= 0 else -r) + 0.0
    arr = np.asarray(x, dtype=float)
    out = np.sign(arr) * np.floor(np.abs(arr) * factor + 0.5 + 1e-9) / factor
    out = out + 0.0  # turn -0.0 into 0.0
    if np.ndim(out) == 0:
        return float(out)
    return out


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

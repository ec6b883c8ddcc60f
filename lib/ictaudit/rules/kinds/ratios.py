"""The ratio kinds: ``ratio`` (``max × min(num / den, 1)``) and ``ratio_to_best`` (against the group's best)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ictaudit.common.numfmt import fmt_number, fmt_number_array, fmt_ratio, fmt_ratio_array, fmt_value, fmt_value_array
from ictaudit.rules.kinds.base import (
    WORDS,
    IndicatorKind,
    KindResult,
    column,
    explain_distinct,
    is_blank,
    points_text,
    xl_number,
)


def _sum_cols(values: pd.DataFrame, codes: Sequence[str]) -> np.ndarray:
    """Sum of fields, NaN where any of them is blank (a partial sum would hide missing data)."""
    total = np.zeros(len(values))
    for c in codes:
        total = total + column(values, c)
    return total


def _expr(codes: Sequence[str], values: Mapping[str, float | None] | None, lang: str) -> str:
    """``F29 + F30`` or, with values, ``3 + 2``; parenthesised when it is a sum."""
    parts = [fmt_value(values[c], lang) if values is not None else c for c in codes]
    text = " + ".join(parts)
    return f"({text})" if len(parts) > 1 else text


def _xl_sum(codes: Sequence[str], refs: Mapping[str, str]) -> str:
    text = "+".join(refs[c] for c in codes)
    return f"({text})" if len(codes) > 1 else text


def _xl_any_blank(codes: Sequence[str], refs: Mapping[str, str]) -> str:
    cells = [f"ISBLANK({refs[c]})" for c in dict.fromkeys(codes)]
    return cells[0] if len(cells) == 1 else f"OR({','.join(cells)})"


def _expr_many(codes: Sequence[str], inputs: Mapping[str, np.ndarray], lang: str) -> np.ndarray:
    """:func:`_expr` with values, for every row (no input blank)."""
    parts = [fmt_value_array(inputs[c], lang) for c in codes]
    if len(parts) == 1:
        return parts[0]
    return np.array([f"({' + '.join(p)})" for p in zip(*parts)], dtype=object)


class Ratio(IndicatorKind):
    """``max × min(num / den, 1)``; num and den are a field or a sum of fields."""

    kind = "ratio"
    indicator_params = frozenset({"num", "den", "na_when_zero"})

    def __init__(self, id: str, max_points: float, num: Sequence[str], den: Sequence[str], na_when_zero: bool = False):
        super().__init__(id, max_points)
        if not num or not den:
            raise ValueError("needs num and den (a field or a list of fields to add)")
        self.num = tuple(num)
        self.den = tuple(den)
        self.na_when_zero = bool(na_when_zero)

    @property
    def input_fields(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.num + self.den))

    def accepts_type(self, code: str, field_type: str) -> bool:
        return field_type != "yesno"

    def _ratio(self, values: pd.DataFrame):
        num = _sum_cols(values, self.num)
        den = _sum_cols(values, self.den)
        missing = np.isnan(num) | np.isnan(den)
        zero = ~missing & (den == 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(missing | zero, np.nan, num / np.where(den == 0, 1, den))
        return num, den, ratio, missing, zero

    def compute(self, values: pd.DataFrame, ranked: np.ndarray | None = None) -> KindResult:
        num, den, ratio, missing, zero = self._ratio(values)
        capped = ~np.isnan(ratio) & (ratio > 1)
        points = np.where(np.isnan(ratio), 0.0, self.max_points * np.minimum(ratio, 1.0))
        na = zero & self.na_when_zero
        flags = {"missing": missing, "capped": capped, "na": na, "zero_denominator": zero & ~self.na_when_zero}
        return KindResult(points, ~na, flags, {"num": num, "den": den, "ratio": ratio})

    def _guard(self, inputs, detail, lang) -> str | None:
        w = WORDS[lang]
        blanks = [c for c in self.input_fields if is_blank(inputs.get(c))]
        if blanks:
            return f"{w['missing']} ({', '.join(blanks)} {w['blank']}) → {points_text(0, lang)}"
        if detail["den"] == 0:
            den = _expr(self.den, None, lang)
            if self.na_when_zero:
                return f"{w['na']}: {den} = 0 → {w['na_tail']}"
            return f"{den} = 0: {w['zero_den']} → {points_text(0, lang)}"
        return None

    def explain(self, inputs, detail, lang="vi"):
        w = WORDS[lang]
        if (early := self._guard(inputs, detail, lang)) is not None:
            return early
        r = detail["ratio"]
        head = (
            f"{w['ratio']} = {_expr(self.num, None, lang)} / {_expr(self.den, None, lang)} = "
            f"{_expr(self.num, inputs, lang)} / {_expr(self.den, inputs, lang)} = {fmt_ratio(r, lang)}"
        )
        mx = fmt_number(self.max_points, 2, lang, trim=True)
        if r > 1:
            return f"{head} > 1, {w['take_one']} → 1 × {mx} = {points_text(self.max_points, lang)}"
        return f"{head} → {fmt_ratio(r, lang)} × {mx} = {points_text(self.max_points * r, lang)}"

    def explain_many(self, inputs, detail, lang="vi"):
        """Rows with a blank or a zero denominator once per distinct row; the others (the numbers
        differ in every row) a column at a time, the same text as :meth:`explain`."""
        den = np.asarray(detail["den"], dtype=float).reshape(-1)
        plain = den != 0  # NaN too, as in explain
        for c in self.input_fields:
            plain &= ~np.isnan(np.asarray(inputs[c], dtype=float).reshape(-1))
        out = np.empty(len(den), dtype=object)
        if not plain.all():
            rest = ~plain
            out[rest] = explain_distinct(
                self, {c: np.asarray(inputs[c])[rest] for c in self.input_fields},
                {k: np.asarray(v)[rest] for k, v in detail.items()}, lang,
            )  # fmt: skip
        if plain.any():
            out[plain] = self._explain_plain(
                {c: np.asarray(inputs[c], dtype=float)[plain] for c in self.input_fields},
                {k: np.asarray(v, dtype=float)[plain] for k, v in detail.items()}, lang,
            )  # fmt: skip
        return out

    def _head_many(self, inputs, v: np.ndarray, lang: str) -> tuple[str, np.ndarray, np.ndarray, np.ndarray]:
        """The pieces of ``… = F02 / F01 = 45 / 50 = 0,90`` per row: the text before the values, the
        values of the numerator and of the denominator, and the ratio."""
        lead = f"{_expr(self.num, None, lang)} / {_expr(self.den, None, lang)} = "
        num, den = _expr_many(self.num, inputs, lang), _expr_many(self.den, inputs, lang)
        return lead, num, den, fmt_ratio_array(v, lang)

    def _explain_plain(self, inputs, detail, lang) -> np.ndarray:
        w = WORDS[lang]
        r = detail["ratio"]
        lead, num, den, r_text = self._head_many(inputs, r, lang)
        lead = f"{w['ratio']} = {lead}"
        mx = fmt_number(self.max_points, 2, lang, trim=True)
        out = np.empty(len(r), dtype=object)
        over = r > 1
        tail = f" > 1, {w['take_one']} → 1 × {mx} = {points_text(self.max_points, lang)}"
        out[over] = [f"{lead}{a} / {b} = {t}{tail}" for a, b, t in zip(num[over], den[over], r_text[over])]
        under = ~over
        pts = fmt_number_array(self.max_points * r[under], 2, lang)
        times, unit = f" × {mx} = ", f" {w['points']}"
        out[under] = [
            f"{lead}{a} / {b} = {t} → {t}{times}{p}{unit}"
            for a, b, t, p in zip(num[under], den[under], r_text[under], pts)
        ]
        return out

    def formula(self) -> str:
        text = f"{self.max_points:g} × min({_expr(self.num, None, 'en')} / {_expr(self.den, None, 'en')}, 1)"
        if self.na_when_zero:
            text += f"; N/A when {_expr(self.den, None, 'en')} = 0"
        return text

    def excel_formula(self, refs, best_ref=None):
        num, den = _xl_sum(self.num, refs), _xl_sum(self.den, refs)
        on_zero = '""' if self.na_when_zero else "0"
        return (
            f"=IF({_xl_any_blank(self.input_fields, refs)},0,IF({den}=0,{on_zero},"
            f"{xl_number(self.max_points)}*MIN({num}/{den},1)))"
        )


class RatioToBest(Ratio):
    """``max × (v / best)``, ``v = num / den``, ``best`` the largest v among ranked agencies of the group."""

    kind = "ratio_to_best"

    @property
    def uses_best(self) -> bool:
        return True

    def best_of(self, values: pd.DataFrame, ranked: np.ndarray | None) -> float:
        """The group's best v among ranked agencies (NaN when none of them has a usable value)."""
        _, _, ratio, _, _ = self._ratio(values)
        mask = np.ones(len(values), bool) if ranked is None else np.asarray(ranked, bool)
        usable = ratio[mask & ~np.isnan(ratio)]
        return float(usable.max()) if usable.size else math.nan

    def compute(self, values: pd.DataFrame, ranked: np.ndarray | None = None) -> KindResult:
        num, den, ratio, missing, zero = self._ratio(values)
        best = self.best_of(values, ranked)
        ok = ~np.isnan(ratio)
        if math.isnan(best) or best <= 0:
            rel = np.where(ok, 0.0, np.nan)
        else:
            with np.errstate(over="ignore"):  # an unranked value over a near-zero best: inf, capped below
                rel = ratio / best
        capped = ok & (rel > 1)
        points = np.where(ok, self.max_points * np.minimum(rel, 1.0), 0.0)
        na = zero & self.na_when_zero
        flags = {"missing": missing, "capped": capped, "na": na, "zero_denominator": zero & ~self.na_when_zero}
        detail = {"num": num, "den": den, "ratio": ratio, "best": np.full(len(values), best)}
        return KindResult(points, ~na, flags, detail)

    def explain(self, inputs, detail, lang="vi"):
        w = WORDS[lang]
        if (early := self._guard(inputs, detail, lang)) is not None:
            return early
        v, best = detail["ratio"], detail["best"]
        head = (
            f"{w['value']} = {_expr(self.num, None, lang)} / {_expr(self.den, None, lang)} = "
            f"{_expr(self.num, inputs, lang)} / {_expr(self.den, inputs, lang)} = {fmt_ratio(v, lang)}"
        )
        if math.isnan(best) or best <= 0:
            return f"{head}; {w['best_zero']}"
        mx = fmt_number(self.max_points, 2, lang, trim=True)
        rel = v / best
        tail = f"{fmt_ratio(v, lang)} / {fmt_ratio(best, lang)} = {fmt_ratio(rel, lang)}"
        if rel > 1:
            return f"{head}; {w['best']} = {fmt_ratio(best, lang)} → {tail} > 1, {w['take_one']} → {points_text(self.max_points, lang)}"
        return f"{head}; {w['best']} = {fmt_ratio(best, lang)} → {tail} × {mx} = {points_text(self.max_points * rel, lang)}"

    def _explain_plain(self, inputs, detail, lang) -> np.ndarray:
        w = WORDS[lang]
        v, best = detail["ratio"], detail["best"]
        lead, num, den, v_text = self._head_many(inputs, v, lang)
        lead = f"{w['value']} = {lead}"
        head = np.array([f"{lead}{a} / {b} = {t}" for a, b, t in zip(num, den, v_text)], dtype=object)
        out = np.empty(len(v), dtype=object)
        no_best = np.isnan(best) | (best <= 0)
        out[no_best] = [f"{h}; {w['best_zero']}" for h in head[no_best]]
        some = ~no_best
        head, v_text, v, best = head[some], v_text[some], v[some], best[some]
        with np.errstate(over="ignore"):
            rel = v / best
        best_text, rel_text = fmt_ratio_array(best, lang), fmt_ratio_array(rel, lang)
        texts = np.empty(len(v), dtype=object)
        over = rel > 1
        tail = f" > 1, {w['take_one']} → {points_text(self.max_points, lang)}"
        texts[over] = [
            f"{h}; {w['best']} = {b} → {t} / {b} = {q}{tail}"
            for h, t, b, q in zip(head[over], v_text[over], best_text[over], rel_text[over])
        ]
        under = ~over
        mx = fmt_number(self.max_points, 2, lang, trim=True)
        pts = fmt_number_array(self.max_points * rel[under], 2, lang)
        unit = w["points"]
        texts[under] = [
            f"{h}; {w['best']} = {b} → {t} / {b} = {q} × {mx} = {p} {unit}"
            for h, t, b, q, p in zip(head[under], v_text[under], best_text[under], rel_text[under], pts)
        ]
        out[some] = texts
        return out

    def formula(self) -> str:
        v = f"{_expr(self.num, None, 'en')} / {_expr(self.den, None, 'en')}"
        text = f"{self.max_points:g} × min(v / best, 1), v = {v}, best = max v over the group's ranked agencies"
        if self.na_when_zero:
            text += f"; N/A when {_expr(self.den, None, 'en')} = 0"
        return text

    def excel_formula(self, refs, best_ref=None):
        if best_ref is None:
            raise ValueError(f"{self.id}: ratio_to_best needs the cell holding the group's best value")
        num, den = _xl_sum(self.num, refs), _xl_sum(self.den, refs)
        on_zero = '""' if self.na_when_zero else "0"
        return (
            f"=IF({_xl_any_blank(self.input_fields, refs)},0,IF({den}=0,{on_zero},IF({best_ref}<=0,0,"
            f"{xl_number(self.max_points)}*MIN(({num}/{den})/{best_ref},1))))"
        )

    def excel_value(self, refs) -> str:
        """The formula of ``v`` alone (blank text when it cannot be computed), for the best column."""
        num, den = _xl_sum(self.num, refs), _xl_sum(self.den, refs)
        return f'=IF({_xl_any_blank(self.input_fields, refs)},"",IF({den}=0,"",{num}/{den}))'

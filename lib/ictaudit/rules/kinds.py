"""The six indicator kinds of the scale (DOMAIN §3.1), each with three renderings of one rule.

Every kind turns the values of one group into points:

- ``compute(values, ranked)``: vectorised over all agencies of a group (a DataFrame with one row per
  agency and one float column per field, NaN for a blank, yes/no as 1/0). Returns a
  :class:`KindResult` with the points, applicability, flags and the intermediate numbers.
- ``explain(inputs, detail, lang)``: the step in words with the numbers substituted, in Vietnamese
  or English, e.g. ``Tỷ lệ = F02 / F01 = 45 / 50 = 0,90 → 0,90 × 5 = 4,50 điểm``;
  ``explain_many`` gives the same text for every agency of a group at once (the trail).
- ``excel_formula(refs, best_ref)``: an Excel formula computing the same points from input cells;
  a not-applicable indicator yields ``""`` (text), which SUM ignores.

Rules shared by every kind: a blank input scores 0 and is flagged ``missing``; a ratio above 1
is capped and flagged ``capped``; a zero denominator is ``na`` where the rubric allows it
(``na_when_zero``) and otherwise a data error flagged ``zero_denominator`` scoring 0.
"""

from __future__ import annotations

import itertools
import math
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

import numpy as np
import pandas as pd

from ictaudit.common.numfmt import fmt_number, fmt_number_array, fmt_ratio, fmt_ratio_array, fmt_value, fmt_value_array

if TYPE_CHECKING:  # pragma: no cover
    from ictaudit.rules.rubric import ChecklistItem, IndicatorGroupParams, IndicatorSpec, Tier

FLAG_ORDER = ("missing", "blocked", "capped", "na", "zero_denominator")

_WORDS = {
    "vi": {
        "points": "điểm",
        "ratio": "Tỷ lệ",
        "value": "Giá trị",
        "missing": "Thiếu số liệu",
        "blank": "trống",
        "na": "Không áp dụng",
        "na_tail": "không tính vào điểm tối đa",
        "zero_den": "mẫu số bằng 0 (lỗi số liệu)",
        "take_one": "lấy 1",
        "best": "cao nhất trong khối (các đơn vị được xếp hạng)",
        "best_zero": "giá trị cao nhất trong khối bằng 0 → mọi đơn vị 0 điểm",
        "yes": "Có",
        "no": "Không",
        "total": "tổng",
        "items": "mục",
        "lacking": "thiếu",
        "cap": "vượt tối đa, lấy",
        "below": "chưa đạt mức thấp nhất",
    },
    "en": {
        "points": "points",
        "ratio": "Ratio",
        "value": "Value",
        "missing": "Missing data",
        "blank": "blank",
        "na": "Not applicable",
        "na_tail": "left out of the attainable maximum",
        "zero_den": "denominator is 0 (data error)",
        "take_one": "take 1",
        "best": "best in the group (ranked agencies)",
        "best_zero": "the group's best value is 0 → every agency scores 0",
        "yes": "Yes",
        "no": "No",
        "total": "total",
        "items": "items",
        "lacking": "lacking",
        "cap": "above the maximum, take",
        "below": "below the lowest tier",
    },
}


@dataclass(frozen=True)
class KindResult:
    """What ``compute`` returns for one indicator over the agencies of one group (row-aligned)."""

    points: np.ndarray
    applicable: np.ndarray
    flags: dict[str, np.ndarray]
    detail: dict[str, np.ndarray] = field(default_factory=dict)

    def flags_at(self, i: int) -> tuple[str, ...]:
        return tuple(name for name in FLAG_ORDER if name in self.flags and bool(self.flags[name][i]))

    def detail_at(self, i: int) -> dict[str, float]:
        return {k: float(v[i]) for k, v in self.detail.items()}


def _col(values: pd.DataFrame, code: str) -> np.ndarray:
    if code in values.columns:
        return values[code].to_numpy(dtype=float, na_value=np.nan)
    return np.full(len(values), np.nan)


def _sum_cols(values: pd.DataFrame, codes: Sequence[str]) -> np.ndarray:
    """Sum of fields, NaN where any of them is blank (a partial sum would hide missing data)."""
    total = np.zeros(len(values))
    for c in codes:
        total = total + _col(values, c)
    return total


def _xl_num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def _pts(x: float, lang: str) -> str:
    return f"{fmt_number(x, 2, lang)} {_WORDS[lang]['points']}"


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


def _explain_distinct(
    kind: IndicatorKind, inputs: Mapping[str, np.ndarray], detail: Mapping[str, np.ndarray], lang: str
) -> np.ndarray:
    """``kind.explain`` of every row, called once per distinct row (bit for bit) of inputs and detail."""
    fields, names = list(kind.input_fields), list(detail)
    columns = [np.asarray(inputs[f], dtype=float).reshape(-1) for f in fields]
    columns += [np.asarray(detail[k], dtype=float).reshape(-1) for k in names]
    table = np.ascontiguousarray(np.column_stack(columns))
    if not len(table):
        return np.empty(0, dtype=object)
    rows = table.view(np.dtype((np.void, table.itemsize * table.shape[1]))).reshape(-1)
    _, first, where = np.unique(rows, return_index=True, return_inverse=True)
    texts = []
    for values in table[first].tolist():
        given = {f: None if math.isnan(v) else v for f, v in zip(fields, values)}
        texts.append(kind.explain(given, dict(zip(names, values[len(fields) :])), lang))
    return np.array(texts, dtype=object)[where.reshape(-1)]


def _expr_many(codes: Sequence[str], inputs: Mapping[str, np.ndarray], lang: str) -> np.ndarray:
    """:func:`_expr` with values, for every row (no input blank)."""
    parts = [fmt_value_array(inputs[c], lang) for c in codes]
    if len(parts) == 1:
        return parts[0]
    return np.array([f"({' + '.join(p)})" for p in zip(*parts)], dtype=object)


class IndicatorKind(ABC):
    """One indicator of one group, with its parameters resolved."""

    kind: ClassVar[str]
    #: parameters of the rubric this kind uses (others given for it are an error)
    indicator_params: ClassVar[frozenset[str]] = frozenset()
    group_params: ClassVar[frozenset[str]] = frozenset({"max_points"})

    def __init__(self, id: str, max_points: float):
        if max_points < 0:
            raise ValueError(f"max_points must be ≥ 0, not {max_points:g}")
        self.id = id
        self.max_points = float(max_points)

    @property
    @abstractmethod
    def input_fields(self) -> tuple[str, ...]:
        """The form fields this indicator reads, in order."""

    def accepts_type(self, code: str, field_type: str) -> bool:
        return True

    @property
    def uses_best(self) -> bool:
        return False

    @abstractmethod
    def compute(self, values: pd.DataFrame, ranked: np.ndarray | None = None) -> KindResult:
        """Points for every row of ``values``; ``ranked`` marks the rows that may set a best."""

    @abstractmethod
    def explain(self, inputs: Mapping[str, float | None], detail: Mapping[str, float], lang: str = "vi") -> str:
        """One agency's step in words; ``inputs`` by field code, ``detail`` from ``compute``."""

    def explain_many(
        self, inputs: Mapping[str, np.ndarray], detail: Mapping[str, np.ndarray], lang: str = "vi"
    ) -> np.ndarray:
        """:meth:`explain` of every row, as an object array of str: ``inputs`` by field code (NaN for
        a blank) and ``detail`` from ``compute``, row-aligned arrays.

        This one calls :meth:`explain` once per distinct row (yes/no items take few forms); kinds
        whose numbers differ from row to row override it and format them a column at a time.
        """
        return _explain_distinct(self, inputs, detail, lang)

    @abstractmethod
    def formula(self) -> str:
        """The rule in field codes, for the trail and the method section of reports."""

    @abstractmethod
    def excel_formula(self, refs: Mapping[str, str], best_ref: str | None = None) -> str:
        """An Excel formula (with the leading ``=``) from cell references by field code."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.id} max={self.max_points:g}>"


# -- ratio --------------------------------------------------------------------------------------


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
        w = _WORDS[lang]
        blanks = [c for c in self.input_fields if _blank(inputs.get(c))]
        if blanks:
            return f"{w['missing']} ({', '.join(blanks)} {w['blank']}) → {_pts(0, lang)}"
        if detail["den"] == 0:
            den = _expr(self.den, None, lang)
            if self.na_when_zero:
                return f"{w['na']}: {den} = 0 → {w['na_tail']}"
            return f"{den} = 0: {w['zero_den']} → {_pts(0, lang)}"
        return None

    def explain(self, inputs, detail, lang="vi"):
        w = _WORDS[lang]
        if (early := self._guard(inputs, detail, lang)) is not None:
            return early
        r = detail["ratio"]
        head = (
            f"{w['ratio']} = {_expr(self.num, None, lang)} / {_expr(self.den, None, lang)} = "
            f"{_expr(self.num, inputs, lang)} / {_expr(self.den, inputs, lang)} = {fmt_ratio(r, lang)}"
        )
        mx = fmt_number(self.max_points, 2, lang, trim=True)
        if r > 1:
            return f"{head} > 1, {w['take_one']} → 1 × {mx} = {_pts(self.max_points, lang)}"
        return f"{head} → {fmt_ratio(r, lang)} × {mx} = {_pts(self.max_points * r, lang)}"

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
            out[rest] = _explain_distinct(
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
        w = _WORDS[lang]
        r = detail["ratio"]
        lead, num, den, r_text = self._head_many(inputs, r, lang)
        lead = f"{w['ratio']} = {lead}"
        mx = fmt_number(self.max_points, 2, lang, trim=True)
        out = np.empty(len(r), dtype=object)
        over = r > 1
        tail = f" > 1, {w['take_one']} → 1 × {mx} = {_pts(self.max_points, lang)}"
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
            f"{_xl_num(self.max_points)}*MIN({num}/{den},1)))"
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
        w = _WORDS[lang]
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
            return f"{head}; {w['best']} = {fmt_ratio(best, lang)} → {tail} > 1, {w['take_one']} → {_pts(self.max_points, lang)}"
        return f"{head}; {w['best']} = {fmt_ratio(best, lang)} → {tail} × {mx} = {_pts(self.max_points * rel, lang)}"

    def _explain_plain(self, inputs, detail, lang) -> np.ndarray:
        w = _WORDS[lang]
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
        tail = f" > 1, {w['take_one']} → {_pts(self.max_points, lang)}"
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
            f"{_xl_num(self.max_points)}*MIN(({num}/{den})/{best_ref},1))))"
        )

    def excel_value(self, refs) -> str:
        """The formula of ``v`` alone (blank text when it cannot be computed), for the best column."""
        num, den = _xl_sum(self.num, refs), _xl_sum(self.den, refs)
        return f'=IF({_xl_any_blank(self.input_fields, refs)},"",IF({den}=0,"",{num}/{den}))'


# -- checklist ----------------------------------------------------------------------------------

_OPS = {
    ">": np.greater,
    ">=": np.greater_equal,
    "<": np.less,
    "<=": np.less_equal,
    "=": np.equal,
    "!=": np.not_equal,
}
_XL_OPS = {">": ">", ">=": ">=", "<": "<", "<=": "<=", "=": "=", "!=": "<>"}


def _blank(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def _yesno(x, lang: str) -> str:
    w = _WORDS[lang]
    if _blank(x):
        return w["blank"]
    return w["yes"] if x == 1 else w["no"]


class Checklist(IndicatorKind):
    """Sum of the points of the items that hold; an item is a yes/no field or a condition."""

    kind = "checklist"
    group_params = frozenset({"max_points", "items"})

    def __init__(self, id: str, max_points: float, items: Sequence[ChecklistItem]):
        super().__init__(id, max_points)
        if not items:
            raise ValueError("a checklist needs items for this group")
        for it in items:
            if (it.op is None) != (it.value is None):
                raise ValueError(f"item {it.field}: give both op and value, or neither (a yes/no field)")
        total = sum(it.points for it in items)
        if not math.isclose(total, max_points, abs_tol=1e-9):
            detail = " + ".join(f"{it.field} {it.points:g}" for it in items)
            raise ValueError(f"item points sum to {total:g} ({detail}), not the maximum {max_points:g}")
        self.items = tuple(items)

    @property
    def input_fields(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(it.field for it in self.items))

    def accepts_type(self, code: str, field_type: str) -> bool:
        # a bare item must be a yes/no field; a condition needs a number
        return all((it.op is None) == (field_type == "yesno") for it in self.items if it.field == code)

    def _holds(self, it: ChecklistItem, x: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            if it.op is None:
                return x == 1
            return _OPS[it.op](x, it.value)

    def compute(self, values: pd.DataFrame, ranked: np.ndarray | None = None) -> KindResult:
        points = np.zeros(len(values))
        missing = np.zeros(len(values), bool)
        for it in self.items:
            x = _col(values, it.field)
            blank = np.isnan(x)
            missing |= blank
            points += np.where(~blank & self._holds(it, x), it.points, 0.0)
        return KindResult(points, np.ones(len(values), bool), {"missing": missing}, {})

    def _describe(self, it: ChecklistItem, lang: str) -> str:
        w = _WORDS[lang]
        return f"{it.field} = {w['yes']}" if it.op is None else f"{it.field} {it.op} {_xl_num(it.value)}"

    def explain(self, inputs, detail, lang="vi"):
        parts, total = [], 0.0
        for it in self.items:
            x = inputs.get(it.field)
            shown = _yesno(x, lang) if it.op is None else fmt_value(x, lang)
            ok = not _blank(x) and bool(self._holds(it, np.array([x], float))[0])
            if it.op is not None and not _blank(x):
                shown = f"{shown} {it.op if ok else _negate(it.op)} {_xl_num(it.value)}"
            got = it.points if ok else 0.0
            total += got
            parts.append(f"{it.field} = {shown} → {fmt_number(got, 2, lang, trim=True)}")
        return f"{'; '.join(parts)}; {_WORDS[lang]['total']} {_pts(total, lang)}"

    def explain_many(self, inputs, detail, lang="vi"):
        """Yes/no items only: once per distinct row (a few texts); with a condition on a number, a
        column at a time: each item's part, the points added in item order as in :meth:`explain`."""
        if all(it.op is None for it in self.items):
            return _explain_distinct(self, inputs, detail, lang)
        w = _WORDS[lang]
        parts, total = [], 0.0
        for it in self.items:
            x = np.asarray(inputs[it.field], dtype=float).reshape(-1)
            blank = np.isnan(x)
            ok = ~blank & self._holds(it, x)
            total = total + np.where(ok, it.points, 0.0)
            lead = f"{it.field} = "
            zero, full = fmt_number(0.0, 2, lang, trim=True), fmt_number(it.points, 2, lang, trim=True)
            if it.op is None:  # three texts: blank, yes, no
                texts = [f"{lead}{w[word]} → {got}" for word, got in (("blank", zero), ("yes", full), ("no", zero))]
                parts.append(np.array(texts, dtype=object)[np.where(blank, 0, np.where(ok, 1, 2))])
                continue
            part = np.full(len(x), f"{lead}{w['blank']} → {zero}", dtype=object)
            value = _xl_num(it.value)
            verdicts = [f" {_negate(it.op)} {value} → {zero}", f" {it.op} {value} → {full}"]
            shown = np.array(verdicts, dtype=object)[ok[~blank].astype(int)]
            part[~blank] = [lead + v + t for v, t in zip(fmt_value_array(x[~blank], lang), shown)]
            parts.append(part)
        end, unit = f"; {w['total']} ", f" {w['points']}"
        return np.array(
            ["; ".join(p) + end + t + unit for *p, t in zip(*parts, fmt_number_array(total, 2, lang))], dtype=object
        )

    def formula(self) -> str:
        return " + ".join(f"{it.points:g} × [{self._describe(it, 'vi')}]" for it in self.items)

    def excel_formula(self, refs, best_ref=None):
        terms = []
        for it in self.items:
            ref = refs[it.field]
            cond = f"{ref}=1" if it.op is None else f"{ref}{_XL_OPS[it.op]}{_xl_num(it.value)}"
            terms.append(f"IF(AND(NOT(ISBLANK({ref})),{cond}),{_xl_num(it.points)},0)")
        return "=" + "+".join(terms)


def _negate(op: str) -> str:
    return {">": "≤", ">=": "<", "<": "≥", "<=": ">", "=": "≠", "!=": "="}[op]


# -- share of items -----------------------------------------------------------------------------


class ShareOfItems(IndicatorKind):
    """``max × (#items yes / #items)``; a blank item counts as no and is flagged ``missing``."""

    kind = "share_of_items"
    indicator_params = frozenset({"items"})

    def __init__(self, id: str, max_points: float, items: Sequence[str]):
        super().__init__(id, max_points)
        if not items:
            raise ValueError("share_of_items needs a list of yes/no fields (items)")
        self.items = tuple(items)

    @property
    def input_fields(self) -> tuple[str, ...]:
        return self.items

    def accepts_type(self, code: str, field_type: str) -> bool:
        return field_type == "yesno"

    def compute(self, values: pd.DataFrame, ranked: np.ndarray | None = None) -> KindResult:
        yes = np.zeros(len(values))
        missing = np.zeros(len(values), bool)
        for code in self.items:
            x = _col(values, code)
            missing |= np.isnan(x)
            yes += x == 1
        n = len(self.items)
        points = self.max_points * yes / n
        detail = {"yes": yes, "n": np.full(len(values), float(n))}
        return KindResult(points, np.ones(len(values), bool), {"missing": missing}, detail)

    def explain(self, inputs, detail, lang="vi"):
        w = _WORDS[lang]
        yes, n = int(detail["yes"]), len(self.items)
        lacking = [c for c in self.items if inputs.get(c) != 1]
        blanks = [c for c in self.items if _blank(inputs.get(c))]
        text = f"{yes}/{n} {w['items']} = {w['yes']}"
        if lacking:
            text += f" ({w['lacking']}: {', '.join(lacking)})"
        if blanks:
            text += f"; {w['missing']}: {', '.join(blanks)}"
        mx = fmt_number(self.max_points, 2, lang, trim=True)
        return f"{text} → {yes} / {n} × {mx} = {_pts(self.max_points * yes / n, lang)}"

    def formula(self) -> str:
        return f"{self.max_points:g} × (number of {', '.join(self.items)} = yes) / {len(self.items)}"

    def excel_formula(self, refs, best_ref=None):
        count = "+".join(f"({refs[c]}=1)" for c in self.items)
        return f"={_xl_num(self.max_points)}*({count})/{len(self.items)}"


# -- count capped -------------------------------------------------------------------------------


class CountCapped(IndicatorKind):
    """``min(count × per_item, max)``."""

    kind = "count_capped"
    indicator_params = frozenset({"field"})
    group_params = frozenset({"max_points", "per_item"})

    def __init__(self, id: str, max_points: float, field: str, per_item: float):
        super().__init__(id, max_points)
        if not field:
            raise ValueError("count_capped needs a field")
        if per_item is None or per_item <= 0:
            raise ValueError("count_capped needs per_item > 0 for this group")
        self.field = field
        self.per_item = float(per_item)

    @property
    def input_fields(self) -> tuple[str, ...]:
        return (self.field,)

    def accepts_type(self, code: str, field_type: str) -> bool:
        return field_type == "count"

    def compute(self, values: pd.DataFrame, ranked: np.ndarray | None = None) -> KindResult:
        x = _col(values, self.field)
        missing = np.isnan(x)
        raw = np.where(missing, 0.0, x * self.per_item)
        capped = raw > self.max_points
        return KindResult(np.minimum(raw, self.max_points), np.ones(len(values), bool),
                          {"missing": missing, "capped": capped}, {"raw": raw})

    def explain(self, inputs, detail, lang="vi"):
        w = _WORDS[lang]
        x = inputs.get(self.field)
        if _blank(x):
            return f"{w['missing']} ({self.field} {w['blank']}) → {_pts(0, lang)}"
        raw = detail["raw"]
        head = f"{self.field} = {fmt_value(x, lang)} × {fmt_number(self.per_item, 2, lang, trim=True)} = {fmt_number(raw, 2, lang, trim=True)}"
        if raw > self.max_points:
            return f"{head}, {w['cap']} {_pts(self.max_points, lang)}"
        return f"{head} → {_pts(raw, lang)}"

    def explain_many(self, inputs, detail, lang="vi"):
        """:meth:`explain` a column at a time."""
        w = _WORDS[lang]
        x = np.asarray(inputs[self.field], dtype=float).reshape(-1)
        raw = np.asarray(detail["raw"], dtype=float).reshape(-1)
        blank = np.isnan(x)
        out = np.full(len(x), f"{w['missing']} ({self.field} {w['blank']}) → {_pts(0, lang)}", dtype=object)
        x, raw = x[~blank], raw[~blank]
        lead = f"{self.field} = "
        per = f" × {fmt_number(self.per_item, 2, lang, trim=True)} = "
        head = [lead + a + per + b for a, b in zip(fmt_value_array(x, lang), fmt_number_array(raw, 2, lang, trim=True))]
        over = raw > self.max_points
        capped = f", {w['cap']} {_pts(self.max_points, lang)}"
        pts = fmt_number_array(raw, 2, lang)
        unit = f" {w['points']}"
        out[~blank] = [h + capped if o else h + " → " + p + unit for h, o, p in zip(head, over.tolist(), pts)]
        return out

    def formula(self) -> str:
        return f"min({self.field} × {self.per_item:g}, {self.max_points:g})"

    def excel_formula(self, refs, best_ref=None):
        ref = refs[self.field]
        return f"=IF(ISBLANK({ref}),0,MIN({ref}*{_xl_num(self.per_item)},{_xl_num(self.max_points)}))"


# -- tiers --------------------------------------------------------------------------------------


class Tiers(IndicatorKind):
    """Points of the highest threshold reached (``≥ 6 → 4, ≥ 3 → 2, ≥ 1 → 1``, else 0)."""

    kind = "tiers"
    indicator_params = frozenset({"field"})
    group_params = frozenset({"max_points", "tiers"})

    def __init__(self, id: str, max_points: float, field: str, tiers: Sequence[Tier]):
        super().__init__(id, max_points)
        if not field:
            raise ValueError("tiers needs a field")
        if not tiers:
            raise ValueError("tiers needs a list of thresholds for this group")
        at = [t.at_least for t in tiers]
        if any(a <= b for a, b in itertools.pairwise(at)):
            raise ValueError(f"tiers must be ordered from the highest threshold down: {', '.join(f'{a:g}' for a in at)}")
        pts = [t.points for t in tiers]
        if any(a < b for a, b in itertools.pairwise(pts)):
            raise ValueError("a higher tier cannot give fewer points than a lower one")
        if not math.isclose(pts[0], max_points, abs_tol=1e-9):
            raise ValueError(f"the top tier gives {pts[0]:g} points, not the maximum {max_points:g}")
        self.field = field
        self.tiers = tuple(tiers)

    @property
    def input_fields(self) -> tuple[str, ...]:
        return (self.field,)

    def accepts_type(self, code: str, field_type: str) -> bool:
        return field_type != "yesno"

    def compute(self, values: pd.DataFrame, ranked: np.ndarray | None = None) -> KindResult:
        x = _col(values, self.field)
        missing = np.isnan(x)
        points = np.zeros(len(values))
        for t in reversed(self.tiers):  # lowest first, so higher tiers overwrite
            points = np.where(~missing & (x >= t.at_least), t.points, points)
        return KindResult(points, np.ones(len(values), bool), {"missing": missing}, {})

    def explain(self, inputs, detail, lang="vi"):
        w = _WORDS[lang]
        x = inputs.get(self.field)
        if _blank(x):
            return f"{w['missing']} ({self.field} {w['blank']}) → {_pts(0, lang)}"
        for t in self.tiers:
            if x >= t.at_least:
                return f"{self.field} = {fmt_value(x, lang)} ≥ {_xl_num(t.at_least)} → {_pts(t.points, lang)}"
        lowest = self.tiers[-1].at_least
        return f"{self.field} = {fmt_value(x, lang)} < {_xl_num(lowest)}, {w['below']} → {_pts(0, lang)}"

    def explain_many(self, inputs, detail, lang="vi"):
        """:meth:`explain` a column at a time: the text of the highest tier reached after the value."""
        w = _WORDS[lang]
        x = np.asarray(inputs[self.field], dtype=float).reshape(-1)
        blank = np.isnan(x)
        out = np.full(len(x), f"{w['missing']} ({self.field} {w['blank']}) → {_pts(0, lang)}", dtype=object)
        x = x[~blank]
        tier = np.full(len(x), len(self.tiers))  # below the lowest tier
        for i, t in reversed(list(enumerate(self.tiers))):  # lowest first, so higher tiers overwrite
            tier[x >= t.at_least] = i
        tails = [f" ≥ {_xl_num(t.at_least)} → {_pts(t.points, lang)}" for t in self.tiers]
        tails.append(f" < {_xl_num(self.tiers[-1].at_least)}, {w['below']} → {_pts(0, lang)}")
        lead = f"{self.field} = "
        out[~blank] = [lead + v + t for v, t in zip(fmt_value_array(x, lang), np.array(tails, dtype=object)[tier])]
        return out

    def formula(self) -> str:
        steps = ", ".join(f"{self.field} ≥ {t.at_least:g} → {t.points:g}" for t in self.tiers)
        return f"{steps}, else 0"

    def excel_formula(self, refs, best_ref=None):
        ref = refs[self.field]
        inner = "0"
        for t in reversed(self.tiers):
            inner = f"IF({ref}>={_xl_num(t.at_least)},{_xl_num(t.points)},{inner})"
        return f"=IF(ISBLANK({ref}),0,{inner})"


# -- registry -----------------------------------------------------------------------------------

KINDS: dict[str, type[IndicatorKind]] = {
    k.kind: k for k in (Ratio, RatioToBest, Checklist, ShareOfItems, CountCapped, Tiers)
}

_INDICATOR_OPTIONAL = {"num", "den", "na_when_zero", "field", "items"}
_GROUP_OPTIONAL = {"items", "tiers", "per_item"}


def build(spec: IndicatorSpec, params: IndicatorGroupParams) -> IndicatorKind:
    """The kind object of one indicator in one group; ValueError names a parameter that is wrong."""
    cls = KINDS.get(spec.kind)
    if cls is None:
        raise ValueError(f"unknown kind {spec.kind!r}; known kinds: {', '.join(sorted(KINDS))}")
    given = {k for k in _INDICATOR_OPTIONAL if getattr(spec, k) not in (None, False)}
    if extra := sorted(given - cls.indicator_params):
        raise ValueError(f"parameters {', '.join(extra)} do not belong to kind {spec.kind}")
    given_g = {k for k in _GROUP_OPTIONAL if getattr(params, k) is not None}
    if extra := sorted(given_g - cls.group_params):
        raise ValueError(f"group parameters {', '.join(extra)} do not belong to kind {spec.kind}")
    mx = params.max_points
    if cls in (Ratio, RatioToBest):
        return cls(spec.id, mx, spec.num or (), spec.den or (), spec.na_when_zero)
    if cls is Checklist:
        return Checklist(spec.id, mx, params.items or ())
    if cls is ShareOfItems:
        return ShareOfItems(spec.id, mx, spec.items or ())
    if cls is CountCapped:
        return CountCapped(spec.id, mx, spec.field or "", params.per_item)
    return Tiers(spec.id, mx, spec.field or "", params.tiers or ())

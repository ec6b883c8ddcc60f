"""The kinds that add up items: ``checklist`` (points of the items that hold) and ``share_of_items``."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ictaudit.common.numfmt import fmt_number, fmt_number_array, fmt_value, fmt_value_array
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

if TYPE_CHECKING:  # pragma: no cover
    from ictaudit.rules.rubric import ChecklistItem

_OPS = {
    ">": np.greater,
    ">=": np.greater_equal,
    "<": np.less,
    "<=": np.less_equal,
    "=": np.equal,
    "!=": np.not_equal,
}
_XL_OPS = {">": ">", ">=": ">=", "<": "<", "<=": "<=", "=": "=", "!=": "<>"}


def _yesno(x, lang: str) -> str:
    w = WORDS[lang]
    if is_blank(x):
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
            x = column(values, it.field)
            blank = np.isnan(x)
            missing |= blank
            points += np.where(~blank & self._holds(it, x), it.points, 0.0)
        return KindResult(points, np.ones(len(values), bool), {"missing": missing}, {})

    def _describe(self, it: ChecklistItem, lang: str) -> str:
        w = WORDS[lang]
        return f"{it.field} = {w['yes']}" if it.op is None else f"{it.field} {it.op} {xl_number(it.value)}"

    def explain(self, inputs, detail, lang="vi"):
        parts, total = [], 0.0
        for it in self.items:
            x = inputs.get(it.field)
            shown = _yesno(x, lang) if it.op is None else fmt_value(x, lang)
            ok = not is_blank(x) and bool(self._holds(it, np.array([x], float))[0])
            if it.op is not None and not is_blank(x):
                shown = f"{shown} {it.op if ok else _negate(it.op)} {xl_number(it.value)}"
            got = it.points if ok else 0.0
            total += got
            parts.append(f"{it.field} = {shown} → {fmt_number(got, 2, lang, trim=True)}")
        return f"{'; '.join(parts)}; {WORDS[lang]['total']} {points_text(total, lang)}"

    def explain_many(self, inputs, detail, lang="vi"):
        """Yes/no items only: once per distinct row (a few texts); with a condition on a number, a
        column at a time: each item's part, the points added in item order as in :meth:`explain`."""
        if all(it.op is None for it in self.items):
            return explain_distinct(self, inputs, detail, lang)
        w = WORDS[lang]
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
            value = xl_number(it.value)
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
            cond = f"{ref}=1" if it.op is None else f"{ref}{_XL_OPS[it.op]}{xl_number(it.value)}"
            terms.append(f"IF(AND(NOT(ISBLANK({ref})),{cond}),{xl_number(it.points)},0)")
        return "=" + "+".join(terms)


def _negate(op: str) -> str:
    return {">": "≤", ">=": "<", "<": "≥", "<=": ">", "=": "≠", "!=": "="}[op]


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
            x = column(values, code)
            missing |= np.isnan(x)
            yes += x == 1
        n = len(self.items)
        points = self.max_points * yes / n
        detail = {"yes": yes, "n": np.full(len(values), float(n))}
        return KindResult(points, np.ones(len(values), bool), {"missing": missing}, detail)

    def explain(self, inputs, detail, lang="vi"):
        w = WORDS[lang]
        yes, n = int(detail["yes"]), len(self.items)
        lacking = [c for c in self.items if inputs.get(c) != 1]
        blanks = [c for c in self.items if is_blank(inputs.get(c))]
        text = f"{yes}/{n} {w['items']} = {w['yes']}"
        if lacking:
            text += f" ({w['lacking']}: {', '.join(lacking)})"
        if blanks:
            text += f"; {w['missing']}: {', '.join(blanks)}"
        mx = fmt_number(self.max_points, 2, lang, trim=True)
        return f"{text} → {yes} / {n} × {mx} = {points_text(self.max_points * yes / n, lang)}"

    def formula(self) -> str:
        return f"{self.max_points:g} × (number of {', '.join(self.items)} = yes) / {len(self.items)}"

    def excel_formula(self, refs, best_ref=None):
        count = "+".join(f"({refs[c]}=1)" for c in self.items)
        return f"={xl_number(self.max_points)}*({count})/{len(self.items)}"

"""The kinds that read one number: ``count_capped`` (``min(count × per_item, max)``) and ``tiers``."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ictaudit.common.numfmt import fmt_number, fmt_number_array, fmt_value, fmt_value_array
from ictaudit.rules.kinds.base import WORDS, IndicatorKind, KindResult, column, is_blank, points_text, xl_number

if TYPE_CHECKING:  # pragma: no cover
    from ictaudit.rules.rubric import Tier


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
        x = column(values, self.field)
        missing = np.isnan(x)
        raw = np.where(missing, 0.0, x * self.per_item)
        capped = raw > self.max_points
        return KindResult(np.minimum(raw, self.max_points), np.ones(len(values), bool),
                          {"missing": missing, "capped": capped}, {"raw": raw})

    def explain(self, inputs, detail, lang="vi"):
        w = WORDS[lang]
        x = inputs.get(self.field)
        if is_blank(x):
            return f"{w['missing']} ({self.field} {w['blank']}) → {points_text(0, lang)}"
        raw = detail["raw"]
        head = f"{self.field} = {fmt_value(x, lang)} × {fmt_number(self.per_item, 2, lang, trim=True)} = {fmt_number(raw, 2, lang, trim=True)}"
        if raw > self.max_points:
            return f"{head}, {w['cap']} {points_text(self.max_points, lang)}"
        return f"{head} → {points_text(raw, lang)}"

    def explain_many(self, inputs, detail, lang="vi"):
        """:meth:`explain` a column at a time."""
        w = WORDS[lang]
        x = np.asarray(inputs[self.field], dtype=float).reshape(-1)
        raw = np.asarray(detail["raw"], dtype=float).reshape(-1)
        blank = np.isnan(x)
        out = np.full(len(x), f"{w['missing']} ({self.field} {w['blank']}) → {points_text(0, lang)}", dtype=object)
        x, raw = x[~blank], raw[~blank]
        lead = f"{self.field} = "
        per = f" × {fmt_number(self.per_item, 2, lang, trim=True)} = "
        head = [lead + a + per + b for a, b in zip(fmt_value_array(x, lang), fmt_number_array(raw, 2, lang, trim=True))]
        over = raw > self.max_points
        capped = f", {w['cap']} {points_text(self.max_points, lang)}"
        pts = fmt_number_array(raw, 2, lang)
        unit = f" {w['points']}"
        out[~blank] = [h + capped if o else h + " → " + p + unit for h, o, p in zip(head, over.tolist(), pts)]
        return out

    def formula(self) -> str:
        return f"min({self.field} × {self.per_item:g}, {self.max_points:g})"

    def excel_formula(self, refs, best_ref=None):
        ref = refs[self.field]
        return f"=IF(ISBLANK({ref}),0,MIN({ref}*{xl_number(self.per_item)},{xl_number(self.max_points)}))"


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
        x = column(values, self.field)
        missing = np.isnan(x)
        points = np.zeros(len(values))
        for t in reversed(self.tiers):  # lowest first, so higher tiers overwrite
            points = np.where(~missing & (x >= t.at_least), t.points, points)
        return KindResult(points, np.ones(len(values), bool), {"missing": missing}, {})

    def explain(self, inputs, detail, lang="vi"):
        w = WORDS[lang]
        x = inputs.get(self.field)
        if is_blank(x):
            return f"{w['missing']} ({self.field} {w['blank']}) → {points_text(0, lang)}"
        for t in self.tiers:
            if x >= t.at_least:
                return f"{self.field} = {fmt_value(x, lang)} ≥ {xl_number(t.at_least)} → {points_text(t.points, lang)}"
        lowest = self.tiers[-1].at_least
        return f"{self.field} = {fmt_value(x, lang)} < {xl_number(lowest)}, {w['below']} → {points_text(0, lang)}"

    def explain_many(self, inputs, detail, lang="vi"):
        """:meth:`explain` a column at a time: the text of the highest tier reached after the value."""
        w = WORDS[lang]
        x = np.asarray(inputs[self.field], dtype=float).reshape(-1)
        blank = np.isnan(x)
        out = np.full(len(x), f"{w['missing']} ({self.field} {w['blank']}) → {points_text(0, lang)}", dtype=object)
        x = x[~blank]
        tier = np.full(len(x), len(self.tiers))  # below the lowest tier
        for i, t in reversed(list(enumerate(self.tiers))):  # lowest first, so higher tiers overwrite
            tier[x >= t.at_least] = i
        tails = [f" ≥ {xl_number(t.at_least)} → {points_text(t.points, lang)}" for t in self.tiers]
        tails.append(f" < {xl_number(self.tiers[-1].at_least)}, {w['below']} → {points_text(0, lang)}")
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
            inner = f"IF({ref}>={xl_number(t.at_least)},{xl_number(t.points)},{inner})"
        return f"=IF(ISBLANK({ref}),0,{inner})"

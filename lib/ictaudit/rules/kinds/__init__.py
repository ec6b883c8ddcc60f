"""The six indicator kinds of the scale (docs/domain.md §3.1), each with three renderings of one rule.

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

from typing import TYPE_CHECKING

from ictaudit.rules.kinds.base import FLAG_ORDER, IndicatorKind, KindResult
from ictaudit.rules.kinds.counts import CountCapped, Tiers
from ictaudit.rules.kinds.items import Checklist, ShareOfItems
from ictaudit.rules.kinds.ratios import Ratio, RatioToBest

if TYPE_CHECKING:  # pragma: no cover
    from ictaudit.rules.rubric import IndicatorGroupParams, IndicatorSpec

__all__ = [
    "FLAG_ORDER", "KINDS", "Checklist", "CountCapped", "IndicatorKind", "KindResult", "Ratio", "RatioToBest",
    "ShareOfItems", "Tiers", "build",
]  # fmt: skip

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

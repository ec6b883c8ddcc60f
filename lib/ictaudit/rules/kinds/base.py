"""What every indicator kind shares: the result of ``compute``, the base class, and the words of ``explain``.

A kind (one module per family: :mod:`.ratios`, :mod:`.items`, :mod:`.counts`) subclasses
:class:`IndicatorKind` and renders one rule three ways — ``compute``, ``explain`` (``explain_many``)
and ``excel_formula`` — with the helpers here for reading a field, formatting points and explaining
each distinct row once.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import pandas as pd

from ictaudit.common.numfmt import fmt_number

FLAG_ORDER = ("missing", "blocked", "capped", "na", "zero_denominator")

WORDS = {
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


def column(values: pd.DataFrame, code: str) -> np.ndarray:
    if code in values.columns:
        return values[code].to_numpy(dtype=float, na_value=np.nan)
    return np.full(len(values), np.nan)


def xl_number(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def points_text(x: float, lang: str) -> str:
    return f"{fmt_number(x, 2, lang)} {WORDS[lang]['points']}"


def is_blank(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def explain_distinct(
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
        return explain_distinct(self, inputs, detail, lang)

    @abstractmethod
    def formula(self) -> str:
        """The rule in field codes, for the trail and the method section of reports."""

    @abstractmethod
    def excel_formula(self, refs: Mapping[str, str], best_ref: str | None = None) -> str:
        """An Excel formula (with the leading ``=``) from cell references by field code."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.id} max={self.max_points:g}>"

"""The logic checks of DOMAIN.md §5 as a rule table, and the Great Expectations suites built from it.

Each rule is one row: the check id, its severity (``E`` blocks scoring of the values involved until
the agency confirms or corrects them; ``W`` asks the agency to explain), the fields it reads, the
Vietnamese message sent to the agency, why the check exists, and how it is expressed in GX 1.x on the
pandas engine. GX has no row-query expectation on pandas, so cross-field rules use

- ``pair_le(a, b)``: ``a ≤ b`` as ``ExpectColumnPairValuesAToBeGreaterThanB(column_A=b, column_B=a,
  or_equal=True, ignore_row_if="either_value_is_missing")``;
- ``between(col, ...)``, optionally with a ``row_condition`` (``Column("F07") == 1``), as
  ``ExpectColumnValuesToBeBetween``; ``in_set`` as ``ExpectColumnValuesToBeInSet``;
- derived columns computed by :func:`derive_columns` before validation (``F29_F30 = F29 + F30``,
  ``F05_per_F01``, …), each NaN whenever an input is blank.

These run on the *agencies* frame, one row per agency. The rules every field of a type obeys
(:data:`FIELD_RULES`: L01 types, L24 year over year, L25 required) run on the *fields* frame, one row
per agency × field (:func:`field_rows`): one expectation per FieldRule instead of one per field, and
still one :class:`Rule` per field for the issues. The suite's ``meta.frame`` says which frame an
expectation is written for.

A blank never fails a cross-field rule: GX skips nulls in column-map expectations, pairs ignore a row
when either value is missing, and a row condition on a blank is false. Blanks are L25's business.

L26 (one accepted submission per agency and year; the form's agency and year match the roster and
cycle) is checked by intake on the files themselves, not on values, so it is not in the suites.

The suites are committed as ``expectations/<form>.json`` (versioned with the form template); regenerate
them with ``python -m ictaudit.rules.checks`` after changing this table, the rubric or the template.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from ictaudit.common.paths import EXPECTATIONS_DIR
from ictaudit.intake.forms import TEMPLATE_VERSION  # the suites are versioned with the form template
from ictaudit.rules.rubric import FieldSpec, Rubric, load_rubric

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")



Severity = Literal["E", "W"]
YOY_MIN_RATIO = 0.5  # L24: falling by more than 50 % ...
YOY_MAX_RATIO = 3.0  # ... or growing more than 3× is unusual
YOY_MIN_BASE = 10  # ... when this year or last year counts at least 10 (2 → 0 servers is not news)
BANDWIDTH_PER_STAFF = (0.05, 100.0)  # L08, Mbps per person

SUITE_NOT_COVERED = {
    "L26": "một hồ sơ được chấp nhận cho mỗi đơn vị mỗi năm; đơn vị và năm ghi trên phiếu khớp danh sách "
    "và kỳ đánh giá — kiểm tra ở bước tiếp nhận (intake) trên chính tệp, không phải trên số liệu",
}


@dataclass(frozen=True)
class Rule:
    """One sub-rule of a check: what an issue says and how GX checks it.

    ``fields`` are the form fields the agency sees (the values shown in issues.csv and the
    confirmation sheet). A rule on the ``agencies`` frame (one row per agency, :func:`derive_columns`)
    is one expectation; ``column`` / ``column_a`` / ``column_b`` may be derived columns. A rule on the
    ``fields`` frame (one row per agency × field, :func:`field_rows`) is one field's share of its
    :class:`FieldRule`'s expectation, which checks every field of its type at once.
    """

    check_id: str
    severity: Severity
    fields: tuple[str, ...]
    message_vi: str
    why: str
    expectation: str  # "pair_le" | "between" | "in_set" | "not_null"
    column: str | None = None
    column_a: str | None = None  # pair_le: column_a ≤ column_b
    column_b: str | None = None
    min_value: float | None = None
    max_value: float | None = None
    strict_min: bool = False
    value_set: tuple[float, ...] | None = None
    row_condition: str | None = None
    derived: tuple[str, ...] = field(default_factory=tuple)  # derived columns this rule reads
    frame: Literal["agencies", "fields"] = "agencies"  # which frame ``column`` is a column of

    @property
    def gx_severity(self) -> str:
        return "critical" if self.severity == "E" else "warning"


# -- the cross-field rules (L02–L23) -------------------------------------------------------------


def _le(check_id, sev, a, b, msg, why, *, fields=None, derived=(), condition=None) -> Rule:
    return Rule(
        check_id,
        sev,
        tuple(fields or (a, b)),
        msg,
        why,
        "pair_le",
        column_a=a,
        column_b=b,
        derived=tuple(derived),
        row_condition=condition,
    )


def _between(
    check_id, sev, col, msg, why, *, fields, lo=None, hi=None, strict_min=False, condition=None, derived=()
) -> Rule:
    return Rule(
        check_id,
        sev,
        tuple(fields),
        msg,
        why,
        "between",
        column=col,
        min_value=lo,
        max_value=hi,
        strict_min=strict_min,
        row_condition=condition,
        derived=tuple(derived),
    )


_WEB_ITEMS = (
    "F21a",
    "F21b",
    "F21c",
    "F21d",
    "F21dd",
    "F21e",
    "F21h",
    "F21i",
    "F21k",
    "F21l",
    "F22a",
    "F22b",
    "F22c",
    "F22d",
)

CROSS_FIELD_RULES: tuple[Rule, ...] = (
    _between(
        "L02",
        "E",
        "F01",
        "Tổng số cán bộ, công chức, viên chức (F01) phải lớn hơn 0.",
        "every per-staff ratio divides by F01",
        fields=("F01",),
        lo=0,
        strict_min=True,
    ),
    _le(
        "L03",
        "E",
        "F02",
        "F01",
        "Số CBCCVC được trang bị máy tính (F02) không được lớn hơn tổng số CBCCVC (F01).",
        "a part cannot exceed the whole; C1.1 would exceed 100 %",
    ),
    _le(
        "L04",
        "W",
        "F02",
        "F03",
        "Số CBCCVC được trang bị máy tính (F02) lớn hơn số máy tính đang sử dụng (F03): đề nghị giải thích "
        "(ví dụ dùng chung máy tính).",
        "more equipped staff than computers is possible only with shared computers",
    ),
    _le(
        "L05",
        "E",
        "F04",
        "F03",
        "Số máy tính kết nối Internet băng rộng (F04) không được lớn hơn số máy tính đang sử dụng (F03).",
        "a part cannot exceed the whole; C1.2 would exceed 100 %",
    ),
    _le(
        "L05",
        "E",
        "F08",
        "F03",
        "Số máy tính có phần mềm diệt virus có bản quyền (F08) không được lớn hơn số máy tính đang sử dụng (F03).",
        "a part cannot exceed the whole; C1.5 would exceed 100 %",
    ),
    _le(
        "L06",
        "W",
        "F03",
        "F01_x3",
        "Số máy tính đang sử dụng (F03) lớn hơn 3 lần tổng số CBCCVC (F01): đề nghị kiểm tra lại.",
        "more than three computers per person is implausible",
        fields=("F03", "F01"),
        derived=("F01_x3",),
    ),
    _between(
        "L07",
        "E",
        "F05",
        "Có máy tính kết nối Internet băng rộng (F04 > 0) thì tổng băng thông Internet (F05) phải lớn hơn 0.",
        "broadband computers need bandwidth; C1.2 and C1.3 must agree",
        fields=("F04", "F05"),
        lo=0,
        strict_min=True,
        condition="F04 > 0",
    ),
    _between(
        "L07",
        "E",
        "F04",
        "Có băng thông Internet (F05 > 0) thì số máy tính kết nối Internet băng rộng (F04) phải lớn hơn 0.",
        "bandwidth without a connected computer contradicts F04; C1.2 and C1.3 must agree",
        fields=("F05", "F04"),
        lo=0,
        strict_min=True,
        condition="F05 > 0",
    ),
    _between(
        "L08",
        "W",
        "F05_per_F01",
        "Băng thông Internet bình quân (F05 / F01) nằm ngoài khoảng 0,05–100 Mbps/người: đề nghị kiểm tra "
        "đơn vị tính (Mbps) và số liệu.",
        "catches kbps/Gbps typed as Mbps; C1.3 is normalised to the best unit, so one outlier moves all",
        fields=("F05", "F01"),
        lo=BANDWIDTH_PER_STAFF[0],
        hi=BANDWIDTH_PER_STAFF[1],
        derived=("F05_per_F01",),
    ),
    Rule(
        "L09",
        "W",
        ("F07", "F06"),
        "Có kết nối mạng WAN của tỉnh / mạng truyền số liệu chuyên dùng (F07 = Có) nhưng không có mạng nội bộ "
        "LAN (F06 = Không): đề nghị giải thích.",
        "a WAN connection normally goes through a LAN",
        "in_set",
        column="F06",
        value_set=(1.0,),
        row_condition="F07 == 1",
    ),
    _le(
        "L10",
        "E",
        "F12",
        "F01",
        "Số CBCCVC sử dụng thư điện tử công vụ (F12) không được lớn hơn tổng số CBCCVC (F01).",
        "a part cannot exceed the whole; C2.1 would exceed 100 %",
    ),
    _le(
        "L11",
        "E",
        "F15",
        "F14",
        "Số văn bản gửi qua môi trường điện tử (F15) không được lớn hơn tổng số văn bản đi (F14).",
        "a part cannot exceed the whole; C2.3 would exceed 100 %",
    ),
    _le(
        "L11",
        "E",
        "F17",
        "F15",
        "Số văn bản điện tử được ký số (F17) không được lớn hơn số văn bản gửi qua môi trường điện tử (F15).",
        "only electronic documents can be digitally signed; C2.5 would exceed 100 %",
    ),
    _between(
        "L12",
        "W",
        "F15_per_F14",
        "Không sử dụng phần mềm QLVB&ĐH (F13 = Không) nhưng hơn 50% văn bản đi được gửi qua môi trường "
        "điện tử (F15 / F14): đề nghị giải thích.",
        "sending most documents electronically without document-management software is unusual",
        fields=("F13", "F15", "F14"),
        hi=0.5,
        condition="F13 == 0",
        derived=("F15_per_F14",),
    ),
    _between(
        "L13",
        "E",
        "F16",
        "Có văn bản được ký số (F17 > 0) thì số chứng thư số được cấp (F16) phải lớn hơn 0.",
        "signing needs a certificate; C2.4 and C2.5 must agree",
        fields=("F17", "F16"),
        lo=0,
        strict_min=True,
        condition="F17 > 0",
    ),
    _le(
        "L14",
        "E",
        "F28_F29_F30",
        "F27",
        "Tổng số dịch vụ công trực tuyến mức độ 1–2, 3 và 4 (F28 + F29 + F30) không được lớn hơn số thủ tục "
        "hành chính thuộc thẩm quyền (F27).",
        "levels are exclusive and each service is one procedure; C4.3 and C4.4 would exceed 100 %",
        fields=("F28", "F29", "F30", "F27"),
        derived=("F28_F29_F30",),
    ),
    _le(
        "L15",
        "E",
        "F33",
        "F29_F30",
        "Số dịch vụ mức độ 3, 4 có phát sinh hồ sơ trực tuyến (F33) không được lớn hơn số dịch vụ mức độ 3 và "
        "4 (F29 + F30).",
        "a part cannot exceed the whole; C4.6 would exceed 100 %",
        fields=("F33", "F29", "F30"),
        derived=("F29_F30",),
    ),
    _le(
        "L16",
        "E",
        "F32",
        "F31",
        "Số hồ sơ nộp trực tuyến (F32) không được lớn hơn số hồ sơ của các thủ tục mức độ 3, 4 (F31).",
        "a part cannot exceed the whole; C4.5 would exceed 100 %",
    ),
    _le(
        "L16",
        "E",
        "F31",
        "F25",
        "Số hồ sơ của các thủ tục mức độ 3, 4 (F31) không được lớn hơn tổng số hồ sơ thủ tục hành chính tiếp "
        "nhận (F25).",
        "level-3/4 dossiers are among all dossiers received",
    ),
    _between(
        "L17",
        "E",
        "F32",
        "Không có dịch vụ công mức độ 3, 4 (F29 + F30 = 0) thì số hồ sơ nộp trực tuyến (F32) phải bằng 0.",
        "online dossiers need a level-3/4 service",
        fields=("F29", "F30", "F32"),
        lo=0,
        hi=0,
        condition="F29_F30 == 0",
        derived=("F29_F30",),
    ),
    _between(
        "L17",
        "E",
        "F33",
        "Không có dịch vụ công mức độ 3, 4 (F29 + F30 = 0) thì số dịch vụ có phát sinh hồ sơ trực tuyến "
        "(F33) phải bằng 0.",
        "services with online dossiers are among the level-3/4 services",
        fields=("F29", "F30", "F33"),
        lo=0,
        hi=0,
        condition="F29_F30 == 0",
        derived=("F29_F30",),
    ),
    _between(
        "L18",
        "E",
        "F33",
        "Có hồ sơ nộp trực tuyến (F32 > 0) thì số dịch vụ có phát sinh hồ sơ trực tuyến (F33) phải từ 1 trở lên.",
        "an online dossier belongs to some service; C4.5 and C4.6 must agree",
        fields=("F32", "F33"),
        lo=1,
        condition="F32 > 0",
    ),
    _le(
        "L18",
        "E",
        "F33",
        "F32",
        "Số dịch vụ có phát sinh hồ sơ trực tuyến (F33) không được lớn hơn số hồ sơ nộp trực tuyến (F32).",
        "each such service received at least one online dossier",
        condition="F33 >= 1",
    ),
    _le(
        "L19",
        "E",
        "F26",
        "F25",
        "Số hồ sơ xử lý qua phần mềm một cửa điện tử (F26) không được lớn hơn tổng số hồ sơ tiếp nhận (F25).",
        "a part cannot exceed the whole; C4.2 would exceed 100 %",
    ),
    _between(
        "L19",
        "E",
        "F26",
        "Không có phần mềm một cửa điện tử (F24 = Không) thì số hồ sơ xử lý qua phần mềm (F26) phải bằng 0.",
        "dossiers cannot go through software the agency does not have; C4.1 and C4.2 must agree",
        fields=("F24", "F26"),
        lo=0,
        hi=0,
        condition="F24 == 0",
    ),
    *(
        _between(
            "L20",
            "E",
            code,
            f"Không có trang/cổng thông tin điện tử (F20 = Không) thì mục {code} phải là Không.",
            "website items cannot exist without a website; C3.1 and C3.2/C3.3 must agree",
            fields=("F20", code),
            lo=0,
            hi=0,
            condition="F20 == 0",
        )
        for code in _WEB_ITEMS
    ),
    _between(
        "L20",
        "E",
        "F23",
        "Không có trang/cổng thông tin điện tử (F20 = Không) thì số tin, bài đăng (F23) phải bằng 0.",
        "posts cannot be published without a website; C3.1 and C3.4 must agree",
        fields=("F20", "F23"),
        lo=0,
        hi=0,
        condition="F20 == 0",
    ),
    _le(
        "L21",
        "E",
        "F39",
        "F01",
        "Số cán bộ chuyên trách / kiêm nhiệm CNTT (F39) không được lớn hơn tổng số CBCCVC (F01).",
        "IT staff are among the staff",
    ),
    _le(
        "L21",
        "E",
        "F40",
        "F39",
        "Số cán bộ CNTT có trình độ đại học chuyên ngành CNTT (F40) không được lớn hơn số cán bộ CNTT (F39).",
        "a part cannot exceed the whole; C6.1 and C6.2 must agree",
    ),
    _le(
        "L22",
        "W",
        "F41",
        "F01",
        "Số CBCCVC được tập huấn CNTT trong năm (F41) lớn hơn tổng số CBCCVC (F01): đề nghị giải thích "
        "(có thể một người được tính nhiều lần).",
        "C6.3 is capped at 100 %, but more trainees than staff usually means counting sessions, not people",
    ),
    _le(
        "L23",
        "E",
        "X02",
        "X01",
        "Số cán bộ cấp xã được trang bị máy tính (X02) không được lớn hơn số cán bộ, công chức cấp xã (X01).",
        "a part cannot exceed the whole; C8.1 would exceed 100 %",
    ),
    _le(
        "L23",
        "E",
        "X05",
        "X01",
        "Số cán bộ cấp xã sử dụng thư điện tử công vụ (X05) không được lớn hơn số cán bộ, công chức cấp xã (X01).",
        "a part cannot exceed the whole; C8.3 would exceed 100 %",
    ),
    *(
        _le(
            "L23",
            "E",
            code,
            "X00",
            f"Số xã {what} ({code}) không được lớn hơn tổng số xã, phường, thị trấn (X00).",
            f"a part cannot exceed the whole; {ind} would exceed 100 %",
        )
        for code, what, ind in (
            ("X04", "có kết nối Internet băng rộng", "C8.2"),
            ("X06", "sử dụng phần mềm QLVB&ĐH", "C8.4"),
            ("X07", "có một cửa điện tử", "C8.5"),
            ("X08", "có trang thông tin điện tử", "C8.6"),
        )
    ),
    _between(
        "L23",
        "E",
        "X00",
        "Tổng số xã, phường, thị trấn (X00) phải lớn hơn 0.",
        "the commune ratios of C8 divide by X00",
        fields=("X00",),
        lo=0,
        strict_min=True,
    ),
)


# -- rules every field of a type obeys (L01, L24, L25) -----------------------------------------------
#
# These rules read one field at a time, so they are validated on a second frame with one row per
# agency × field (:func:`field_rows`) instead of as one expectation per field on the wide frame: one
# expectation covers every field of its type, and GX's per-expectation cost (~10 ms) is paid six
# times per form instead of ~180 times. Issues are still made per field (each field's :class:`Rule`,
# with its own message); only the expectation is shared.


@dataclass(frozen=True)
class FieldRule:
    """A rule that applies to every field of some types: one expectation over :func:`field_rows`."""

    check_id: str
    severity: Severity
    types: tuple[str, ...]  # the field types it applies to ("count", "decimal", "yesno")
    column: str  # the column of field_rows it reads
    expectation: str  # "between" | "in_set" | "not_null"
    message_vi: str  # for one field: ``{name}`` is the field's label and code
    summary_vi: str  # for the whole expectation (Data Docs, the suite)
    why: str
    min_value: float | None = None
    max_value: float | None = None
    value_set: tuple[float, ...] | None = None
    row_condition: str | None = None
    required_only: bool = False  # applies only to the rubric's required fields

    def applies_to(self, spec: FieldSpec) -> bool:
        return spec.type in self.types and (spec.required or not self.required_only)

    def rule(self, spec: FieldSpec) -> Rule:
        """This rule for one field (what an issue about that field says)."""
        return Rule(
            self.check_id,
            self.severity,
            (spec.code,),
            self.message_vi.format(name=_field_name(spec)),
            self.why,
            self.expectation,
            column=self.column,
            min_value=self.min_value,
            max_value=self.max_value,
            value_set=self.value_set,
            row_condition=self.row_condition,
            frame="fields",
        )


_WHOLE = "{name} phải là số nguyên không âm."
FIELD_RULES: tuple[FieldRule, ...] = (
    FieldRule(
        "L01", "E", ("count",), "count", "between", _WHOLE,
        "Số liệu kiểu đếm (người, máy, văn bản, hồ sơ…) phải là số nguyên không âm: không được âm.",
        "counts cannot be negative", min_value=0,
    ),
    FieldRule(
        "L01", "E", ("count",), "count_fraction", "between", _WHOLE,
        "Số liệu kiểu đếm phải là số nguyên: phần thập phân phải bằng 0.",
        "counts are whole numbers (a decimal here is usually a typo or a percentage)", min_value=0, max_value=0,
    ),
    FieldRule(
        "L01", "E", ("decimal",), "decimal", "between", "{name} không được là số âm.",
        "Số liệu kiểu số thập phân (băng thông, kinh phí…) không được là số âm.",
        "amounts cannot be negative", min_value=0,
    ),
    FieldRule(
        "L01", "E", ("yesno",), "yesno", "in_set", "{name} chỉ nhận giá trị Có hoặc Không.",
        "Trường Có/Không chỉ nhận giá trị Có (1) hoặc Không (0).",
        "yes/no fields score as checklist items and must be 1 or 0", value_set=(0.0, 1.0),
    ),
    FieldRule(
        "L24", "W", ("count",), "yoy_ratio", "between",
        "{name} thay đổi bất thường so với số liệu đã xác nhận năm trước (giảm quá 50% hoặc tăng quá 3 lần): "
        "đề nghị kiểm tra và giải thích.",
        "Số liệu kiểu đếm thay đổi bất thường so với số liệu đã xác nhận năm trước (giảm quá 50% hoặc tăng "
        f"quá 3 lần, khi năm nay hoặc năm trước từ {YOY_MIN_BASE} trở lên): đề nghị kiểm tra và giải thích.",
        "large jumps against last year's confirmed value are usually typing or unit errors",
        min_value=YOY_MIN_RATIO, max_value=YOY_MAX_RATIO,
    ),
    FieldRule(
        "L25", "E", ("count", "decimal", "yesno"), "value", "not_null",
        "{name} bị bỏ trống: đề nghị điền số liệu (nếu không có thì ghi 0 hoặc Không).",
        "Trường bắt buộc không được bỏ trống (nếu không có thì ghi 0 hoặc Không).",
        "a blank scores 0 and hides whether the agency has nothing or forgot",
        row_condition="required == 1", required_only=True,
    ),
)  # fmt: skip
"""L01: counts are whole numbers ≥ 0, decimals ≥ 0, yes/no fields 1 or 0. L24: a count that falls by
more than 50 % or grows more than 3× against last year — only when this year's or last year's value
is at least ``YOY_MIN_BASE`` (1 → 0 online meetings is a 100 % fall but no sign of a typing error) and
last year's value is above 0 (growth from nothing has no ratio); :func:`field_rows` leaves the ratio
blank otherwise. L25: a required field is filled in (a blank is not a zero)."""


def _field_name(spec: FieldSpec) -> str:
    return f"{spec.label_vi} ({spec.code})"


def field_rules(spec: FieldSpec) -> list[Rule]:
    """Every per-field rule of one field (L01, L24, L25), in :data:`FIELD_RULES` order."""
    return [fr.rule(spec) for fr in FIELD_RULES if fr.applies_to(spec)]


def rules_for_form(rubric: Rubric, form_id: str) -> list[Rule]:
    """Every rule that applies to one form, in check-id order (rules whose fields are all on the form)."""
    specs = rubric.fields_for_form(form_id)
    if not specs:
        raise KeyError(f"rubric {rubric.id} has no fields for form {form_id!r}")
    codes = {s.code for s in specs}
    own = [rule for spec in specs for rule in field_rules(spec)]
    rules = [r for r in own if r.check_id == "L01"]  # the form's order: a field's rules together
    rules += [r for r in CROSS_FIELD_RULES if set(r.fields) <= codes]
    rules += [r for r in own if r.check_id != "L01"]
    return sorted(rules, key=lambda r: r.check_id)  # stable: keeps table order within a check


# -- derived columns -----------------------------------------------------------------------------


def _sum_all(df: pd.DataFrame, cols: Iterable[str]) -> pd.Series:
    """Row sum that is NaN as soon as one input is blank (a blank is not a zero)."""
    return df[list(cols)].sum(axis=1, min_count=len(list(cols)), skipna=False)


def _ratio(num: pd.Series, den: pd.Series) -> pd.Series:
    """num / den, NaN when either is blank or den ≤ 0 (L02 reports a zero or negative F01)."""
    return num.where(den > 0) / den.where(den > 0)


def derive_columns(values: pd.DataFrame, specs: Iterable[FieldSpec]) -> pd.DataFrame:
    """The agencies frame: one row per agency, the form's fields and the derived columns the cross-field
    rules read (``F29_F30 = F29 + F30``, ``F05_per_F01``, …), each blank whenever an input is blank.

    Pure: returns a new frame with the fields (missing ones as blank columns) and the derived columns.
    """
    specs = list(specs)
    codes = [s.code for s in specs]
    out = values.reindex(columns=codes).astype(float)
    derived: dict[str, pd.Series] = {}
    if "F01" in out:
        derived["F01_x3"] = 3 * out["F01"]
        if "F05" in out:
            derived["F05_per_F01"] = _ratio(out["F05"], out["F01"])
    if {"F14", "F15"} <= set(codes):
        derived["F15_per_F14"] = _ratio(out["F15"], out["F14"])
    if {"F29", "F30"} <= set(codes):
        derived["F29_F30"] = _sum_all(out, ["F29", "F30"])
        if "F28" in out:
            derived["F28_F29_F30"] = _sum_all(out, ["F28", "F29", "F30"])
    return pd.concat([out, pd.DataFrame(derived, index=out.index)], axis=1)


FIELD_ROW_COLUMNS = ["field", "value", "count", "count_fraction", "decimal", "yesno", "yoy_ratio", "required"]


def field_rows(
    values: pd.DataFrame, specs: Iterable[FieldSpec], previous: pd.DataFrame | None = None
) -> pd.DataFrame:
    """The fields frame: one row per agency × field of the form, what :data:`FIELD_RULES` read.

    Indexed like ``values`` (the agency, repeated for each field, agencies in order and each agency's
    fields in form order); columns :data:`FIELD_ROW_COLUMNS`: ``value``, and the value again in the
    column of its type (``count`` / ``decimal`` / ``yesno``, blank in the others, so each FieldRule
    sees only its type); ``count_fraction`` (the part after the decimal point of a count);
    ``yoy_ratio`` (this year / last year for a count, blank when either is blank, last year is not
    above 0, or both are below ``YOY_MIN_BASE``); ``required`` (1 for the rubric's required fields).
    ``previous`` is last year's confirmed wide frame (same index name), for L24.
    """
    specs = list(specs)
    codes = [s.code for s in specs]
    now = values.reindex(columns=codes).astype(float).to_numpy()
    n, m = now.shape
    types = np.array([s.type for s in specs], dtype=object)
    before = np.full((n, m), np.nan)
    if previous is not None:  # last year's counts (L24 reads nothing else)
        counts = [j for j, s in enumerate(specs) if s.type == "count"]
        last = previous.reindex(index=values.index, columns=[codes[j] for j in counts])
        before[:, counts] = last.astype(float).to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where((before > 0) & (np.fmax(now, before) >= YOY_MIN_BASE), now / before, np.nan)
    is_count = np.broadcast_to(types == "count", (n, m))
    count = np.where(is_count, now, np.nan)
    columns = {
        "field": np.tile(np.array(codes, dtype=object), n),
        "value": now.ravel(),
        "count": count.ravel(),
        "count_fraction": (count - np.floor(count)).ravel(),
        "decimal": np.where(types == "decimal", now, np.nan).ravel(),
        "yesno": np.where(types == "yesno", now, np.nan).ravel(),
        "yoy_ratio": np.where(is_count, ratio, np.nan).ravel(),
        "required": np.tile(np.array([int(s.required) for s in specs], dtype=np.int64), n),
    }
    return pd.DataFrame(columns, index=values.index.repeat(m))


# -- the GX suite --------------------------------------------------------------------------------


_CONDITION = re.compile(r"^(\w+) (==|!=|>=|<=|>|<) (-?\d+(?:\.\d+)?)$")


def _condition(text: str):
    """``"F07 == 1"`` as a GX row condition object (``Column("F07") == 1``).

    GX 1.9+ deprecates string conditions with ``condition_parser="pandas"``; the pandas engine turns
    these objects into the same ``DataFrame.query`` filter. A comparison with a blank is false, so a
    blank never selects a row.
    """
    from great_expectations.expectations.row_conditions import Column

    m = _CONDITION.match(text)
    if not m:
        raise ValueError(f"row condition {text!r} must read 'COLUMN OP NUMBER'")
    column, op, number = Column(m[1]), m[2], float(m[3])
    number = int(number) if number.is_integer() else number
    return {
        "==": column.__eq__, "!=": column.__ne__, ">=": column.__ge__, "<=": column.__le__,
        ">": column.__gt__, "<": column.__lt__,
    }[op](number)  # fmt: skip


def _expectation(rule: Rule):
    import great_expectations.expectations as gxe

    common: dict[str, Any] = {
        "meta": {
            "check_id": rule.check_id,
            "severity": rule.severity,
            "message_vi": rule.message_vi,
            "fields": list(rule.fields),
            "why": rule.why,
            **({"frame": "fields"} if rule.frame == "fields" else {}),
        },
        "description": f"{rule.check_id} ({'lỗi' if rule.severity == 'E' else 'cảnh báo'}): {rule.message_vi}",
        "severity": rule.gx_severity,
    }
    if rule.row_condition:
        common["row_condition"] = _condition(rule.row_condition)
    if rule.expectation == "pair_le":
        return gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A=rule.column_b,
            column_B=rule.column_a,
            or_equal=True,
            ignore_row_if="either_value_is_missing",
            **common,
        )
    if rule.expectation == "between":
        kwargs: dict[str, Any] = {}
        if rule.min_value is not None:
            kwargs["min_value"] = rule.min_value
            kwargs["strict_min"] = rule.strict_min
        if rule.max_value is not None:
            kwargs["max_value"] = rule.max_value
        return gxe.ExpectColumnValuesToBeBetween(column=rule.column, **kwargs, **common)
    if rule.expectation == "in_set":
        return gxe.ExpectColumnValuesToBeInSet(column=rule.column, value_set=list(rule.value_set), **common)
    if rule.expectation == "not_null":
        return gxe.ExpectColumnValuesToNotBeNull(column=rule.column, **common)
    raise ValueError(f"rule {rule.check_id}: unknown expectation kind {rule.expectation!r}")


def suite_name(form_id: str) -> str:
    return f"ictaudit_{form_id}"


def suite_expectations(rules: list[Rule]) -> list[Rule]:
    """The rules as they become expectations, in suite order: a rule on the agencies frame is one
    expectation; the per-field rules of one :class:`FieldRule` make one expectation on the fields
    frame, where the first of them stands, naming all their fields (and its summary as message).
    """
    out: list[Rule] = []
    shared: dict[tuple[str, str | None], int] = {}
    for rule in rules:
        if rule.frame == "agencies":
            out.append(rule)
        elif field_rule_key(rule) not in shared:
            shared[field_rule_key(rule)] = len(out)
            out.append(replace(rule, message_vi=_FIELD_RULE_BY_KEY[field_rule_key(rule)].summary_vi))
        else:
            at = shared[field_rule_key(rule)]
            out[at] = replace(out[at], fields=out[at].fields + rule.fields)
    return out


def field_rule_key(rule: Rule) -> tuple[str, str | None]:
    """Which :class:`FieldRule` a per-field rule comes from (its check and the column it reads)."""
    return rule.check_id, rule.column


_FIELD_RULE_BY_KEY = {(fr.check_id, fr.column): fr for fr in FIELD_RULES}
assert len(_FIELD_RULE_BY_KEY) == len(FIELD_RULES), "two FieldRules of one check read the same column"


def build_suite(rubric: Rubric, form_id: str):
    """The GX ExpectationSuite of one form, from the rubric's field catalogue and the rule table."""
    import great_expectations as gx

    rules = rules_for_form(rubric, form_id)
    return gx.ExpectationSuite(
        name=suite_name(form_id),
        expectations=[_expectation(rule) for rule in suite_expectations(rules)],
        meta={
            "form": form_id,
            "rubric_id": rubric.id,
            "rubric_version": rubric.version,
            "template_version": TEMPLATE_VERSION,
            "generated_by": "ictaudit.rules.checks.build_suite",
            "checks": sorted({r.check_id for r in rules}),
            "yoy": {"min_ratio": YOY_MIN_RATIO, "max_ratio": YOY_MAX_RATIO, "min_base": YOY_MIN_BASE},
            "not_in_suite": SUITE_NOT_COVERED,
            "frames": {
                "agencies": "one row per agency: the form's fields and the derived columns of "
                "ictaudit.rules.checks.derive_columns",
                "fields": "one row per agency × field (ictaudit.rules.checks.field_rows); the expectations whose "
                "meta.frame is 'fields' check every field of a type at once",
            },
            "notes": "Blank values never fail a cross-field rule (L25 reports them). The two frames are "
            "validated separately, each against the expectations written for it.",
        },
    )


def suite_json(suite) -> dict:
    """The suite as the plain JSON dict that is committed (no ids: they are assigned by a context)."""
    return json.loads(json.dumps(suite.to_json_dict(), ensure_ascii=False, sort_keys=True))


def suite_path(form_id: str, directory: Path = EXPECTATIONS_DIR) -> Path:
    return Path(directory) / f"{form_id}.json"


def write_suites(rubric: Rubric, directory: Path = EXPECTATIONS_DIR) -> list[Path]:
    """Write ``<form>.json`` for every form of the rubric (UTF-8, sorted keys, stable bytes)."""
    paths = []
    for form in rubric.forms:
        path = suite_path(form.id, directory)
        path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(suite_json(build_suite(rubric, form.id)), ensure_ascii=False, indent=2, sort_keys=True)
        path.write_text(text + "\n", encoding="utf-8")
        paths.append(path)
    return paths


def rule_index(rubric: Rubric, form_id: str) -> list[Rule]:
    """Rules in suite order (the n-th expectation of the suite is the n-th rule)."""
    return rules_for_form(rubric, form_id)


# A plausible agency that passes every check: the baseline of tests, examples and the benchmark.
PLAUSIBLE_COUNTS = {
    "F01": 50, "F02": 40, "F03": 45, "F04": 40, "F08": 40, "F11": 2, "F12": 40, "F14": 100, "F15": 80,
    "F16": 5, "F17": 50, "F18": 3, "F19": 4, "F23": 100, "F25": 100, "F26": 80, "F27": 50, "F28": 10,
    "F29": 10, "F30": 5, "F31": 50, "F32": 20, "F33": 5, "F39": 2, "F40": 1, "F41": 10,
    "X00": 10, "X01": 100, "X02": 50, "X03": 50, "X04": 8, "X05": 50, "X06": 8, "X07": 8, "X08": 8,
}  # fmt: skip
PLAUSIBLE_DECIMALS = {"F05": 20.0, "F44": 100.5}


def plausible_values(rubric: Rubric, form_id: str) -> dict[str, float]:
    """Field code → value for a consistent agency of ``form_id`` (every yes/no field Có)."""
    out = {}
    for spec in rubric.fields_for_form(form_id):
        if spec.type == "yesno":
            out[spec.code] = 1.0
        else:
            out[spec.code] = float({**PLAUSIBLE_COUNTS, **PLAUSIBLE_DECIMALS}.get(spec.code, 1))
    return out


if __name__ == "__main__":  # python -m ictaudit.rules.checks [rubric-id]
    import sys

    for p in write_suites(load_rubric(sys.argv[1] if len(sys.argv) > 1 else "caobang-2310-2016")):
        print(p)

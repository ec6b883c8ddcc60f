"""What a synthetic sample plants on purpose: logic errors of docs/domain.md §5 and numbers typed as
text the Vietnamese way, each on its own agency, and how ``planted.csv`` shows the values.

:func:`logic_plants` are the errors (L03, L05, L11, L15, L20, L25; some fixed by a correction),
:data:`TEXT_STYLES` the text values (``1.234``, ``45,5``, ``12 máy``). :mod:`ictaudit.year.sample`
picks the hosts and writes what it planted.
"""

from __future__ import annotations

from dataclasses import dataclass

YESNO = ("Không", "Có")
TEXT_STYLES = ("thousands", "decimal", "unit", "thousands")  # the numbers typed as text, in planting order


def vi_thousands(n: int) -> str:
    return f"{n:,}".replace(",", ".")


def vi_decimal(x: float) -> str:
    return f"{x:.1f}".replace(".", ",")


@dataclass(frozen=True)
class Plant:
    """One logic error planted in a clean agency: the check it must fire, the field, whether a
    correction fixes it (with the reason the agency gives) and how ``planted.csv`` describes it."""

    check_id: str
    field: str
    corrected: bool
    reason: str
    description: str

    def fits(self, v: dict[str, float]) -> bool:
        if self.check_id == "L15":
            return v["F29"] + v["F30"] >= 1 and v["F32"] >= v["F29"] + v["F30"] + 1
        if self.check_id == "L20":
            return v["F20"] == 1
        if self.check_id == "L25":
            return v["F16"] > 0
        return True

    def apply(self, v: dict[str, float], t_type: str) -> tuple[str, str, str]:
        """Plant the error in ``v``; return (field, text as typed, corrected text)."""
        code = self.field
        right = v[code]
        if self.check_id == "L03":  # F02 > F01 (typo: digits swapped / staff of a wider scope)
            v["F02"] = v["F01"] + max(3, round(v["F01"] * 0.12))
            v["F03"] = max(v["F03"], v["F02"])
        elif self.check_id == "L05":  # F04 > F03
            v["F04"] = v["F03"] + max(2, round(v["F03"] * 0.1))
        elif self.check_id == "L11":  # F15 > F14
            v["F15"] = v["F14"] + max(10, round(v["F14"] * 0.15))
        elif self.check_id == "L15":  # F33 > F29 + F30
            v["F33"] = v["F29"] + v["F30"] + 1
        elif self.check_id == "L20":  # no website but a mandatory item ticked
            v["F20"] = 0
            for c in [c for c in v if c.startswith(("F21", "F22"))]:
                v[c] = 0
            v["F21a"] = 1
            v["F23"] = 0
        elif self.check_id == "L25":  # a required field left blank; keep L13 quiet
            v["F16"] = None
            v["F17"] = 0
        return code, typed_text(v[code], t_type), typed_text(right, t_type)


def logic_plants() -> list[Plant]:
    """The logic errors each sample plants, each on its own on-time agency (one that fits it)."""
    return [
        Plant("L03", "F02", True, "Gõ nhầm: ghi cả số người của đơn vị trực thuộc; số đúng theo danh sách cấp máy.",
              "F02 = {F02} lớn hơn F01 = {F01} (L03)"),
        Plant("L05", "F04", False, "", "F04 = {F04} lớn hơn F03 = {F03} (L05), chưa được đơn vị xác nhận"),
        Plant("L11", "F15", True, "Cộng nhầm cả văn bản đến; số văn bản đi gửi điện tử theo sổ QLVB&ĐH.",
              "F15 = {F15} lớn hơn F14 = {F14} (L11)"),
        Plant("L15", "F33", True, "Đếm cả dịch vụ mức độ 2; số dịch vụ mức độ 3, 4 có hồ sơ trực tuyến.",
              "F33 = {F33} lớn hơn F29 + F30 = {F29} + {F30} (L15)"),
        Plant("L20", "F21a", False, "", "F20 = Không nhưng F21a = Có (L20), chưa được đơn vị xác nhận"),
        Plant("L25", "F16", True, "Bỏ sót khi điền phiếu; số chứng thư số theo danh sách Ban Cơ yếu cấp.",
              "F16 (bắt buộc) để trống (L25); F17 đặt bằng 0 để L13 không bị kích hoạt theo"),
    ]  # fmt: skip


def text_fits(style: str, v: dict[str, float]) -> bool:
    """Whether an agency's clean values can show ``style`` (a thousands group needs F14 ≥ 1000, …)."""
    if style == "thousands":
        return v["F14"] >= 1000
    if style == "decimal":
        return v["F05"] != int(v["F05"])
    return v["F03"] > 0


def text_value(style: str, v: dict[str, float]) -> tuple[str, str, float]:
    """(field, the value typed as text in ``style``, the number intake must read)."""
    if style == "thousands":
        return "F14", vi_thousands(int(v["F14"])), v["F14"]
    if style == "decimal":
        return "F05", vi_decimal(v["F05"]), v["F05"]
    return "F03", f"{int(v['F03'])} máy", v["F03"]


def typed_text(x, field_type: str) -> str:
    """A value as ``planted.csv`` shows what was typed: Có/Không, a number, or "" for a blank."""
    if x is None:
        return ""
    return YESNO[int(x)] if field_type == "yesno" else show(x)


def show(x) -> str:
    """A number as ``planted.csv`` shows it: ``12``, ``45.5``, "" for a blank."""
    if x is None:
        return ""
    x = float(x)
    return str(int(x)) if x.is_integer() else repr(x)

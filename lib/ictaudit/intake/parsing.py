"""What people type into a form cell, turned into a number or a yes/no — or a clear problem.

:func:`parse_value` is pure: one raw cell value (as a reader such as python-calamine returns it:
``None``, ``str``, ``int``, ``float``, ``bool``, ``datetime``/``date``/``time``) and the field's
type (``count``, ``decimal`` or ``yesno``) in; a :class:`Parsed` out. It never guesses: anything
that could be read two ways is a problem with a Vietnamese message saying how to write it.

Rules (input → result), documented here because they are a contract with the agencies:

Blanks
    ``None``, ``""``, only spaces → blank (``value=None``, no problem). Blank is not zero.

Text is cleaned first
    Unicode NFC; non-breaking and thin spaces become spaces; surrounding spaces are dropped.

Separators in text numbers (Vietnamese first: ``.`` groups thousands, ``,`` is the decimal mark)
    ``1234`` → 1234.
    ``1.234``, ``12.345``, ``1.234.567`` → thousands (every group after the first has exactly 3
    digits, the first group 1–3 digits not starting with 0): 1234, 12345, 1234567.
    ``1.5``, ``45.25``, ``0.234`` → a decimal point (the part after the dot is not a 3-digit group,
    or the number starts with ``0.``).
    ``45,5``, ``0,234``, ``12,50`` → a decimal comma: 45.5, 0.234, 12.5.
    ``1,234`` → **problem**: one comma followed by exactly 3 digits reads 1,234 in Vietnamese and
    1234 in English; the agency is asked to write ``1234`` or ``1,234`` → ``1.234``.
    ``1,234,567`` → thousands (two commas cannot be a decimal mark): 1234567.
    ``1.234,5`` → 1234.5 and ``1,234.5`` → 1234.5: with both marks, the last one is the decimal
    mark and the other must group thousands correctly; otherwise a problem.
    ``1 234`` → 1234 (a space grouping thousands, groups of 3 digits).

Percent, units, words
    ``100%`` → problem (no field of a count or decimal type is a share; the form asks for the
    number itself) unless the field's unit is ``%``.
    ``12 máy``, ``45,5 Mbps`` → the trailing unit word is dropped (12, 45.5), unless it is a
    magnitude word (``nghìn``, ``triệu``, ``tỷ``, ``k``, …) that would change the number and is not
    the field's own unit (``5 triệu đồng`` is fine for a field in *triệu đồng*).

Yes/no fields
    ``Có``, ``có``, ``co``, ``x``, ``X``, ``1``, ``yes``, ``y``, ``true`` → 1;
    ``Không``, ``không``, ``khong``, ``ko``, ``0``, ``no``, ``n``, ``false`` → 0;
    anything else (``2``, ``có thể``) → problem.

Text typed with a legacy Vietnamese font (TCVN3/ABC, VNI)
    Before Unicode, Vietnamese was typed with 8-bit fonts (``.VnTime`` for TCVN3, ``VNI-Times``);
    opened without that font the text shows as ``Cã``/``Kh«ng`` (TCVN3) or ``Coù``/``Khoâng``
    (VNI) for Có/Không, ``m¸y`` for máy. :func:`legacy_font` recognises the common patterns: such
    text is never read as a value; the problem names the encoding, the word probably meant (for
    Có/Không) and asks the agency to retype in Unicode (:attr:`Parsed.legacy_font` is set).

Written back
    :func:`value_text` is the inverse: the text this parser reads back as exactly the same value
    (``1234``, ``45,5``, ``1,2340`` for 1.234, ``Có``), which the corrections register and the
    confirmation workbooks use, so that a value copied from them reads the same everywhere.

A problem quotes at most ``MESSAGE_TEXT_CHARS`` characters of the text (with its length); the
caller keeps the whole text in ``raw_value``.

Always problems (the raw text is kept by the caller)
    negative numbers; counts that are not whole; NaN, infinity; magnitudes above 1e12; dates or
    times where a number belongs (a date cell, or text such as ``03/11/2017``); spreadsheet errors
    (``#DIV/0!``); text beginning with ``=`` (a formula typed as text, never evaluated); a lone dash
    (``-`` could mean 0 or "not applicable"); scientific notation.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

FIELD_TYPES = ("count", "decimal", "yesno")
MAX_MAGNITUDE = 1e12
MESSAGE_TEXT_CHARS = 80  # longer text is quoted shortened in a problem (the caller keeps it whole)

_SPACES = re.compile(r"[\s\u00a0\u2007\u202f\u2009\u200b]+")
_YES = {"có", "co", "x", "1", "yes", "y", "true", "đúng"}
_NO = {"không", "khong", "ko", "0", "no", "n", "false", "sai"}
# Trailing words that multiply the number: dropping them would change the value.
_MAGNITUDE_WORDS = {
    "nghìn", "nghin", "ngàn", "ngan", "k", "triệu", "trieu", "tr", "tỷ", "tỉ", "ty", "ti",
    "m", "b", "bn", "gbps", "kbps", "gb", "tb", "đồng", "dong", "đ", "vnđ", "vnd",
}
_NUMBER_THEN_WORDS = re.compile(r"^([+\-−]?[\d.,\s]*\d[\d.,]*)\s*([^\d\s.,].*)$")
_DATE_TEXT = re.compile(r"^\d{1,4}[/-]\d{1,2}[/-]\d{1,4}$")
_DIGITS = re.compile(r"^\d+$")
_GROUPS3 = re.compile(r"^[1-9]\d{0,2}(?:[.]\d{3})+$")
_GROUPS3_COMMA = re.compile(r"^[1-9]\d{0,2}(?:,\d{3})+$")
_GROUPS3_SPACE = re.compile(r"^[1-9]\d{0,2}(?: \d{3})+$")


# Characters TCVN3 (ABC) text shows when its font is missing, which Vietnamese Unicode never uses.
_TCVN3_ONLY = set("¡¢£¤¥¦§¨©ª«¬®µ¶·¸¹»¼½¾ÆÇËÎÏÐÑÖ×ØÜÞßäåæçëîïñö÷øûüþ")
# VNI writes a base letter, then a byte for the mark: ``où`` is ó, ``aø`` à, ``oâ`` ô, ``ñ`` đ.
_VNI_PATTERN = re.compile(r"[aeoAEO][ùøûõïâÙØÛÕÏÂ]|[iuyIUY][ùøûõïÙØÛÕÏ]|[ñÑ]")
# Có/Không as they show in each legacy encoding (what was meant, which encoding)
LEGACY_YES_NO = {
    "cã": ("Có", "TCVN3 (ABC)"), "kh«ng": ("Không", "TCVN3 (ABC)"),
    "coù": ("Có", "VNI"), "khoâng": ("Không", "VNI"),
}  # fmt: skip


@dataclass(frozen=True)
class Parsed:
    """The outcome of reading one cell: a value (yes/no as 1.0/0.0), or a problem, or blank.

    ``legacy_font`` names the legacy encoding (``TCVN3 (ABC)``, ``VNI``) the text seems typed in.
    """

    value: float | None
    problem: str | None = None
    legacy_font: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


def normalize_text(text: str) -> str:
    """NFC, every kind of space turned into one plain space, stripped."""
    return _SPACES.sub(" ", unicodedata.normalize("NFC", text)).strip()


def legacy_font(text: str) -> str | None:
    """``"TCVN3 (ABC)"`` or ``"VNI"`` when ``text`` looks typed with that legacy font, else None.

    ``legacy_font("Kh«ng") == "TCVN3 (ABC)"``, ``legacy_font("Khoâng") == "VNI"``,
    ``legacy_font("Không") is None``. Only patterns Unicode Vietnamese never has are taken as a sign.
    """
    key = unicodedata.normalize("NFC", text).strip().casefold().rstrip(".")
    if key in LEGACY_YES_NO:
        return LEGACY_YES_NO[key][1]
    if _VNI_PATTERN.search(text):
        return "VNI"
    if any(ch in _TCVN3_ONLY for ch in text):
        return "TCVN3 (ABC)"
    return None


def legacy_font_message(text: str, encoding: str) -> str:
    """The problem for text typed with a legacy font: what was seen, what it probably means, the fix."""
    meant = LEGACY_YES_NO.get(unicodedata.normalize("NFC", text).strip().casefold().rstrip("."), ("", ""))[0]
    guess = f" (có lẽ là “{meant}”)" if meant else ""
    return (
        f"“{text}” được gõ bằng bảng mã cũ {encoding}{guess}, không phải Unicode nên không đọc được; "
        "hãy gõ lại bằng bảng mã Unicode (ví dụ Unikey: bảng mã Unicode, phông Times New Roman)."
    )


def raw_text(raw) -> str:
    """The cell as text, for the ``raw_value`` column: what the agency typed, NFC-normalised.

    Numbers from the reader are shown without a spurious ``.0`` (``45.0`` → ``"45"``).
    """
    if raw is None:
        return ""
    if isinstance(raw, bool):
        return "TRUE" if raw else "FALSE"
    if isinstance(raw, int):
        return str(raw)
    if isinstance(raw, float):
        return "NaN" if math.isnan(raw) else format_float(raw)
    if isinstance(raw, datetime | date | time):
        return raw.isoformat()
    if isinstance(raw, timedelta):
        return str(raw)
    return unicodedata.normalize("NFC", str(raw))


def loose_key(text) -> str:
    """A header or sheet name as intake compares it: NFC, spaces collapsed, case-folded (``""`` for None)."""
    if type(text) is str and len(text) <= _SHORT_TEXT_CHARS:  # names and headers repeat from form to form
        key = _LOOSE_KEYS.get(text)
        if key is None:
            if len(_LOOSE_KEYS) >= _SHORT_TEXT_CACHED:
                _LOOSE_KEYS.clear()
            key = _LOOSE_KEYS[text] = normalize_text(text).casefold()
        return key
    return normalize_text(str(text)).casefold() if text is not None else ""


def cell_text(cell) -> str:
    """``normalize_text(raw_text(cell))``: a ``_meta`` key or value as intake compares it."""
    if type(cell) is str and len(cell) <= _SHORT_TEXT_CHARS:  # keys, versions and groups repeat
        text = _CELL_TEXTS.get(cell)
        if text is None:
            if len(_CELL_TEXTS) >= _SHORT_TEXT_CACHED:
                _CELL_TEXTS.clear()
            text = _CELL_TEXTS[cell] = normalize_text(raw_text(cell))
        return text
    return normalize_text(raw_text(cell))


# Caches, each a measured win (the calls of a 2,000-form intake replayed, without → with the cache):
_LOOSE_KEYS: dict[str, str] = {}  # short text → loose_key(text): 68,000 calls, 0.062 → 0.026 s
_CELL_TEXTS: dict[str, str] = {}  # short text → cell_text(text): 28,000 calls, 0.038 → 0.014 s
_SHORT_TEXT_CACHED = 4096  # entries each at most
_SHORT_TEXT_CHARS = 128  # longer text is normalised each time


def format_float(x: float) -> str:
    """Shortest text for a float: ``45.0`` → ``"45"``, ``45.5`` → ``"45.5"``, NaN → ``""``."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return ""
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if float(x).is_integer() and abs(x) < 1e16:
        return str(int(x))
    return repr(float(x))


def value_text(x, field_type: str, grouped: bool = False) -> str:
    """The text :func:`parse_value` reads back as exactly ``x``; ``""`` for a blank (None or NaN).

    ``value_text(1234.0, "count") == "1234"`` (no separator to misread), ``value_text(45.5, "decimal")
    == "45,5"``, ``value_text(1.234, "decimal") == "1,2340"`` (a three-digit fraction would read as
    thousands the English way), ``value_text(1.0, "yesno") == "Có"``. Every digit of the float is kept.
    ``grouped=True`` groups thousands with dots, as people read numbers (``1.234``, ``12.345,5``).
    """
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return ""
    x = float(x)
    if field_type == "yesno" and x in (0.0, 1.0):
        return "Có" if x == 1.0 else "Không"
    if x.is_integer() and abs(x) < 1e16:
        whole, frac = str(int(x)), ""
    else:
        whole, _, frac = format(Decimal(repr(x)), "f").partition(".")  # every digit, never an exponent
        if len(frac) == 3 and not whole.lstrip("-").startswith("0"):
            frac += "0"
    if grouped:
        whole = f"{int(whole):,}".replace(",", ".")
    return f"{whole},{frac}" if frac else whole


def parse_value(raw, field_type: str, unit: str | None = None) -> Parsed:
    """Read one cell of a field of type ``count``, ``decimal`` or ``yesno`` (see the module rules).

    ``unit`` is the field's unit as printed on the form (``máy``, ``triệu đồng``, ``%``); it only
    decides whether a trailing word or a percent sign may be dropped.
    """
    if field_type not in FIELD_TYPES:
        raise ValueError(f"unknown field type {field_type!r}; expected one of {', '.join(FIELD_TYPES)}")
    if raw is None:
        return Parsed(None)
    if isinstance(raw, bool):
        if field_type == "yesno":
            return Parsed(1.0 if raw else 0.0)
        return Parsed(None, f"Giá trị logic {raw_text(raw)} ở chỗ cần một số; hãy nhập số.")
    if isinstance(raw, datetime | date | time | timedelta):
        return Parsed(None, f"Ô chứa ngày/giờ ({raw_text(raw)}) ở chỗ cần một số; hãy nhập số, không nhập ngày.")
    if isinstance(raw, int | float):
        return _check_number(float(raw), field_type, raw_text(raw))
    if not isinstance(raw, str):
        return Parsed(None, f"Không đọc được giá trị kiểu {type(raw).__name__}: {raw!r}.")

    text = normalize_text(raw)
    if not text:
        return Parsed(None)
    parsed = _parse_yesno(text) if field_type == "yesno" else _parse_number_text(text, field_type, unit)
    if parsed.problem and (encoding := legacy_font(text)):
        parsed = Parsed(None, legacy_font_message(text, encoding), encoding)
    if parsed.problem and len(text) > MESSAGE_TEXT_CHARS:  # a page of text quoted once, shortened
        short = text[: MESSAGE_TEXT_CHARS - 1] + "…"
        parsed = Parsed(None, parsed.problem.replace(text, f"{short} ({len(text)} ký tự)"), parsed.legacy_font)
    return parsed


def _parse_yesno(text: str) -> Parsed:
    key = text.casefold().rstrip(".")
    if key in _YES:
        return Parsed(1.0)
    if key in _NO:
        return Parsed(0.0)
    number = _plain_number(key)
    if number is not None and number in (0.0, 1.0):
        return Parsed(number)
    return Parsed(None, f"“{text}” không phải Có/Không; hãy chọn Có hoặc Không (cũng nhận x, 1/0).")


def _plain_number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _parse_number_text(text: str, field_type: str, unit: str | None) -> Parsed:
    if text.startswith("="):
        return Parsed(None, f"“{text}” là công thức gõ dạng chữ (bắt đầu bằng “=”), không phải một số; hãy nhập số.")
    if text.startswith("#"):
        return Parsed(None, f"Ô chứa lỗi bảng tính “{text}”; hãy nhập số thay cho công thức lỗi.")
    if text in {"-", "–", "—", "--"}:
        return Parsed(None, f"“{text}” không rõ là 0 hay không có số liệu; hãy nhập 0 hoặc để trống.")
    if _DATE_TEXT.match(text):
        return Parsed(None, f"“{text}” là ngày tháng ở chỗ cần một số; hãy nhập số.")
    body = text
    is_percent = False
    if body.endswith("%"):
        is_percent = True
        body = body[:-1].strip()
    else:
        m = _NUMBER_THEN_WORDS.match(body)
        if m:
            number_part, words = m.group(1).strip(), m.group(2).strip()
            if words.endswith("%") or words == "%":
                return Parsed(None, f"“{text}” không phải một số; hãy nhập chỉ một số.")
            if not _droppable_unit(words, unit):
                return Parsed(
                    None,
                    f"“{text}”: không rõ “{words}” làm thay đổi giá trị thế nào; "
                    f"hãy nhập chỉ con số{f' (đơn vị: {unit})' if unit else ''}.",
                )
            body = number_part
    if is_percent and (unit or "").strip() != "%":
        return Parsed(None, f"“{text}” là tỷ lệ phần trăm; chỉ tiêu này cần con số (không phải %), hãy nhập số.")
    if body.startswith("+"):
        body = body[1:].strip()
    negative = body.startswith("-") or body.startswith("−")
    if negative:
        body = body[1:].strip()
    number = _read_separators(body)
    if isinstance(number, str):
        return Parsed(None, number.format(text=text))
    if negative:
        return Parsed(None, f"“{text}” là số âm; số liệu phải lớn hơn hoặc bằng 0.")
    return _check_number(number, field_type, text)


def _droppable_unit(words: str, unit: str | None) -> bool:
    key = words.casefold().rstrip(".")
    if unit and key == unicodedata.normalize("NFC", unit).casefold():
        return True
    tokens = re.split(r"[\s/]+", key)
    if any(t in _MAGNITUDE_WORDS for t in tokens):
        return False
    # a unit is words of letters only (máy, người, văn bản, Mbps), not more numbers or symbols
    return all(re.fullmatch(r"[^\W\d_]+\.?", t) for t in tokens if t)


_NOT_A_NUMBER = "“{text}” không phải một số; hãy nhập số (ví dụ 1234 hoặc 45,5)."


def _read_separators(body: str) -> float | str:
    """A float, or a problem message template (``{text}`` is filled in by the caller)."""
    if not body:
        return "“{text}” không phải một số; hãy nhập số."
    if _DIGITS.match(body):
        return float(body)
    if not re.fullmatch(r"[\d., ]+", body):
        return _NOT_A_NUMBER
    if " " in body:
        if _GROUPS3_SPACE.match(body):
            return float(body.replace(" ", ""))
        body = _spaces_as_marks(body)
        if body is None:
            return "“{text}” có khoảng trắng giữa các chữ số nên không rõ là số nào; hãy nhập liền, ví dụ 1234."
    if not re.fullmatch(r"[\d.,]+", body):
        return _NOT_A_NUMBER
    if "." in body and "," in body:
        return _dots_and_commas(body)
    if "." in body:
        return _dots_only(body)
    return _commas_only(body)


def _spaces_as_marks(body: str) -> str | None:
    """``1 234,5`` → ``1.234,5`` (spaces grouping thousands before a decimal mark), None when unclear."""
    has_dot, has_comma = "." in body, "," in body
    if not (has_dot or has_comma) or not _GROUPS3_SPACE.match(re.split(r"[.,]", body)[0]):
        return None
    return body.replace(" ", ".") if has_comma and not has_dot else body.replace(" ", ",")


def _dots_and_commas(body: str) -> float | str:
    last = max(body.rfind("."), body.rfind(","))
    whole, frac = body[:last], body[last + 1 :]
    grouping = _GROUPS3 if body[last] == "," else _GROUPS3_COMMA
    if not _DIGITS.match(frac) or not (grouping.match(whole) or (len(whole) <= 3 and _DIGITS.match(whole))):
        return "“{text}” dùng lẫn dấu chấm và dấu phẩy không đúng cách; hãy viết 1.234,5 hoặc 1234,5."
    return float(whole.replace(".", "").replace(",", "") + "." + frac)


def _dots_only(body: str) -> float | str:
    if _GROUPS3.match(body):
        return float(body.replace(".", ""))
    if body.count(".") == 1:
        whole, frac = body.split(".")
        if _DIGITS.match(whole) and _DIGITS.match(frac):
            return float(body)
    return "“{text}” có dấu chấm không đúng chỗ; hãy viết 1.234 (nghìn) hoặc 45,5 (thập phân)."


def _commas_only(body: str) -> float | str:
    if body.count(",") == 1:
        whole, frac = body.split(",")
        if not (_DIGITS.match(whole) and _DIGITS.match(frac)):
            return "“{text}” có dấu phẩy không đúng chỗ; hãy viết 45,5 (thập phân) hoặc 1234."
        if len(frac) == 3 and not whole.startswith("0"):
            return (
                "“{text}” không rõ là số thập phân (kiểu Việt Nam) hay hàng nghìn (kiểu Anh); "
                "hãy viết 1234 hoặc 1.234 nếu là hàng nghìn, hoặc 1,2340 nếu là số thập phân."
            )
        return float(whole + "." + frac)
    if _GROUPS3_COMMA.match(body):
        return float(body.replace(",", ""))
    return "“{text}” có dấu phẩy không đúng chỗ; hãy viết 45,5 (thập phân) hoặc 1.234 (nghìn)."


def _check_number(x: float, field_type: str, shown: str) -> Parsed:
    if math.isnan(x) or math.isinf(x):
        return Parsed(None, f"“{shown}” không phải một số hữu hạn; hãy nhập số.")
    if abs(x) > MAX_MAGNITUDE:
        return Parsed(None, f"“{shown}” lớn bất thường (trên 10^12); hãy kiểm tra lại đơn vị và số liệu.")
    if x < 0:
        return Parsed(None, f"“{shown}” là số âm; số liệu phải lớn hơn hoặc bằng 0.")
    if field_type == "yesno":
        if x in (0.0, 1.0):
            return Parsed(x)
        return Parsed(None, f"“{shown}” không phải Có/Không; hãy chọn Có hoặc Không (cũng nhận 1/0).")
    if field_type == "count":
        nearest = round(x)
        if abs(x - nearest) > 1e-9 * max(1.0, abs(x)):
            return Parsed(None, f"“{shown}” không phải số nguyên; chỉ tiêu này đếm số lượng, hãy nhập số nguyên ≥ 0.")
        return Parsed(float(nearest) + 0.0)
    return Parsed(x + 0.0)

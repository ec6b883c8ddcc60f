"""The documents' particulars (cycle.yaml ``documents:``) and wording (``wording.yaml``), read and checked.

In: the cycle's ``documents`` mapping, its ``notice``, province and year, and the wording: the package's
``wording.yaml``, with the entries of an optional file of the cycle folder (``documents.wording``) laid
over it. Out: :class:`DocumentSettings` — one :class:`Particulars` per document, the wording, and the
warnings. Nothing here fails: an unset or unusable particular prints as "…" and gives a warning naming
the key and how to fill it in (docs/contracts.md §3: "an unset particular prints as '…', never fails").

The schema of ``documents:`` (docs/documents.md has it with an example)::

    documents:
      issuer_parent: UBND TỈNH CAO BẰNG          # shared by both documents unless a document overrides it
      issuer: SỞ THÔNG TIN VÀ TRUYỀN THÔNG       # text, or a list of lines
      issuer_name: Sở Thông tin và Truyền thông  # the issuer in a sentence
      issuer_short: STTTT                        # Số: …/BC-STTTT
      place: Cao Bằng
      steering_committee: Ban Chỉ đạo ứng dụng công nghệ thông tin tỉnh Cao Bằng
      wording: van-ban.yaml                      # optional: a file of this folder overriding wording.yaml
      bao_cao:   {number: 125, date: 2017-12-15, signer_title: [KT. GIÁM ĐỐC, PHÓ GIÁM ĐỐC],
                  signer_name: Nguyễn Văn A, recipients: [Như trên, "Lưu: VT, CNTT"]}
      quyet_dinh: {number: …, date: …, authority: …, signer_title: …, signer_name: …, recipients: […]}

Every text is NFC-normalised; the particulars are DIC text and are printed as written (they are never
read as wording, so a ``{`` in them is just a brace).
"""

from __future__ import annotations

import hashlib
import json
import string
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path

import yaml

from ictaudit.common.dates import parse_date

WORDING_FILE = Path(__file__).with_name("wording.yaml")
DOCUMENTS = ("bao_cao", "quyet_dinh")
#: the keys a document has, and at the top of ``documents:`` the ones both documents share
SHARED_KEYS = ("issuer_parent", "issuer", "issuer_name", "issuer_short", "place", "steering_committee")
DOCUMENT_KEYS = (*SHARED_KEYS, "number", "date", "signer_title", "signer_name", "recipients", "authority")
TOP_KEYS = (*SHARED_KEYS, "wording", *DOCUMENTS)
LINE_KEYS = ("issuer_parent", "issuer", "signer_title")  # text or a list of lines
#: what each key is, for the warnings
KEY_VI = {
    "issuer_parent": "cơ quan chủ quản", "issuer": "cơ quan ban hành", "issuer_name": "tên cơ quan ban hành trong câu",
    "issuer_short": "chữ viết tắt tên cơ quan (trong số ký hiệu)", "place": "địa danh", "number": "số văn bản",
    "steering_committee": "tên Ban Chỉ đạo", "date": "ngày ban hành", "signer_title": "chức vụ, thẩm quyền ký",
    "signer_name": "họ tên người ký", "recipients": "nơi nhận", "authority": "thẩm quyền ban hành",
}  # fmt: skip
#: particulars without a default: each document needs its own, filled in once it is numbered and signed
NO_DEFAULT = ("number", "date", "signer_name")


@dataclass(frozen=True)
class Particulars:
    """One document's particulars, resolved; ``None`` (or an empty tuple) prints as "…"."""

    doc: str
    issuer_parent: tuple[str, ...]
    issuer: tuple[str, ...]
    issuer_name: str | None
    issuer_short: str | None
    place: str | None
    steering_committee: str | None
    number: str | None
    date: date | None
    signer_title: tuple[str, ...]
    signer_name: str | None
    recipients: tuple[str, ...]
    authority: str | None

    def record(self) -> dict:
        """As written into ``documents/particulars.json`` (dates ISO, unset as null)."""
        out = {}
        for key in DOCUMENT_KEYS:
            value = getattr(self, key)
            out[key] = value.isoformat() if isinstance(value, date) else list(value) if isinstance(value, tuple) else value
        return out


@dataclass
class DocumentSettings:
    """Both documents' particulars, the wording they are written in, and what was unset or wrong."""

    particulars: dict[str, Particulars]
    wording: dict
    warnings: list[str] = field(default_factory=list)
    unset: list[str] = field(default_factory=list)
    wording_file: str | None = None
    year: int = 0
    province: str = ""
    notice: str | None = None
    digests: dict = field(default_factory=dict)  # of cycle.yaml (:func:`cycle_digests`)

    def warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)

    def fill(self, text: str, values: dict[str, str], where: str) -> str:
        """``text`` of the wording with its ``{name}`` filled from ``values``; an unknown name stays as
        written and gives a warning naming the wording entry ``where``."""
        return fill(text, values, lambda name: self.warn(_unknown_placeholder(where, name, values)))


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text).strip()


# -- filling the wording ------------------------------------------------------------------------


class _Values(dict):
    def __init__(self, values: dict[str, str], missing):
        super().__init__(values)
        self.missing = missing

    def __missing__(self, key: str) -> str:
        self.missing(key)
        return "{" + key + "}"


class _Formatter(string.Formatter):
    """``str.format_map`` without attribute, index or conversion tricks: a ``{name}`` is a value or nothing."""

    def get_field(self, field_name, args, kwargs):
        return self.get_value(field_name, args, kwargs), field_name

    def convert_field(self, value, conversion):
        return value

    def format_field(self, value, format_spec):
        return str(value)


def fill(text: str, values: dict[str, str], on_missing) -> str:
    """Each ``{name}`` of ``text`` replaced by ``values[name]``; ``on_missing(name)`` for an unknown one."""
    try:
        return _Formatter().vformat(text, (), _Values(values, on_missing))
    except (ValueError, IndexError):  # an unbalanced brace: the text is printed as written
        on_missing(text[:40])
        return text


def _unknown_placeholder(where: str, name: str, values: dict[str, str]) -> str:
    known = ", ".join(sorted(values))
    return (
        f"lời văn {where}: không có thông tin {{{name}}} để điền (giữ nguyên chữ); các tên dùng được: {known}"
    )


# -- the wording ------------------------------------------------------------------------------


@cache
def default_wording() -> dict:
    """The package's ``wording.yaml`` (read once)."""
    return yaml.safe_load(WORDING_FILE.read_text(encoding="utf-8"))


def _merge(base, over, path: str, warn) -> object:
    """``over`` laid over ``base``: mappings key by key (a key ``base`` lacks is refused with a warning);
    a text or a list replaces the default whole (a text where a list is expected is a one-item list)."""
    if isinstance(base, dict):
        if not isinstance(over, dict):
            warn(f"lời văn {path}: phải là một nhóm mục (mapping) như trong wording.yaml; giữ lời văn mặc định")
            return base
        out = dict(base)
        for key, value in over.items():
            if key not in base:
                warn(f"lời văn {path}.{key}: không có mục này trong wording.yaml (bỏ qua); kiểm tra chính tả")
                continue
            out[key] = _merge(base[key], value, f"{path}.{key}", warn)
        return out
    if isinstance(base, list):
        if isinstance(over, str):
            return [nfc(over)]
        if isinstance(over, list) and all(isinstance(v, str) for v in over):
            return [nfc(v) for v in over]
        warn(f"lời văn {path}: phải là một đoạn văn hoặc danh sách đoạn văn; giữ lời văn mặc định")
        return base
    if isinstance(base, int):
        if isinstance(over, int) and not isinstance(over, bool) and over >= 0:
            return over
        warn(f"lời văn {path}: phải là một số nguyên không âm, không phải {over!r}; giữ {base}")
        return base
    if isinstance(over, str):
        return nfc(over)
    if over is None:
        return ""
    warn(f"lời văn {path}: phải là một đoạn văn, không phải {over!r}; giữ lời văn mặc định")
    return base


def load_wording(cycle_root: Path | None, name, warn) -> tuple[dict, str | None]:
    """The wording: the package's, with the cycle folder's file ``name`` laid over it (when named)."""
    wording = default_wording()
    if name in (None, ""):
        return wording, None
    if not isinstance(name, str) or cycle_root is None:
        warn(f"cycle.yaml, documents.wording: phải là tên một tệp trong thư mục kỳ đánh giá, không phải {name!r}")
        return wording, None
    rel = Path(name)
    path = Path(cycle_root) / rel
    if rel.is_absolute() or ".." in rel.parts:
        warn(f"cycle.yaml, documents.wording: {name!r} phải là một tệp bên trong thư mục kỳ đánh giá; dùng lời văn mặc định")
        return wording, None
    try:
        over = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        warn(f"{path}: không có tệp lời văn này (cycle.yaml, documents.wording); dùng lời văn mặc định")
        return wording, None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        warn(f"{path}: không đọc được tệp lời văn ({type(exc).__name__}: {str(exc)[:200]}); dùng lời văn mặc định")
        return wording, None
    if over in (None, ""):
        return wording, rel.as_posix()
    return _merge(wording, over, rel.as_posix(), warn), rel.as_posix()


# -- the particulars --------------------------------------------------------------------------


def _lines(value) -> tuple[str, ...] | None:
    if isinstance(value, str):
        return tuple(nfc(line) for line in value.splitlines() if line.strip())
    if isinstance(value, list) and all(isinstance(v, str | int | float) and not isinstance(v, bool) for v in value):
        return tuple(nfc(str(v)) for v in value if str(v).strip())
    return None


def _number(value) -> str | None:
    """A document number as printed: ``5`` → ``05`` (Nghị định 30/2020: numbers below 10 get a 0)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return f"{value:02d}" if value >= 0 else None
    if isinstance(value, str) and value.strip():
        text = nfc(value)
        return f"0{text}" if text.isdigit() and len(text) == 1 else text
    return None


def _check(key: str, value, where: str, warn):
    """The value of one particular in its resolved type, or ``None`` (with a warning) when unusable."""
    if key in LINE_KEYS:
        lines = _lines(value)
        if lines is None:
            warn(f"{where}: {KEY_VI[key]} phải là chữ hoặc danh sách các dòng chữ, không phải {value!r}; in “…”")
        return lines
    if key == "recipients":
        lines = _lines(value)
        if lines is None:
            warn(f"{where}: nơi nhận phải là danh sách, mỗi nơi nhận một dòng, không phải {value!r}; in “…”")
        return lines
    if key == "number":
        number = _number(value)
        if number is None and value not in (None, ""):
            warn(f"{where}: số văn bản phải là một số (ví dụ 125), không phải {value!r}; in “…”")
        return number
    if key == "date":
        if value in (None, ""):
            return None
        day = parse_date(value.strip() if isinstance(value, str) else value)
        if day is None:
            warn(f"{where}: ngày ban hành phải là một ngày (2017-12-15 hoặc 15/12/2017), không phải {value!r}; in “…”")
        return day
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return nfc(str(value))
    warn(f"{where}: {KEY_VI[key]} phải là chữ, không phải {value!r}; in “…”")
    return None


def _defaults(wording: dict, doc: str, values: dict[str, str]) -> dict:
    """The defaults of one document's particulars, from wording.yaml's ``particulars:``."""
    base = wording.get("particulars", {})
    out = {k: v for k, v in base.items() if k in SHARED_KEYS}
    out.update(base.get(doc, {}))

    def filled(v):
        if isinstance(v, list):
            return [filled(x) for x in v]
        return fill(v, values, lambda name: None) if isinstance(v, str) else v

    return {k: filled(v) for k, v in out.items()}


def read_settings(documents: dict | None, *, year: int, province: str, notice: str = "",
                  cycle_root: Path | None = None) -> DocumentSettings:
    """Resolve both documents' particulars from the cycle's ``documents:`` mapping (see the module doc)."""
    warnings: list[str] = []

    def warn(message: str) -> None:
        if message not in warnings:
            warnings.append(message)

    block = documents if isinstance(documents, dict) else {}
    if documents not in (None, {}) and not isinstance(documents, dict):
        warn(f"cycle.yaml, documents: phải là một nhóm mục (mapping), không phải {documents!r}; dùng mặc định")
    for key in block:
        if key not in TOP_KEYS:
            warn(f"cycle.yaml, documents.{key}: không có mục này (bỏ qua); các mục: {', '.join(TOP_KEYS)}")
    wording, wording_file = load_wording(cycle_root, block.get("wording"), warn)
    values = {"province": province, "PROVINCE": province.upper(), "year": str(year)}
    settings = DocumentSettings({}, wording, warnings, [], wording_file, year, province, nfc(notice) or None)
    for doc in DOCUMENTS:
        own = block.get(doc)
        if own is not None and not isinstance(own, dict):
            warn(f"cycle.yaml, documents.{doc}: phải là một nhóm mục (mapping), không phải {own!r}; dùng mặc định")
            own = None
        own = own or {}
        for key in own:
            if key not in DOCUMENT_KEYS or (key == "authority" and doc != "quyet_dinh"):
                warn(f"cycle.yaml, documents.{doc}.{key}: không có mục này (bỏ qua); các mục: {', '.join(DOCUMENT_KEYS)}")
        settings.particulars[doc] = _resolve(doc, block, own, _defaults(wording, doc, values), settings)
    if settings.notice is None:
        settings.unset.append("notice")
        warn("cycle.yaml, notice: chưa ghi văn bản thông báo mở kỳ đánh giá (ví dụ: Công văn số 1234/STTTT-CNTT "
             "ngày 10/10/2017 của Sở Thông tin và Truyền thông); văn bản in “…”")  # fmt: skip
    return settings


def _resolve(doc: str, block: dict, own: dict, defaults: dict, settings: DocumentSettings) -> Particulars:
    resolved = {}
    for key in DOCUMENT_KEYS:
        if key == "authority" and doc != "quyet_dinh":
            resolved[key] = None
            continue
        if key in own:
            where, value = f"cycle.yaml, documents.{doc}.{key}", own[key]
        elif key in SHARED_KEYS and key in block:
            where, value = f"cycle.yaml, documents.{key}", block[key]
        else:
            where, value = f"wording.yaml, particulars.{key}", defaults.get(key)
        checked = _check(key, value, where, settings.warn) if value is not None else None
        if key == "issuer_parent" and checked is None and value is not None:
            checked = ()
        resolved[key] = checked
        if checked in (None, ()) and not (key == "issuer_parent" and value in ("", [])):
            settings.unset.append(f"{doc}.{key}")
            if value in (None, "", []):
                settings.warn(
                    f"cycle.yaml, documents.{doc}.{key}: chưa điền ({KEY_VI[key]}); văn bản in “…” — điền vào "
                    "cycle.yaml rồi chạy ictaudit document --run <thư mục kết quả>"
                )
    resolved["issuer_parent"] = resolved["issuer_parent"] or ()
    for key in ("issuer", "signer_title", "recipients"):
        resolved[key] = resolved[key] or ()
    return Particulars(doc=doc, **resolved)


# -- what the documents were written from -----------------------------------------------------


def _digest(value) -> str:
    canonical = json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


#: the keys of cycle.yaml that only the documents read: ``ictaudit document`` may rewrite them after these
#: changed. A key another output reads must not be here (tests/test_documents_run.py changes both and
#: checks that ``verify`` still reproduces every other output).
DOCUMENTS_ONLY_KEYS = ("documents", "notice")


def cycle_digests(cycle_root: Path) -> dict:
    """sha256 of ``cycle.yaml`` as a file, of its settings apart from :data:`DOCUMENTS_ONLY_KEYS` (parsed,
    canonical), and of each of those settings (so that a change can be named).

    ``ictaudit document`` may rewrite the documents after ``documents:`` or ``notice`` changed; any
    other change of ``cycle.yaml`` changes what a run computes, and needs a new run.
    """
    raw = (Path(cycle_root) / "cycle.yaml").read_bytes()
    data = yaml.safe_load(raw.decode("utf-8-sig")) or {}
    rest = {k: v for k, v in data.items() if k not in DOCUMENTS_ONLY_KEYS} if isinstance(data, dict) else {"": data}
    return {
        "cycle_yaml_sha256": hashlib.sha256(raw).hexdigest(),
        "cycle_settings_sha256": _digest(rest),
        "cycle_settings": {k: _digest(v) for k, v in sorted(rest.items())},
    }

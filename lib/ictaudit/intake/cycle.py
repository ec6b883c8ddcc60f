"""One year's cycle folder (docs/contracts.md §3), read and checked: ``load_cycle(Path("data/raw/2017"))``.

The folder holds ``cycle.yaml``, ``agencies.csv`` (the roster), ``receipts.csv`` (the DIC's register
of what arrived and when), ``submissions/`` and optionally ``corrections.csv``. These files are the
DIC's own: a problem in them stops the run with :class:`CycleError`, naming the file, the line and
how to fix it. Problems in what the *agencies* sent (their workbooks, a receipt naming an agency not
on the roster, two receipts for one agency) are not cycle errors: intake reports them per agency.

CSV files are read as text (UTF-8, with or without BOM), every cell NFC-normalised and stripped;
the line numbers in messages are those an editor shows (the header is line 1).

``cycle.yaml`` keys: ``year``, ``rubric``, ``deadline`` (ISO date, the last accepted day; may stay
empty until the DIC fixes it: forms can go out, a run cannot), ``title``, ``province``; optional
``sample`` (true for synthetic data), ``contact`` (who to call, printed on the forms), ``timezone``
(the clock received times are judged on, default Asia/Ho_Chi_Minh), ``reply_by`` (the last day for
confirmation replies), ``reply_to`` (the address forms and replies go to), ``notice`` (the DIC's
notice that opened the cycle, e.g. its number and date), ``previous`` (last year's published results,
copied into the folder by ``ictaudit init``, each file with its sha256) and ``documents`` (the
particulars of the official documents, checked by the module that writes them). Unknown keys are
refused so that a typo does not pass silently.

``agencies.csv`` may carry a ``predecessor`` column: the ids (``;``-separated) of last year's agencies
this one continues (a renamed or merged unit); empty means the same id. ``receipts.csv`` rows
written by ``ictaudit receive`` also carry ``received_at`` (an ISO timestamp with its offset), the
``sender``, ``subject``, ``message_id`` and the file's ``sha256``; hand-typed rows leave them empty.
Dates in registers are ISO or dd/mm/yyyy (:mod:`ictaudit.common.dates`).

``corrections`` rows without a ``correction_id`` get one: ``K001``, ``K002``… by their place in the file (the ids :func:`ictaudit.validate.corrections.correction_id` gives), so that ``values.csv`` and
``issues.csv`` can point at a correction. ``confirmed_on`` (ISO or dd/mm/yyyy) and the values are
checked by the corrections overlay, which rejects a bad row without stopping the run; ``line`` is
each row's line in the file, so that a rejection can name it.
"""

from __future__ import annotations

import io
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pandas as pd
import yaml

from ictaudit.common.dates import DEFAULT_TIMEZONE, parse_date, parse_timestamp, zone

CYCLE_FILE = "cycle.yaml"
AGENCIES_FILE = "agencies.csv"
RECEIPTS_FILE = "receipts.csv"
CORRECTIONS_FILE = "corrections.csv"
SUBMISSIONS_DIR = "submissions"

CYCLE_KEYS_REQUIRED = ("year", "rubric", "deadline", "title", "province")
CYCLE_KEYS_OPTIONAL = (
    "sample", "contact", "timezone", "reply_by", "reply_to", "notice", "previous", "documents",
)  # fmt: skip
AGENCY_COLUMNS = ("agency_id", "name", "group", "ranked", "note")
AGENCY_OPTIONAL_COLUMNS = ("predecessor",)
RECEIPT_COLUMNS = ("agency_id", "file", "received_on", "channel", "note")
#: what ``ictaudit receive`` adds to a receipt; empty on rows typed by hand
RECEIPT_MAIL_COLUMNS = ("received_at", "sender", "subject", "message_id", "sha256")
CORRECTION_COLUMNS = (
    "agency_id", "field", "old_value", "new_value", "reason", "check_id", "confirmed_by", "confirmed_on",
)
#: where a correction came from (``source``: agency reply / on-site survey / DIC review), the document
#: it rests on, and for an imported reply the returned file's name and sha256
CORRECTION_OPTIONAL_COLUMNS = ("correction_id", "source", "document", "reply_file", "reply_sha256")
PREVIOUS_DIR = "previous"
#: last year's published results, as ``ictaudit init`` copies them into ``previous/``
PREVIOUS_FILES = ("scores.csv", "values.csv", "agencies.csv", "manifest.json")
AGENCY_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


class CycleError(ValueError):
    """A cycle file that cannot be used; the message names the file, the line and the problem."""


@dataclass(frozen=True)
class PreviousResults:
    """Last year's published results inside the cycle folder: ``folder/<file>`` with its sha256."""

    year: int
    folder: Path
    sha256: dict[str, str]

    def path(self, name: str) -> Path:
        return self.folder / name


@dataclass(frozen=True, eq=False)
class Cycle:
    """A checked cycle folder. ``agencies`` has a boolean ``ranked`` column; dates are ``date``."""

    root: Path
    year: int
    rubric_id: str
    deadline: date | None
    title: str
    province: str
    sample: bool
    agencies: pd.DataFrame
    receipts: pd.DataFrame
    corrections: pd.DataFrame | None
    contact: str = ""
    timezone: str = DEFAULT_TIMEZONE
    reply_by: date | None = None
    reply_to: str = ""
    notice: str = ""
    previous: PreviousResults | None = None
    documents: dict = field(default_factory=dict)

    @property
    def submissions_dir(self) -> Path:
        return self.root / SUBMISSIONS_DIR

    def agency(self, agency_id: str) -> pd.Series:
        rows = self.agencies[self.agencies["agency_id"] == agency_id]
        if rows.empty:
            raise KeyError(f"agency {agency_id!r} is not on the roster {self.root / AGENCIES_FILE}")
        return rows.iloc[0]


def load_cycle(cycle_dir: Path | str, rubric=None, *, for_run: bool = True) -> Cycle:
    """Read and check a cycle folder; raise :class:`CycleError` on the first file that is wrong.

    Groups on the roster and fields in ``corrections.csv`` are checked against the rubric named in
    ``cycle.yaml`` (pass ``rubric`` to use an already loaded one); an unknown or invalid rubric
    raises :class:`ictaudit.rules.rubric.RubricError`. ``for_run=False`` is for what happens before
    anything comes back (the blank forms): the deadline may be unset and ``receipts.csv`` absent.
    """
    root = Path(cycle_dir)
    if not root.is_dir():
        raise CycleError(f"{root}: không tìm thấy thư mục đợt đánh giá (cần một thư mục dạng data/raw/<năm>/ có tệp {CYCLE_FILE})")
    meta = read_cycle_yaml(root / CYCLE_FILE)
    if rubric is None:
        from ictaudit.rules.rubric import load_rubric

        rubric = load_rubric(meta["rubric"])
    elif rubric.id != meta["rubric"]:
        raise CycleError(f"{root / CYCLE_FILE}: rubric ghi bộ tiêu chí {meta['rubric']!r}, nhưng bộ tiêu chí được dùng là {rubric.id!r}")
    if rubric.years and meta["year"] not in rubric.years:
        years = ", ".join(map(str, rubric.years))
        raise CycleError(
            f"{root / CYCLE_FILE}: bộ tiêu chí {rubric.id} chỉ áp dụng cho các năm {years}, không phải {meta['year']}: "
            "ở mục rubric, ghi bộ tiêu chí của năm đó"
        )
    if for_run and meta["deadline"] is None:
        raise CycleError(
            f"{root / CYCLE_FILE}: chưa ghi hạn nộp phiếu (deadline is not set): ghi ngày cuối cùng nhận phiếu, "
            "dạng YYYY-MM-DD (ví dụ deadline: 2018-11-02), rồi chạy lại — phiếu trắng gửi được khi chưa có hạn, "
            "lần chạy thì không"
        )
    agencies = read_agencies(root / AGENCIES_FILE, rubric.group_ids)
    receipts_path = root / RECEIPTS_FILE
    receipts = read_receipts(receipts_path) if for_run or receipts_path.exists() else empty_receipts()
    corrections_path = root / CORRECTIONS_FILE
    corrections = (
        read_corrections(corrections_path)
        if corrections_path.exists()
        else None
    )
    return Cycle(
        root=root,
        year=meta["year"],
        rubric_id=meta["rubric"],
        deadline=meta["deadline"],
        title=meta["title"],
        province=meta["province"],
        sample=meta["sample"],
        agencies=agencies,
        receipts=receipts,
        corrections=corrections,
        contact=meta["contact"],
        timezone=meta["timezone"],
        reply_by=meta["reply_by"],
        reply_to=meta["reply_to"],
        notice=meta["notice"],
        previous=read_previous(root, meta["previous"]),
        documents=meta["documents"],
    )


# -- cycle.yaml --------------------------------------------------------------------------------


def read_cycle_yaml(path: Path) -> dict:
    """The checked contents of ``cycle.yaml`` with ``deadline`` as a date and defaults filled in."""
    data = _cycle_mapping(path)
    year = data["year"]
    if isinstance(year, bool) or not isinstance(year, int) or not 1990 <= year <= 2100:
        raise CycleError(f"{path}: year phải là một năm viết bằng số (ví dụ 2017), không phải {year!r}")
    out = {
        "year": year,
        "deadline": _optional_date(path, data, "deadline", "ngày cuối cùng nhận phiếu"),
        "reply_by": _optional_date(path, data, "reply_by", "ngày cuối cùng nhận trả lời xác nhận"),
    }
    for key in ("rubric", "title", "province"):
        value = data[key]
        if not isinstance(value, str) or not value.strip():
            raise CycleError(f"{path}: {key} phải ghi bằng chữ, không được để trống (đang là {value!r})")
        out[key] = _nfc(value)
    sample = data.get("sample", False)
    if not isinstance(sample, bool):
        raise CycleError(f"{path}: sample phải là true hoặc false, không phải {sample!r}")
    out["sample"] = sample
    for key in ("contact", "reply_to", "notice"):
        value = data.get(key) or ""
        if not isinstance(value, str):
            raise CycleError(f"{path}: {key} phải ghi bằng chữ, không phải {value!r}")
        out[key] = _nfc(value)
    out["timezone"] = str(data.get("timezone") or DEFAULT_TIMEZONE)
    try:
        zone(out["timezone"])
    except ValueError:
        raise CycleError(
            f"{path}: timezone {out['timezone']!r} không phải tên múi giờ hợp lệ; ghi tên múi giờ theo chuẩn IANA, "
            f"ví dụ timezone: {DEFAULT_TIMEZONE}"
        ) from None
    documents = data.get("documents") or {}
    if not isinstance(documents, dict):
        raise CycleError(f"{path}: documents phải là danh mục thông tin của các văn bản (mỗi mục dạng tên: giá trị), không phải {documents!r}")
    out["documents"] = documents
    out["previous"] = _previous_block(path, data.get("previous"))
    return out


def _cycle_mapping(path: Path) -> dict:
    """``cycle.yaml`` as a mapping with every required key and no unknown one."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise CycleError(f"{path}: không tìm thấy tệp; thư mục đợt đánh giá cần có {CYCLE_FILE} (year, rubric, deadline, …)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CycleError(f"{path}: không đọc được tệp dưới dạng văn bản UTF-8: {exc}") from None
    from ictaudit.rules.files import load_yaml

    try:
        data = load_yaml(text)
    except yaml.YAMLError as exc:
        raise CycleError(f"{path}: sai cú pháp YAML: {exc}") from None
    except ValueError as exc:  # a date-shaped value that is no date, e.g. deadline: 2017-11-31
        raise CycleError(f"{path}: có giá trị không phải ngày có thật ({exc}); ghi ngày dạng YYYY-MM-DD") from None
    if not isinstance(data, dict):
        raise CycleError(f"{path}: phải gồm các mục {', '.join(CYCLE_KEYS_REQUIRED)}, mỗi mục một dòng dạng tên: giá trị")
    if missing := [k for k in CYCLE_KEYS_REQUIRED if k not in data]:
        raise CycleError(f"{path}: thiếu mục {', '.join(missing)}")
    if unknown := sorted(set(data) - set(CYCLE_KEYS_REQUIRED) - set(CYCLE_KEYS_OPTIONAL)):
        allowed = ", ".join(CYCLE_KEYS_REQUIRED + CYCLE_KEYS_OPTIONAL)
        raise CycleError(f"{path}: có mục không nhận ra: {', '.join(unknown)} (các mục được dùng: {allowed})")
    return data


def _optional_date(path: Path, data: dict, key: str, meaning: str) -> date | None:
    """``data[key]`` as a date, None when it is empty or absent; a value that is not a date is an error."""
    value = data.get(key)
    if value in (None, ""):
        return None
    if (day := _as_date(value)) is None:
        raise CycleError(f"{path}: {key} phải là ngày dạng YYYY-MM-DD ({meaning}), không phải {value!r}")
    return day


def _previous_block(path: Path, block) -> dict | None:
    """``previous:`` as written by ``ictaudit init``: ``year``, ``folder`` and ``sha256`` per file."""
    if block in (None, ""):
        return None
    if not isinstance(block, dict) or set(block) - {"year", "folder", "sha256", "source"}:
        raise CycleError(f"{path}: previous phải gồm các mục year, folder, sha256 (và source) đúng như ictaudit init đã ghi")
    year, folder, digests = block.get("year"), block.get("folder", PREVIOUS_DIR), block.get("sha256")
    if isinstance(year, bool) or not isinstance(year, int):
        raise CycleError(f"{path}: previous.year phải là một năm viết bằng số (ví dụ 2017), không phải {year!r}")
    if not isinstance(folder, str) or not folder or Path(folder).is_absolute() or ".." in Path(folder).parts:
        raise CycleError(f"{path}: previous.folder phải là tên một thư mục nằm trong thư mục đợt đánh giá, không phải {folder!r}")
    if not isinstance(digests, dict) or not digests or not all(
        isinstance(k, str) and isinstance(v, str) and re.fullmatch(r"[0-9a-f]{64}", v) for k, v in digests.items()
    ):
        raise CycleError(f"{path}: previous.sha256 phải ghi sha256 của từng tệp trong {folder}/ (64 ký tự 0-9, a-f)")
    if unknown := sorted(set(digests) - set(PREVIOUS_FILES)):
        raise CycleError(f"{path}: previous.sha256 có tệp không thuộc kết quả đã công bố năm trước: {', '.join(unknown)}")
    return {"year": year, "folder": folder, "sha256": dict(digests)}


def read_previous(root: Path, block: dict | None) -> PreviousResults | None:
    """Last year's results named by ``previous:``, each file checked against its recorded sha256."""
    if block is None:
        return None
    import hashlib

    folder = root / block["folder"]
    for name, expected in block["sha256"].items():
        file = folder / name
        try:
            actual = hashlib.sha256(file.read_bytes()).hexdigest()
        except FileNotFoundError:
            raise CycleError(f"{file}: không tìm thấy tệp; mục previous trong cycle.yaml ghi đây là tệp {name} của kết quả đã công bố năm trước") from None
        if actual != expected:
            raise CycleError(
                f"{file}: đã bị thay đổi sau khi được liên kết (sha256 {actual[:12]}…, cycle.yaml ghi {expected[:12]}…); "
                "kết quả đã công bố năm trước là dữ liệu đầu vào, không được sửa: hãy khôi phục tệp gốc"
            )
    return PreviousResults(block["year"], folder, dict(block["sha256"]))


def _as_date(value) -> date | None:
    if isinstance(value, date) and not hasattr(value, "hour"):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text).strip()


# -- CSV files ---------------------------------------------------------------------------------


def read_csv_text(path: Path, columns: tuple[str, ...], optional: tuple[str, ...] = ()) -> pd.DataFrame:
    """A CSV as strings, NFC-normalised and stripped, with ``columns`` then ``optional`` (in that order).

    The header must name every one of ``columns`` (any order); an ``optional`` column it lacks comes
    back empty; other columns are refused.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise CycleError(f"{path}: không tìm thấy tệp; cần một tệp CSV có các cột {', '.join(columns)}") from None
    except OSError as exc:
        raise CycleError(f"{path}: không đọc được tệp: {exc}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CycleError(
            f"{path}: không lưu theo bảng mã UTF-8 (lỗi ở byte {exc.start}); hãy mở bằng Excel hoặc LibreOffice và lưu lại "
            "dạng 'CSV UTF-8'"
        ) from None
    if not text.strip():
        raise CycleError(f"{path}: tệp trống; cần có dòng tiêu đề {','.join(columns)}")
    try:
        df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, skipinitialspace=False)
    except (pd.errors.ParserError, ValueError) as exc:
        raise CycleError(f"{path}: sai định dạng CSV: {exc}") from None
    df.columns = [_nfc(str(c)) for c in df.columns]
    if missing := [c for c in columns if c not in df.columns]:
        raise CycleError(f"{path}: thiếu cột {', '.join(missing)} (cần có các cột {', '.join(columns)})")
    if extra := [c for c in df.columns if c not in columns and c not in optional]:
        allowed = ", ".join(columns) + (f"; không bắt buộc: {', '.join(optional)}" if optional else "")
        raise CycleError(f"{path}: có cột không nhận ra: {', '.join(extra)} (các cột được dùng: {allowed})")
    for c in optional:
        if c not in df.columns:
            df[c] = ""
    wanted = [*columns, *optional]
    df = df[wanted].map(_nfc) if len(df) else df[wanted]
    return df.reset_index(drop=True)


def _line(i: int) -> int:
    """The editor line of data row ``i`` (0-based; the header is line 1)."""
    return i + 2


def _require_filled(df: pd.DataFrame, path: Path, columns: tuple[str, ...]) -> None:
    for col in columns:
        for i in df.index[df[col] == ""]:
            raise CycleError(f"{path}, dòng {_line(i)}: cột {col} đang để trống")


def read_agencies(path: Path, group_ids: tuple[str, ...]) -> pd.DataFrame:
    """The roster: unique ids, a known group, ``ranked`` true/false (turned into bool)."""
    df = read_csv_text(path, AGENCY_COLUMNS, AGENCY_OPTIONAL_COLUMNS)
    if df.empty:
        raise CycleError(f"{path}: danh sách chưa có đơn vị nào")
    _require_filled(df, path, ("agency_id", "name", "group", "ranked"))
    for i, agency_id in df["agency_id"].items():
        if not AGENCY_ID_PATTERN.match(agency_id):
            raise CycleError(
                f"{path}, dòng {_line(i)}: agency_id {agency_id!r} chỉ được gồm chữ thường không dấu (a-z), chữ số, "
                "'-' hoặc '_' (mã này dùng để đặt tên tệp của đơn vị), ví dụ so-noi-vu"
            )
    seen: dict[str, int] = {}
    for i, agency_id in df["agency_id"].items():
        if agency_id in seen:
            raise CycleError(
                f"{path}, dòng {_line(i)}: agency_id {agency_id} đã có ở dòng {_line(seen[agency_id])}"
            )
        seen[agency_id] = i
    for i, group in df["group"].items():
        if group not in group_ids:
            raise CycleError(f"{path}, dòng {_line(i)}: group {group!r} không có trong bộ tiêu chí (ghi một trong các khối {', '.join(group_ids)})")
    ranked = []
    for i, text in df["ranked"].items():
        key = text.casefold()
        if key not in ("true", "false"):
            raise CycleError(f"{path}, dòng {_line(i)}: ranked phải là true hoặc false, không phải {text!r}")
        ranked.append(key == "true")
    df["ranked"] = pd.Series(ranked, index=df.index, dtype=bool)
    for i in df.index[(~df["ranked"]) & (df["note"] == "")]:
        raise CycleError(f"{path}, dòng {_line(i)}: đơn vị có ranked là false cần ghi lý do vào cột note")
    for i, text in df["predecessor"].items():
        bad = [p for p in text.split(";") if p.strip() and not AGENCY_ID_PATTERN.match(p.strip())]
        if bad:
            raise CycleError(
                f"{path}, dòng {_line(i)}: predecessor {bad[0]!r} không phải mã đơn vị; ghi mã đơn vị của năm trước, "
                "cách nhau bằng ';' (ví dụ huyen-ha-quang;huyen-thong-nong), hoặc để trống nếu đơn vị giữ nguyên mã"
            )
    df["predecessor"] = [";".join(p.strip() for p in text.split(";") if p.strip()) for text in df["predecessor"]]
    return df


def empty_receipts() -> pd.DataFrame:
    """The register of a cycle to which nothing has come back yet."""
    df = pd.DataFrame({c: pd.Series(dtype=str) for c in (*RECEIPT_COLUMNS, *RECEIPT_MAIL_COLUMNS)})
    df["received_on_text"] = df["received_on"]
    df["received_on"] = pd.Series(dtype=object)
    df["received_at"] = pd.Series(dtype=object)
    df["line"] = pd.Series(dtype=int)
    return df


def read_receipts(path: Path) -> pd.DataFrame:
    """The DIC's register: ``received_on`` as dates; ``file`` a plain name inside ``submissions/``.

    ``received_on`` is read as ISO or dd/mm/yyyy; ``received_at`` (from mail) as an ISO timestamp with
    its offset, or None; ``line`` is each row's line in the file (the header is line 1), so that a
    problem can name it. Duplicates and agencies not on the roster are left for intake to report.
    """
    df = read_csv_text(path, RECEIPT_COLUMNS, RECEIPT_MAIL_COLUMNS)
    _require_filled(df, path, ("agency_id",))
    # One bad row is not fatal (docs/contracts.md §8): a receipt whose date is not a date, or whose file is not a
    # plain name inside submissions/, makes its agency invalid at intake, with the reason (I10, I16).
    df["received_on_text"] = df["received_on"]
    df["received_on"] = pd.Series([parse_date(t) for t in df["received_on"]], index=df.index, dtype=object)
    df["received_at_text"] = df["received_at"]
    df["received_at"] = pd.Series([parse_timestamp(t) for t in df["received_at"]], index=df.index, dtype=object)
    df["line"] = [_line(i) for i in range(len(df))]
    return df


def read_corrections(path: Path) -> pd.DataFrame:
    """Corrections confirmed by the agencies; each gets a ``correction_id`` (``K001`` …)."""
    df = read_csv_text(path, CORRECTION_COLUMNS, CORRECTION_OPTIONAL_COLUMNS)
    # One bad row is not fatal (docs/contracts.md §8): a correction without who, why or a real date, or
    # naming an agency or a field that does not exist, is reported as rejected by the corrections overlay.
    blank = df["correction_id"] == ""
    df.loc[blank, "correction_id"] = [f"K{i + 1:03d}" for i in df.index[blank]]
    dup = df["correction_id"][df["correction_id"].duplicated()]
    if not dup.empty:
        raise CycleError(f"{path}, dòng {_line(dup.index[0])}: correction_id {dup.iloc[0]} bị trùng với một dòng trước; mỗi hiệu chỉnh cần một mã riêng")
    df["line"] = [str(_line(i)) for i in range(len(df))]  # where a rejected correction is fixed
    return df

"""One year's cycle folder (docs/contracts.md §3), read and checked: ``load_cycle(Path("data/raw/2017"))``.

The folder holds ``cycle.yaml``, ``agencies.csv`` (the roster), ``receipts.csv`` (the DIC's register
of what arrived and when), ``submissions/`` and optionally ``corrections.csv``. These files are the
DIC's own: a problem in them stops the run with :class:`CycleError`, naming the file, the line and
how to fix it. Problems in what the *agencies* sent (their workbooks, a receipt naming an agency not
on the roster, two receipts for one agency) are not cycle errors: intake reports them per agency.

CSV files are read as text (UTF-8, with or without BOM), every cell NFC-normalised and stripped;
the line numbers in messages are those an editor shows (the header is line 1).

``cycle.yaml`` keys: ``year``, ``rubric``, ``deadline`` (ISO date, the last accepted day),
``title``, ``province``; optional ``sample`` (true for synthetic data) and ``contact`` (who to call,
printed on the forms). Unknown keys are refused so that a typo does not pass silently.

``corrections`` gains a ``correction_id`` column when the file has none: ``K001``, ``K002``… in file
order (the ids :func:`ictaudit.validate.corrections.correction_id` gives), so that ``values.csv`` and
``issues.csv`` can point at a correction. ``confirmed_on`` is checked as an ISO date and kept as text.
"""

from __future__ import annotations

import io
import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd
import yaml

CYCLE_FILE = "cycle.yaml"
AGENCIES_FILE = "agencies.csv"
RECEIPTS_FILE = "receipts.csv"
CORRECTIONS_FILE = "corrections.csv"
SUBMISSIONS_DIR = "submissions"

CYCLE_KEYS_REQUIRED = ("year", "rubric", "deadline", "title", "province")
CYCLE_KEYS_OPTIONAL = ("sample", "contact")
AGENCY_COLUMNS = ("agency_id", "name", "group", "ranked", "note")
RECEIPT_COLUMNS = ("agency_id", "file", "received_on", "channel", "note")
CORRECTION_COLUMNS = (
    "agency_id", "field", "old_value", "new_value", "reason", "check_id", "confirmed_by", "confirmed_on",
)
AGENCY_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


class CycleError(ValueError):
    """A cycle file that cannot be used; the message names the file, the line and the problem."""


@dataclass(frozen=True, eq=False)
class Cycle:
    """A checked cycle folder. ``agencies`` has a boolean ``ranked`` column; dates are ``date``."""

    root: Path
    year: int
    rubric_id: str
    deadline: date
    title: str
    province: str
    sample: bool
    agencies: pd.DataFrame
    receipts: pd.DataFrame
    corrections: pd.DataFrame | None
    contact: str = ""

    @property
    def submissions_dir(self) -> Path:
        return self.root / SUBMISSIONS_DIR

    def agency(self, agency_id: str) -> pd.Series:
        rows = self.agencies[self.agencies["agency_id"] == agency_id]
        if rows.empty:
            raise KeyError(f"agency {agency_id!r} is not on the roster {self.root / AGENCIES_FILE}")
        return rows.iloc[0]


def load_cycle(cycle_dir: Path | str, rubric=None) -> Cycle:
    """Read and check a cycle folder; raise :class:`CycleError` on the first file that is wrong.

    Groups on the roster and fields in ``corrections.csv`` are checked against the rubric named in
    ``cycle.yaml`` (pass ``rubric`` to use an already loaded one); an unknown or invalid rubric
    raises :class:`ictaudit.rules.rubric.RubricError`.
    """
    root = Path(cycle_dir)
    if not root.is_dir():
        raise CycleError(f"{root}: the cycle folder does not exist (expected data/raw/<year>/ with {CYCLE_FILE})")
    meta = read_cycle_yaml(root / CYCLE_FILE)
    if rubric is None:
        from ictaudit.rules.rubric import load_rubric

        rubric = load_rubric(meta["rubric"])
    elif rubric.id != meta["rubric"]:
        raise CycleError(f"{root / CYCLE_FILE}: rubric {meta['rubric']!r} but the rubric given is {rubric.id!r}")
    if rubric.years and meta["year"] not in rubric.years:
        years = ", ".join(map(str, rubric.years))
        raise CycleError(
            f"{root / CYCLE_FILE}: rubric {rubric.id} applies to the years {years}, not {meta['year']}; "
            "name the rubric of that year"
        )
    agencies = read_agencies(root / AGENCIES_FILE, rubric.group_ids)
    receipts = read_receipts(root / RECEIPTS_FILE)
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
    )


# -- cycle.yaml --------------------------------------------------------------------------------


def read_cycle_yaml(path: Path) -> dict:
    """The checked contents of ``cycle.yaml`` with ``deadline`` as a date and defaults filled in."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise CycleError(f"{path}: missing; a cycle folder needs {CYCLE_FILE} (year, rubric, deadline, …)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CycleError(f"{path}: cannot read it as UTF-8 text: {exc}") from None
    from ictaudit.rules.rubric import load_yaml

    try:
        data = load_yaml(text)
    except yaml.YAMLError as exc:
        raise CycleError(f"{path}: not valid YAML: {exc}") from None
    except ValueError as exc:  # a date-shaped value that is no date, e.g. deadline: 2017-11-31
        raise CycleError(f"{path}: a value is not a real date ({exc}); write dates as YYYY-MM-DD") from None
    if not isinstance(data, dict):
        raise CycleError(f"{path}: must be a mapping with keys {', '.join(CYCLE_KEYS_REQUIRED)}")
    if missing := [k for k in CYCLE_KEYS_REQUIRED if k not in data]:
        raise CycleError(f"{path}: missing keys {', '.join(missing)}")
    if unknown := sorted(set(data) - set(CYCLE_KEYS_REQUIRED) - set(CYCLE_KEYS_OPTIONAL)):
        allowed = ", ".join(CYCLE_KEYS_REQUIRED + CYCLE_KEYS_OPTIONAL)
        raise CycleError(f"{path}: unknown keys {', '.join(unknown)} (allowed: {allowed})")
    year = data["year"]
    if isinstance(year, bool) or not isinstance(year, int) or not 1990 <= year <= 2100:
        raise CycleError(f"{path}: year must be a whole year such as 2017, not {year!r}")
    deadline = _as_date(data["deadline"])
    if deadline is None:
        raise CycleError(f"{path}: deadline must be an ISO date (YYYY-MM-DD, the last accepted day), not {data['deadline']!r}")
    out = {"year": year, "deadline": deadline}
    for key in ("rubric", "title", "province"):
        value = data[key]
        if not isinstance(value, str) or not value.strip():
            raise CycleError(f"{path}: {key} must be non-empty text, not {value!r}")
        out[key] = _nfc(value)
    sample = data.get("sample", False)
    if not isinstance(sample, bool):
        raise CycleError(f"{path}: sample must be true or false, not {sample!r}")
    out["sample"] = sample
    contact = data.get("contact", "")
    if not isinstance(contact, str):
        raise CycleError(f"{path}: contact must be text, not {contact!r}")
    out["contact"] = _nfc(contact)
    return out


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


def read_csv_text(path: Path, columns: tuple[str, ...]) -> pd.DataFrame:
    """A CSV as strings, NFC-normalised and stripped, with exactly ``columns`` (in that order).

    The header must name every column (any order); extra columns are refused.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise CycleError(f"{path}: missing; expected a CSV with columns {', '.join(columns)}") from None
    except OSError as exc:
        raise CycleError(f"{path}: cannot read it: {exc}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CycleError(
            f"{path}: not UTF-8 (byte {exc.start}); save it as 'CSV UTF-8' from Excel or LibreOffice"
        ) from None
    if not text.strip():
        raise CycleError(f"{path}: empty; expected a header line {','.join(columns)}")
    try:
        df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, skipinitialspace=False)
    except (pd.errors.ParserError, ValueError) as exc:
        raise CycleError(f"{path}: not a valid CSV: {exc}") from None
    df.columns = [_nfc(str(c)) for c in df.columns]
    if missing := [c for c in columns if c not in df.columns]:
        raise CycleError(f"{path}: missing columns {', '.join(missing)} (expected {', '.join(columns)})")
    if extra := [c for c in df.columns if c not in columns]:
        raise CycleError(f"{path}: unknown columns {', '.join(extra)} (expected {', '.join(columns)})")
    df = df[list(columns)].map(_nfc) if len(df) else df[list(columns)]
    return df.reset_index(drop=True)


def _line(i: int) -> int:
    """The editor line of data row ``i`` (0-based; the header is line 1)."""
    return i + 2


def _require_filled(df: pd.DataFrame, path: Path, columns: tuple[str, ...]) -> None:
    for col in columns:
        for i in df.index[df[col] == ""]:
            raise CycleError(f"{path}, line {_line(i)}: {col} is empty")


def read_agencies(path: Path, group_ids: tuple[str, ...]) -> pd.DataFrame:
    """The roster: unique ids, a known group, ``ranked`` true/false (turned into bool)."""
    df = read_csv_text(path, AGENCY_COLUMNS)
    if df.empty:
        raise CycleError(f"{path}: the roster has no agency")
    _require_filled(df, path, ("agency_id", "name", "group", "ranked"))
    for i, agency_id in df["agency_id"].items():
        if not AGENCY_ID_PATTERN.match(agency_id):
            raise CycleError(
                f"{path}, line {_line(i)}: agency_id {agency_id!r} must be lower-case ASCII letters, digits, "
                "'-' or '_' (it names the agency's files), e.g. so-noi-vu"
            )
    seen: dict[str, int] = {}
    for i, agency_id in df["agency_id"].items():
        if agency_id in seen:
            raise CycleError(
                f"{path}, line {_line(i)}: agency_id {agency_id} already on line {_line(seen[agency_id])}"
            )
        seen[agency_id] = i
    for i, group in df["group"].items():
        if group not in group_ids:
            raise CycleError(f"{path}, line {_line(i)}: group {group!r} is not in the rubric ({', '.join(group_ids)})")
    ranked = []
    for i, text in df["ranked"].items():
        key = text.casefold()
        if key not in ("true", "false"):
            raise CycleError(f"{path}, line {_line(i)}: ranked must be true or false, not {text!r}")
        ranked.append(key == "true")
    df["ranked"] = pd.Series(ranked, index=df.index, dtype=bool)
    for i in df.index[(~df["ranked"]) & (df["note"] == "")]:
        raise CycleError(f"{path}, line {_line(i)}: an agency with ranked false needs the reason in note")
    return df


def read_receipts(path: Path) -> pd.DataFrame:
    """The DIC's register: ``received_on`` as dates; ``file`` a plain name inside ``submissions/``.

    Duplicates and agencies not on the roster are left for intake to report per agency.
    """
    df = read_csv_text(path, RECEIPT_COLUMNS)
    _require_filled(df, path, ("agency_id",))
    # One bad row is not fatal (docs/contracts.md §8): a receipt whose date is not a date, or whose file is not a
    # plain name inside submissions/, makes its agency invalid at intake, with the reason (I10, I16).
    df["received_on_text"] = df["received_on"]
    df["received_on"] = pd.Series([_as_date(t) for t in df["received_on"]], index=df.index, dtype=object)
    return df


def read_corrections(path: Path) -> pd.DataFrame:
    """Corrections confirmed by the agencies; each gets a ``correction_id`` (``K001`` …)."""
    text_head = path.read_bytes()[:4096].decode("utf-8-sig", errors="replace").splitlines()
    has_id = bool(text_head) and "correction_id" in [c.strip() for c in text_head[0].split(",")]
    columns = (*CORRECTION_COLUMNS, "correction_id") if has_id else CORRECTION_COLUMNS
    df = read_csv_text(path, columns)
    # One bad row is not fatal (docs/contracts.md §8): a correction without who, why or a real date, or naming
    # an agency or a field that does not exist, is reported as rejected by the corrections overlay.
    if not has_id:
        df["correction_id"] = [f"K{i + 1:03d}" for i in range(len(df))]
    else:
        _require_filled(df, path, ("correction_id",))
        dup = df["correction_id"][df["correction_id"].duplicated()]
        if not dup.empty:
            raise CycleError(f"{path}, line {_line(dup.index[0])}: correction_id {dup.iloc[0]} is used twice")
    return df

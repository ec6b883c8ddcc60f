"""What both report writers share: the scored tables of a run, typed, and the words they are shown in.

In: the scored folder (``scores.csv``, ``criteria.csv``, ``trail.csv``, ``values.csv``, ``issues.csv``
and, when present, ``corrections.csv``; ``previous.json`` and ``previous_links.csv`` for the comparison
with last year's published results), the rubric and the cycle's metadata. Out: :class:`ReportInputs` and the Vietnamese labels of statuses, flags, kinds and
severities. No wall-clock time: the same inputs give the same bytes.
"""

from __future__ import annotations

import contextlib
import gc
import json
import math
import re
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from ictaudit.common.numfmt import fmt_number, is_nan, round_half_up
from ictaudit.common.tables import read_csv  # undoes the CSV guard: each text exactly as written
from ictaudit.intake.parsing import format_float
from ictaudit.intake.values import VALUE_COLUMNS
from ictaudit.rules.rubric import Rubric

SCORE_NUMBER_COLUMNS = ("points", "applicable_max", "score_100", "score_100_published", "index")
RANKED = "ranked"

#: what each status means, in the words of the report
STATUS_VI = {
    "ranked": "Được đánh giá, xếp hạng",
    "late": "Gửi phiếu sau hạn",
    "missing": "Không gửi phiếu",
    "excluded": "Không xếp hạng theo danh sách đơn vị",
    "invalid": "Phiếu không hợp lệ",
}
FLAG_VI = {
    "missing": "thiếu số liệu",
    "blocked": "giữ lại do lỗi chưa xác nhận",
    "capped": "vượt 100%, lấy tối đa",
    "na": "không áp dụng",
    "zero_denominator": "mẫu số bằng 0",
}
KIND_VI = {
    "ratio": "Tỷ lệ",
    "ratio_to_best": "Tỷ lệ so với đơn vị cao nhất",
    "checklist": "Danh mục (cộng điểm từng mục)",
    "share_of_items": "Tỷ lệ số mục đạt",
    "count_capped": "Đếm, có mức trần",
    "tiers": "Theo mức",
}
SEVERITY_VI = {"E": "Lỗi", "W": "Cảnh báo"}
CORRECTION_STATUS_VI = {"applied": "Đã áp dụng", "confirmed": "Xác nhận giữ nguyên", "rejected": "Không áp dụng"}
SOURCE_VI = {"agency reply": "Phản hồi của đơn vị", "on-site survey": "Khảo sát thực tế", "DIC review": "Sở rà soát"}


def source_vi(source: str, document: str = "", reply_file: str = "") -> str:
    """Where a correction comes from, in words: ``Khảo sát thực tế — Biên bản 12/BB``, ``Phản hồi của đơn
    vị — phiếu tra-loi.xlsx``; ``—`` when the row names no source."""
    words = SOURCE_VI.get(source, source)
    ref = document or (f"phiếu {reply_file}" if reply_file else "")
    if words and ref:
        return f"{words} — {ref}"
    return words or ref or "—"


def fmt_date_text(text) -> str:
    """An ISO date (``2017-11-15``) as dd/mm/yyyy; anything else is returned as it is."""
    if isinstance(text, date):
        return text.strftime("%d/%m/%Y")
    s = "" if text is None else str(text)
    try:
        return date.fromisoformat(s[:10]).strftime("%d/%m/%Y") if len(s) >= 10 else s
    except ValueError:
        return s


def bands_text(rubric: Rubric) -> str:
    """``Tốt ≥ 85; Khá ≥ 70; Trung bình ≥ 50; Yếu < 50``."""
    parts = []
    for i, b in enumerate(rubric.bands):
        if i == len(rubric.bands) - 1 and i > 0:
            parts.append(f"{b.label_vi} < {fmt_number(rubric.bands[i - 1].min_score, 2, trim=True)}")
        else:
            parts.append(f"{b.label_vi} ≥ {fmt_number(b.min_score, 2, trim=True)}")
    return "; ".join(parts)


_FORMULA_VI = (
    ("best = max v over the group's ranked agencies", "best = v lớn nhất trong các đơn vị được xếp hạng của khối"),
    ("; N/A when ", "; không áp dụng khi "),
    ("(number of ", "(số mục "),
    (" = yes)", " = Có)"),
    (", else 0", ", còn lại 0"),
)


def formula_vi(formula: str) -> str:
    """The rule as ``kind.formula()`` writes it, with its few English words in Vietnamese."""
    for en, vi in _FORMULA_VI:
        formula = formula.replace(en, vi)
    return formula


def status_vi(status: str) -> str:
    return STATUS_VI.get(status, status)


def flags_vi(flags: str) -> str:
    """``missing;capped`` → ``thiếu số liệu; vượt 100%, lấy tối đa``."""
    return "; ".join(FLAG_VI.get(f, f) for f in str(flags).split(";") if f)


#: a number as intake writes a number cell's raw value: Python's shortest form ("45", "40.8")
_MACHINE_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def vi_digits(text: str) -> str:
    """A number written the machine way (``1100``, ``-40.125``) with the Vietnamese separators (``1.100``,
    ``-40,125``), every digit kept."""
    sign, body = ("-", text[1:]) if text.startswith("-") else ("", text)
    whole, _, frac = body.partition(".")
    grouped = f"{int(whole):,}".replace(",", ".")
    return sign + grouped + ("," + frac if frac else "")


def raw_shown(raw: str, value: float, corrected: bool) -> str:
    """A raw value as the agency saw it in its spreadsheet: a number cell (intake keeps it in Python's
    form, ``1100`` or ``40.8``) with the Vietnamese separators (``1.100``, ``40,8``); text the agency
    typed (``1.100``, ``89,2``, ``125 máy``, ``Có``) exactly as typed.

    A text such as ``1.995`` is told from a number cell by its value: intake read the text 1995, the
    number would be 1.995; when a correction replaced the value, a raw text with three digits after
    its dot could be either and is shown as it is.
    """
    if not _MACHINE_NUMBER.fullmatch(raw):
        return raw
    x = float(raw)
    if format_float(x) != raw:
        return raw
    if corrected:
        if "." in raw and len(raw.partition(".")[2]) == 3:
            return raw
    elif x != value:  # NaN too: a blank value is no number cell
        return raw
    return vi_digits(raw)


def shown_sum_differs(parts: list[float], total: float, decimals: int = 2) -> str | None:
    """The sum of ``parts`` as shown (each rounded half up to ``decimals``), as text, when it differs from
    ``total`` as shown; None when they agree. Points are kept in full and the total is their sum, so the
    shown parts may add up to a shown total 0,01 away (85,45 shown, 85,46 the total): the pages say so."""
    shown = [round_half_up(float(x), decimals) for x in parts if not is_nan(x)]
    units = sum(round(x * 10**decimals) for x in shown)  # whole units of the last decimal: exact
    if units == round(round_half_up(float(total), decimals) * 10**decimals):
        return None
    return fmt_number(units / 10**decimals, decimals)


_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def agency_file_name(agency_id: str) -> str:
    """The file name of an agency's page; ids that are not plain (``/``, spaces, …) are made safe."""
    if _SAFE_ID.match(agency_id) and len(agency_id) <= 100:
        return f"{agency_id}.html"
    import hashlib

    stem = re.sub(r"[^A-Za-z0-9_.-]", "_", agency_id)[:60].lstrip(".") or "agency"
    return f"{stem}-{hashlib.sha256(agency_id.encode('utf-8')).hexdigest()[:8]}.html"


def _floats(s: pd.Series) -> pd.Series:
    return pd.to_numeric(s.replace("", np.nan), errors="coerce").astype(float)


def _ints(s: pd.Series) -> pd.Series:
    return pd.to_numeric(s.replace("", np.nan), errors="coerce").astype("Int64")


def parse_inputs(texts: list[str]) -> list[dict]:
    """``json.loads(text) if text else {}`` of each trail ``inputs`` text (the scoring's JSON objects).

    Parsed as one JSON array, one call instead of one per text (300,000 at 10,000 agencies); text by
    text if that array does not have one item per text.
    """
    try:
        parsed = json.loads("[" + ",".join(t or "{}" for t in texts) + "]")
    except ValueError:
        parsed = None
    if not isinstance(parsed, list) or len(parsed) != len(texts):
        parsed = [json.loads(t) if t else {} for t in texts]
    return parsed


class Memo(dict):
    """``memo[x]`` is ``fn(x)``, computed once per distinct ``x`` (equal keys must give equal results)."""

    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def __missing__(self, key):
        value = self[key] = self.fn(key)
        return value


@contextlib.contextmanager
def gc_paused():
    """No automatic garbage collection inside (as it was after): for the writers, which make millions of
    objects (row texts, lists, small dicts) and no reference cycles. Each collection would walk every
    tracked object, the inputs' included (~0.4 s a writer at 10,000 agencies, and in the forked
    worker each walk writes to pages it shares with the parent)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def records(df: pd.DataFrame) -> list[dict]:
    """``df.to_dict("records")`` (the same Python values), built from whole columns: ~4× faster."""
    names = list(df.columns)
    return [dict(zip(names, row)) for row in zip(*(df[c].tolist() for c in names))]


def _read_optional(path: Path, columns: list[str]) -> pd.DataFrame:
    if path.exists():
        df = read_csv(path)
        for c in columns:
            if c not in df.columns:
                df[c] = ""
        return df
    return pd.DataFrame({c: pd.Series(dtype=str) for c in columns})


ISSUE_COLUMNS = ["agency_id", "check_id", "severity", "fields", "values", "message_vi", "round", "resolved_by"]
CORRECTION_COLUMNS = [
    "correction_id", "agency_id", "field", "old_value", "new_value", "reason", "check_id", "confirmed_by",
    "confirmed_on", "status", "status_reason", "line", "source", "document", "reply_file",
]  # fmt: skip


def read_scores(path: Path, rubric: Rubric) -> pd.DataFrame:
    """``scores.csv`` with numbers as floats and the rank as a nullable integer.

    A table from before ``score_100_published`` existed carried the published score as ``score_100``
    (rounded already): its published column is that score rounded again, which changes nothing.
    """
    df = read_csv(path)
    had_published = "score_100_published" in df.columns
    for c in (*SCORE_NUMBER_COLUMNS, *(c.id for c in rubric.criteria)):
        if c in df.columns:
            df[c] = _floats(df[c])
        else:
            df[c] = np.nan
    if not had_published:
        df["score_100_published"] = round_half_up(df["score_100"].to_numpy(dtype=float), rubric.ranking.decimals)
    df["rank"] = _ints(df["rank"])
    return df


@dataclass
class ReportInputs:
    """The scored tables of one run, typed, plus the rubric and the cycle's metadata."""

    rubric: Rubric
    cycle_info: dict
    scores: pd.DataFrame
    criteria: pd.DataFrame
    trail: pd.DataFrame
    values: pd.DataFrame
    issues: pd.DataFrame
    corrections: pd.DataFrame
    has_corrections_file: bool
    #: ``previous.json`` (None for a scored folder written before it existed) and ``previous_links.csv``
    previous_info: dict | None = None
    previous_links: pd.DataFrame | None = None
    scored_dir: Path | None = None
    extra: dict = field(default_factory=dict)

    # -- lookups used by both writers -----------------------------------------------------------
    @cached_property
    def names(self) -> dict[str, str]:
        return dict(zip(self.scores["agency_id"], self.scores["agency_name"]))

    @cached_property
    def scored_ids(self) -> list[str]:
        """Agencies that have points (their values were read), in the order of scores.csv."""
        return [a for a, p in zip(self.scores["agency_id"], self.scores["points"]) if not math.isnan(p)]

    @cached_property
    def criteria_by_agency(self) -> dict[str, dict[str, dict]]:
        """Each agency's rows of ``criteria.csv``, by criterion."""
        out: dict[str, dict[str, dict]] = {}
        for r in records(self.criteria):
            out.setdefault(r["agency_id"], {})[r["criterion_id"]] = r
        return out

    @cached_property
    def corrections_by_id(self) -> dict[str, dict]:
        return {r["correction_id"]: r for r in records(self.corrections)}

    @cached_property
    def awaiting(self) -> dict[tuple, str]:
        """Open errors the agency confirmed unchanged, waiting for the DIC: (agency, check, round) → ids."""
        from ictaudit.validate.resolution import awaiting_decision

        return awaiting_decision(self.issues, self.corrections) if len(self.corrections) else {}

    def resolution_vi(self, issue: dict) -> str:
        """How an issue was answered, in words: ``K001: điều chỉnh 239 → 142 (phản hồi của đơn vị)``;
        an error the agency confirmed: waiting for the DIC; ``""`` while open."""
        ids = [i for i in str(issue.get("resolved_by") or "").split(";") if i]
        if not ids:
            waiting = self.awaiting.get((issue["agency_id"], issue["check_id"], int(issue["round"])))
            return f"Chờ Sở quyết định (đơn vị xác nhận giữ nguyên: {waiting.replace(';', ', ')})" if waiting else ""
        parts = []
        for cid in ids:
            c = self.corrections_by_id.get(cid, {})
            if c.get("status") == "confirmed":
                how = f"xác nhận {c.get('field', '')} = {c.get('new_value') or 'trống'}, có giải trình"
            else:
                how = f"điều chỉnh {c.get('field', '')} {c.get('old_value') or 'trống'} → {c.get('new_value') or 'trống'}"
            source = SOURCE_VI.get(c.get("source", ""), "")
            parts.append(f"{cid}: {how}" + (f" ({source.lower()})" if source else ""))
        return "; ".join(parts)

    @cached_property
    def blocked(self) -> dict[str, list[str]]:
        """Fields held back per agency, as the trail records them."""
        out: dict[str, set[str]] = {}
        for a, inputs in zip(self.trail["agency_id"].tolist(), self.trail["inputs"].tolist()):
            if '"blocked"' not in inputs and "\\u" not in inputs:  # no "blocked" key, even spelled with escapes
                continue
            held = json.loads(inputs).get("blocked")
            if held:
                out.setdefault(a, set()).update(held)
        return {a: sorted(v) for a, v in out.items()}

    @cached_property
    def value_floats(self) -> list[float]:
        """``values.value`` of each row as a float, NaN for blank."""
        return _floats(self.values["value"]).tolist() if len(self.values) else []

    @cached_property
    def value_of(self) -> dict[tuple[str, str], float]:
        """Confirmed values by (agency_id, field), NaN for blank (the last row, if a pair repeats)."""
        return dict(zip(zip(self.values["agency_id"].tolist(), self.values["field"].tolist()), self.value_floats))

    @cached_property
    def row_values(self) -> list[float]:
        """Each row's ``value_of[(agency_id, field)]``: its own value, unless a later row has the same pair."""
        v = self.values
        if not len(v) or not v.duplicated(["agency_id", "field"], keep=False).any():
            return self.value_floats
        return [self.value_of[k] for k in zip(v["agency_id"].tolist(), v["field"].tolist())]

    @cached_property
    def raw_shown(self) -> list[str]:
        """Each row's ``raw_value`` as the agency saw it (:func:`raw_shown`), each distinct case worked once."""
        v = self.values
        if not len(v):
            return []
        memo: dict = {}
        out = []
        for key in zip(v["raw_value"].tolist(), self.value_floats, (v["correction_id"] != "").tolist()):
            text = memo.get(key)
            if text is None:
                text = memo[key] = raw_shown(*key)
            out.append(text)
        return out

    @property
    def year(self):
        return self.cycle_info.get("year", "")

    @property
    def is_sample(self) -> bool:
        return bool(self.cycle_info.get("sample", False))

    @property
    def deadline(self) -> date | None:
        d = self.cycle_info.get("deadline")
        if d is None or d == "":
            return None
        if isinstance(d, date):
            return d
        return date.fromisoformat(str(d))


def load_report_inputs(rubric: Rubric, scored_dir: Path, cycle_info: dict) -> ReportInputs:
    """Read the scored tables of ``scored_dir`` (last year's comparison included, when the run linked it)."""
    from ictaudit.intake.previous import LINKS_FILE, read_previous_info

    scored_dir = Path(scored_dir)
    need = ["scores.csv", "criteria.csv", "trail.csv"]
    if missing := [n for n in need if not (scored_dir / n).exists()]:
        raise FileNotFoundError(f"{scored_dir}: {', '.join(missing)} missing; run the scoring step (03) first")
    scores = read_scores(scored_dir / "scores.csv", rubric)
    criteria = read_csv(scored_dir / "criteria.csv")
    if "score_100_published" not in criteria.columns:  # a table from before the column existed: see read_scores
        criteria["score_100_published"] = criteria["score_100"]
    for c in ("points", "max_points", "applicable_max", "score_100", "score_100_published"):
        criteria[c] = _floats(criteria[c])
    criteria["rank"] = _ints(criteria["rank"])
    trail = read_csv(scored_dir / "trail.csv")
    trail["points"] = _floats(trail["points"])
    trail["max_points"] = _floats(trail["max_points"])
    trail["applicable"] = trail["applicable"].str.lower().eq("true")
    values = _read_optional(scored_dir / "values.csv", VALUE_COLUMNS)
    issues = _read_optional(scored_dir / "issues.csv", ISSUE_COLUMNS)
    issues["round"] = _ints(issues["round"]).fillna(1)
    has_corr = (scored_dir / "corrections.csv").exists()
    corrections = _read_optional(scored_dir / "corrections.csv", CORRECTION_COLUMNS)
    links = read_csv(scored_dir / LINKS_FILE) if (scored_dir / LINKS_FILE).exists() else None
    return ReportInputs(
        rubric=rubric,
        cycle_info=dict(cycle_info),
        scores=scores,
        criteria=criteria,
        trail=trail,
        values=values,
        issues=issues,
        corrections=corrections,
        has_corrections_file=has_corr,
        previous_info=read_previous_info(scored_dir),
        previous_links=links,
        scored_dir=scored_dir,
    )

"""The corrections overlay: confirmed corrections applied on top of the values as first sent.

Nothing here edits a raw file or its input frames. A correction is a row of ``corrections.csv``
(docs/contracts.md §3): typed by the DIC, or imported from an agency's returned confirmation workbook
by ``ictaudit confirm``. Each row is read with the parser of the form cells
(:func:`ictaudit.intake.parsing.parse_value`, by the field's type: ``1.234`` is 1234 in a count, ``45,5``
is 45.5, ``Có`` is 1, ``85%`` is not a number of persons) and is, in file order:

- ``applied``: the value changes to ``new_value``; ``values.csv`` names the correction in
  ``correction_id`` and keeps what the agency first sent in ``raw_value``;
- ``confirmed``: ``new_value`` is the value already held — the agency (or the DIC) confirms it, with
  the reason; the value does not change (docs/confirmations.md: what a confirmation resolves);
- ``rejected``: with the reason in Vietnamese and what to write instead; the value stays as it was.

A row is rejected when its agency is not on the roster, its field is not on the agency's form, a value
does not read as the field's type, ``old_value`` is neither blank (taken from the data) nor the value
held (as a number, or as the text the workbook showed, e.g. ``85%`` for a value that could not be
read), who, why or when is missing, ``confirmed_on`` is not a date (ISO or dd/mm/yyyy), ``source`` is
not one of :data:`SOURCES`, an on-site survey or a DIC review cites no ``document``, or — a conflict —
an imported reply would change a value that a correction typed by the DIC decided: the DIC's word is
never overwritten silently; it decides, by a row of its own.

The report (one row per correction, :data:`REPORT_COLUMNS`) carries the row's ``line`` in
corrections.csv, so that a rejected correction can be named where the DIC fixes it
(:func:`rejected_lines`).
"""

from __future__ import annotations

import math
import unicodedata

import numpy as np
import pandas as pd

from ictaudit.common.dates import DATE_FORMATS_VI, parse_date
from ictaudit.intake.parsing import normalize_text, parse_value, value_text
from ictaudit.rules.rubric import FieldSpec, Rubric

REPORT_COLUMNS = [
    "correction_id", "line", "agency_id", "field", "old_value", "new_value", "status", "status_reason",
    "reason", "check_id", "confirmed_by", "confirmed_on", "source", "document", "reply_file", "reply_sha256",
]  # fmt: skip
STATUSES = ("applied", "confirmed", "rejected")
#: where a correction comes from (the ``source`` column) and how the reports name it
SOURCES = {
    "agency reply": "phản hồi của đơn vị",
    "on-site survey": "khảo sát thực tế",
    "DIC review": "Sở rà soát",
}
#: sources that rest on the DIC's own finding: they must cite a document, and their confirmation of a
#: value settles an error (E) that an agency's confirmation alone leaves open
DIC_SOURCES = ("on-site survey", "DIC review")
_SOURCE_WORDS = {
    **{k.casefold(): k for k in SOURCES},
    **{v.casefold(): k for k, v in SOURCES.items()},
    "onsite survey": "on-site survey", "on site survey": "on-site survey", "dic": "DIC review",
    "sở thông tin và truyền thông rà soát": "DIC review", "rà soát": "DIC review", "đơn vị": "agency reply",
}  # fmt: skip
_BLANK_WORDS = {"trống", "(trống)", "để trống"}
#: how the reason of a correction refused as a conflict begins
CONFLICT = "Xung đột:"


def correction_id(position: int) -> str:
    """The id of the correction on row ``position`` (0-based) of corrections.csv: K001, K002, …

    A ``correction_id`` column in corrections.csv, when filled, wins over the row order.
    """
    return f"K{position + 1:03d}"


def parse_source(text: str) -> str | None:
    """``source`` as one of :data:`SOURCES` (English or Vietnamese, any case); ``""`` for blank; None if unknown."""
    key = unicodedata.normalize("NFC", str(text or "")).strip().casefold()
    if not key:
        return ""
    return _SOURCE_WORDS.get(key)


def _same(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b


def _number(parsed_value: float | None) -> float:
    return math.nan if parsed_value is None else float(parsed_value)


def _shown(x: float, spec: FieldSpec) -> str:
    return value_text(x, spec.type) or "trống"


class _Held:
    """The values of the agencies corrections name, as they stand while the rows apply in order."""

    def __init__(self, values: pd.DataFrame, agency_ids: set[str]):
        self.frame = values
        ids = values["agency_id"].astype(str)
        rows = np.flatnonzero(ids.isin(agency_ids).to_numpy()).tolist()  # a national cycle: a few agencies
        codes = values["field"].astype(str).iloc[rows].tolist()
        self.at = {(a, f): i for i, a, f in zip(rows, ids.iloc[rows].tolist(), codes)}
        self.decided_by: dict[tuple[str, str], str] = {}  # the last correction the DIC typed for a value

    def value(self, key) -> tuple[float, str, str]:
        """(value, raw_value as sent, the correction that set it) of ``key`` = (agency, field)."""
        at = self.at.get(key)
        if at is None:
            return math.nan, "", ""
        row = self.frame.iloc[at]
        return float(row["value"]), str(row.get("raw_value", "") or ""), str(row["correction_id"] or "")

    def set(self, key, value: float, cid: str) -> None:
        at = self.at.get(key)
        if at is None:  # the agency's form had no row for this field: add one, raw_value empty
            row = {c: "" for c in self.frame.columns} | {"agency_id": key[0], "field": key[1], "value": math.nan}
            self.frame = pd.concat([self.frame, pd.DataFrame([row])], ignore_index=True)
            at = self.at[key] = len(self.frame) - 1
        self.frame.at[at, "value"] = value
        self.frame.at[at, "correction_id"] = cid


def apply_corrections(
    values_long: pd.DataFrame, corrections: pd.DataFrame | None, rubric: Rubric, agencies: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Apply ``corrections`` (corrections.csv rows as text) to a copy of ``values_long``, in file order.

    Returns ``(corrected_long, report)``: ``corrected_long`` has the columns of values.csv, with
    ``value`` and ``correction_id`` set by applied corrections; ``report`` has one row per correction
    (:data:`REPORT_COLUMNS`; ``status`` one of :data:`STATUSES`, ``status_reason`` saying in Vietnamese
    why a correction was rejected and what to write instead). A second correction of the same value
    starts from the first one's new value.
    """
    corrected = values_long.reset_index(drop=True).copy()
    corrected["value"] = corrected["value"].astype(float)
    if "correction_id" not in corrected:
        corrected["correction_id"] = ""
    corrected["correction_id"] = corrected["correction_id"].fillna("").astype(str)
    if corrections is None or corrections.empty:
        return corrected, pd.DataFrame(columns=REPORT_COLUMNS)
    missing = [c for c in ("agency_id", "field", "old_value", "new_value") if c not in corrections]
    if missing:
        raise ValueError(f"corrections lack the columns {', '.join(missing)}")

    groups = dict(zip(agencies["agency_id"].astype(str), agencies["group"].astype(str)))
    forms = {g: {f.code for f in rubric.fields_for_form(rubric.form_of(g))} for g in set(groups.values())}
    rows = corrections.fillna("").astype(str).to_dict("records")
    held = _Held(corrected, {r["agency_id"].strip() for r in rows})
    report = [_apply_one(i, c, held, rubric, groups, forms) for i, c in enumerate(rows)]
    return held.frame, pd.DataFrame(report, columns=REPORT_COLUMNS)


def _apply_one(i: int, c: dict, held: _Held, rubric: Rubric, groups: dict, forms: dict) -> dict:
    """One correction checked and, unless rejected, applied to ``held``; its report row."""
    cid = c.get("correction_id", "").strip() or correction_id(i)
    agency_id, code = c["agency_id"].strip(), c["field"].strip()
    out = {k: c.get(k, "") for k in REPORT_COLUMNS} | {
        "correction_id": cid, "line": c.get("line", "") or str(i + 2), "agency_id": agency_id, "field": code,
    }  # fmt: skip
    if agency_id not in groups:
        return out | _rejected(f"Đơn vị “{agency_id}” không có trong danh sách đơn vị của kỳ đánh giá (agencies.csv).")
    if code not in forms[groups[agency_id]]:
        form = rubric.form_of(groups[agency_id])
        return out | _rejected(f"Chỉ tiêu “{code}” không có trong phiếu {form} của đơn vị {agency_id}.")
    spec = rubric.field_by_code[code]
    key = (agency_id, code)
    current, raw, set_by = held.value(key)
    new = parse_value(c["new_value"], spec.type, spec.unit_vi)
    source = parse_source(c.get("source", ""))
    reasons = _register_problems(c, source)
    if not new.ok:
        reasons.append(f"Giá trị mới “{c['new_value']}” của {code} ({spec.label_vi}) không dùng được: {new.problem}")
    old_reason = _old_value_problem(c["old_value"], current, raw, set_by, spec)
    if old_reason:
        reasons.append(old_reason)
    if not c["old_value"].strip():
        out["old_value"] = value_text(current, spec.type)  # taken from the data, shown where it is recorded
    if source:
        out["source"] = source
    if reasons:
        return out | _rejected(" ".join(reasons))
    new_value = _number(new.value)
    if _same(new_value, current):
        status = "confirmed"
    else:
        imported = bool(c.get("reply_sha256", "").strip())
        if imported and key in held.decided_by:
            return out | _rejected(_conflict(held.decided_by[key], current, new_value, spec))
        held.set(key, new_value, cid)
        status = "applied"
    if not c.get("reply_sha256", "").strip():
        held.decided_by[key] = cid
    return out | {"status": status, "status_reason": ""}


def _rejected(reason: str) -> dict:
    return {"status": "rejected", "status_reason": reason}


def _register_problems(c: dict, source: str | None) -> list[str]:
    """What the row lacks as a record: who, why, when (a real date), a known source, a document."""
    problems = []
    names = {"reason": "lý do (reason)", "confirmed_by": "người xác nhận (confirmed_by)",
             "confirmed_on": "ngày xác nhận (confirmed_on)"}  # fmt: skip
    lacking = [names[k] for k in names if not c.get(k, "").strip()]
    if lacking:
        problems.append(
            f"Thiếu {', '.join(lacking)}: một hiệu chỉnh phải ghi lý do, người xác nhận và ngày xác nhận mới được áp dụng."
        )
    when = c.get("confirmed_on", "").strip()
    if when and parse_date(when) is None:
        problems.append(f"Ngày xác nhận “{when}” không phải một ngày; hãy ghi dạng {DATE_FORMATS_VI}.")
    if source is None:
        allowed = ", ".join(f"“{k}” ({v})" for k, v in SOURCES.items())
        problems.append(f"Nguồn “{c.get('source', '')}” không rõ; hãy ghi một trong: {allowed}.")
    elif source in DIC_SOURCES and not c.get("document", "").strip():
        problems.append(
            f"Hiệu chỉnh theo {SOURCES[source]} phải dẫn văn bản (cột document: số, ngày của biên bản hoặc văn bản)."
        )
    return problems


def _old_value_problem(text: str, current: float, raw: str, set_by: str, spec: FieldSpec) -> str:
    """Why ``old_value`` does not name the value held, with what to write; ``""`` when it does.

    Blank takes the value from the data. Otherwise it must read as the value held, or be the text the
    agency typed (``85%``, a date) for a value still as sent, or ``trống`` for a blank.
    """
    typed = normalize_text(str(text))
    if not typed:
        return ""
    old = parse_value(typed, spec.type, spec.unit_vi)
    if old.ok and _same(_number(old.value), current):
        return ""
    if not set_by and raw and typed == normalize_text(raw):
        return ""
    if typed.casefold() in _BLANK_WORDS and math.isnan(current):
        return ""
    held = value_text(current, spec.type)
    where = f" (đã hiệu chỉnh ở {set_by})" if set_by else ""
    write = f"“{held}”" if held else "để trống"
    return (
        f"Giá trị cũ “{typed}” không khớp giá trị hiện có của {spec.code} là {_shown(current, spec)}{where}; "
        f"hãy ghi {write} ở cột old_value, hoặc để trống để lấy theo số liệu."
    )


def _conflict(decided_by: str, current: float, new: float, spec: FieldSpec) -> str:
    return (
        f"{CONFLICT} {spec.code} = {_shown(current, spec)} theo hiệu chỉnh {decided_by} do Sở nhập; phiếu trả lời của đơn vị "
        f"ghi {_shown(new, spec)}. Không ghi đè: Sở quyết định — giữ {decided_by}, hoặc thêm một dòng của Sở "
        f"(source “DIC review”, kèm văn bản) với giá trị {_shown(new, spec)}."
    )


def rejected_lines(report: pd.DataFrame, file_name: str = "corrections.csv") -> list[str]:
    """One Vietnamese line per rejected correction, naming its line in corrections.csv and the reason.

    ``corrections.csv dòng 5 (K004, so-a F12): Giá trị mới “85%” …`` — what the console and the run
    summary print, so that a rejected correction never passes silently.
    """
    if report is None or report.empty:
        return []
    rows = report[report["status"].astype(str) == "rejected"]
    return [
        f"{file_name} dòng {r['line']} ({r['correction_id']}, {r['agency_id']} {r['field']}): {r['status_reason']}"
        for r in rows.fillna("").astype(str).to_dict("records")
    ]

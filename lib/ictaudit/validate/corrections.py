"""The corrections overlay: confirmed corrections applied on top of the values as first sent.

Nothing here edits a raw file or its input frames. A correction (a row of ``corrections.csv``,
docs/contracts.md §3) is applied only when it names an agency on the roster, a field of that agency's form,
and an ``old_value`` equal to the value currently held (compared as numbers: ``45,5`` equals 45.5,
``Có`` equals 1); otherwise it is reported as rejected, with the reason in Vietnamese, and the value
stays as sent. Applied corrections set ``value`` and ``correction_id``; ``raw_value`` keeps what the
agency first sent, so the trail shows both.

Round 2 of validation runs on the corrected values; :func:`resolve_rounds` then marks each round-1
issue with the correction that resolved it, and :func:`blocked_fields` lists the values still blocked
by an error (severity E) after round 2 — scoring treats them as missing and flags them ``blocked``.
"""

from __future__ import annotations

import math
import re
import unicodedata
from datetime import date

import numpy as np
import pandas as pd

from ictaudit.rules.rubric import Rubric

CORRECTION_COLUMNS = [
    "agency_id", "field", "old_value", "new_value", "reason", "check_id", "confirmed_by", "confirmed_on",
]  # fmt: skip
REPORT_COLUMNS = [
    "correction_id", "agency_id", "field", "old_value", "new_value", "status", "status_reason",
    "reason", "check_id", "confirmed_by", "confirmed_on",
]  # fmt: skip

_YES = {"có", "co", "x", "yes", "y", "true", "đúng"}
_NO = {"không", "khong", "no", "n", "false", "sai"}
_BLANK = {"", "trống", "trong", "nan", "none", "-", "—"}


def _iso_date(text: str) -> bool:
    try:
        date.fromisoformat(text.strip())
    except ValueError:
        return False
    return True


def correction_id(position: int) -> str:
    """The stable id of the correction on row ``position`` (0-based) of corrections.csv: K001, K002, …

    A ``correction_id`` column in corrections.csv, when filled, wins over the row order.
    """
    return f"K{position + 1:03d}"


def parse_value(text) -> float | None:
    """A value as written in corrections.csv, as a number; ``nan`` for a blank; None when unreadable.

    Kept deliberately simple and local: Có/Không (and x, yes/no, 1/0), decimal comma (``45,5``), dot
    or space as thousands separator when the other is the decimal mark (``1.234,5``, ``1,234.5``).
    """
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return math.nan
    if isinstance(text, int | float):
        return float(text)
    s = unicodedata.normalize("NFC", str(text)).strip().casefold().replace("\u00a0", " ")
    if s in _BLANK:
        return math.nan
    if s in _YES:
        return 1.0
    if s in _NO:
        return 0.0
    s = s.replace(" ", "")
    if "," in s and "." in s:
        s = s.replace(".", "").replace(",", ".") if s.rfind(",") > s.rfind(".") else s.replace(",", "")
    elif "," in s:
        s = s.replace(",", "") if re.fullmatch(r"-?\d{1,3}(,\d{3}){2,}", s) else s.replace(",", ".")
    elif re.fullmatch(r"-?\d{1,3}(\.\d{3}){2,}", s):
        s = s.replace(".", "")
    try:
        return float(s)
    except ValueError:
        return None


def _same(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def _shown(x: float) -> str:
    if math.isnan(x):
        return "trống"
    return str(int(x)) if float(x).is_integer() else repr(x)


def _empty_report() -> pd.DataFrame:
    return pd.DataFrame(columns=REPORT_COLUMNS)


def apply_corrections(
    values_long: pd.DataFrame, corrections: pd.DataFrame | None, rubric: Rubric, agencies: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Apply ``corrections`` (corrections.csv rows, strings) to a copy of ``values_long``.

    Returns ``(corrected_long, report)``: ``corrected_long`` has the columns of values.csv, the
    ``value`` and ``correction_id`` of applied corrections set; ``report`` has one row per correction
    with :data:`REPORT_COLUMNS` (``status`` is ``applied`` or ``rejected``; ``status_reason`` says why
    a correction was rejected, in Vietnamese). Corrections apply in file order, so a second correction
    of the same value must start from the first one's new value.
    """
    corrected = values_long.reset_index(drop=True).copy()
    corrected["value"] = corrected["value"].astype(float)
    if "correction_id" not in corrected:
        corrected["correction_id"] = ""
    corrected["correction_id"] = corrected["correction_id"].fillna("").astype(str)
    if corrections is None or corrections.empty:
        return corrected, _empty_report()
    missing = [c for c in ("agency_id", "field", "old_value", "new_value") if c not in corrections]
    if missing:
        raise ValueError(f"corrections.csv lacks the columns {', '.join(missing)}; expected {CORRECTION_COLUMNS}")

    groups = dict(zip(agencies["agency_id"].astype(str), agencies["group"].astype(str)))
    # where each (agency, field) of a corrected agency sits; the other agencies' rows are never looked up
    wanted = {a.strip() for a in corrections["agency_id"].fillna("").astype(str).tolist()}
    ids = corrected["agency_id"].astype(str)
    at_rows = np.flatnonzero(ids.isin(wanted).to_numpy()).tolist()
    position = {
        (a, f): i
        for i, a, f in zip(at_rows, ids.iloc[at_rows].tolist(), corrected["field"].astype(str).iloc[at_rows].tolist())
    }  # fmt: skip
    rows = []
    for i, c in enumerate(corrections.fillna("").astype(str).to_dict("records")):
        cid = c.get("correction_id", "").strip() or correction_id(i)
        agency_id, code = c["agency_id"].strip(), c["field"].strip()
        status_reason = ""
        old, new = parse_value(c["old_value"]), parse_value(c["new_value"])
        lacking = [k for k in ("reason", "confirmed_by", "confirmed_on") if not c[k].strip()]
        if agency_id not in groups:
            status_reason = f"Đơn vị {agency_id!r} không có trong danh sách đơn vị của kỳ đánh giá."
        elif code not in {f.code for f in rubric.fields_for_form(rubric.form_of(groups[agency_id]))}:
            form = rubric.form_of(groups[agency_id])
            status_reason = f"Chỉ tiêu {code!r} không có trong phiếu {form} của đơn vị {agency_id}."
        elif old is None:
            status_reason = f"Không đọc được giá trị cũ {c['old_value']!r}."
        elif new is None:
            status_reason = f"Không đọc được giá trị mới {c['new_value']!r}."
        else:
            at = position.get((agency_id, code))
            current = float(corrected.at[at, "value"]) if at is not None else math.nan
            if not _same(old, current):
                status_reason = (
                    f"Giá trị cũ {c['old_value']!r} không khớp giá trị hiện có của {code} là {_shown(current)}."
                )
            elif lacking:
                status_reason = (
                    f"Thiếu {', '.join(lacking)}: hiệu chỉnh phải ghi lý do, người xác nhận và ngày xác nhận mới "
                    "được áp dụng."
                )
            elif not _iso_date(c["confirmed_on"]):
                status_reason = f"Ngày xác nhận {c['confirmed_on']!r} không phải ngày hợp lệ dạng YYYY-MM-DD."
            else:
                if at is None:  # the agency's form had no row for this field: add one, raw_value empty
                    corrected = _append_blank(corrected, agency_id, code)
                    at = position[(agency_id, code)] = len(corrected) - 1
                corrected.at[at, "value"] = new
                corrected.at[at, "correction_id"] = cid
        rows.append(
            {
                "correction_id": cid,
                "agency_id": agency_id,
                "field": code,
                "old_value": c["old_value"],
                "new_value": c["new_value"],
                "status": "rejected" if status_reason else "applied",
                "status_reason": status_reason,
                **{k: c.get(k, "") for k in ("reason", "check_id", "confirmed_by", "confirmed_on")},
            }
        )
    return corrected, pd.DataFrame(rows, columns=REPORT_COLUMNS)


def _append_blank(values: pd.DataFrame, agency_id: str, code: str) -> pd.DataFrame:
    row = {c: "" for c in values.columns} | {"agency_id": agency_id, "field": code, "value": math.nan}
    return pd.concat([values, pd.DataFrame([row])], ignore_index=True)


def resolve_rounds(
    issues_round1: pd.DataFrame, issues_round2: pd.DataFrame, corrections_report: pd.DataFrame
) -> pd.DataFrame:
    """Round-1 issues marked with the corrections that resolved them, followed by the round-2 issues.

    A round-1 issue (agency × check) is resolved when round 2 no longer has it; ``resolved_by`` then
    names the applied corrections of that agency that touched one of its fields or named its check
    (``;``-joined ids), or, failing that, every applied correction of the agency. An issue still in
    round 2 keeps ``resolved_by`` empty and its round-2 row says what remains.
    """
    from ictaudit.validate.issues import ISSUE_COLUMNS, sort_issues

    r1 = issues_round1.reindex(columns=ISSUE_COLUMNS).copy()
    r2 = issues_round2.reindex(columns=ISSUE_COLUMNS).copy()
    r1["round"], r2["round"] = 1, 2
    r1["resolved_by"], r2["resolved_by"] = "", ""
    remaining = set(zip(r2["agency_id"], r2["check_id"]))
    applied = corrections_report[corrections_report["status"] == "applied"] if len(corrections_report) else None
    resolved_by = []
    for agency_id, check_id, fields in zip(r1["agency_id"], r1["check_id"], r1["fields"]):
        if (agency_id, check_id) in remaining or applied is None:
            resolved_by.append("")
            continue
        mine = applied[applied["agency_id"] == agency_id]
        codes = set(str(fields).split(";"))
        hits = mine[mine["field"].isin(codes) | (mine["check_id"].astype(str) == check_id)]
        resolved_by.append(";".join((hits if len(hits) else mine)["correction_id"]))
    r1["resolved_by"] = resolved_by
    return sort_issues(pd.concat([r1, r2], ignore_index=True))


def blocked_fields(issues_final: pd.DataFrame, rubric: Rubric, final_round: int = 2) -> set[tuple[str, str]]:
    """(agency_id, field) pairs blocked by an error (E) that remains in ``final_round``.

    Pass ``final_round=1`` when no round 2 was run (no corrections): a clean round 2 has no rows, so
    the last round present in the frame cannot tell "round 2 found nothing" from "round 2 never ran".
    Only field codes of the rubric are returned (derived quantities are not values).
    """
    known = {f.code for f in rubric.fields}
    rows = issues_final[(issues_final["severity"] == "E") & (issues_final["round"].astype(int) == final_round)]
    out: set[tuple[str, str]] = set()
    for agency_id, fields in zip(rows["agency_id"], rows["fields"]):
        out |= {(str(agency_id), code) for code in str(fields).split(";") if code in known}
    return out


def read_corrections_csv(path) -> pd.DataFrame:
    """corrections.csv as strings (BOM tolerated); missing optional columns come back empty."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    for col in CORRECTION_COLUMNS:
        if col not in frame:
            frame[col] = ""
    return frame[CORRECTION_COLUMNS]

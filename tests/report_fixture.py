"""A small scored cycle for the report tests, built by the real scoring engine on explicit values.

Departments (so_ban_nganh): sb-tot (good, everything filled), sb-na (F15 = 0 and F25 = 0 → C2.5 and
C4.2 not applicable), sb-script (name with ``<script>``, F02 held back by an unresolved error),
sb-formula (name ``=cmd|…``, F18 = 9 applications → C2.6 capped), sb-tie (same values as sb-formula
but its own name: tie), sb-late (late: its form read and kept, not scored), sb-missing (no form).
Districts (ubnd_huyen): h-tp, h-bl, h-hq (ranked), h-invalid (unreadable file), h-missing-x (X02
blank: missing data). Last year's published results (``previous/``, linked into the scored folder as
the intake step links them): sb-old (gone), sb-tp-cu (Sở Tư pháp under its old id: sb-formula continues
it, renamed), h-hq-cu and h-tn (merged into h-hq); sb-script, sb-late, sb-missing, h-invalid are new.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from ictaudit.common.tables import write_csv
from ictaudit.rules.rubric import load_rubric
from ictaudit.score.scoring import score_cycle, write_score_tables

SCRIPT_NAME = '<script>alert("x")</script> Sở Nội vụ'
FORMULA_NAME = "=cmd|' /C calc'!A0 Sở Tư pháp"

BASE = {
    "F01": 50, "F02": 45, "F03": 52, "F04": 50, "F05": 100, "F06": 1, "F07": 1, "F08": 40, "F09": 1,
    "F10": 0, "F11": 2, "F12": 40, "F13": 1, "F14": 1200, "F15": 900, "F16": 3, "F17": 600, "F18": 3,
    "F19": 7, "F20": 1, "F21a": 1, "F21b": 1, "F21c": 1, "F21d": 0, "F21dd": 1, "F21e": 1, "F21h": 0,
    "F21i": 1, "F21k": 1, "F21l": 0, "F22a": 1, "F22b": 1, "F22c": 0, "F22d": 1, "F23": 130, "F24": 1,
    "F25": 800, "F26": 700, "F27": 120, "F28": 80, "F29": 20, "F30": 5, "F31": 300, "F32": 45, "F33": 9,
    "F34": 1, "F35": 1, "F36": 1, "F37": 0, "F38": 1, "F39": 2, "F40": 1, "F41": 20, "F42": 1, "F43": 1,
    "F44": 150.5,
}  # fmt: skip
X_BASE = {"X00": 14, "X01": 280, "X02": 200, "X03": 150, "X04": 12, "X05": 150, "X06": 10, "X07": 8, "X08": 6}

# agency_id, name, group, status, status_reason, overrides (None: no values)
ROSTER = [
    ("sb-tot", "Văn phòng UBND tỉnh", "so_ban_nganh", "ranked", "", {}),
    ("sb-na", "Sở Kế hoạch và Đầu tư", "so_ban_nganh", "ranked", "",
     {"F15": 0, "F17": 0, "F25": 0, "F26": 0, "F05": 40, "F19": 2, "F37": 1}),
    ("sb-script", SCRIPT_NAME, "so_ban_nganh", "ranked", "", {"F02": 60, "F05": 30, "F21d": 1}),
    ("sb-formula", FORMULA_NAME, "so_ban_nganh", "ranked", "", {"F18": 9, "F05": 60, "F12": 20, "F23": 50}),
    ("sb-tie", "Sở Tài chính", "so_ban_nganh", "ranked", "", {"F18": 9, "F05": 60, "F12": 20, "F23": 50}),
    ("sb-late", "Sở Y tế", "so_ban_nganh", "late", "Nhận phiếu ngày 10/11/2017, sau hạn 03/11/2017",
     {"F05": 500, "F20": 0}),
    ("sb-missing", "Sở Xây dựng", "so_ban_nganh", "missing", "Không nhận được phiếu", None),
    ("h-tp", "UBND Thành phố Cao Bằng", "ubnd_huyen", "ranked", "", {"F01": 120, "F02": 110, "F03": 125,
                                                                     "F04": 120, "F05": 300}),
    ("h-bl", "UBND huyện Bảo Lâm", "ubnd_huyen", "ranked", "", {"F05": 20, "X02": 150, "F23": 40}),
    ("h-hq", "UBND huyện Hà Quảng", "ubnd_huyen", "ranked", "", {"X02": None, "F44": 0}),
    ("h-invalid", "UBND huyện Thạch An", "ubnd_huyen", "invalid",
     "Tệp h-invalid.xlsx không phải phiếu của kỳ 2017 (sheet _meta ghi năm 2016)", None),
]  # fmt: skip

BLOCKED = [("sb-script", "F02")]


def _values_for(group: str, overrides: dict) -> dict:
    row = dict(BASE)
    if group == "ubnd_huyen":
        row.update(X_BASE)
    row.update(overrides)
    return {k: (np.nan if v is None else float(v)) for k, v in row.items()}


def score_roster(rubric, roster, blocked=()):
    agencies = pd.DataFrame(
        [{"agency_id": a, "agency_name": n, "group": g, "status": s, "status_reason": r} for a, n, g, s, r, _ in roster]
    )
    rows = {a: _values_for(g, ov) for a, _n, g, _s, _r, ov in roster if ov is not None}
    values = pd.DataFrame.from_dict(rows, orient="index")
    return score_cycle(rubric, values, agencies, blocked=blocked), rows


def _values_long(rows: dict) -> pd.DataFrame:
    out = []
    for a in sorted(rows):
        for i, (code, v) in enumerate(rows[a].items()):
            raw = "" if np.isnan(v) else (f"{v:g}".replace(".", ","))
            corr = ""
            if a == "sb-tot" and code == "F05":
                raw, corr = "1", "K001"
            out.append(
                {
                    "agency_id": a, "field": code, "raw_value": raw, "value": v,
                    "source_file": f"{a}.xlsx", "source_sha256": "ab" * 32, "sheet": "Số liệu",
                    "cell": f"D{i + 2}", "correction_id": corr,
                }
            )  # fmt: skip
    return pd.DataFrame(out)


ISSUES = [
    # agency_id, check_id, severity, fields, values, message_vi, round, resolved_by
    ("sb-script", "L03", "E", "F02;F01", "F02=60; F01=50", "Số CBCCVC có máy tính lớn hơn tổng số CBCCVC", 1, ""),
    ("sb-script", "L03", "E", "F02;F01", "F02=60; F01=50", "Số CBCCVC có máy tính lớn hơn tổng số CBCCVC", 2, ""),
    ("sb-tot", "L08", "W", "F05;F01", "F05=1; F01=50", "Băng thông bình quân ngoài khoảng 0,05–100 Mbps/người",
     1, "K001"),
    ("h-hq", "L25", "E", "X02", "X02=", "Chỉ tiêu bắt buộc chưa điền", 1, ""),
    ("h-hq", "L25", "E", "X02", "X02=", "Chỉ tiêu bắt buộc chưa điền", 2, ""),
    ("sb-formula", "L06", "W", "F03;F01", "F03=52; F01=50", '<b>Ghi chú</b> "=1+1"', 1, ""),
]  # fmt: skip

CORRECTIONS = [
    ("K001", "sb-tot", "F05", "1", "100", "Nhập nhầm đơn vị (Gbps)", "L08", "Nguyễn Văn A", "2017-11-15",
     "applied", ""),
    ("K002", "sb-script", "F02", "50", "45", "Đếm lại", "L03", "Trần Thị B", "2017-11-16", "rejected",
     "Giá trị cũ 50 khác giá trị đang giữ 60"),
]  # fmt: skip

PREVIOUS_ROSTER = [
    ("sb-tot", "Văn phòng UBND tỉnh", "so_ban_nganh", "ranked", "", {"F05": 50}),
    ("sb-na", "Sở Kế hoạch và Đầu tư", "so_ban_nganh", "ranked", "", {"F02": 20}),
    ("sb-tie", "Sở Tài chính", "so_ban_nganh", "ranked", "", {}),
    ("sb-old", "Sở Ngoại vụ (cũ)", "so_ban_nganh", "ranked", "", {"F12": 5}),
    ("sb-tp-cu", "Sở Tư pháp (mã cũ)", "so_ban_nganh", "ranked", "", {"F12": 10}),
    ("h-tp", "UBND Thành phố Cao Bằng", "ubnd_huyen", "ranked", "", {"X02": 100}),
    ("h-bl", "UBND huyện Bảo Lâm", "ubnd_huyen", "ranked", "", {}),
    ("h-hq-cu", "UBND huyện Hà Quảng (trước hợp nhất)", "ubnd_huyen", "ranked", "", {"X02": 120}),
    ("h-tn", "UBND huyện Thông Nông", "ubnd_huyen", "ranked", "", {"X02": 60, "F05": 10}),
]  # fmt: skip
#: this year's ``predecessor`` column (empty: the same id)
PREDECESSORS = {"sb-formula": "sb-tp-cu", "h-hq": "h-hq-cu;h-tn"}

CYCLE_INFO = {
    "year": 2017,
    "title": "Đánh giá, xếp hạng mức độ ứng dụng CNTT năm 2017",
    "province": "Cao Bằng",
    "deadline": "2017-11-03",
    "sample": True,
}


def build_scored_fixture(root: Path):
    """Write scored/ and previous/ under ``root``; returns (rubric, scored_dir, previous_dir, result)."""
    rubric = load_rubric("caobang-2310-2016")
    scored = Path(root) / "scored"
    result, rows = score_roster(rubric, ROSTER, BLOCKED)
    write_score_tables(result, scored)
    confirmed = _values_long(rows)
    write_csv(confirmed, scored / "values.csv")
    submitted = confirmed.assign(correction_id="")  # as sent: sb-tot's F05 before K001
    submitted.loc[(submitted["agency_id"] == "sb-tot") & (submitted["field"] == "F05"), "value"] = 1.0
    write_csv(submitted, scored / "values_submitted.csv")
    cols = ["agency_id", "check_id", "severity", "fields", "values", "message_vi", "round", "resolved_by"]
    write_csv(pd.DataFrame(ISSUES, columns=cols), scored / "issues.csv")
    ccols = ["correction_id", "agency_id", "field", "old_value", "new_value", "reason", "check_id",
             "confirmed_by", "confirmed_on", "status", "status_reason"]  # fmt: skip
    write_csv(pd.DataFrame(CORRECTIONS, columns=ccols), scored / "corrections.csv")
    previous = Path(root) / "previous"
    prev_result, _ = score_roster(rubric, PREVIOUS_ROSTER)
    write_score_tables(prev_result, previous)
    link_previous(scored, previous, rubric)
    return rubric, scored, previous, result


def link_previous(scored: Path, previous: Path, rubric) -> None:
    """``previous_links.csv`` and ``previous.json`` in ``scored``, as the intake step writes them."""
    from ictaudit.common.tables import read_csv
    from ictaudit.intake.previous import INFO_FILE, LINK_COLUMNS, LINKS_FILE, predecessor_links
    from ictaudit.rules.versions import content_sha256

    roster = pd.DataFrame({"agency_id": [a for a, *_ in ROSTER]})
    roster["predecessor"] = roster["agency_id"].map(PREDECESSORS).fillna("")
    prev_roster = pd.DataFrame([{"agency_id": a, "name": n, "group": g} for a, n, g, *_ in PREVIOUS_ROSTER])
    links = predecessor_links(roster, read_csv(previous / "scores.csv"), prev_roster)
    write_csv(links, scored / LINKS_FILE, LINK_COLUMNS)
    scale = {"id": rubric.id, "version": rubric.version, "files": {}, "content_sha256": content_sha256(rubric)}
    info = {
        "linked": True, "year": 2016, "folder": "previous", "sha256": {"scores.csv": "cd" * 32},
        "run": {}, "scale_then": scale, "scale_now": scale, "scale_differences": [], "links": {},
    }  # fmt: skip
    (scored / INFO_FILE).write_text(json.dumps(info, ensure_ascii=False), encoding="utf-8")

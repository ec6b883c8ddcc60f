"""README's "A year with ictaudit", end to end, as a DIC officer does it, on a copy of the bundled sample:

run 2017 → ``init`` 2018 from it → ``forms`` (before any deadline is set) → the agencies fill their forms
with openpyxl (values in column D) and mail them back: loose ``.eml`` files and an mbox, attachments
renamed, RFC 2231 and RFC 2047 names, a corrected version re-sent on time, a version sent after the
deadline, a form late only on the province's clock, the same file sent twice, a form forwarded by a
clerk, a form received on paper and typed into the register by hand, and junk (a cover letter alone,
winmail.dat, a truncated message, last year's form, a stranger's form) → ``receive`` → the deadline
set → ``run``. Each agency's status, score on 100 and rank must be what this file computes from the
values it typed, with the scale written out below from docs/domain.md §3 — not with the library's scorer.
"""

from __future__ import annotations

import random
import shutil
from datetime import UTC, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from ictaudit.cli import main
from ictaudit.common.paths import DATA_DIR

from .mailmaker import form_mail, forward, write_eml, write_mbox

pytestmark = pytest.mark.slow

HCM = timezone(timedelta(hours=7))
DEADLINE = "2018-11-02"
YES, NO = "Có", "Không"

# -- the scale, from docs/domain.md §3.2 and §3.3 (kind, inputs, maximum for PL1, maximum for PL2) --------
SCALE = [
    ("C1.1", "ratio", ("F02", "F01"), 5, 4), ("C1.2", "ratio", ("F04", "F03"), 3, 2),
    ("C1.3", "ratio_to_best", ("F05", "F01"), 3, 2), ("C1.4", "checklist", (("F06", 2), ("F07", 2)), 4, 4),
    ("C1.5", "ratio", ("F08", "F03"), 3, 2), ("C1.6", "checklist_pl", ((("F09", 1), ("F10", 1)), (("F09", 1),)), 2, 1),
    ("C2.1", "ratio", ("F12", "F01"), 6, 5), ("C2.2", "checklist_max", ("F13",), 3, 2),
    ("C2.3", "ratio", ("F15", "F14"), 7, 6), ("C2.4", "positive", ("F16",), 2, 2),
    ("C2.5", "ratio_na", ("F17", "F15"), 3, 3), ("C2.6", "capped", ("F18",), 5, 4),
    ("C2.7", "tiers", ((6, 4, 3), (3, 2, 2), (1, 1, 1)), 4, 3),
    ("C3.1", "checklist_max", ("F20",), 3, 2),
    ("C3.2", "share", ("F21a", "F21b", "F21c", "F21d", "F21dd", "F21e", "F21h", "F21i", "F21k", "F21l"), 8, 5),
    ("C3.3", "share", ("F22a", "F22b", "F22c", "F22d"), 2, 1), ("C3.4", "tiers", ((120, 2, 2), (60, 1, 1)), 2, 2),
    ("C4.1", "checklist_max", ("F24",), 2, 2), ("C4.2", "ratio_na", ("F26", "F25"), 3, 3),
    ("C4.3", "ratio_na", (("F29", "F30"), "F27"), 4, 4), ("C4.4", "ratio_na", ("F30", "F27"), 3, 3),
    ("C4.5", "ratio_na", ("F32", "F31"), 5, 5), ("C4.6", "ratio_na", ("F33", ("F29", "F30")), 3, 3),
    ("C5", "checklist", (("F34", 1), ("F35", 1), ("F36", 1), ("F37", 1), ("F38", 1)), 5, 5),
    ("C6.1", "positive", ("F39",), 2, 2), ("C6.2", "positive", ("F40",), 1, 1), ("C6.3", "ratio", ("F41", "F01"), 2, 2),
    ("C7", "checklist", (("F42", 2), ("F43", 2), ("F44>0", 1)), 5, 5),
    ("C8.1", "ratio", ("X02", "X01"), 0, 3), ("C8.2", "ratio", ("X04", "X00"), 0, 2),
    ("C8.3", "ratio", ("X05", "X01"), 0, 2), ("C8.4", "ratio", ("X06", "X00"), 0, 3),
    ("C8.5", "ratio", ("X07", "X00"), 0, 3), ("C8.6", "ratio", ("X08", "X00"), 0, 2),
]  # fmt: skip
TIERS_FIELD = {"C2.7": "F19", "C3.4": "F23"}


def _num(v, code):
    if isinstance(code, tuple):
        return sum(_num(v, c) for c in code)
    return v[code]


def expected_scores(values: dict[str, dict], groups: dict[str, str]) -> dict[str, float]:
    """score_100 of every agency of ``values`` (all ranked), each group on its own."""
    yes = {a: {k: (1.0 if x == YES else 0.0 if x == NO else float(str(x).replace(".", "").replace(",", ".")) if isinstance(x, str) else float(x))
               for k, x in v.items()} for a, v in values.items()}  # fmt: skip
    best = {}
    for group in set(groups.values()):
        best[group] = max(yes[a]["F05"] / yes[a]["F01"] for a in yes if groups[a] == group)
    out = {}
    for a, v in yes.items():
        pl2 = groups[a] == "ubnd_huyen"
        got = possible = 0.0
        for ind, kind, inputs, max1, max2 in SCALE:
            m = max2 if pl2 else max1
            if m == 0:
                continue
            if kind == "ratio":
                pts = m * min(_num(v, inputs[0]) / _num(v, inputs[1]), 1)
            elif kind == "ratio_na":
                den = _num(v, inputs[1])
                if den == 0:
                    continue  # not applicable: leaves both totals
                pts = m * min(_num(v, inputs[0]) / den, 1)
            elif kind == "ratio_to_best":
                pts = m * (v["F05"] / v["F01"]) / best[groups[a]]
            elif kind in ("checklist", "checklist_pl"):
                items = inputs[1 if pl2 else 0] if kind == "checklist_pl" else inputs
                pts = sum(p for f, p in items if (v[f[:-2]] > 0 if f.endswith(">0") else v[f] == 1.0))
            elif kind == "checklist_max":
                pts = m * v[inputs[0]]
            elif kind == "positive":
                pts = m if v[inputs[0]] > 0 else 0
            elif kind == "capped":
                pts = min(v[inputs[0]] * 1, m)
            elif kind == "share":
                pts = m * sum(v[f] for f in inputs) / len(inputs)
            elif kind == "tiers":
                x = v[TIERS_FIELD[ind]]
                pts = next(((p2 if pl2 else p1) for at, p1, p2 in inputs if x >= at), 0)
            got += pts
            possible += m
        out[a] = 100 * got / possible
    return out


def _published(score: float) -> Decimal:
    return Decimal(repr(score)).quantize(Decimal("0.01"), ROUND_HALF_UP)


def competition_ranks(scores: dict[str, float], groups: dict[str, str]) -> dict[str, int]:
    published = {a: _published(s) for a, s in scores.items()}
    return {a: 1 + sum(1 for b in scores if groups[b] == groups[a] and published[b] > published[a]) for a in scores}


# -- what the agencies type: values that pass every logic check (docs/domain.md §5) -------------------------


def agency_values(agency_id: str, group: str, version: int = 1) -> dict[str, object]:
    r = random.Random(f"walkthrough-{agency_id}-{version}")
    yn = lambda p=0.7: YES if r.random() < p else NO  # noqa: E731
    v: dict[str, object] = {}
    v["F01"] = f01 = r.randint(30, 300)
    v["F02"] = f02 = r.randint(f01 // 2, f01)
    v["F03"] = f03 = f02 + r.randint(0, 10)
    v["F04"] = r.randint(f03 // 2, f03)
    v["F05"] = round(f01 * r.uniform(0.2, 2.0), 1)
    v["F06"], v["F07"] = YES, yn()
    v["F08"] = r.randint(0, f03)
    v["F09"], v["F10"], v["F11"] = yn(), yn(), r.randint(0, 5)
    v["F12"] = r.randint(0, f01)
    v["F13"] = YES
    v["F14"] = f14 = r.randint(100, 5000)
    v["F15"] = f15 = r.randint(0, f14)
    v["F16"] = f16 = r.randint(0, 20)
    v["F17"] = r.randint(0, f15) if f16 > 0 else 0
    v["F18"], v["F19"] = r.randint(0, 8), r.randint(0, 10)
    v["F20"] = YES
    for code in ("F21a", "F21b", "F21c", "F21d", "F21dd", "F21e", "F21h", "F21i", "F21k", "F21l", "F22a", "F22b",
                 "F22c", "F22d"):  # fmt: skip
        v[code] = yn()
    v["F23"] = r.randint(0, 200)
    v["F24"] = yn(0.8)
    v["F25"] = f25 = r.choice([0, r.randint(10, 3000)])
    v["F26"] = r.randint(0, f25) if v["F24"] == YES else 0
    v["F27"] = f27 = r.randint(10, 200)
    v["F28"] = f28 = r.randint(0, f27 // 2)
    v["F29"] = f29 = r.randint(0, (f27 - f28) // 2)
    v["F30"] = f30 = r.randint(0, f27 - f28 - f29)
    v["F31"] = f31 = r.randint(0, f25)
    v["F32"] = f32 = r.randint(0, f31) if f29 + f30 > 0 else 0
    v["F33"] = r.randint(1, min(f29 + f30, f32)) if f32 > 0 else 0
    for code in ("F34", "F35", "F36", "F37", "F38", "F42", "F43"):
        v[code] = yn()
    v["F39"] = f39 = r.randint(0, min(5, f01))
    v["F40"] = r.randint(0, f39)
    v["F41"] = r.randint(0, f01)
    v["F44"] = round(r.uniform(0, 500), 1)
    if group == "ubnd_huyen":
        v["X00"] = x00 = r.randint(5, 30)
        v["X01"] = x01 = r.randint(50, 400)
        v["X02"], v["X03"] = r.randint(0, x01), r.randint(0, 400)
        v["X04"], v["X05"] = r.randint(0, x00), r.randint(0, x01)
        v["X06"], v["X07"], v["X08"] = r.randint(0, x00), r.randint(0, x00), r.randint(0, x00)
    return v


def fill(blank: Path, out: Path, values: dict[str, object]) -> bytes:
    """The agency's filled form, written by openpyxl (another writer than the form's): column D by code."""
    wb = openpyxl.load_workbook(blank)
    ws = wb["Số liệu"]
    rows = {ws.cell(r, 1).value: r for r in range(1, ws.max_row + 1)}
    for code, value in values.items():
        ws.cell(rows[code], 4).value = value
    out.parent.mkdir(parents=True, exist_ok=True)
    wb.save(out)
    return out.read_bytes()


def at(day: int, hour: int, minute: int = 0, tz=HCM) -> datetime:
    return datetime(2018, 10 if day > 15 else 11, day, hour, minute, tzinfo=tz)


# -- the walk-through -----------------------------------------------------------------------------------


def test_a_year_with_ictaudit(tmp_path, capsys):
    raw = tmp_path / "data" / "raw"
    shutil.copytree(DATA_DIR / "raw" / "2017", raw / "2017")
    out17 = tmp_path / "outputs" / "2017"
    assert main(["run", "--cycle", str(raw / "2017"), "--out", str(out17), "--scored", str(tmp_path / "scored" / "2017"),
                 "--quiet", "--draws", "50"]) == 0  # fmt: skip

    # 1. init 2018 from 2017, linked to 2017's published results
    assert main(["init", "--year", "2018", "--from", str(raw / "2017"), "--out", str(raw / "2018"), "--results", str(out17)]) == 0
    cycle = raw / "2018"
    assert (cycle / "previous" / "scores.csv").read_bytes() == (tmp_path / "scored" / "2017" / "scores.csv").read_bytes()
    yaml_text = (cycle / "cycle.yaml").read_text(encoding="utf-8")
    yaml_text = yaml_text.replace('reply_to: ""', 'reply_to: "phieu-cntt@stttt.caobang.gov.vn"')
    (cycle / "cycle.yaml").write_text(yaml_text, encoding="utf-8")

    # 2. forms, before the deadline is set
    assert main(["forms", "--cycle", str(cycle), "--out", str(tmp_path / "forms")]) == 0
    roster = pd.read_csv(cycle / "agencies.csv", dtype=str, keep_default_na=False)
    groups = dict(zip(roster["agency_id"], roster["group"], strict=True))
    ranked_roster = roster[roster["ranked"] == "true"]["agency_id"].tolist()
    assert sorted(p.stem for p in (tmp_path / "forms").iterdir()) == sorted(ranked_roster)

    # 3. the agencies fill their forms and mail them
    values = {a: agency_values(a, groups[a]) for a in ranked_roster}
    values["so-tai-chinh"]["F05"] = "45,5"  # typed as text, the Vietnamese way
    filled = {a: fill(tmp_path / "forms" / f"{a}.xlsx", tmp_path / "filled" / f"{a}.xlsx", v) for a, v in values.items()}
    name_of = dict(zip(roster["agency_id"], roster["name"], strict=True))
    mails, mbox, later = tmp_path / "mail", [], []
    special = {"so-noi-vu", "so-tu-phap", "so-y-te", "so-khcn", "huyen-bao-lac", "so-ngoai-vu", "thanh-tra-tinh",
               "ban-dan-toc", "huyen-ha-lang"}  # fmt: skip
    for i, a in enumerate(sorted(set(ranked_roster) - special)):
        msg = form_mail([(f"Phiếu số liệu CNTT 2018 - {name_of[a]}.xlsx", filled[a])], sender=f"{name_of[a]} <vp@{a}.gov.vn>",
                        received=at(20 + i % 10, 8 + i % 9), names="rfc2047" if i % 3 == 0 else "rfc2231")  # fmt: skip
        (mbox.append(msg) if i % 2 else write_eml(msg, mails / f"{i:02d}.eml"))
    # a corrected version re-sent on time: the last one stands
    first_version = fill(tmp_path / "forms" / "so-noi-vu.xlsx", tmp_path / "v1" / "so-noi-vu.xlsx",
                         agency_values("so-noi-vu", groups["so-noi-vu"], version=0))  # fmt: skip
    write_eml(form_mail([("phieu.xlsx", first_version)], sender="Sở Nội vụ <vp@snv.gov.vn>", received=at(25, 9)), mails / "snv-1.eml")
    write_eml(form_mail([("phieu (đã sửa).xlsx", filled["so-noi-vu"])], sender="Sở Nội vụ <vp@snv.gov.vn>", received=at(1, 10)),
              mails / "snv-2.eml")  # fmt: skip
    # on time, then a changed version after the deadline: the on-time one stands
    write_eml(form_mail([("stp.xlsx", filled["so-tu-phap"])], sender="Sở Tư pháp <vp@stp.gov.vn>", received=at(30, 15)), mails / "stp-1.eml")
    late_version = fill(tmp_path / "forms" / "so-tu-phap.xlsx", tmp_path / "v2" / "so-tu-phap.xlsx",
                        agency_values("so-tu-phap", groups["so-tu-phap"], version=9))  # fmt: skip
    later.append(form_mail([("stp-moi.xlsx", late_version)], sender="Sở Tư pháp <vp@stp.gov.vn>", received=at(5, 8)))
    # late on the province's clock only: 23:30 UTC on the deadline day is 06:30 on 03/11 in Hà Nội
    write_eml(form_mail([("syt.xlsx", filled["so-y-te"])], sender="Sở Y tế <vp@syt.gov.vn>",
                        received=datetime(2018, 11, 2, 23, 30, tzinfo=UTC)), mails / "syt.eml")  # fmt: skip
    # on time on the province's clock only: 16:59 UTC is 23:59 in Hà Nội
    write_eml(form_mail([("skhcn.xlsx", filled["so-khcn"])], sender="Sở KH&CN <vp@skhcn.gov.vn>",
                        received=datetime(2018, 11, 2, 16, 59, tzinfo=UTC)), mails / "skhcn.eml")  # fmt: skip
    # the same file twice, the second time after the deadline: counts once, on time
    for n, when in enumerate((at(29, 8), at(4, 8))):
        mbox.append(form_mail([(f"bao-lac-{n}.xlsx", filled["huyen-bao-lac"])], sender="UBND huyện Bảo Lạc <vp@baolac.gov.vn>",
                              received=when, message_id=f"<baolac-{n}@baolac.gov.vn>"))  # fmt: skip
    # only a cover letter: the agency stays missing
    write_eml(form_mail([("Công văn.pdf", b"%PDF-1.4 cover letter")], sender="Sở Ngoại vụ <vp@sngv.gov.vn>", received=at(1, 8),
                        content_type=("application", "pdf")), mails / "sngv.eml")  # fmt: skip
    # winmail.dat first, then the form itself
    write_eml(form_mail([("winmail.dat", b"\x78\x9f\x3e\x22\x01")], sender="Thanh tra tỉnh <vp@tt.gov.vn>", received=at(26, 8),
                        content_type=("application", "ms-tnef")), mails / "tt-1.eml")  # fmt: skip
    write_eml(form_mail([("Phiếu Thanh tra.xlsx", filled["thanh-tra-tinh"])], sender="Thanh tra tỉnh <vp@tt.gov.vn>",
                        received=at(27, 8)), mails / "tt-2.eml")  # fmt: skip
    # forwarded by the DIC's clerk
    inner = form_mail([("bdt.xlsx", filled["ban-dan-toc"])], sender="Ban Dân tộc <vp@bdt.gov.vn>", received=at(28, 7))
    write_eml(forward(inner, sender="Văn thư Sở <vanthu@stttt.gov.vn>", received=at(28, 9)), mails / "bdt-fwd.eml")
    # junk
    cut = form_mail([("x.xlsx", filled["so-gtvt"])], received=at(22, 8)).as_bytes()
    (mails / "cut.eml").write_bytes(cut[: len(cut) // 2])
    write_eml(form_mail([("phieu-2017.xlsx", (raw / "2017" / "submissions" / "so-gtvt.xlsx").read_bytes())], received=at(22, 9)),
              mails / "old.eml")  # fmt: skip
    write_mbox(mbox, tmp_path / "inbox.mbox")

    # 4. receive: a folder of .eml files and an mbox; then a second batch (run twice: nothing changes)
    assert main(["receive", "--cycle", str(cycle), str(mails), str(tmp_path / "inbox.mbox"), "--report", str(tmp_path / "r1.csv")]) == 0
    write_mbox(later, tmp_path / "later.mbox")
    assert main(["receive", "--cycle", str(cycle), str(tmp_path / "later.mbox")]) == 0
    before = {p.name: p.read_bytes() for p in (cycle / "submissions").iterdir()} | {"receipts": (cycle / "receipts.csv").read_bytes()}
    assert main(["receive", "--cycle", str(cycle), str(mails), str(tmp_path / "inbox.mbox"), str(tmp_path / "later.mbox")]) == 0
    assert {p.name: p.read_bytes() for p in (cycle / "submissions").iterdir()} | {"receipts": (cycle / "receipts.csv").read_bytes()} == before
    report = pd.read_csv(tmp_path / "r1.csv", dtype=str, keep_default_na=False)
    assert set(report[report["outcome"] == "registered"]["agency_id"]) == set(ranked_roster) - {"so-ngoai-vu", "huyen-ha-lang"}
    assert report["outcome"].value_counts().to_dict() == {
        "registered": len(ranked_roster) - 2 + 2,  # one agency sends twice on time, one the same file twice
        "not_a_form": 1, "refused": 2, "message_refused": 1,
    }  # fmt: skip
    # a form received on paper, saved and typed into the register by hand as the tool prints dates
    shutil.copy(tmp_path / "filled" / "huyen-ha-lang.xlsx", cycle / "submissions" / "huyen-ha-lang (giấy).xlsx")
    with (cycle / "receipts.csv").open("a", encoding="utf-8") as fh:
        fh.write("huyen-ha-lang,huyen-ha-lang (giấy).xlsx,17/10/2018,Bưu chính,bản giấy có chữ ký,,,,,\n")

    # 5. the deadline, then the run
    yaml_text = (cycle / "cycle.yaml").read_text(encoding="utf-8").replace("\ndeadline:\n", f"\ndeadline: {DEADLINE}\n")
    (cycle / "cycle.yaml").write_text(yaml_text, encoding="utf-8")
    scored = tmp_path / "scored" / "2018"
    assert main(["run", "--cycle", str(cycle), "--out", str(tmp_path / "outputs" / "2018"), "--scored", str(scored),
                 "--quiet", "--draws", "50"]) == 0  # fmt: skip

    # 6. every agency as docs/domain.md says
    scores = pd.read_csv(scored / "scores.csv", dtype={"agency_id": str}, keep_default_na=False).set_index("agency_id")
    status = scores["status"].to_dict()
    expected_status = {a: "ranked" for a in ranked_roster} | {"so-y-te": "late", "so-ngoai-vu": "missing",
                                                               "bo-chqs-tinh": "excluded", "cong-an-tinh": "excluded"}  # fmt: skip
    assert status == expected_status
    assert "06:30" in scores.loc["so-y-te", "status_reason"] and "03/11/2018" in scores.loc["so-y-te", "status_reason"]
    ranked = [a for a, s in expected_status.items() if s == "ranked"]
    typed = {a: values[a] for a in ranked}
    want = expected_scores(typed, groups)
    ranks = competition_ranks(want, groups)
    for a in ranked:
        row = scores.loc[a]
        assert 100 * float(row["points"]) / float(row["applicable_max"]) == pytest.approx(want[a], abs=1e-4), a
        assert _published(float(row["score_100"])) == _published(want[a]), a  # as published: 2 decimals, half up
        assert int(float(scores.loc[a, "rank"])) == ranks[a], a
    for a in set(expected_status) - set(ranked):
        assert scores.loc[a, "rank"] in ("", None) or pd.isna(scores.loc[a, "rank"]), a
    # which file was read: the last on-time version, the on-time one before a late one, the first of the same bytes
    sources = pd.read_csv(scored / "values.csv", dtype=str, keep_default_na=False)
    f01 = sources[sources["field"] == "F01"].set_index("agency_id")["value"].astype(float)
    assert f01["so-noi-vu"] == values["so-noi-vu"]["F01"] and f01["so-tu-phap"] == values["so-tu-phap"]["F01"]
    problems = pd.read_csv(scored / "intake_problems.csv", dtype=str, keep_default_na=False)
    i09 = problems[problems["code"] == "I09"].groupby("agency_id")["message_vi"].apply(list).to_dict()
    assert set(i09) == {"so-noi-vu", "so-tu-phap", "huyen-bao-lac"}
    assert "đã được thay bằng phiếu gửi sau" in i09["so-noi-vu"][0]
    assert "không thay thế phiếu đã nhận trong hạn" in i09["so-tu-phap"][0]
    assert "trùng nội dung" in i09["huyen-bao-lac"][0]
    capsys.readouterr()

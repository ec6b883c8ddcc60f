"""The receipt rules through intake: tests/scenarios/receipts/rules.yaml, each case a real cycle folder.

Each case's files are real forms (F01 set to the number the case gives, so equal numbers are equal
bytes), its receipts a real receipts.csv; intake must give the status, read the file the case names
(its F01 is the value) and list every receipt not used, with its line, as an I09 problem.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import yaml

from ictaudit.intake.cycle import RECEIPT_COLUMNS, RECEIPT_MAIL_COLUMNS, load_cycle
from ictaudit.intake.forms import write_form
from ictaudit.intake.submissions import intake_cycle

SCENARIO = Path(__file__).parent / "scenarios" / "receipts" / "rules.yaml"
SPEC = yaml.safe_load(SCENARIO.read_text(encoding="utf-8"))
AGENCY = ("so-tttt", "Sở Thông tin và Truyền thông", "so_ban_nganh")


def make_case(root: Path, rubric, case: dict) -> Path:
    (root / "submissions").mkdir(parents=True)
    (root / "cycle.yaml").write_text(
        f"year: 2018\nrubric: caobang-2310-2016\ndeadline: {SPEC['deadline']}\ntitle: Kiểm thử\n"
        f"province: Cao Bằng\ntimezone: {SPEC['timezone']}\n",
        encoding="utf-8",
    )
    (root / "agencies.csv").write_text(
        "agency_id,name,group,ranked,note\n" + ",".join(AGENCY) + ",true,\n", encoding="utf-8"
    )
    for name, f01 in case["files"].items():
        path = root / "submissions" / name
        if f01 == "garbage":
            path.write_bytes(b"not a workbook")
        else:
            write_form(path, rubric, AGENCY[2], AGENCY[0], AGENCY[1], 2018, values={"F01": f01})
    with (root / "receipts.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow([*RECEIPT_COLUMNS, *RECEIPT_MAIL_COLUMNS])
        for r in case["receipts"]:
            writer.writerow([AGENCY[0], r["file"], r["received_on"], "Thư điện tử", "", r.get("received_at", ""), "", "", "", ""])
    return root


@pytest.mark.parametrize("case", SPEC["cases"], ids=[c["id"] for c in SPEC["cases"]])
def test_receipt_rules(tmp_path, rubric, case):
    root = make_case(tmp_path / "cycle", rubric, case)
    result = intake_cycle(load_cycle(root, rubric), rubric)
    expect = case["expect"]
    status = result.statuses.set_index("agency_id").loc[AGENCY[0]]
    assert status["status"] == expect["status"], status["status_reason"]
    values = result.values.set_index("field")
    if expect["read"] is None:
        assert values.empty
    else:
        assert set(values["source_file"]) == {expect["read"]}
        assert values.loc["F01", "value"] == case["files"][expect["read"]]
    i09 = result.problems[result.problems["code"] == "I09"]
    message_of = {"superseded": "đã được thay bằng phiếu gửi sau", "late_unused": "không thay thế phiếu đã nhận trong hạn",
                  "duplicate": "trùng nội dung (cùng sha256)"}  # fmt: skip
    found = []
    for row in i09.itertuples():
        line = row.message_vi.split("receipts.csv dòng ", 1)[1].split(")", 1)[0]
        why = next(w for w, says in message_of.items() if says in row.message_vi)
        found.append(f"{line}: {why}")
        assert row.severity == "W" and row.agency_id == AGENCY[0]
        assert row.file == case["receipts"][int(line) - 2]["file"]
    assert sorted(found) == sorted(expect["not_used"])
    if expect["not_used"]:
        lines = ", ".join(sorted((n.split(":")[0] for n in expect["not_used"]), key=int))
        assert f"Sổ tiếp nhận còn {len(expect['not_used'])} phiếu không dùng (receipts.csv dòng {lines})" in (
            status["status_reason"]
        )


def test_a_late_mail_says_when_on_the_provinces_clock(tmp_path, rubric):
    case = next(c for c in SPEC["cases"] if c["id"].startswith("06:30"))
    root = make_case(tmp_path / "cycle", rubric, case)
    reason = intake_cycle(load_cycle(root, rubric), rubric).statuses.loc[0, "status_reason"]
    assert reason == (
        "Phiếu v1.xlsx nhận ngày 03/11/2018 lúc 06:30, sau hạn cuối 02/11/2018: không được đánh giá, xếp hạng."
    )


def test_a_timestamp_that_is_not_one_is_reported_and_the_day_used(tmp_path, rubric):
    case = next(c for c in SPEC["cases"] if c["id"].startswith("a received_at"))
    root = make_case(tmp_path / "cycle", rubric, case)
    problems = intake_cycle(load_cycle(root, rubric), rubric).problems
    row = problems[problems["code"] == "I16"].iloc[0]
    assert row["severity"] == "W"
    assert "receipts.csv dòng 2" in row["message_vi"] and "“01/11/2018 16:00”" in row["message_vi"]
    assert "dùng ngày nhận “2018-11-01”" in row["message_vi"]


def test_the_scenario_covers_every_rule():
    whys = {n.split(": ")[1] for c in SPEC["cases"] for n in c["expect"]["not_used"]}
    assert whys == {"superseded", "late_unused", "duplicate"}
    assert {c["expect"]["status"] for c in SPEC["cases"]} == {"ranked", "late", "invalid"}

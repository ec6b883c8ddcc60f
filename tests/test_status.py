"""The status of the year (report/status.py, report/status_views.py, run/status.py) on tiny explicit data.

Five agencies, one of each status, and the tables a run of them would have written, typed by hand
below: the console summary, ``ictaudit status`` and ``status.html`` must say the same thing — who is
ranked, who is not and why, which receipts line has a problem, which correction was rejected (with
its corrections.csv line) and whom to chase.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from ictaudit.cli import main
from ictaudit.intake.cycle import load_cycle
from ictaudit.report.status import RunTables, year_status
from ictaudit.report.status_views import SHOWN, status_text, summary_lines, summary_text, write_status_page
from ictaudit.run.status import changed_since, cycle_status

CYCLE_YAML = "year: 2017\nrubric: caobang-2310-2016\ndeadline: 2017-11-02\ntitle: Kiểm thử\nprovince: Cao Bằng\n"
HOSTILE = '<script>alert("x")</script> Sở Tư pháp'
AGENCIES = f"""agency_id,name,group,ranked,note
a-ranked,{HOSTILE},so_ban_nganh,true,
b-late,Sở Y tế,so_ban_nganh,true,
c-missing,UBND huyện Hòa An,ubnd_huyen,true,
d-excluded,Công an tỉnh,so_ban_nganh,false,Đơn vị an ninh
e-invalid,UBND huyện Bảo Lâm,ubnd_huyen,true,
"""
# line 2: a, line 3: b (late), line 4: e (no real date), line 5: a sends again by mail (a time, in UTC)
RECEIPTS = """agency_id,file,received_on,channel,note,received_at,sender,subject,message_id,sha256
a-ranked,a.xlsx,2017-10-30,Bưu chính,,,,,,
b-late,b.xlsx,2017-11-09,Thư điện tử,,,,,,
e-invalid,e.xlsx,31/11/2017,Thư điện tử,,,,,,
a-ranked,a-v2.xlsx,2017-11-02,Thư điện tử,,2017-11-02T16:30:00+00:00,vanthu@tuphap.gov.vn,Phiếu,<m1>,
"""
CORRECTIONS = """agency_id,field,old_value,new_value,reason,check_id,confirmed_by,confirmed_on,source,reply_file,reply_sha256
a-ranked,F05,1,100,Nhầm đơn vị,L08,Nguyễn Văn A,2017-11-15,agency reply,a-xacnhan.xlsx,ab
a-ranked,F02,50,45,Đếm lại,L03,Nguyễn Văn A,2017-11-15,DIC review,,
"""


def _frame(rows: list[tuple], columns: str) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=columns.split(","))


def run_tables() -> RunTables:
    """What a run of the cycle above wrote (intake, validation, the corrections report)."""
    statuses = _frame(
        [("a-ranked", HOSTILE, "so_ban_nganh", "ranked", "Phiếu a-v2.xlsx nhận ngày 02/11/2017, trong hạn."),
         ("b-late", "Sở Y tế", "so_ban_nganh", "late", "Phiếu b.xlsx nhận ngày 09/11/2017, sau hạn cuối 02/11/2017."),
         ("c-missing", "UBND huyện Hòa An", "ubnd_huyen", "missing", "Không nhận được phiếu."),
         ("d-excluded", "Công an tỉnh", "so_ban_nganh", "excluded", "Không xếp hạng theo danh sách đơn vị: Đơn vị an ninh"),
         ("e-invalid", "UBND huyện Bảo Lâm", "ubnd_huyen", "invalid", "Phiếu không hợp lệ: ngày nhận “31/11/2017”.")],
        "agency_id,agency_name,group,status,status_reason",
    )  # fmt: skip
    problems = _frame(
        [("", "la.xlsx", "", "", "", "", "I11", "W", "Tệp la.xlsx có trong thư mục submissions nhưng không có trong sổ tiếp nhận.", ""),
         ("a-ranked", "a-v2.xlsx", "Số liệu", "D9", "F05", "85%", "I17", "E", "Tệp a-v2.xlsx, ô D9 (F05): định dạng phần trăm.", "5"),
         ("e-invalid", "e.xlsx", "", "", "", "", "I16", "E", "receipts.csv dòng 4: Sổ tiếp nhận: ngày nhận “31/11/2017”.", "4")],
        "agency_id,file,sheet,cell,field,raw_value,code,severity,message_vi,line",
    )  # fmt: skip
    issues = _frame(
        [("a-ranked", "L03", "E", "F02;F01", "", "", "1", ""), ("a-ranked", "L08", "W", "F05;F01", "", "", "1", "K001"),
         ("a-ranked", "L03", "E", "F02;F01", "", "", "2", "")],
        "agency_id,check_id,severity,fields,values,message_vi,round,resolved_by",
    )  # fmt: skip
    corrections = _frame(
        [("K001", "a-ranked", "F05", "1", "100", "applied", ""),
         ("K002", "a-ranked", "F02", "50", "45", "rejected", "Giá trị cũ '50' không khớp giá trị hiện có của F02 là 60.")],
        "correction_id,agency_id,field,old_value,new_value,status,status_reason",
    )  # fmt: skip
    submitted = _frame([("a-ranked", "F01", "a-v2.xlsx"), ("b-late", "F01", "b.xlsx")], "agency_id,field,source_file")
    return RunTables(statuses, problems, issues, corrections, submitted)


LABELS = {"so_ban_nganh": "Sở, ban, ngành", "ubnd_huyen": "UBND các huyện, thành phố"}


@pytest.fixture
def cycle_dir(tmp_path) -> Path:
    root = tmp_path / "2017"
    (root / "submissions").mkdir(parents=True)
    for name, text in (("cycle.yaml", CYCLE_YAML), ("agencies.csv", AGENCIES), ("receipts.csv", RECEIPTS),
                       ("corrections.csv", CORRECTIONS)):  # fmt: skip
        (root / name).write_text(text, encoding="utf-8")
    return root


def test_the_status_of_a_run_agency_by_agency(cycle_dir):
    ys = year_status(load_cycle(cycle_dir), LABELS, run_tables(), sent={"a-ranked"})
    by = {a.agency_id: a for a in ys.agencies}
    assert [(a.agency_id, a.status) for a in ys.agencies] == [
        ("a-ranked", "ranked"), ("b-late", "late"), ("c-missing", "missing"), ("d-excluded", "excluded"),
        ("e-invalid", "invalid"),
    ]  # fmt: skip
    a = by["a-ranked"]
    assert [(r.line, r.file, r.received, r.use) for r in a.receipts] == [
        (2, "a.xlsx", "30/10/2017", "not_used"),
        (5, "a-v2.xlsx", "02/11/2017 23:30", "used"),  # 16:30 UTC is 23:30 in Hà Nội, still the deadline day
    ]
    assert a.receipts[1].sender == "vanthu@tuphap.gov.vn" and a.receipts[1].problems == ("Tệp a-v2.xlsx, ô D9 (F05): định dạng phần trăm.",)
    assert (a.errors, a.warnings, a.remaining_errors, a.remaining_warnings) == (1, 1, 1, 0)
    assert (a.confirmation, a.applied, a.rejected) == ("answered", 1, 1)  # K001 came back in its workbook
    assert [r.use for r in by["b-late"].receipts] == ["kept"]  # read and kept, not scored
    assert by["e-invalid"].receipts[0].problems == ("receipts.csv dòng 4: Sổ tiếp nhận: ngày nhận “31/11/2017”.",)
    assert [(x.agency_id, x.to_chase) for x in ys.to_chase] == [
        ("c-missing", "Chưa gửi phiếu"), ("e-invalid", "Phiếu không hợp lệ: đề nghị gửi lại hoặc sửa sổ tiếp nhận"),
    ]  # fmt: skip
    assert [(p.code, p.line) for p in ys.register_problems] == [("I11", ""), ("I16", "4")] and ys.cell_problems == 1
    assert [(c.correction_id, c.line) for c in ys.rejected] == [("K002", 3)]
    assert ys.confirmations == {"sent": 1, "answered": 1, "outstanding": 0}
    # its answer closed every problem, so this run made it no new workbook: it still answered
    again = year_status(load_cycle(cycle_dir), LABELS, run_tables(), sent=set())
    assert next(x for x in again.agencies if x.agency_id == "a-ranked").confirmation == "answered"
    assert again.confirmations == {"sent": 1, "answered": 1, "outstanding": 0}


def test_the_console_summary_says_what_happened(cycle_dir):
    ys = year_status(load_cycle(cycle_dir), LABELS, run_tables(), sent={"a-ranked"})
    text = summary_text(ys, "/x/status.html")
    assert text.splitlines() == [
        "Kỳ đánh giá 2017 — Cao Bằng: 5 đơn vị trong danh sách.",
        "  Được đánh giá, xếp hạng: 1 · Gửi phiếu sau hạn: 1 · Không gửi phiếu: 1 · Không thuộc diện xếp hạng: 1 · "
        "Phiếu không hợp lệ: 1",
        "Không được đánh giá, xếp hạng (4):",
        "  - Sở Y tế (b-late) — Gửi phiếu sau hạn: Phiếu b.xlsx nhận ngày 09/11/2017, sau hạn cuối 02/11/2017.",
        "  - UBND huyện Hòa An (c-missing) — Không gửi phiếu: Không nhận được phiếu.",
        "  - Công an tỉnh (d-excluded) — Không thuộc diện xếp hạng: Đơn vị an ninh",  # the reason without its label
        "  - UBND huyện Bảo Lâm (e-invalid) — Phiếu không hợp lệ: ngày nhận “31/11/2017”.",  # said once
        "Vấn đề phát hiện ở phiếu gốc (vòng 1): 1 lỗi, 1 cảnh báo; còn lại sau hiệu chỉnh (vòng 2): 1 lỗi, 0 cảnh báo.",
        "Vấn đề ở sổ tiếp nhận và tệp phiếu (2):",
        "  - Tệp la.xlsx có trong thư mục submissions nhưng không có trong sổ tiếp nhận.",
        "  - receipts.csv dòng 4: Sổ tiếp nhận: ngày nhận “31/11/2017”.",
        "Vấn đề ở từng ô số liệu khi đọc phiếu: 1 (gửi đơn vị trong sổ xác nhận).",
        "Hiệu chỉnh (corrections.csv): 1 đã áp dụng, 1 không áp dụng:",
        "  - K002 (corrections.csv dòng 3; a-ranked, F02): Giá trị cũ '50' không khớp giá trị hiện có của F02 là 60.",
        "Xác nhận số liệu: 1 đơn vị được gửi sổ xác nhận (confirmations/), 1 đơn vị đã trả lời, 0 chưa trả lời.",
        "Chi tiết từng đơn vị, đơn vị cần đôn đốc: /x/status.html",
    ]


def test_the_summary_stays_a_screen_long(cycle_dir):
    """A national cycle: twenty unranked agencies and rejected corrections are cut to a few lines each."""
    tables = run_tables()
    many = pd.DataFrame(
        [(f"z{i:02d}", f"Đơn vị {i}", "so_ban_nganh", "missing", "Không nhận được phiếu.") for i in range(20)],
        columns=tables.statuses.columns,
    )
    tables = RunTables(pd.concat([tables.statuses, many]), tables.problems, tables.issues, tables.corrections, tables.submitted)
    text = (cycle_dir / "agencies.csv").read_text(encoding="utf-8")
    text += "".join(f"z{i:02d},Đơn vị {i},so_ban_nganh,true,\n" for i in range(20))
    (cycle_dir / "agencies.csv").write_text(text, encoding="utf-8")
    lines = summary_lines(year_status(load_cycle(cycle_dir), LABELS, tables))
    listed = [line for line in lines if line.startswith("  - ") and "(z" in line]
    assert len(listed) <= SHOWN
    assert "  … và 16 đơn vị khác (xem status.html)" in lines  # 24 not ranked, 8 shown
    assert len(lines) < 25


def test_before_any_run_the_register_alone(cycle_dir):
    ys = year_status(load_cycle(cycle_dir), LABELS)
    assert [(a.agency_id, a.status) for a in ys.agencies] == [
        ("a-ranked", "received"), ("b-late", "received"), ("c-missing", "missing"), ("d-excluded", "excluded"),
        ("e-invalid", "received"),
    ]  # fmt: skip
    assert all(r.use == "" for a in ys.agencies for r in a.receipts)
    assert [a.agency_id for a in ys.to_chase] == ["c-missing"]
    lines = summary_lines(ys)
    assert lines[1] == "  Không gửi phiếu: 1 · Không thuộc diện xếp hạng: 1 · Đã nhận phiếu (chưa chạy kiểm tra): 3"
    assert "Chưa chạy kiểm tra (ictaudit run): trạng thái theo danh sách đơn vị và sổ tiếp nhận." in lines
    text = status_text(ys)
    assert "  - UBND huyện Hòa An (c-missing): Chưa gửi phiếu" in text
    assert "      phiếu dòng 3: b.xlsx, nhận 09/11/2017 (Thư điện tử)" in text


class _Text(HTMLParser):
    def __init__(self):
        super().__init__()
        self.text, self.scripts = [], 0

    def handle_starttag(self, tag, attrs):
        self.scripts += tag == "script"

    def handle_data(self, data):
        self.text.append(data)


def test_the_page_says_the_same_escaped_and_without_a_clock(cycle_dir, tmp_path):
    ys = year_status(load_cycle(cycle_dir), LABELS, run_tables(), sent={"a-ranked"})
    page = write_status_page(ys, tmp_path / "status.html")
    html = page.read_text(encoding="utf-8")
    parsed = _Text()
    parsed.feed(html)
    text = " ".join("".join(parsed.text).split())
    assert parsed.scripts == 0 and HOSTILE not in html and "&lt;script&gt;" in html
    for line in summary_lines(ys)[2:]:  # every line of the summary is on the page, whole
        assert " ".join(line.removeprefix("  - ").split()) in text, line
    assert 'href="agencies/c-missing.html"' in html and "Chưa gửi phiếu" in text
    assert "dòng 5: a-v2.xlsx, nhận 02/11/2017 23:30 (Thư điện tử, vanthu@tuphap.gov.vn) — dùng" in text
    assert "dòng 3: b.xlsx, nhận 09/11/2017 (Thư điện tử) — lưu, không chấm điểm" in text
    assert "K002" in text and "Giá trị cũ '50' không khớp" in text
    assert not re.search(r"\b20(2\d)\b", html)  # no date of the machine's clock; only the cycle's own dates
    again = write_status_page(ys, tmp_path / "again.html")
    assert again.read_bytes() == page.read_bytes()
    outside = write_status_page(ys, tmp_path / "outside.html", agency_links=False, run_note="Lần chạy X.")
    assert "agencies/" not in outside.read_text(encoding="utf-8") and "Lần chạy X." in outside.read_text(encoding="utf-8")


def test_ictaudit_status_before_any_run_and_a_run_of_another_cycle(cycle_dir, capsys, tmp_path):
    assert main(["status", "--cycle", str(cycle_dir), "--run", str(tmp_path / "nowhere"), "--html",
                 str(tmp_path / "s.html")]) == 1  # fmt: skip
    assert "no manifest.json" in capsys.readouterr().err
    (cycle_dir / "cycle.yaml").write_text(CYCLE_YAML.replace("deadline: 2017-11-02", "deadline:"), encoding="utf-8")
    assert main(["status", "--cycle", str(cycle_dir), "--html", str(tmp_path / "s.html")]) == 0  # no deadline yet
    out = capsys.readouterr().out
    assert out.startswith("Kiểm thử\nKỳ đánh giá 2017 — Cao Bằng: 5 đơn vị trong danh sách.")
    assert "Cần đôn đốc (1):\n  - UBND huyện Hòa An (c-missing): Chưa gửi phiếu" in out
    assert (tmp_path / "s.html").exists()


def test_a_run_of_the_cycle_is_found_and_what_changed_since_is_said(cycle_dir, tmp_path):
    import json

    from ictaudit.common.tables import write_csv
    from ictaudit.run.manifest import hash_tree

    out, scored = tmp_path / "out", tmp_path / "scored"
    tables = run_tables()
    frames = (tables.statuses, tables.problems, tables.issues, tables.corrections, tables.submitted)
    for name, df in zip(("statuses", "intake_problems", "issues", "corrections", "values_submitted"), frames, strict=True):
        write_csv(df, scored / f"{name}.csv")
    (out / "confirmations").mkdir(parents=True)
    (out / "confirmations" / "a-ranked.xlsx").write_bytes(b"x")
    manifest = {"cycle": {"dir": str(cycle_dir)}, "paths": {"out": str(out), "scored": str(scored)},
                "run": {"started_utc": "2017-11-20T02:00:00+00:00"}, "inputs": {"cycle": hash_tree(cycle_dir)}}  # fmt: skip
    (out / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    ys, run = cycle_status(cycle_dir, out)
    assert run.note() == f"Số liệu của lần chạy bắt đầu lúc 20/11/2017 09:00 ({out})."
    assert ys.count("late") == 1 and ys.notes == ()
    with (cycle_dir / "receipts.csv").open("a", encoding="utf-8") as fh:
        fh.write("c-missing,c.xlsx,2017-11-21,Bưu chính,,,,,,\n")  # it came after the run
    assert changed_since(manifest, cycle_dir)[0].startswith("Thư mục kỳ đã thay đổi sau lần chạy (thay đổi: receipts.csv)")
    ys, _ = cycle_status(cycle_dir, out)
    c = next(a for a in ys.agencies if a.agency_id == "c-missing")
    assert c.status == "received" and [r.file for r in c.receipts] == ["c.xlsx"]
    assert "Chạy lại ictaudit run để cập nhật." in summary_text(ys)


def test_a_corrections_report_with_its_own_lines_and_confirmations(cycle_dir):
    """The report may carry each correction's line and a "confirmed" status (a value kept, with why)."""
    tables = run_tables()
    corrections = pd.DataFrame(
        [("K001", "7", "a-ranked", "F05", "applied", ""), ("K002", "9", "a-ranked", "F02", "rejected", "Thiếu lý do."),
         ("K003", "8", "a-ranked", "F12", "confirmed", "")],
        columns=["correction_id", "line", "agency_id", "field", "status", "status_reason"],
    )  # fmt: skip
    tables = RunTables(tables.statuses, tables.problems, tables.issues, corrections, tables.submitted)
    lines = summary_lines(year_status(load_cycle(cycle_dir), LABELS, tables))
    assert "Hiệu chỉnh (corrections.csv): 1 đã áp dụng, 1 xác nhận giữ nguyên, 1 không áp dụng:" in lines
    assert "  - K002 (corrections.csv dòng 9; a-ranked, F02): Thiếu lý do." in lines


def test_a_problem_names_its_receipts_line_once():
    from ictaudit.intake.problems import at_receipt, problem

    row = problem("I12", "not_on_roster", agency_id="so-x", file="x.xlsx", line=7)
    assert row["line"] == "7" and not row["message_vi"].startswith("receipts.csv")
    assert at_receipt(row, 7, in_message=True)["message_vi"].startswith("receipts.csv dòng 7: Sổ tiếp nhận có tệp x.xlsx")
    again = at_receipt(dict(row), 7, in_message=True)  # a message naming its line already is left as it is
    assert again["message_vi"].count("receipts.csv dòng 7") == 1
    assert at_receipt(dict(row), [3, 5])["line"] == "3;5" and at_receipt(dict(row), float("nan"))["line"] == ""


def test_the_same_file_received_twice_is_used_once(tmp_path):
    """`receive` names a file by its sha256: the same bytes mailed twice give two register lines naming
    one file. Intake uses the first (the second is an I09 warning); the page must say so, not "used" twice."""
    root = tmp_path / "2017"
    (root / "submissions").mkdir(parents=True)
    receipts = ("agency_id,file,received_on,channel,note,received_at,sender,subject,message_id,sha256\n"
                "a-ranked,ab12.xlsx,2017-10-30,Thư điện tử,,2017-10-30T09:00:00+07:00,a@x.vn,Phiếu,<m1>,ab12\n"
                "a-ranked,ab12.xlsx,2017-10-31,Thư điện tử,,2017-10-31T09:00:00+07:00,a@x.vn,Phiếu,<m2>,ab12\n")  # fmt: skip
    for name, text in (("cycle.yaml", CYCLE_YAML), ("agencies.csv", AGENCIES), ("receipts.csv", receipts)):
        (root / name).write_text(text, encoding="utf-8")
    run = run_tables()
    run = RunTables(
        run.statuses, _frame([("a-ranked", "ab12.xlsx", "", "", "", "", "I09", "W", "Đã nhận tệp này (dòng 2).", "3")],
                             "agency_id,file,sheet,cell,field,raw_value,code,severity,message_vi,line"),
        run.issues, run.corrections, _frame([("a-ranked", "F01", "ab12.xlsx")], "agency_id,field,source_file"),
    )  # fmt: skip
    ys = year_status(load_cycle(root), LABELS, run)
    a = next(x for x in ys.agencies if x.agency_id == "a-ranked")
    assert [(r.line, r.use) for r in a.receipts] == [(2, "used"), (3, "not_used")]


def test_a_reply_the_run_already_read_does_not_answer_the_workbook_it_wrote_after(cycle_dir):
    """a-ranked's reply (sha256 ab) was read by the run, which still found a problem and wrote a new
    workbook: that one is outstanding until a new reply comes in."""
    run = run_tables()
    seen = run.corrections.assign(source=["agency reply", "DIC review"], reply_file=["a-xacnhan.xlsx", ""],
                                  reply_sha256=["ab", ""])  # fmt: skip
    run = RunTables(run.statuses, run.problems, run.issues, seen, run.submitted)
    ys = year_status(load_cycle(cycle_dir), LABELS, run, sent={"a-ranked"})
    assert next(x for x in ys.agencies if x.agency_id == "a-ranked").confirmation == "sent"
    assert ys.confirmations == {"sent": 1, "answered": 0, "outstanding": 1}
    assert "a-ranked" in [x.agency_id for x in ys.to_chase]  # to chase again

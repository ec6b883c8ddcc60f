"""``ictaudit receive``: forms found in mail, recognised by their own cells, stored by content hash and
registered; everything else reported, what, from whom and why. One test per kind of mail, hostile
ones included. Every message is built here with Python's email package (tests/mailmaker.py)."""

from __future__ import annotations

import ast
import hashlib
import re
from datetime import UTC, datetime, timedelta, timezone
from email import policy
from pathlib import Path

import pandas as pd
import pytest

from ictaudit.intake.cycle import RECEIPT_COLUMNS, RECEIPT_MAIL_COLUMNS, CycleError, load_cycle
from ictaudit.intake.forms import write_form
from ictaudit.intake.submissions import intake_cycle
from ictaudit.year import mail as mail_module
from ictaudit.year.receive import MESSAGES_FILE, messages, receive_mail, report_text, spreadsheet_format, write_report

from .mailmaker import form_mail, forward, write_eml, write_mbox

BAD = Path(__file__).parent / "fixtures" / "bad"
HCM = timezone(timedelta(hours=7))
ROSTER = [
    ("so-tttt", "Sở Thông tin và Truyền thông", "so_ban_nganh", "true", ""),
    ("huyen-bao-lam", "UBND huyện Bảo Lâm", "ubnd_huyen", "true", ""),
    ("cong-an-tinh", "Công an tỉnh", "so_ban_nganh", "false", "Đơn vị an ninh"),
]
BEFORE = datetime(2018, 10, 30, 9, 15, tzinfo=HCM)


@pytest.fixture
def cycle(tmp_path) -> Path:
    root = tmp_path / "2018"
    root.mkdir()
    (root / "cycle.yaml").write_text(
        "year: 2018\nrubric: caobang-2310-2016\ndeadline: 2018-11-02\ntitle: Kiểm thử\nprovince: Cao Bằng\n",
        encoding="utf-8",
    )
    lines = ["agency_id,name,group,ranked,note", *(",".join(r) for r in ROSTER)]
    (root / "agencies.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


def form_bytes(tmp_path: Path, rubric, agency_id: str = "so-tttt", *, year: int = 2018, f01: int = 48) -> bytes:
    agency = next(r for r in ROSTER if r[0] == agency_id)
    path = tmp_path / "forms" / f"{agency_id}-{year}-{f01}.xlsx"
    write_form(path, rubric, agency[2], agency_id, agency[1], year, values={"F01": f01, "F02": 40})
    return path.read_bytes()


def receipts(root: Path) -> pd.DataFrame:
    return pd.read_csv(root / "receipts.csv", dtype=str, keep_default_na=False)


def files_of(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def only(result, **where) -> dict:
    rows = result.report
    for column, value in where.items():
        rows = rows[rows[column] == value]
    assert len(rows) == 1, result.report.to_string()
    return rows.iloc[0].to_dict()


# -- a form, whatever it is called --------------------------------------------------------------------


def test_a_renamed_form_is_recognised_from_its_cells_and_registered(tmp_path, cycle, rubric):
    data = form_bytes(tmp_path, rubric)
    msg = form_mail([("Báo cáo số liệu – bản cuối.xlsx", data)], sender="Văn phòng Sở <vp@stttt.gov.vn>",
                    subject="Gửi phiếu số liệu năm 2018", received=BEFORE, message_id="<abc-1@stttt.gov.vn>")  # fmt: skip
    result = receive_mail(cycle, [write_eml(msg, tmp_path / "1.eml")])
    sha = hashlib.sha256(data).hexdigest()
    row = only(result, outcome="registered")
    assert (row["agency_id"], row["file"], row["line"], row["attachment"]) == (
        "so-tttt", f"{sha}.xlsx", "2", "Báo cáo số liệu – bản cuối.xlsx"
    )
    assert (cycle / "submissions" / f"{sha}.xlsx").read_bytes() == data
    register = receipts(cycle)
    assert list(register.columns) == [*RECEIPT_COLUMNS, *RECEIPT_MAIL_COLUMNS]
    assert register.iloc[0].to_dict() == {
        "agency_id": "so-tttt", "file": f"{sha}.xlsx", "received_on": "2018-10-30", "channel": "Thư điện tử",
        "note": "Tệp đính kèm “Báo cáo số liệu – bản cuối.xlsx”.", "received_at": "2018-10-30T09:15:00+07:00",
        "sender": "Văn phòng Sở <vp@stttt.gov.vn>", "subject": "Gửi phiếu số liệu năm 2018",
        "message_id": "<abc-1@stttt.gov.vn>", "sha256": sha,
    }  # fmt: skip
    result = intake_cycle(load_cycle(cycle, rubric), rubric)  # the run reads what receive registered
    status = result.statuses.set_index("agency_id").loc["so-tttt"]
    assert status["status"] == "ranked", status["status_reason"]
    assert result.values.set_index(["agency_id", "field"]).loc[("so-tttt", "F01"), "value"] == 48


def test_outlook_names_encoded_as_rfc2047_words_are_decoded(tmp_path, cycle, rubric):
    msg = form_mail([("Phiếu Sở Thông tin và Truyền thông.xlsx", form_bytes(tmp_path, rubric))], received=BEFORE,
                    names="rfc2047")  # fmt: skip
    assert "=?UTF-8?B?" in msg.as_string()
    result = receive_mail(cycle, [write_eml(msg, tmp_path / "1.eml")])
    assert only(result, outcome="registered")["attachment"] == "Phiếu Sở Thông tin và Truyền thông.xlsx"


def test_the_format_comes_from_the_content_never_from_the_name(tmp_path, cycle, rubric):
    data = form_bytes(tmp_path, rubric)
    msg = form_mail([("phieu.ods", data)], received=BEFORE)  # an .xlsx sent under an .ods name
    result = receive_mail(cycle, [write_eml(msg, tmp_path / "1.eml")])
    assert only(result, outcome="registered")["file"].endswith(".xlsx")
    assert spreadsheet_format(data) == "xlsx"
    assert spreadsheet_format((BAD / "password-protected.xls").read_bytes()) == "xls"
    assert spreadsheet_format(b"%PDF-1.7") is None


# -- when it was received ---------------------------------------------------------------------------


def test_the_topmost_received_header_on_the_provinces_clock_decides(tmp_path, cycle, rubric):
    """23:30 UTC on the deadline day is 06:30 on the next day in Hà Nội: late. Lower Received headers
    (earlier hops) and the sender's Date do not count."""
    msg = form_mail([("a.xlsx", form_bytes(tmp_path, rubric))], received=datetime(2018, 11, 2, 23, 30, tzinfo=UTC),
                    sent=datetime(2018, 11, 2, 16, 0, tzinfo=HCM))  # fmt: skip
    msg["Received"] = "from relay.agency.vn by mx.agency.vn; Fri, 2 Nov 2018 16:00:05 +0700"  # an earlier hop, below
    result = receive_mail(cycle, [write_eml(msg, tmp_path / "late.eml")])
    row = only(result, outcome="registered")
    assert row["received_at"] == "2018-11-03T06:30:00+07:00"
    assert "nhận ngày 03/11/2018 lúc 06:30" in row["reason"] and "Nhận sau hạn cuối 02/11/2018" in row["reason"]
    assert receipts(cycle).loc[0, ["received_on", "received_at"]].tolist() == ["2018-11-03", "2018-11-03T06:30:00+07:00"]
    status = intake_cycle(load_cycle(cycle, rubric), rubric).statuses.set_index("agency_id").loc["so-tttt"]
    assert status["status"] == "late"


@pytest.mark.parametrize(
    ("stamp", "on"),
    [("Sat, 3 Nov 2018 01:59:00 +0900", "2018-11-02"),  # Tokyo: 23:59 in Hà Nội on the deadline day
     ("Fri, 2 Nov 2018 12:00:00 -0500", "2018-11-03"),  # New York noon: midnight in Hà Nội
     ("Fri, 2 Nov 2018 16:59:59 -0000", "2018-11-02")],  # no zone (-0000): taken as UTC
)  # fmt: skip
def test_received_headers_in_any_zone(tmp_path, cycle, rubric, stamp, on):
    msg = form_mail([("a.xlsx", form_bytes(tmp_path, rubric))])
    msg["Received"] = f"from mx.agency.vn by mail.stttt.caobang.gov.vn; {stamp}"
    receive_mail(cycle, [write_eml(msg, tmp_path / "1.eml")])
    assert receipts(cycle).loc[0, "received_on"] == on


def test_without_a_received_header_the_date_header_is_used_and_said(tmp_path, cycle, rubric):
    msg = form_mail([("a.xlsx", form_bytes(tmp_path, rubric))], sent=BEFORE)
    assert msg["Received"] is None
    result = receive_mail(cycle, [write_eml(msg, tmp_path / "1.eml")])
    assert "giờ nhận lấy theo tiêu đề Date" in only(result, outcome="registered")["reason"]


def test_a_message_without_any_date_is_refused_alone(tmp_path, cycle, rubric):
    undated = form_mail([("a.xlsx", form_bytes(tmp_path, rubric))], message_id="<no-date@x>")
    dated = form_mail([("b.xlsx", form_bytes(tmp_path, rubric, "huyen-bao-lam"))], received=BEFORE)
    result = receive_mail(cycle, [write_eml(undated, tmp_path / "1.eml"), write_eml(dated, tmp_path / "2.eml")])
    assert "không xác định được thời điểm nhận" in only(result, outcome="message_refused")["reason"]
    assert only(result, outcome="registered")["agency_id"] == "huyen-bao-lam"


# -- forwarded, cover letters, junk ------------------------------------------------------------------


def test_a_forwarded_message_gives_its_form_with_the_forwarders_time(tmp_path, cycle, rubric):
    inner = form_mail([("phieu.xlsx", form_bytes(tmp_path, rubric))], sender="Sở TTTT <a@stttt.gov.vn>",
                      received=datetime(2018, 10, 20, 8, 0, tzinfo=HCM))  # fmt: skip
    outer = forward(inner, sender="Văn thư <vanthu@stttt.gov.vn>", received=datetime(2018, 11, 1, 14, 0, tzinfo=HCM))
    result = receive_mail(cycle, [write_eml(outer, tmp_path / "fwd.eml")])
    row = only(result, outcome="registered")
    assert row["received_at"] == "2018-11-01T14:00:00+07:00"
    assert "Trong thư chuyển tiếp của Sở TTTT <a@stttt.gov.vn>" in row["reason"]
    assert "thư chuyển tiếp" in receipts(cycle).loc[0, "note"]


def test_a_cover_letter_and_images_are_reported_never_dropped(tmp_path, cycle):
    msg = form_mail([("Công văn gửi phiếu.pdf", b"%PDF-1.4\n%test"), ("chu-ky.png", b"\x89PNG\r\n\x1a\nrest"),
                     ("Ghi chú.docx", _docx_bytes())], sender="Sở Y tế <vp@syt.gov.vn>", received=BEFORE,
                    content_type=("application", "octet-stream"))  # fmt: skip
    empty = form_mail(sender="Sở Y tế <vp@syt.gov.vn>", subject="Sẽ gửi phiếu sau", received=BEFORE)
    result = receive_mail(cycle, [write_eml(msg, tmp_path / "1.eml"), write_eml(empty, tmp_path / "2.eml")])
    kinds = dict(zip(result.report["attachment"], result.report["reason"], strict=True))
    assert kinds["Công văn gửi phiếu.pdf"].endswith("tệp PDF.")
    assert kinds["chu-ky.png"].endswith("tệp ảnh.")
    assert kinds["Ghi chú.docx"].endswith("văn bản Word.")
    assert set(result.report["sender"]) == {"Sở Y tế <vp@syt.gov.vn>"}
    assert only(result, outcome="no_form")["subject"] == "Sẽ gửi phiếu sau"
    assert not (cycle / "submissions").exists() or not any((cycle / "submissions").iterdir())
    assert not (cycle / "receipts.csv").exists()  # nothing to register: the register is not touched


def _docx_bytes() -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


def test_winmail_dat_is_refused_with_what_to_do(tmp_path, cycle):
    msg = form_mail([("winmail.dat", b"\x78\x9f\x3e\x22\x01\x06\x90\x08\x00")], received=BEFORE,
                    content_type=("application", "ms-tnef"))  # fmt: skip
    result = receive_mail(cycle, [write_eml(msg, tmp_path / "1.eml")])
    assert "TNEF" in only(result, outcome="refused")["reason"]


@pytest.mark.parametrize("name", ["../../cycle.yaml.xlsx", "C:\\Users\\VP\\phieu.xlsx", "tmp/phieu.xlsx", "..xlsx"])
def test_names_with_path_parts_are_refused(tmp_path, cycle, rubric, name):
    msg = form_mail([(name, form_bytes(tmp_path, rubric))], received=BEFORE)
    result = receive_mail(cycle, [write_eml(msg, tmp_path / "1.eml")])
    row = only(result, outcome="refused")
    assert "chứa đường dẫn" in row["reason"] and row["attachment"] == name
    assert not (tmp_path / "cycle.yaml.xlsx").exists() and not (cycle / "receipts.csv").exists()


@pytest.mark.parametrize(
    ("fixture", "says"),
    [("password-protected.xls", "đặt mật khẩu"), ("zip-bomb.xlsx", "bom nén"), ("zip-bomb-lying-size.xlsx", "không được đọc"),
     ("billion-laughs-sheet.xlsx", "XML không an toàn"), ("truncated.xlsx", "bị cắt cụt")],
)  # fmt: skip
def test_hostile_workbooks_are_refused_with_intakes_reason(tmp_path, cycle, rubric, fixture, says):
    hostile = form_mail([(fixture, (BAD / fixture).read_bytes())], received=BEFORE)
    good = form_mail([("ok.xlsx", form_bytes(tmp_path, rubric))], received=BEFORE)
    result = receive_mail(cycle, [write_eml(hostile, tmp_path / "1.eml"), write_eml(good, tmp_path / "2.eml")])
    row = only(result, attachment=fixture)
    assert row["outcome"] == "refused" and says in row["reason"], row["reason"]
    assert only(result, outcome="registered")["agency_id"] == "so-tttt"
    assert len(list((cycle / "submissions").iterdir())) == 1  # the refused file is not stored


def test_an_attachment_over_intakes_limit_is_refused_before_it_is_decoded(tmp_path, cycle, monkeypatch):
    monkeypatch.setattr(mail_module, "MAX_FILE_BYTES", 1000)
    msg = form_mail([("big.xlsx", b"PK\x03\x04" + b"\0" * 5000)], received=BEFORE)
    result = receive_mail(cycle, [write_eml(msg, tmp_path / "1.eml")])
    assert "quá lớn" in only(result, outcome="refused")["reason"]


def test_a_truncated_message_is_refused_alone_and_the_rest_goes_on(tmp_path, cycle, rubric):
    cut = form_mail([("a.xlsx", form_bytes(tmp_path, rubric, f01=1))], received=BEFORE, message_id="<cut@x>")
    raw = cut.as_bytes(policy=policy.SMTP)
    (tmp_path / "cut.eml").write_bytes(raw[: len(raw) * 2 // 3])
    good = form_mail([("b.xlsx", form_bytes(tmp_path, rubric, "huyen-bao-lam"))], received=BEFORE)
    result = receive_mail(cycle, [tmp_path / "cut.eml", write_eml(good, tmp_path / "good.eml")])
    refused = only(result, outcome="message_refused")
    assert "bị cắt cụt" in refused["reason"] and "thiếu ranh giới kết thúc (thư bị cắt)" in refused["reason"]
    assert "Defect" not in refused["reason"]  # no name of Python's parser
    assert refused["sender"] and refused["message_id"] == "<cut@x>"  # what, from whom, why
    assert only(result, outcome="registered")["agency_id"] == "huyen-bao-lam"


@pytest.mark.parametrize(
    "raw",
    [b"", b"\x00\x01\x02garbage", b"Content-Type: multipart/mixed; boundary=\"x\"\r\n\r\n--x\r\nContent-Type: text/plain\r\n",
     b"From: a@b\r\nContent-Type: multipart/mixed\r\n\r\nno boundary at all", "Từ: ai đó\n\nthư".encode()],
)  # fmt: skip
def test_junk_never_stops_receive(tmp_path, cycle, raw):
    (tmp_path / "junk.eml").write_bytes(raw)
    result = receive_mail(cycle, [tmp_path / "junk.eml"])
    assert list(result.report["outcome"]) in (["message_refused"], ["no_form"])
    assert result.registered == 0


def test_links_and_missing_paths_are_reported(tmp_path, cycle):
    (tmp_path / "mail").mkdir()
    (tmp_path / "mail" / "secret.eml").symlink_to(cycle / "cycle.yaml")
    result = receive_mail(cycle, [tmp_path / "mail", tmp_path / "absent.eml"])
    reasons = result.report["reason"].tolist()
    assert any("liên kết (symlink)" in r for r in reasons) and any("Không đọc được tệp thư" in r for r in reasons)


# -- which forms are registered -------------------------------------------------------------------------


def test_forms_of_another_year_or_agency_are_reported_not_registered(tmp_path, cycle, rubric):
    last_year = form_bytes(tmp_path, rubric, year=2017)
    path = tmp_path / "stranger.xlsx"
    write_form(path, rubric, "so_ban_nganh", "so-la", "Sở Lạ", 2018)
    msg = form_mail([("phieu-2017.xlsx", last_year), ("stranger.xlsx", path.read_bytes())], received=BEFORE)
    result = receive_mail(cycle, [write_eml(msg, tmp_path / "1.eml")])
    assert "Phiếu năm 2017" in only(result, attachment="phieu-2017.xlsx")["reason"]
    assert "“so-la” (Sở Lạ) không có trong danh sách" in only(result, attachment="stranger.xlsx")["reason"]
    assert set(result.report["outcome"]) == {"refused"} and not (cycle / "receipts.csv").exists()


def test_a_spreadsheet_that_is_not_the_form_is_reported(tmp_path, cycle):
    import xlsxwriter

    path = tmp_path / "own.xlsx"
    wb = xlsxwriter.Workbook(path)
    wb.add_worksheet("Tổng hợp").write(0, 0, "Số liệu tự tổng hợp")
    wb.close()
    result = receive_mail(cycle, [write_eml(form_mail([("own.xlsx", path.read_bytes())], received=BEFORE), tmp_path / "1.eml")])
    assert "không có trang ẩn “_meta”" in only(result, outcome="not_a_form")["reason"]


def test_a_registered_form_the_run_cannot_use_is_said_now(tmp_path, cycle, rubric):
    """Registered (it is the agency's form, received), and the agency is asked to send it again now."""
    path = tmp_path / "pl2.xlsx"
    write_form(path, rubric, "ubnd_huyen", "so-tttt", "Sở Thông tin và Truyền thông", 2018)  # the district form
    result = receive_mail(cycle, [write_eml(form_mail([("a.xlsx", path.read_bytes())], received=BEFORE), tmp_path / "1.eml")])
    assert "không dùng được, đề nghị đơn vị gửi lại" in only(result, outcome="registered")["reason"]


def test_an_excluded_agencys_form_is_registered_and_said_not_scored(tmp_path, cycle, rubric):
    msg = form_mail([("ca.xlsx", form_bytes(tmp_path, rubric, "cong-an-tinh"))], received=BEFORE)
    result = receive_mail(cycle, [write_eml(msg, tmp_path / "1.eml")])
    assert "không chấm điểm" in only(result, outcome="registered")["reason"]


# -- again and again ---------------------------------------------------------------------------------


def test_receiving_the_same_mail_again_changes_no_byte(tmp_path, cycle, rubric):
    msgs = [form_mail([("a.xlsx", form_bytes(tmp_path, rubric))], received=BEFORE, message_id="<m1@x>"),
            form_mail([("b.xlsx", form_bytes(tmp_path, rubric, "huyen-bao-lam"))], received=BEFORE, message_id="<m2@x>")]  # fmt: skip
    box = write_mbox(msgs, tmp_path / "inbox.mbox")
    eml = write_eml(msgs[0], tmp_path / "m1.eml")
    first = receive_mail(cycle, [box, eml])  # the same message as .eml and inside the mbox
    assert (first.registered, first.stored, first.count("already")) == (2, 2, 1)
    assert "receipts.csv dòng 2" in only(first, outcome="already")["reason"]
    before = files_of(cycle)
    again = receive_mail(cycle, [eml, box])
    assert (again.registered, again.stored, again.count("already")) == (0, 0, 3)
    assert files_of(cycle) == before


def test_the_same_file_in_another_message_is_registered_and_counts_once(tmp_path, cycle, rubric):
    data = form_bytes(tmp_path, rubric)
    first = form_mail([("a.xlsx", data)], received=BEFORE, message_id="<first@x>")
    resent = form_mail([("a (gửi lại).xlsx", data)], received=datetime(2018, 11, 5, 8, 0, tzinfo=HCM), message_id="<resent@x>")
    result = receive_mail(cycle, [write_eml(resent, tmp_path / "2.eml"), write_eml(first, tmp_path / "1.eml")])
    assert result.registered == 2 and result.stored == 1
    register = receipts(cycle)
    assert register["message_id"].tolist() == ["<first@x>", "<resent@x>"]  # in the order received
    assert "Cùng nội dung với tệp đã nhận (receipts.csv dòng 2)" in only(result, message_id="<resent@x>")["reason"]
    intake = intake_cycle(load_cycle(cycle, rubric), rubric)
    assert intake.statuses.set_index("agency_id").loc["so-tttt", "status"] == "ranked"  # the resend after the deadline
    assert intake.problems[intake.problems["code"] == "I09"]["message_vi"].str.contains("trùng nội dung").all()


def test_a_version_sent_later_on_time_replaces_the_first(tmp_path, cycle, rubric):
    v1 = form_mail([("v1.xlsx", form_bytes(tmp_path, rubric, f01=10))], received=BEFORE)
    v2 = form_mail([("v2.xlsx", form_bytes(tmp_path, rubric, f01=20))], received=BEFORE + timedelta(days=2))
    receive_mail(cycle, [write_eml(v2, tmp_path / "2.eml")])
    receive_mail(cycle, [write_eml(v1, tmp_path / "1.eml")])  # the older one arrives in a later batch
    intake = intake_cycle(load_cycle(cycle, rubric), rubric)
    assert intake.values.set_index(["agency_id", "field"]).loc[("so-tttt", "F01"), "value"] == 20


def test_hand_typed_rows_stay_valid_beside_received_ones(tmp_path, cycle, rubric):
    paper = cycle / "submissions" / "huyen-bao-lam.xlsx"
    paper.parent.mkdir()
    paper.write_bytes(form_bytes(tmp_path, rubric, "huyen-bao-lam"))
    typed = "agency_id,file,received_on,channel,note\r\nhuyen-bao-lam,huyen-bao-lam.xlsx,17/10/2018,Bưu chính,bản giấy kèm tệp\r\n"
    (cycle / "receipts.csv").write_bytes(b"\xef\xbb\xbf" + typed.encode("utf-8"))  # as Excel saves "CSV UTF-8"
    msg = form_mail([("a.xlsx", form_bytes(tmp_path, rubric))], received=BEFORE, subject="=1+1")
    receive_mail(cycle, [write_eml(msg, tmp_path / "1.eml")])
    text = (cycle / "receipts.csv").read_bytes()
    assert text.startswith(b"\xef\xbb\xbf") and b"\r\n" in text and b"\n" not in text.replace(b"\r\n", b"")
    register = receipts(cycle)
    assert list(register.columns) == [*RECEIPT_COLUMNS, *RECEIPT_MAIL_COLUMNS]
    assert register.loc[0].tolist()[:5] == ["huyen-bao-lam", "huyen-bao-lam.xlsx", "17/10/2018", "Bưu chính", "bản giấy kèm tệp"]
    assert register.loc[0, "sha256"] == "" and register.loc[1, "agency_id"] == "so-tttt"
    assert register.loc[1, "subject"] == "'=1+1"  # the sender's text guarded in the rewritten register too
    statuses = intake_cycle(load_cycle(cycle, rubric), rubric).statuses.set_index("agency_id")["status"]
    assert statuses.loc[["so-tttt", "huyen-bao-lam"]].tolist() == ["ranked", "ranked"]


def test_sender_text_stays_text_in_the_register(tmp_path, cycle, rubric):
    msg = form_mail([("=cmd.xlsx", form_bytes(tmp_path, rubric))], sender="-2+3 <x@y.vn>", subject="=SUM(A1)",
                    received=BEFORE)  # fmt: skip
    receive_mail(cycle, [write_eml(msg, tmp_path / "1.eml")])
    row = receipts(cycle).loc[0]
    assert (row["subject"], row["sender"]) == ("'=SUM(A1)", "'-2+3 <x@y.vn>")


def test_a_file_changed_by_hand_in_submissions_is_never_overwritten(tmp_path, cycle, rubric):
    data = form_bytes(tmp_path, rubric)
    sha = hashlib.sha256(data).hexdigest()
    (cycle / "submissions").mkdir()
    (cycle / "submissions" / f"{sha}.xlsx").write_bytes(b"edited")
    with pytest.raises(CycleError, match="đã có tệp này với nội dung khác"):
        receive_mail(cycle, [write_eml(form_mail([("a.xlsx", data)], received=BEFORE), tmp_path / "1.eml")])
    assert (cycle / "submissions" / f"{sha}.xlsx").read_bytes() == b"edited"
    assert not (cycle / "receipts.csv").exists()


# -- the report -------------------------------------------------------------------------------------


def test_the_report_goes_to_the_console_and_to_a_csv_outside_the_cycle(tmp_path, cycle, rubric):
    msg = form_mail([("a.xlsx", form_bytes(tmp_path, rubric)), ("thu.pdf", b"%PDF-1.4")], received=BEFORE)
    result = receive_mail(cycle, [write_eml(msg, tmp_path / "1.eml")])
    text = report_text(result)
    assert "[ghi sổ]" in text and "[không phải phiếu]" in text and "→ so-tttt (receipts.csv dòng 2)" in text
    assert text.splitlines()[-1] == "Tổng cộng: 1 thư; 1 ghi sổ, 1 không phải phiếu; 1 tệp mới trong submissions/."
    out = write_report(result, tmp_path / "report.csv")
    assert pd.read_csv(out, dtype=str, keep_default_na=False)["outcome"].tolist() == ["registered", "not_a_form"]
    with pytest.raises(CycleError, match="nằm trong thư mục đợt đánh giá"):
        write_report(result, cycle / "report.csv")


def test_the_cli_receives_and_reports(tmp_path, cycle, rubric, capsys):
    from ictaudit.cli import main

    (tmp_path / "mail").mkdir()
    write_eml(form_mail([("a.xlsx", form_bytes(tmp_path, rubric))], received=BEFORE), tmp_path / "mail" / "1.eml")
    assert main(["receive", "--cycle", str(cycle), str(tmp_path / "mail"), "--report", str(tmp_path / "r.csv")]) == 0
    out = capsys.readouterr().out
    assert "hạn cuối 02/11/2018, xét theo giờ Asia/Ho_Chi_Minh" in out and "[ghi sổ]" in out
    assert main(["receive", "--cycle", str(cycle), str(tmp_path / "mail"), "--report", str(cycle / "r.csv")]) == 1


def test_receive_yaml_has_every_reason_the_code_asks_for_and_no_other():
    asked = set()
    for module in ("mail.py", "receive.py"):
        tree = ast.parse((MESSAGES_FILE.parent / module).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            called = isinstance(node, ast.Call) and getattr(node.func, "id", "") in ("say", "Refusal")
            if called and node.args and isinstance(node.args[0], ast.Constant):
                asked.add(node.args[0].value)
    reasons = messages()["reasons"]
    assert asked == set(reasons), (asked ^ set(reasons))
    for reason, text in reasons.items():
        names = set(re.findall(r"{(\w+)}", text))
        assert text.format_map({n: "x" for n in names}), reason


# -- a form saved again by LibreOffice ----------------------------------------------------------------


@pytest.mark.libreoffice
@pytest.mark.parametrize("to", ["xlsx", "ods", "xls"])
def test_a_form_filled_then_saved_by_libreoffice_is_received_and_read(tmp_path, cycle, rubric, to):
    """An agency fills the form with another program (openpyxl here), opens it in LibreOffice and saves it
    as .xlsx, .ods or .xls: the stored file keeps the format sniffed from its bytes, and the run reads it."""
    import openpyxl

    from ictaudit.common.office import convert

    blank = tmp_path / "blank" / "so-tttt.xlsx"
    write_form(blank, rubric, "so_ban_nganh", "so-tttt", "Sở Thông tin và Truyền thông", 2018)
    wb = openpyxl.load_workbook(blank)
    ws = wb["Số liệu"]
    rows = {ws.cell(r, 1).value: r for r in range(1, ws.max_row + 1)}
    typed = {"F01": 52, "F02": 50, "F05": "45,5", "F06": "Có", "F44": 120.5}
    for code, value in typed.items():
        ws.cell(rows[code], 4).value = value
    filled = tmp_path / "filled" / "Phiếu đã điền.xlsx"
    filled.parent.mkdir()
    wb.save(filled)
    saved = convert(filled, tmp_path / "lo", to)
    msg = form_mail([(f"phieu-tttt.{to}", saved.read_bytes())], received=BEFORE)
    result = receive_mail(cycle, [write_eml(msg, tmp_path / "1.eml")])
    row = only(result, outcome="registered")
    assert row["file"].endswith(f".{to}") and row["agency_id"] == "so-tttt", row["reason"]
    intake = intake_cycle(load_cycle(cycle, rubric), rubric)
    assert intake.statuses.set_index("agency_id").loc["so-tttt", "status"] == "ranked"
    values = intake.values.set_index(["agency_id", "field"])["value"]
    assert [values[("so-tttt", c)] for c in typed] == [52, 50, 45.5, 1.0, 120.5]


def test_no_bytes_make_the_mail_reader_raise():
    """Whatever a file holds, the reader gives a message or a refusal (hostile MIME, headers, encodings)."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    base = form_mail([("a.xlsx", b"PK\x03\x04" + b"x" * 300)], received=BEFORE, names="rfc2047").as_bytes()

    @settings(max_examples=300, deadline=None)
    @given(st.data())
    def check(data):
        raw = bytearray(base)
        for _ in range(data.draw(st.integers(0, 8))):
            at = data.draw(st.integers(0, len(raw) - 1))
            raw[at : at + data.draw(st.integers(0, 40))] = data.draw(st.binary(max_size=40))
        mail = mail_module.parse_message(bytes(raw), "fuzz.eml")
        assert mail.refusal is not None or mail.received_at is not None

    check()


def test_a_sender_name_split_across_two_encoded_words_reads_whole():
    """Python's own generator folds a long Vietnamese name into two encoded words (`…Xã hộ` and `i`); RFC 2047
    drops the space between them, which the parsed address header keeps ("Xã hộ i")."""
    raw = (
        b"Received: from mx.agency.vn by mail.stttt.caobang.gov.vn; Mon, 29 Oct 2018 09:00:00 +0700\r\n"
        b"From: =?utf-8?b?U+G7nyBMYW8gxJHhu5luZyAtIFRoxrDGoW5nIGJpbmggdsOgIFjDoyBo4buZ?=\r\n"
        b" =?utf-8?q?i?= <vt19@caobang.gov.vn>\r\n"
        b"Subject: =?utf-8?b?R+G7rWkgcGhp4bq/dSBDTlRUIDIwMTgg4oCUIFPhu58gTGFvIMSR4buZ?=\r\n"
        b" =?utf-8?b?bmcgLSBUaMawxqFuZyBiaW5oIHbDoCBYw6MgaOG7mWk=?=\r\n"
        b"Message-ID: <split@agency.vn>\r\n\r\nbody\r\n"
    )
    mail = mail_module.parse_message(raw, "split.eml")
    assert mail.sender == "Sở Lao động - Thương binh và Xã hội <vt19@caobang.gov.vn>"
    assert mail.subject == "Gửi phiếu CNTT 2018 — Sở Lao động - Thương binh và Xã hội"

"""The cycle folder: what a good one gives, and how each bad file is named."""

from __future__ import annotations

import unicodedata
from datetime import date
from pathlib import Path

import pytest

from ictaudit.intake.cycle import CycleError, load_cycle
from ictaudit.rules.rubric import RubricError

CYCLE_YAML = """\
year: 2017
rubric: caobang-2310-2016
deadline: 2017-11-02
title: Đánh giá mức độ ứng dụng CNTT năm 2017
province: Cao Bằng
"""
AGENCIES = """\
agency_id,name,group,ranked,note
so-noi-vu,Sở Nội vụ,so_ban_nganh,true,
huyen-bao-lam,UBND huyện Bảo Lâm,ubnd_huyen,TRUE,
cong-an-tinh,Công an tỉnh,so_ban_nganh,false,Không xếp hạng vì lý do an ninh
"""
RECEIPTS = """\
agency_id,file,received_on,channel,note
so-noi-vu,so-noi-vu.xlsx,2017-10-30,Thư điện tử,
"""
CORRECTIONS = """\
agency_id,field,old_value,new_value,reason,check_id,confirmed_by,confirmed_on
so-noi-vu,F02,60,48,Gõ nhầm,L03,Chánh Văn phòng,2017-11-20
"""


def make_cycle(root: Path, **files: str) -> Path:
    contents = {
        "cycle.yaml": CYCLE_YAML,
        "agencies.csv": AGENCIES,
        "receipts.csv": RECEIPTS,
    }
    contents.update({k.replace("_", "."): v for k, v in files.items()})
    for name, text in contents.items():
        if text is not None:
            (root / name).write_text(text, encoding="utf-8")
    (root / "submissions").mkdir(exist_ok=True)
    return root


def test_a_good_cycle(tmp_path):
    cycle = load_cycle(make_cycle(tmp_path, corrections_csv=CORRECTIONS))
    assert (cycle.year, cycle.rubric_id, cycle.deadline) == (2017, "caobang-2310-2016", date(2017, 11, 2))
    assert cycle.sample is False and cycle.province == "Cao Bằng"
    assert list(cycle.agencies["ranked"]) == [True, True, False]
    assert cycle.receipts.loc[0, "received_on"] == date(2017, 10, 30)
    assert cycle.corrections.loc[0, "correction_id"] == "K001"
    assert cycle.corrections.loc[0, "confirmed_on"] == "2017-11-20"
    assert cycle.submissions_dir == tmp_path / "submissions"


def test_corrections_are_optional(tmp_path):
    assert load_cycle(make_cycle(tmp_path)).corrections is None


def test_bom_and_nfd_text_are_read_as_nfc(tmp_path):
    make_cycle(tmp_path)
    nfd = unicodedata.normalize("NFD", AGENCIES)
    (tmp_path / "agencies.csv").write_bytes("\ufeff".encode() + nfd.encode("utf-8"))
    cycle = load_cycle(tmp_path)
    assert cycle.agencies.columns[0] == "agency_id"
    assert cycle.agencies.loc[0, "name"] == "Sở Nội vụ"


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"cycle_yaml": None}, r"cycle\.yaml: không tìm thấy tệp"),
        ({"cycle_yaml": "year: [2017\n"}, "sai cú pháp YAML"),
        ({"cycle_yaml": CYCLE_YAML.replace("deadline: 2017-11-02", "deadline: 03/11/2017")}, "deadline phải là ngày dạng YYYY-MM-DD"),
        ({"cycle_yaml": CYCLE_YAML.replace("year: 2017", "year: hai nghìn")}, "year phải là một năm"),
        ({"cycle_yaml": CYCLE_YAML + "deadlne: 2017-11-02\n"}, "mục không nhận ra: deadlne"),
        ({"cycle_yaml": CYCLE_YAML.replace("province: Cao Bằng\n", "")}, "thiếu mục province"),
        ({"cycle_yaml": CYCLE_YAML + "sample: maybe\n"}, "sample phải là true hoặc false"),
        ({"cycle_yaml": CYCLE_YAML.replace("year: 2017", "year: 2010")}, "chỉ áp dụng cho các năm 2016, 2017"),
        ({"agencies_csv": None}, r"agencies\.csv: không tìm thấy tệp"),
        ({"agencies_csv": "agency_id,name,group,ranked\nx,X,so_ban_nganh,true\n"}, "thiếu cột note"),
        ({"agencies_csv": AGENCIES + "so-noi-vu,Sở Nội vụ (2),so_ban_nganh,true,\n"}, "dòng 5: agency_id so-noi-vu đã có ở dòng 2"),
        ({"agencies_csv": AGENCIES + "so-y-te,Sở Y tế,so_y_te,true,\n"}, "dòng 5: group 'so_y_te' không có trong bộ tiêu chí"),
        ({"agencies_csv": AGENCIES + "so-y-te,Sở Y tế,so_ban_nganh,có,\n"}, "dòng 5: ranked phải là true hoặc false"),
        ({"agencies_csv": AGENCIES + "So Y Te,Sở Y tế,so_ban_nganh,true,\n"}, "dòng 5: agency_id 'So Y Te' chỉ được gồm chữ thường"),
        ({"agencies_csv": AGENCIES + "so-y-te,Sở Y tế,so_ban_nganh,false,\n"}, "dòng 5: đơn vị có ranked là false cần ghi lý do"),
    ],
)
def test_bad_cycle_files_name_file_line_and_problem(tmp_path, files, message):
    make_cycle(tmp_path, **files)
    with pytest.raises(CycleError, match=message):
        load_cycle(tmp_path)


def test_a_csv_saved_in_another_encoding(tmp_path):
    make_cycle(tmp_path)
    (tmp_path / "agencies.csv").write_bytes(AGENCIES.encode("utf-16"))
    with pytest.raises(CycleError, match=r"agencies\.csv: không lưu theo bảng mã UTF-8 .*'CSV UTF-8'"):
        load_cycle(tmp_path)


def test_cycle_error_is_a_value_error():
    assert issubclass(CycleError, ValueError)


def test_an_unknown_rubric_is_a_rubric_error(tmp_path):
    make_cycle(tmp_path, cycle_yaml=CYCLE_YAML.replace("caobang-2310-2016", "khong-co-2099"))
    with pytest.raises(RubricError, match="khong-co-2099"):
        load_cycle(tmp_path)


def test_a_missing_folder(tmp_path):
    with pytest.raises(CycleError, match="không tìm thấy thư mục đợt đánh giá"):
        load_cycle(tmp_path / "2099")


def test_a_correction_for_an_unknown_agency_or_field_is_rejected_not_fatal(tmp_path):
    """docs/contracts.md §10: one bad row of corrections.csv is reported by the overlay; the cycle goes on."""
    import pandas as pd

    from ictaudit.intake.values import VALUE_COLUMNS
    from ictaudit.rules.rubric import load_rubric
    from ictaudit.validate.corrections import apply_corrections

    extra = "so-noi-vu,F99,1,2,x,L01,A,2017-11-20\nso-khong-co,F01,1,2,x,L01,A,2017-11-20\n"
    cycle = load_cycle(make_cycle(tmp_path, corrections_csv=CORRECTIONS + extra))
    rubric = load_rubric(cycle.rubric_id)
    agencies = cycle.agencies.rename(columns={"name": "agency_name"}).assign(status="ranked", status_reason="")
    _, report = apply_corrections(pd.DataFrame(columns=list(VALUE_COLUMNS)), cycle.corrections, rubric, agencies)
    rejected = report.set_index("correction_id").loc[["K002", "K003"]]
    assert (rejected["status"] == "rejected").all()
    assert rejected["status_reason"].str.len().gt(0).all()


def test_yaml_is_read_as_pyyaml_safe_load_reads_it():
    """The rubric and cycle files are parsed on LibYAML when PyYAML has it: the same data, the same errors."""
    import yaml

    from ictaudit.common.paths import PROJECT_ROOT, RUBRICS_DIR
    from ictaudit.rules.files import SAFE_LOADER, load_yaml

    assert SAFE_LOADER is getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    files = [*RUBRICS_DIR.glob("*.yaml"), *(PROJECT_ROOT / "data" / "raw").glob("*/cycle.yaml")]
    assert len(files) >= 4
    for path in files:
        text = path.read_text(encoding="utf-8-sig")
        assert load_yaml(text) == yaml.safe_load(text), path
    for text, error in [("year: [2017\n", yaml.YAMLError), ("deadline: 2017-11-31\n", ValueError), ("a: !!python/object:os.system x\n", yaml.YAMLError)]:
        with pytest.raises(error):
            load_yaml(text)
        with pytest.raises(error):
            yaml.safe_load(text)


# -- the registers of a year with ictaudit (init, receive, confirm) ---------------------------------


def test_a_new_cycle_without_deadline_serves_the_forms_but_not_a_run(tmp_path):
    root = make_cycle(tmp_path, cycle_yaml=CYCLE_YAML.replace("deadline: 2017-11-02", "deadline:"), receipts_csv=None)
    cycle = load_cycle(root, for_run=False)
    assert cycle.deadline is None and cycle.receipts.empty
    with pytest.raises(CycleError, match=r"cycle\.yaml: chưa ghi hạn nộp phiếu \(deadline is not set\): ghi ngày cuối cùng"):
        load_cycle(root)


def test_a_run_needs_the_receipts_register(tmp_path):
    with pytest.raises(CycleError, match=r"receipts\.csv: không tìm thấy tệp"):
        load_cycle(make_cycle(tmp_path, receipts_csv=None))


def test_optional_cycle_keys(tmp_path):
    extra = "timezone: Asia/Bangkok\nreply_by: 2017-11-30\nreply_to: stttt@caobang.gov.vn\nnotice: Công văn số 1/STTTT\n"
    cycle = load_cycle(make_cycle(tmp_path, cycle_yaml=CYCLE_YAML + extra))
    assert (cycle.timezone, cycle.reply_by, cycle.reply_to, cycle.notice) == (
        "Asia/Bangkok", date(2017, 11, 30), "stttt@caobang.gov.vn", "Công văn số 1/STTTT"
    )
    (tmp_path / "d").mkdir()
    default = load_cycle(make_cycle(tmp_path / "d"))
    assert (default.timezone, default.reply_by, default.previous, default.documents) == ("Asia/Ho_Chi_Minh", None, None, {})


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("timezone: Mars/Olympus\n", r"timezone 'Mars/Olympus' không phải tên múi giờ"),
        ("reply_by: 30/11/2017\n", r"reply_by phải là ngày dạng YYYY-MM-DD"),
        ("documents: [1, 2]\n", r"documents phải là danh mục"),
        ("previous: 2016\n", r"previous phải gồm các mục year, folder, sha256"),
        ("previous: {year: 2016, folder: ../x, sha256: {scores.csv: " + "ab" * 32 + "}}\n", r"previous\.folder phải là tên một thư mục nằm trong"),
        ("previous: {year: 2016, sha256: {notes.txt: " + "ab" * 32 + "}}\n", r"có tệp không thuộc kết quả đã công bố năm trước: notes\.txt"),
        ("previous: {year: 2016, sha256: {scores.csv: abc}}\n", r"previous\.sha256 phải ghi sha256 của từng tệp"),
    ],
)
def test_bad_optional_keys_are_named(tmp_path, extra, message):
    with pytest.raises(CycleError, match=message):
        load_cycle(make_cycle(tmp_path, cycle_yaml=CYCLE_YAML + extra))


def test_last_years_results_are_checked_against_their_hash(tmp_path):
    import hashlib

    root = make_cycle(tmp_path)
    (root / "previous").mkdir()
    (root / "previous" / "scores.csv").write_text("agency_id\nso-noi-vu\n", encoding="utf-8")
    digest = hashlib.sha256((root / "previous" / "scores.csv").read_bytes()).hexdigest()
    (root / "cycle.yaml").write_text(CYCLE_YAML + f"previous:\n  year: 2016\n  folder: previous\n  sha256:\n    scores.csv: {digest}\n", encoding="utf-8")
    cycle = load_cycle(root)
    assert cycle.previous.year == 2016 and cycle.previous.path("scores.csv") == root / "previous" / "scores.csv"
    (root / "previous" / "scores.csv").write_text("agency_id\nso-tu-phap\n", encoding="utf-8")
    with pytest.raises(CycleError, match=r"previous/scores\.csv: đã bị thay đổi sau khi được liên kết"):
        load_cycle(root)
    (root / "previous" / "scores.csv").unlink()
    with pytest.raises(CycleError, match=r"previous/scores\.csv: không tìm thấy tệp"):
        load_cycle(root)


def test_receipt_dates_as_the_tool_prints_them_and_mail_columns(tmp_path):
    receipts = (
        "agency_id,file,received_on,channel,note,received_at,sender,subject,message_id,sha256\n"
        "so-noi-vu,so-noi-vu.xlsx,30/10/2017,Thư điện tử,,2017-10-30T09:15:00+07:00,a@b.vn,Phiếu,<m1@b.vn>," + "a" * 64 + "\n"
        "huyen-bao-lam,hbl.xlsx,2/11/2017,Bưu chính,,,,,,\n"
        "cong-an-tinh,x.xlsx,31/11/2017,Bưu chính,,,,,,\n"
    )
    cycle = load_cycle(make_cycle(tmp_path, receipts_csv=receipts))
    r = cycle.receipts
    assert list(r["received_on"]) == [date(2017, 10, 30), date(2017, 11, 2), None]
    assert r.loc[0, "received_at"].isoformat() == "2017-10-30T09:15:00+07:00" and r.loc[1, "received_at"] is None
    assert list(r["line"]) == [2, 3, 4] and r.loc[2, "received_on_text"] == "31/11/2017"
    assert r.loc[0, "sender"] == "a@b.vn" and r.loc[1, "sender"] == ""


def test_predecessors_link_a_renamed_or_merged_agency(tmp_path):
    agencies = AGENCIES.replace("agency_id,name,group,ranked,note", "agency_id,name,group,ranked,note,predecessor")
    agencies = agencies.replace("so-noi-vu,Sở Nội vụ,so_ban_nganh,true,", "so-noi-vu,Sở Nội vụ,so_ban_nganh,true,,so-nv ; so-tccb")
    agencies = agencies.replace("TRUE,\n", "TRUE,,\n").replace("an ninh\n", "an ninh,\n")
    cycle = load_cycle(make_cycle(tmp_path, agencies_csv=agencies))
    assert list(cycle.agencies["predecessor"]) == ["so-nv;so-tccb", "", ""]
    bad = agencies.replace("so-nv ; so-tccb", "Sở Nội vụ cũ")
    with pytest.raises(CycleError, match=r"agencies\.csv, dòng 2: predecessor 'Sở Nội vụ cũ' không phải mã đơn vị"):
        load_cycle(make_cycle(tmp_path, agencies_csv=bad))


def test_corrections_keep_their_source_and_ids_fill_in(tmp_path):
    corrections = (
        "agency_id,field,old_value,new_value,reason,check_id,confirmed_by,confirmed_on,correction_id,source,document\n"
        "so-noi-vu,F02,60,48,Gõ nhầm,L03,Chánh Văn phòng,20/11/2017,,agency reply,Công văn 12/SNV\n"
        "so-noi-vu,F03,,50,Khảo sát,L04,Đoàn khảo sát,21/11/2017,R7,on-site survey,Biên bản 3\n"
    )
    cycle = load_cycle(make_cycle(tmp_path, corrections_csv=corrections))
    c = cycle.corrections
    assert list(c["correction_id"]) == ["K001", "R7"]
    assert list(c["source"]) == ["agency reply", "on-site survey"] and list(c["reply_file"]) == ["", ""]
    clash = corrections.replace(",R7,", ",K001,")
    with pytest.raises(CycleError, match=r"dòng 3: correction_id K001 bị trùng"):
        load_cycle(make_cycle(tmp_path, corrections_csv=clash))

"""Every bad input in ``tests/fixtures/bad/`` (how each was made: ``make_fixtures.py`` there) is handled.

For each case the agency that sent the file gets the status it must (``invalid``, or ``ranked`` with
a value-level problem), the problem names the code, file, sheet, cell and value where they exist,
and the two other agencies of the cycle are still ranked with their values. The very large
workbook is built by its test in ``tmp_path``; nothing is written anywhere else.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import io
import json
import math
import os
import random
import shutil
import signal
import subprocess
import sys
import time
import unicodedata
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from ictaudit.intake.cycle import load_cycle
from ictaudit.intake.forms import write_form
from ictaudit.intake.package import MAX_SHEET_CELLS
from ictaudit.intake.submissions import intake_cycle

ROOT = Path(__file__).resolve().parents[1]
BAD = Path(__file__).parent / "fixtures" / "bad"
BAD_AGENCY = "so-tttt"
VIETNAMESE_FILE = "Sở Nội vụ – phiếu 2017.xlsx"
CYCLE_YAML = "year: 2017\nrubric: caobang-2310-2016\ndeadline: 2017-11-02\ntitle: Kiểm thử\nprovince: Cao Bằng\n"
ROSTER = [
    ("so-tttt", "Sở Thông tin và Truyền thông", "so_ban_nganh"),
    ("so-noi-vu", "Sở Nội vụ", "so_ban_nganh"),
    ("huyen-bao-lam", "UBND huyện Bảo Lâm", "ubnd_huyen"),
]
# what the two good agencies typed, and what intake must read
GOOD = {"so-noi-vu": {"F01": 61, "F05": "45,5", "F06": "Có"}, "huyen-bao-lam": {"F01": 120, "F03": "130 máy"}}
GOOD_READ = {"so-noi-vu": {"F01": 61.0, "F05": 45.5, "F06": 1.0}, "huyen-bao-lam": {"F01": 120.0, "F03": 130.0}}


def make_cycle(root: Path, rubric, bad_file: str | None, *, noi_vu_file: str = "so-noi-vu.xlsx") -> Path:
    """so-tttt sent ``bad_file`` (copied from the corpus); the two others sent good forms on time."""
    sub = root / "submissions"
    sub.mkdir(parents=True)
    (root / "cycle.yaml").write_text(CYCLE_YAML, encoding="utf-8")
    lines = ["agency_id,name,group,ranked,note"] + [f"{a},{n},{g},true," for a, n, g in ROSTER]
    (root / "agencies.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    receipts = [("so-noi-vu", noi_vu_file), ("huyen-bao-lam", "huyen-bao-lam.xlsx")]
    if bad_file is not None:
        receipts.append((BAD_AGENCY, bad_file))
        if (BAD / bad_file).exists():
            shutil.copy(BAD / bad_file, sub / bad_file)
    lines = ["agency_id,file,received_on,channel,note"] + [f"{a},{f},2017-10-30,Thư điện tử," for a, f in receipts]
    (root / "receipts.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    names = {a: (n, g) for a, n, g in ROSTER}
    for agency_id, typed in GOOD.items():
        name, group = names[agency_id]
        path = sub / (noi_vu_file if agency_id == "so-noi-vu" else f"{agency_id}.xlsx")
        if not path.exists():
            write_form(path, rubric, group, agency_id, name, 2017, values=typed)
    return root


def run(root: Path, rubric):
    return intake_cycle(load_cycle(root, rubric), rubric)


def status_of(result, agency_id: str) -> tuple[str, str]:
    row = result.statuses.set_index("agency_id").loc[agency_id]
    return row["status"], row["status_reason"]


def problems_of(result, agency_id: str) -> pd.DataFrame:
    return result.problems[result.problems["agency_id"] == agency_id].reset_index(drop=True)


def assert_others_ranked(result) -> None:
    """The rest of the cycle is processed: both good agencies ranked, with the values they typed."""
    for agency_id, expected in GOOD_READ.items():
        assert status_of(result, agency_id)[0] == "ranked", agency_id
        got = result.values[result.values["agency_id"] == agency_id].set_index("field")["value"]
        assert {k: got[k] for k in expected} == expected, agency_id
        assert problems_of(result, agency_id).empty, agency_id


# -- files that cannot be used at all: invalid, one problem naming the file ----------------------

FILE_CASES = [
    # fixture,                              code,  what the message must say (besides the file name)
    ("empty.xlsx",                          "I05", ["rỗng (0 byte)"]),
    ("whitespace.xlsx",                     "I05", ["không phải bảng tính", "chỉ chứa khoảng trắng (256 byte)"]),
    ("garbage.xlsx",                        "I05", ["không phải bảng tính", "nội dung không nhận ra", "00 ff fe"]),
    ("truncated.xlsx",                      "I05", ["bị hỏng hoặc bị cắt cụt", "6074 byte"]),
    ("zip-bomb.xlsx",                       "I05", ["xl/worksheets/sheet2.xml", "220200960 byte", "bom nén"]),
    ("zip-bomb-lying-size.xlsx",            "I05", ["xl/worksheets/sheet2.xml", "sai kích thước đã khai báo"]),
    ("billion-laughs-sheet.xlsx",           "I05", ["xl/worksheets/sheet2.xml", "DTD/thực thể"]),
    ("billion-laughs-shared-strings.xlsx",  "I05", ["xl/sharedStrings.xml", "DTD/thực thể"]),
    ("password-protected.xls",              "I05", ["đặt mật khẩu", "gỡ mật khẩu"]),
    ("csv-renamed.xlsx",                    "I05", ["tệp văn bản CSV", "Mã,Chỉ tiêu,Đơn vị,Giá trị,Ghi chú"]),
    ("sheet-renamed.xlsx",                  "I06", ["không có trang “Số liệu”", "“Hướng dẫn”, “Sheet1”, “_meta”"]),
    ("sheet-deleted.xlsx",                  "I06", ["không có trang “Số liệu”", "(các trang: “Hướng dẫn”, “_meta”)"]),
    ("tcvn3-header.xlsx",                   "I06", ["cột “Mã” và “Giá trị”", "bảng mã cũ TCVN3 (ABC)", "Unicode"]),
]  # fmt: skip


@pytest.mark.parametrize(("fixture", "code", "says"), FILE_CASES, ids=[c[0] for c in FILE_CASES])
def test_unusable_file_is_invalid_with_a_clear_message(tmp_path, rubric, fixture, code, says):
    result = run(make_cycle(tmp_path / "cycle", rubric, fixture), rubric)
    status, reason = status_of(result, BAD_AGENCY)
    assert status == "invalid"
    problems = problems_of(result, BAD_AGENCY)
    assert problems[["file", "code", "severity"]].values.tolist() == [[fixture, code, "E"]]
    message = problems.loc[0, "message_vi"]
    line = problems.loc[0, "line"]  # the receipt naming the file: named for the DIC, not in the agency's reason
    assert line == "4" and message.startswith("receipts.csv dòng 4: ")
    assert fixture in message and message.removeprefix("receipts.csv dòng 4: ") in reason
    for words in says:
        assert words in message, (words, message)
    assert result.values[result.values["agency_id"] == BAD_AGENCY].empty
    # every byte is accounted for: the file is listed with the sha256 of its bytes
    files = result.files.set_index("file")
    assert files.loc[fixture, "bytes"] == (BAD / fixture).stat().st_size
    assert_others_ranked(result)


def _small_zip(names: list[str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name in names:
            zf.writestr(name, b"x")
    return buf.getvalue()


OTHER_NON_SPREADSHEETS = [
    # what was sent (built here: a few bytes each),                           words in the message
    (_small_zip(["so-tttt.xlsx"]),                                             "tệp nén (.zip) chứa: so-tttt.xlsx"),
    (_small_zip(["[Content_Types].xml", "word/document.xml"]),               "văn bản Word (.docx)"),
    (_small_zip(["[Content_Types].xml", "xl/workbook.bin"]),                 "bảng tính nhị phân .xlsb"),
    # an Excel-encrypted .xlsx is an OLE2 file holding an "EncryptedPackage" stream (its name, UTF-16)
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504) + "EncryptedPackage".encode("utf-16-le"), "đặt mật khẩu"),
    ("Mã\tGiá trị\r\nF01\t48\r\n".encode("utf-16"),                             "Unicode UTF-16"),
    (b'<?xml version="1.0"?><Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet"/>', "XML Spreadsheet 2003"),
    (b"<html><body><table><tr><td>F01</td><td>48</td></tr></table></body></html>", "HTML/XML"),
    (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n",                                          "tệp PDF"),
    (b"PK\x03\x04\x14\x00 cut",                                                  "bị hỏng hoặc bị cắt cụt"),
]  # fmt: skip


@pytest.mark.parametrize(("content", "says"), OTHER_NON_SPREADSHEETS, ids=[c[1] for c in OTHER_NON_SPREADSHEETS])
def test_other_files_that_are_not_spreadsheets_are_named(tmp_path, rubric, content, says):
    root = make_cycle(tmp_path / "cycle", rubric, "so-tttt.xls")
    (root / "submissions" / "so-tttt.xls").write_bytes(content)
    result = run(root, rubric)
    assert status_of(result, BAD_AGENCY)[0] == "invalid"
    problems = problems_of(result, BAD_AGENCY)
    assert problems[["code", "file"]].values.tolist() == [["I05", "so-tttt.xls"]]
    assert says in problems.loc[0, "message_vi"] and "so-tttt.xls" in problems.loc[0, "message_vi"]
    assert_others_ranked(result)


# -- files that are read, with value-level problems: still ranked -------------------------------

VALUE_CASES = [
    # fixture, [(code, severity, cell, field, raw value, words in the message)], fields read as NaN
    ("absurd-values.xlsx", [
        ("I01", "E", "D5", "F01", "1e+308", "lớn bất thường"),
        ("I01", "E", "D6", "F02", "-5", "là số âm"),
        ("I01", "E", "D7", "F03", "NaN", "không phải một số"),
        ("I01", "E", "D8", "F04", "inf", "không phải một số"),
        ("I01", "E", "D9", "F05", "10000000000000", "lớn bất thường"),
    ], ["F01", "F02", "F03", "F04", "F05"]),
    ("dates-for-numbers.xlsx", [
        ("I01", "E", "D5", "F01", "2017-11-03", "ngày/giờ"),
        ("I01", "E", "D6", "F02", "03/11/2017", "là ngày tháng"),
    ], ["F01", "F02"]),
    ("duplicate-codes.xlsx", [
        ("I03", "E", "D5, D61", "F01", "48", "D5: “48”; D61: “50”"),
        ("I03", "W", "D6", "F02", "45", "(D6, D62) với cùng giá trị “45”; dùng ô D6"),
    ], ["F01"]),
    ("merged-value-cells.xlsx", [
        ("I14", "E", "D5", "F01", "48", "vùng ô gộp D5:D6 (chỉ tiêu F01, F02) có giá trị “48” ở ô D5"),
        ("I14", "E", "D6", "F02", "", "vùng ô gộp D5:D6"),
    ], ["F01", "F02"]),
    ("tcvn3-yes-no.xlsx", [
        ("I13", "E", "D10", "F06", "Cã", "bảng mã cũ TCVN3 (ABC) (có lẽ là “Có”)"),
        ("I13", "E", "D11", "F07", "Kh«ng", "bảng mã cũ TCVN3 (ABC) (có lẽ là “Không”)"),
        ("I13", "E", "D12", "F08", "12 m¸y", "bảng mã cũ TCVN3 (ABC)"),
    ], ["F06", "F07", "F08"]),
    ("vni-yes-no.xlsx", [
        ("I13", "E", "D10", "F06", "Coù", "bảng mã cũ VNI (có lẽ là “Có”)"),
        ("I13", "E", "D11", "F07", "Khoâng", "bảng mã cũ VNI (có lẽ là “Không”)"),
    ], ["F06", "F07"]),
]  # fmt: skip


@pytest.mark.parametrize(("fixture", "expected", "blanked"), VALUE_CASES, ids=[c[0] for c in VALUE_CASES])
def test_readable_file_with_bad_values_stays_ranked(tmp_path, rubric, fixture, expected, blanked):
    result = run(make_cycle(tmp_path / "cycle", rubric, fixture), rubric)
    assert status_of(result, BAD_AGENCY)[0] == "ranked"  # value problems go to validation, not the status
    problems = problems_of(result, BAD_AGENCY).sort_values(["cell", "field"]).reset_index(drop=True)
    assert len(problems) == len(expected), problems[["code", "cell", "field"]].values.tolist()
    for row, (code, severity, cell, field, raw, words) in zip(problems.itertuples(), expected, strict=True):
        assert (row.code, row.severity, row.cell, row.field, row.raw_value) == (code, severity, cell, field, raw)
        assert (row.file, row.sheet) == (fixture, "Số liệu")
        assert words in row.message_vi, (words, row.message_vi)
        # the message names file, sheet, cell and value (STYLE 9)
        assert row.message_vi.startswith(f"Tệp {fixture}, trang “Số liệu”"), row.message_vi
        assert f", ô {cell} ({field}): " in row.message_vi or code == "I03"
        if raw:
            assert raw in row.message_vi or code == "I14"
    values = result.values[result.values["agency_id"] == BAD_AGENCY].set_index("field")
    assert values.loc[blanked, "value"].isna().all()
    for _code, _s, _c, field, raw, _w in expected:
        assert values.loc[field, "raw_value"] == raw  # nothing typed is lost
    # the fields the case did not touch are read as the form was filled
    untouched = {"F01": 48.0, "F02": 45.0, "F03": 50.0, "F04": 40.0, "F05": 45.5, "F06": 1.0, "F07": 0.0, "F08": 12.0}
    for field, value in untouched.items():
        if field not in blanked:
            assert values.loc[field, "value"] == value, field
    assert_others_ranked(result)


# -- decompression bomb: refused before inflating, fast, bounded memory --------------------------


def test_zip_bomb_is_refused_fast_with_bounded_memory(tmp_path, rubric):
    """Measured in a fresh interpreter: its peak memory is its own (the bomb expands to 210 MB)."""
    for fixture in ("zip-bomb.xlsx", "zip-bomb-lying-size.xlsx"):
        root = make_cycle(tmp_path / fixture, rubric, fixture)
        code = (
            "import json, resource, sys, time\n"
            "from ictaudit.intake.cycle import load_cycle\nfrom ictaudit.intake.submissions import intake_cycle\n"
            "from ictaudit.rules.rubric import load_rubric\n"
            "r = load_rubric('caobang-2310-2016'); c = load_cycle(sys.argv[1], r)\n"
            "base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
            "t = time.perf_counter(); res = intake_cycle(c, r); t = time.perf_counter() - t\n"
            "peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
            "print(json.dumps({'seconds': t, 'grew_mb': (peak - base) / 1024,"
            " 'status': res.statuses.set_index('agency_id').loc['so-tttt', 'status']}))\n"
        )
        proc = subprocess.run([sys.executable, "-c", code, str(root)], capture_output=True, text=True, timeout=120,
                              check=False, env={**os.environ, "PYTHONPATH": str(ROOT / "lib")})  # fmt: skip
        assert proc.returncode == 0, proc.stderr[-2000:]
        got = json.loads(proc.stdout.strip().splitlines()[-1])
        assert got["status"] == "invalid"
        assert got["seconds"] < 5, got
        assert got["grew_mb"] < 64, got  # far below the 80–210 MB the bomb expands to


def test_sheet_spanning_the_whole_grid_is_refused_before_the_reader_allocates_it(tmp_path, rubric):
    """Two cells, A1 and XFD1048576: a reader keeps the rectangle between them (17 billion cells)."""
    root = make_cycle(tmp_path / "cycle", rubric, "so-tttt.xlsx")
    path = root / "submissions" / "so-tttt.xlsx"
    write_form(path, rubric, "so_ban_nganh", BAD_AGENCY, "Sở Thông tin và Truyền thông", 2017, values={"F01": 1})
    parts = _parts(path)
    sheet = "xl/worksheets/sheet2.xml"
    parts[sheet] = parts[sheet].replace(b"</sheetData>", b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row></sheetData>')
    path.write_bytes(_zip(parts))
    t = time.perf_counter()
    result = run(root, rubric)
    assert time.perf_counter() - t < 5
    problems = problems_of(result, BAD_AGENCY)
    assert problems[["code", "severity"]].values.tolist() == [["I05", "E"]]
    assert "XFD1048576" in problems.loc[0, "message_vi"] and f"hơn {MAX_SHEET_CELLS} ô" in problems.loc[0, "message_vi"]
    assert status_of(result, BAD_AGENCY)[0] == "invalid"
    assert_others_ranked(result)


def test_ods_with_a_cell_repeated_over_the_whole_grid_is_refused(tmp_path, rubric):
    """OpenDocument repeats: one valued cell repeated 16384 × 1048576 times would be expanded by the reader."""
    root = make_cycle(tmp_path / "cycle", rubric, "so-tttt.ods")
    parts = _parts(ROOT / "tests" / "fixtures" / "intake" / "filled-so-tttt.ods")
    bomb = (b'<table:table-row table:number-rows-repeated="1048576"><table:table-cell table:number-columns-repeated='
            b'"16384" office:value-type="float" office:value="1"><text:p>1</text:p></table:table-cell></table:table-row>')  # fmt: skip
    head, sep, tail = parts["content.xml"].rpartition(b"</table:table>")  # the last sheet, _meta
    parts["content.xml"] = head + bomb + sep + tail
    (root / "submissions" / "so-tttt.ods").write_bytes(_zip(parts))
    t = time.perf_counter()
    result = run(root, rubric)
    assert time.perf_counter() - t < 5
    problems = problems_of(result, BAD_AGENCY)
    assert problems[["code", "severity", "file"]].values.tolist() == [["I05", "E", "so-tttt.ods"]]
    assert "phần content.xml: trang “_meta”" in problems.loc[0, "message_vi"]
    assert status_of(result, BAD_AGENCY)[0] == "invalid"
    assert_others_ranked(result)


def _parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def _zip(parts: dict[str, bytes], level: int = 6) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    return buf.getvalue()


# -- a very large workbook: junk below the form ---------------------------------------------------


def _junk_rows(n: int) -> tuple[bytes, bytes]:
    """``n`` rows of varied junk text (inline strings) below the form, and no extra shared strings."""
    rows = b"".join(
        b'<row r="%d"><c r="A%d" t="inlineStr"><is><t>r\xc3\xa1c %x</t></is></c><c r="B%d" t="inlineStr"><is><t>'
        b"d\xe1\xbb\xaf li\xe1\xbb\x87u th\xe1\xbb\xaba %d</t></is></c><c r=\"D%d\"><v>%d</v></c></row>"
        % (r, r, r * 2654435761 % 4294967296, r, r, r, r % 977)
        for r in range(100, 100 + n)
    )
    return rows, b""


def _shared_string_rows(n: int, first_index: int) -> tuple[bytes, bytes]:
    """``n`` rows each pointing at its own random 110-character shared string (about 50 MB for 400,000)."""
    rng = random.Random(8)
    strings = b"".join(b"<si><t>%s</t></si>" % base64.b64encode(rng.randbytes(82)) for _ in range(n))
    rows = b"".join(b'<row r="%d"><c r="B%d" t="s"><v>%d</v></c></row>' % (r, r, first_index + r - 100)
                    for r in range(100, 100 + n))  # fmt: skip
    return rows, strings


@pytest.mark.parametrize(("junk", "n"), [("rows", 200_000), ("shared strings", 400_000)])
def test_very_large_workbook_is_read_in_seconds_and_the_junk_reported_once(tmp_path, rubric, junk, n):
    """Junk below a filled form: 200,000 rows of text (40 MB of sheet XML), or 50 MB of shared strings."""
    root = make_cycle(tmp_path / "cycle", rubric, "so-tttt.xlsx")
    path = root / "submissions" / "so-tttt.xlsx"
    write_form(path, rubric, "so_ban_nganh", BAD_AGENCY, "Sở Thông tin và Truyền thông", 2017,
               values={"F01": 48, "F02": 45, "F06": "Có"})  # fmt: skip
    parts = _parts(path)
    sheet, sst = "xl/worksheets/sheet2.xml", "xl/sharedStrings.xml"
    rows, strings = _junk_rows(n) if junk == "rows" else _shared_string_rows(n, parts[sst].count(b"<si>"))
    parts[sheet] = parts[sheet].replace(b"</sheetData>", rows + b"</sheetData>")
    parts[sst] = parts[sst].replace(b"</sst>", strings + b"</sst>")
    path.write_bytes(_zip(parts, level=1))
    assert len(parts[sheet]) + len(parts[sst]) > 30_000_000
    t = time.perf_counter()
    result = run(root, rubric)
    seconds = time.perf_counter() - t
    assert seconds < 15, seconds
    assert status_of(result, BAD_AGENCY)[0] == "ranked"
    values = result.values[result.values["agency_id"] == BAD_AGENCY].set_index("field")
    assert values.loc[["F01", "F02", "F06"], "value"].tolist() == [48.0, 45.0, 1.0]
    problems = problems_of(result, BAD_AGENCY)
    last = 100 + n - 1
    assert problems[["code", "severity", "sheet", "cell"]].values.tolist() == [["I04", "W", "Số liệu", f"A61:D{last}"]]
    assert f"có {last} dòng" in problems.loc[0, "message_vi"]
    assert "từ dòng 10001 trở đi không được đọc" in problems.loc[0, "message_vi"]
    assert_others_ranked(result)


# -- file names, receipts and what lies in submissions/ -------------------------------------------


@pytest.mark.parametrize("form_on_disk", ["NFC", "NFD"])
def test_vietnamese_file_name_with_spaces_and_dash(tmp_path, rubric, form_on_disk):
    """The receipt names ``Sở Nội vụ – phiếu 2017.xlsx``; on macOS the file arrives with an NFD name."""
    root = make_cycle(tmp_path / "cycle", rubric, None, noi_vu_file=VIETNAMESE_FILE)
    on_disk = unicodedata.normalize(form_on_disk, VIETNAMESE_FILE)
    (root / "submissions" / VIETNAMESE_FILE).unlink(missing_ok=True)
    shutil.copy(BAD / VIETNAMESE_FILE, root / "submissions" / on_disk)
    result = run(root, rubric)
    assert status_of(result, "so-noi-vu") == ("ranked", f"Phiếu {VIETNAMESE_FILE} nhận ngày 30/10/2017, trong hạn.")
    values = result.values[result.values["agency_id"] == "so-noi-vu"]
    assert set(values["source_file"]) == {on_disk}
    assert values.set_index("field").loc["F01", "value"] == 48.0  # the corpus form's own value
    assert result.problems[result.problems["agency_id"] != BAD_AGENCY].empty
    assert list(result.files["file"]) == sorted(["huyen-bao-lam.xlsx", on_disk])


def test_receipt_naming_a_path_outside_submissions_is_refused(tmp_path, rubric):
    root = make_cycle(tmp_path / "cycle", rubric, None)
    with (root / "receipts.csv").open("a", encoding="utf-8") as fh:
        fh.write(f"{BAD_AGENCY},../cycle.yaml,2017-10-30,Thư điện tử,\n")
    result = intake_cycle(load_cycle(root, rubric), rubric)  # one bad receipt row never stops the cycle
    assert status_of(result, BAD_AGENCY)[0] == "invalid"
    problems = problems_of(result, BAD_AGENCY)
    assert ["I10", "E", "../cycle.yaml"] in problems[["code", "severity", "file"]].values.tolist()
    assert_others_ranked(result)


def test_a_receipt_date_that_is_not_a_date_makes_its_agency_invalid_not_the_cycle(tmp_path, rubric):
    root = make_cycle(tmp_path / "cycle", rubric, "so-tttt.xlsx")
    text = (root / "receipts.csv").read_text(encoding="utf-8")
    lines = text.splitlines()
    i = next(k for k, line in enumerate(lines) if line.startswith(f"{BAD_AGENCY},"))
    parts = lines[i].split(",")
    parts[2] = "31/11/2017"  # no such day (30/10/2017, as the tool prints dates, is read: tests/test_dates.py)
    lines[i] = ",".join(parts)
    (root / "receipts.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = intake_cycle(load_cycle(root, rubric), rubric)
    status, reason = status_of(result, BAD_AGENCY)
    assert status == "invalid" and "“31/11/2017”" in reason and "dd/mm/yyyy" in reason
    assert "I16" in problems_of(result, BAD_AGENCY)["code"].tolist()
    assert_others_ranked(result)


@pytest.mark.parametrize("name", ["../cycle.yaml", "/etc/passwd", "..", "sub/../../cycle.yaml"])
def test_intake_itself_never_opens_a_path_outside_submissions(tmp_path, rubric, name):
    """Defence in depth: a cycle whose receipts were not checked by the cycle reader."""
    root = make_cycle(tmp_path / "cycle", rubric, None)
    cycle = load_cycle(root, rubric)
    extra = pd.DataFrame([{"agency_id": BAD_AGENCY, "file": name, "received_on": cycle.deadline,
                           "channel": "", "note": ""}])  # fmt: skip
    cycle = dataclasses.replace(cycle, receipts=pd.concat([cycle.receipts, extra], ignore_index=True))
    result = intake_cycle(cycle, rubric)
    assert status_of(result, BAD_AGENCY)[0] == "invalid"
    problems = problems_of(result, BAD_AGENCY)
    assert problems[["code", "severity", "file"]].values.tolist() == [["I10", "E", name]]
    assert "không phải tên một tệp trong thư mục submissions" in problems.loc[0, "message_vi"]
    assert_others_ranked(result)


def test_symbolic_links_in_submissions_are_not_followed(tmp_path, rubric):
    root = make_cycle(tmp_path / "cycle", rubric, None)
    outside = tmp_path / "secret.xlsx"
    write_form(outside, rubric, "so_ban_nganh", BAD_AGENCY, "Sở Thông tin và Truyền thông", 2017, values={"F01": 7})
    (root / "submissions" / "so-tttt.xlsx").symlink_to(outside)
    (root / "submissions" / "cycle-link.yaml").symlink_to(root / "cycle.yaml")
    with (root / "receipts.csv").open("a", encoding="utf-8") as fh:
        fh.write("so-tttt,so-tttt.xlsx,2017-10-30,Thư điện tử,\n")
    result = run(root, rubric)
    assert status_of(result, BAD_AGENCY)[0] == "invalid"
    problems = result.problems.set_index("file")
    assert problems.loc["so-tttt.xlsx", ["agency_id", "code", "severity"]].tolist() == [BAD_AGENCY, "I15", "E"]
    assert str(outside) in problems.loc["so-tttt.xlsx", "message_vi"]
    assert problems.loc["cycle-link.yaml", ["agency_id", "code", "severity"]].tolist() == ["", "I15", "W"]
    assert result.values[result.values["agency_id"] == BAD_AGENCY].empty  # the target was never read
    assert "so-tttt.xlsx" not in set(result.files["file"])
    assert_others_ranked(result)


def test_a_file_replaced_by_a_link_after_it_was_listed_is_not_read(tmp_path, rubric, monkeypatch):
    """Listing does not open the files; the one open refuses a symbolic link put in a file's place."""
    import ictaudit.intake.submissions as intake

    root = make_cycle(tmp_path / "cycle", rubric, "so-tttt.xlsx")
    path = write_form(root / "submissions" / "so-tttt.xlsx", rubric, "so_ban_nganh", BAD_AGENCY, "Sở TTTT", 2017)
    listed = intake.list_submissions

    def list_then_swap(subdir):
        entries = listed(subdir)
        path.unlink()
        path.symlink_to(root / "cycle.yaml")
        return entries

    monkeypatch.setattr(intake, "list_submissions", list_then_swap)
    result = run(root, rubric)
    assert status_of(result, BAD_AGENCY)[0] == "invalid"
    problems = problems_of(result, BAD_AGENCY)
    assert problems[["code", "file"]].values.tolist() == [["I05", "so-tttt.xlsx"]]
    assert "Không đọc được tệp so-tttt.xlsx" in problems.loc[0, "message_vi"]  # O_NOFOLLOW fails (ELOOP)
    assert_others_ranked(result)


def test_a_file_rewritten_after_it_was_listed_is_recorded_as_read(tmp_path, rubric, monkeypatch):
    """What is parsed is what is recorded: the values, their source_sha256 and the files table all
    come from the one read, whatever the file held when it was listed."""
    import hashlib

    import ictaudit.intake.submissions as intake

    root = make_cycle(tmp_path / "cycle", rubric, "so-tttt.xlsx")
    path = write_form(root / "submissions" / "so-tttt.xlsx", rubric, "so_ban_nganh", BAD_AGENCY, "Sở TTTT", 2017,
                      values={"F01": 10})  # fmt: skip
    listed = intake.list_submissions

    def list_then_rewrite(subdir):
        entries = listed(subdir)
        write_form(path, rubric, "so_ban_nganh", BAD_AGENCY, "Sở TTTT", 2017, values={"F01": 12345})
        return entries

    monkeypatch.setattr(intake, "list_submissions", list_then_rewrite)
    result = run(root, rubric)
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    mine = result.values[result.values["agency_id"] == BAD_AGENCY].set_index("field")
    assert mine.loc["F01", "value"] == 12345.0
    assert set(mine["source_sha256"]) == {sha}
    files = result.files.set_index("file")
    assert files.loc["so-tttt.xlsx", ["sha256", "bytes"]].tolist() == [sha, path.stat().st_size]
    assert status_of(result, BAD_AGENCY)[0] == "ranked"
    assert_others_ranked(result)


def _unreadable_problem(result) -> pd.Series:
    assert status_of(result, BAD_AGENCY)[0] == "invalid"
    problems = problems_of(result, BAD_AGENCY)
    assert problems[["code", "severity", "file"]].values.tolist() == [["I05", "E", "so-tttt.xlsx"]]
    assert_others_ranked(result)
    return problems.loc[0]


def test_file_that_cannot_be_read_is_reported(tmp_path, rubric, monkeypatch):
    """The read fails as it does without permission (simulated: this also runs as root)."""
    root = make_cycle(tmp_path / "cycle", rubric, "so-tttt.xlsx")
    write_form(root / "submissions" / "so-tttt.xlsx", rubric, "so_ban_nganh", BAD_AGENCY, "Sở TTTT", 2017)
    real_open = os.open

    def deny(path, *args, **kwargs):
        if Path(path).name == "so-tttt.xlsx":
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", deny)
    problem = _unreadable_problem(run(root, rubric))
    assert "Không đọc được tệp so-tttt.xlsx" in problem["message_vi"]
    assert "PermissionError: Permission denied" in problem["message_vi"]


def test_a_file_that_cannot_be_opened_is_reported_under_the_receipts_name(tmp_path, rubric, monkeypatch):
    """As when listing found the problem: the NFC name the receipt gives, not the NFD one on disk."""
    root = make_cycle(tmp_path / "cycle", rubric, None, noi_vu_file=VIETNAMESE_FILE)
    nfd = unicodedata.normalize("NFD", VIETNAMESE_FILE)
    assert nfd != VIETNAMESE_FILE
    (root / "submissions" / VIETNAMESE_FILE).rename(root / "submissions" / nfd)
    real_open = os.open

    def deny(path, *args, **kwargs):
        if Path(path).name == nfd:
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", deny)
    result = run(root, rubric)
    assert status_of(result, "so-noi-vu")[0] == "invalid"
    problems = problems_of(result, "so-noi-vu")
    assert problems[["code", "file"]].values.tolist() == [["I05", VIETNAMESE_FILE]]
    assert "PermissionError: Permission denied" in problems.loc[0, "message_vi"]


@contextlib.contextmanager
def _fails_after(seconds: int):
    """Raise TimeoutError in this (main) thread if the block takes longer than ``seconds``."""

    def expire(signum, frame):
        raise TimeoutError(f"still running after {seconds} s")

    before = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, before)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="a FIFO needs os.mkfifo")
@pytest.mark.parametrize("receipted", [True, False])
def test_a_fifo_put_in_a_files_place_is_refused_without_waiting(tmp_path, rubric, monkeypatch, receipted):
    """Opened without blocking (no writer would ever come) and refused as not a regular file."""
    import ictaudit.intake.submissions as intake

    root = make_cycle(tmp_path / "cycle", rubric, "so-tttt.xlsx" if receipted else None)
    path = write_form(root / "submissions" / "so-tttt.xlsx", rubric, "so_ban_nganh", BAD_AGENCY, "Sở TTTT", 2017)
    listed = intake.list_submissions

    def list_then_swap(subdir):
        entries = listed(subdir)
        path.unlink()
        os.mkfifo(path)
        return entries

    monkeypatch.setattr(intake, "list_submissions", list_then_swap)
    with _fails_after(20):  # a blocking open would wait forever: fail instead
        result = run(root, rubric)
    if receipted:
        assert status_of(result, BAD_AGENCY)[0] == "invalid"
        problems = problems_of(result, BAD_AGENCY)
        assert problems[["code", "file"]].values.tolist() == [["I05", "so-tttt.xlsx"]]
        assert "không còn là một tệp" in problems.loc[0, "message_vi"]
    else:
        codes = result.problems[result.problems["file"] == "so-tttt.xlsx"]["code"].tolist()
        assert codes == ["I11", "I05"]
    assert result.files.set_index("file").loc["so-tttt.xlsx", ["sha256", "bytes"]].tolist() == ["", 0]
    assert_others_ranked(result)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads files whatever their mode")
def test_file_without_read_permission_is_reported(tmp_path, rubric):
    root = make_cycle(tmp_path / "cycle", rubric, "so-tttt.xlsx")
    path = write_form(root / "submissions" / "so-tttt.xlsx", rubric, "so_ban_nganh", BAD_AGENCY, "Sở TTTT", 2017)
    path.chmod(0)
    try:
        problem = _unreadable_problem(run(root, rubric))
    finally:
        path.chmod(0o644)
    assert "Permission denied" in problem["message_vi"]


def test_corpus_is_what_make_fixtures_writes():
    """Each fixture named by a test exists (regenerate with make_fixtures.py; see its docstring)."""
    named = {c[0] for c in FILE_CASES} | {c[0] for c in VALUE_CASES} | {VIETNAMESE_FILE}
    on_disk = {p.name for p in BAD.iterdir() if p.suffix in (".xlsx", ".xls")}
    assert named == on_disk
    assert not math.isnan(sum(p.stat().st_size for p in BAD.iterdir()))
    assert sum(p.stat().st_size for p in BAD.iterdir()) < 1_000_000  # small: the bombs are a few hundred KB


# -- legacy font detection: what is flagged, and that real Unicode Vietnamese never is --------------

LEGACY = [
    # text,            encoding,       meant
    ("Cã",             "TCVN3 (ABC)",  "Có"),
    ("Kh«ng",          "TCVN3 (ABC)",  "Không"),
    ("12 m¸y",         "TCVN3 (ABC)",  ""),
    ("Sè liÖu",        "TCVN3 (ABC)",  ""),
    ("Coù",            "VNI",          "Có"),
    ("Khoâng",         "VNI",          "Không"),
    ("Ñaø Naüng",      "VNI",          ""),
]  # fmt: skip


@pytest.mark.parametrize(("text", "encoding", "meant"), LEGACY)
def test_legacy_font_text_is_named_and_never_read(text, encoding, meant):
    from ictaudit.intake.parsing import legacy_font, parse_value

    assert legacy_font(text) == encoding
    parsed = parse_value(text, "yesno")
    assert parsed.value is None and parsed.legacy_font == encoding
    assert f"bảng mã cũ {encoding}" in parsed.problem and "Unicode" in parsed.problem
    assert (f"có lẽ là “{meant}”" in parsed.problem) == bool(meant)


def test_unicode_vietnamese_is_never_taken_for_a_legacy_font(rubric):
    from ictaudit.intake.forms import guide_lines
    from ictaudit.intake.parsing import legacy_font
    from ictaudit.year.sample import DEPARTMENTS_2017, DISTRICTS_2017

    texts = [f.label_vi for f in rubric.fields] + [f.unit_vi for f in rubric.fields]
    texts += [name for _id, name in DEPARTMENTS_2017 + DISTRICTS_2017]
    texts += guide_lines(rubric, "so_ban_nganh", "Sở Tư pháp", 2017, None, "")
    texts += ["Có", "Không", "Hoà Bình", "xuân", "Quảng Uyên", "Thuỷ lợi", "khuyến nông", "Nguyễn Thị Hoà"]
    assert [t for t in texts if legacy_font(t)] == []


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("=cmd|' /C calc'!A0", "là công thức gõ dạng chữ (bắt đầu bằng “=”)"),
        ("@SUM(1+1)", "không phải một số"),
        ("abc def", "không phải một số"),
        ("12 34", "có khoảng trắng giữa các chữ số"),  # the space message only for digits and spaces
    ],
)
def test_text_that_is_not_a_number_is_named_for_what_it_is(typed, says):
    from ictaudit.intake.parsing import parse_value

    parsed = parse_value(typed, "count", "máy")
    assert parsed.value is None and says in parsed.problem and typed in parsed.problem


def test_a_page_of_text_in_a_value_cell_is_kept_whole_and_quoted_short(tmp_path, rubric):
    typed = "Số liệu đang tổng hợp, sẽ gửi sau. " * 200  # 7,000 characters in F01
    root = make_cycle(tmp_path / "cycle", rubric, "so-tttt.xlsx")
    write_form(root / "submissions" / "so-tttt.xlsx", rubric, "so_ban_nganh", BAD_AGENCY, "Sở TTTT", 2017,
               values={"F01": typed})  # fmt: skip
    result = run(root, rubric)
    assert status_of(result, BAD_AGENCY)[0] == "ranked"
    problem = problems_of(result, BAD_AGENCY).iloc[0]
    assert (problem["code"], problem["cell"], problem["raw_value"]) == ("I01", "D5", typed)  # as typed, whole
    assert len(problem["message_vi"]) < 250 and f"({len(typed.strip())} ký tự)" in problem["message_vi"]
    values = result.values[result.values["agency_id"] == BAD_AGENCY].set_index("field")
    assert values.loc["F01", "raw_value"] == typed and math.isnan(values.loc["F01", "value"])
    assert_others_ranked(result)


def test_defusedxml_refuses_entities_even_past_the_package_check():
    """Second line of defence: the formula scan parses with defusedxml, which refuses entity declarations."""
    from ictaudit.intake.formulas import uncached_formula_cells
    from ictaudit.intake.problems import SubmissionError

    data = (BAD / "billion-laughs-sheet.xlsx").read_bytes()
    t = time.perf_counter()
    with pytest.raises(SubmissionError, match="DTD/thực thể") as err:
        uncached_formula_cells(data, "Số liệu", "billion-laughs-sheet.xlsx")
    assert err.value.code == "I05" and time.perf_counter() - t < 2

"""A whole ``ictaudit run`` says what happened (issue 18, items 4 and 5; issue 21's loud rejection).

The bundled 2017 sample, copied, with two things a DIC officer gets wrong added: a correction whose
old value is not the one held (rejected) and a receipt for an agency that is not on the roster. The
run must end with a Vietnamese summary naming both by their lines, write ``status.html`` into its
outputs (hashed in the manifest, linked from report.html), agree with ``ictaudit status``, and give
the late and excluded agencies no points anywhere.
"""

from __future__ import annotations

import json
import shutil

import openpyxl
import pytest

from ictaudit.cli import main
from ictaudit.common.paths import DATA_DIR
from ictaudit.common.tables import read_csv

pytestmark = pytest.mark.slow

REJECTED = "so-y-te,F12,99999,62,Gõ nhầm,L10,Chánh Văn phòng — Sở Y tế,2017-11-20\n"
STRAY = "so-khong-co,khong-co.xlsx,2017-10-30,Bưu chính,\n"


@pytest.fixture(scope="module")
def ran(tmp_path_factory):
    base = tmp_path_factory.mktemp("status-run")
    cycle = base / "raw" / "2017"
    shutil.copytree(DATA_DIR / "raw" / "2017", cycle)
    corrections_lines = (cycle / "corrections.csv").read_text(encoding="utf-8").count("\n")
    with (cycle / "corrections.csv").open("a", encoding="utf-8") as fh:
        fh.write(REJECTED)
    receipts_lines = (cycle / "receipts.csv").read_text(encoding="utf-8").count("\n")
    with (cycle / "receipts.csv").open("a", encoding="utf-8") as fh:
        fh.write(STRAY)
    out, scored = base / "out", base / "scored"
    return {"cycle": cycle, "out": out, "scored": scored, "correction_line": corrections_lines + 1,
            "receipt_line": receipts_lines + 1}  # fmt: skip


@pytest.fixture(scope="module")
def console(ran):
    import contextlib
    import io

    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        code = main(["run", "--cycle", str(ran["cycle"]), "--out", str(ran["out"]), "--scored", str(ran["scored"]),
                     "--draws", "100", "--quiet"])  # fmt: skip
    assert code == 0
    return stdout.getvalue()


def test_the_run_ends_with_what_happened(ran, console):
    lines = console.splitlines()
    assert lines[0] == "Kỳ đánh giá 2017 — Cao Bằng: 35 đơn vị trong danh sách."
    assert lines[1] == (
        "  Được đánh giá, xếp hạng: 31 · Gửi phiếu sau hạn: 1 · Không gửi phiếu: 1 · Không thuộc diện xếp hạng: 2 · "
        "Phiếu không hợp lệ: 0"
    )
    assert "  - UBND huyện Quảng Uyên (huyen-quang-uyen) — Gửi phiếu sau hạn: Phiếu huyen-quang-uyen.xlsx nhận ngày " \
           "09/11/2017, sau hạn cuối 02/11/2017: không được đánh giá, xếp hạng." in lines  # fmt: skip
    assert "Hiệu chỉnh (corrections.csv): 4 đã áp dụng, 1 không áp dụng:" in lines
    rejected = next(line for line in lines if line.startswith("  - K005"))
    assert rejected.startswith(f"  - K005 (corrections.csv dòng {ran['correction_line']}; so-y-te, F12): Giá trị cũ “99999”")
    stray = next(line for line in lines if "so-khong-co" in line)
    assert stray.startswith(f"  - receipts.csv dòng {ran['receipt_line']}: Sổ tiếp nhận có tệp khong-co.xlsx")
    report = lines.index(f"report: {ran['out'] / 'report.html'}")
    assert lines[report - 1] == f"Chi tiết từng đơn vị, đơn vị cần đôn đốc: {ran['out'] / 'status.html'}"
    assert lines[report - 2] == "So sánh với kết quả năm 2016 như đã công bố (không tính lại)."  # the run's notes
    assert lines[report + 1] == f"documents: {ran['out'] / 'documents'}"
    assert len(lines) < 30  # a screen


def test_the_status_page_is_an_output_of_the_run(ran, console):
    manifest = json.loads((ran["out"] / "manifest.json").read_text(encoding="utf-8"))
    assert "out/status.html" in manifest["outputs"]
    html = (ran["out"] / "status.html").read_text(encoding="utf-8")
    assert "Tình hình tiếp nhận phiếu và xác nhận số liệu" in html and "K005" in html and "so-khong-co" in html
    assert 'href="status.html"' in (ran["out"] / "report.html").read_text(encoding="utf-8")


def test_ictaudit_status_agrees_with_the_run(ran, console, capsys):
    assert main(["status", "--cycle", str(ran["cycle"]), "--run", str(ran["out"])]) == 0
    out = capsys.readouterr().out
    lines = console.splitlines()
    summary = lines[: lines.index(f"report: {ran['out'] / 'report.html'}") - 1]
    summary = [line for line in summary if not line.startswith("So sánh với kết quả năm")]  # the run's own note
    assert all(line in out.splitlines() for line in summary)
    assert "Cần đôn đốc" in out and "  - UBND huyện Hòa An (huyen-hoa-an): Chưa gửi phiếu" in out


def test_late_and_excluded_have_no_points_anywhere_but_the_late_form_is_kept(ran, console):
    scores = read_csv(ran["scored"] / "scores.csv").set_index("agency_id")
    for agency in ("huyen-quang-uyen", "cong-an-tinh", "bo-chqs-tinh", "huyen-hoa-an"):
        row = scores.loc[agency]
        assert row[["points", "applicable_max", "score_100", "index", "band", "rank", "C1", "C8"]].tolist() == [""] * 8
    trail = read_csv(ran["scored"] / "trail.csv")
    assert "huyen-quang-uyen" not in set(trail["agency_id"])
    values = read_csv(ran["scored"] / "values.csv")
    assert (values["agency_id"] == "huyen-quang-uyen").sum() > 50  # the form is kept
    wb = openpyxl.load_workbook(ran["out"] / "report.xlsx", read_only=True)
    listed = [row[0] for row in wb["Không đánh giá"].iter_rows(min_row=3, values_only=True)]
    assert sorted(listed) == ["bo-chqs-tinh", "cong-an-tinh", "huyen-hoa-an", "huyen-quang-uyen"]
    page = (ran["out"] / "agencies" / "huyen-quang-uyen.html").read_text(encoding="utf-8")
    assert "Xem như không được đánh giá" in page and "điểm quy đổi thang 100" not in page

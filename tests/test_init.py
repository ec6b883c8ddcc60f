"""``ictaudit init``: a new year's cycle folder from last year's, linked to last year's published results.

Last year's run is stood in for by a folder holding what a run leaves (its manifest naming the cycle's
input hashes and the scored tables' hashes, the scored tables); tests/test_year_walkthrough.py does it
with a real run.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest

from ictaudit.common.paths import DATA_DIR
from ictaudit.intake.cycle import PREVIOUS_FILES, CycleError, load_cycle
from ictaudit.year.init import init_cycle


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def last_year(tmp_path) -> Path:
    prev = tmp_path / "raw" / "2017"
    shutil.copytree(DATA_DIR / "raw" / "2017", prev)
    return prev


def fake_run(prev: Path, run_dir: Path) -> Path:
    """What ``ictaudit run --cycle prev --out run_dir`` leaves that init reads: the manifest and the scored tables."""
    scored = run_dir.parent / f"scored-{run_dir.name}"
    scored.mkdir(parents=True)
    (scored / "scores.csv").write_text("\ufeffagency_id,score_100\nso-tttt,71.5\n", encoding="utf-8")
    (scored / "values.csv").write_text("\ufeffagency_id,field,value\nso-tttt,F01,48\n", encoding="utf-8")
    inputs = {p.relative_to(prev).as_posix(): sha(p) for p in sorted(prev.rglob("*")) if p.is_file()}
    manifest = {
        "cycle": {"dir": str(prev), "year": 2017, "title": "x"},
        "paths": {"out": str(run_dir), "scored": str(scored)},
        "inputs": {"cycle": inputs},
        "outputs": {"scored/scores.csv": sha(scored / "scores.csv"), "scored/values.csv": sha(scored / "values.csv")},
    }
    run_dir.mkdir(parents=True)
    (run_dir / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return run_dir


def test_a_new_year_folder_whole(tmp_path, last_year):
    run_dir = fake_run(last_year, tmp_path / "outputs" / "2017")
    out = tmp_path / "raw" / "2018"
    result = init_cycle(2018, last_year, out, results=run_dir)
    assert result.warning == "" and (result.agencies, result.ranked) == (35, 33)
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == [
        "agencies.csv", "corrections.csv", "cycle.yaml", "previous", *(f"previous/{n}" for n in sorted(PREVIOUS_FILES)),
        "receipts.csv", "submissions",
    ]  # fmt: skip
    cycle = load_cycle(out, for_run=False)
    assert (cycle.year, cycle.rubric_id, cycle.deadline, cycle.reply_by, cycle.timezone) == (
        2018, "caobang-2310-2016", None, None, "Asia/Ho_Chi_Minh"
    )
    assert "năm 2018" in cycle.title and "2017" not in cycle.title and cycle.province == "Cao Bằng"
    prev_roster = load_cycle(last_year, for_run=False).agencies
    assert cycle.agencies["agency_id"].tolist() == prev_roster["agency_id"].tolist()
    assert cycle.agencies["predecessor"].tolist() == prev_roster["agency_id"].tolist()
    assert cycle.agencies[["name", "group", "ranked", "note"]].equals(prev_roster[["name", "group", "ranked", "note"]])
    assert cycle.receipts.empty and cycle.corrections is not None and cycle.corrections.empty
    assert not any((out / "submissions").iterdir())
    # last year's published results, each with the sha256 the run recorded
    assert cycle.previous is not None and cycle.previous.year == 2017
    assert cycle.previous.sha256["agencies.csv"] == sha(last_year / "agencies.csv")
    assert (out / "previous" / "scores.csv").read_bytes() == (tmp_path / "outputs" / "scored-2017" / "scores.csv").read_bytes()
    assert cycle.previous.sha256["manifest.json"] == sha(run_dir / "manifest.json")
    # what the DIC must still write is said in the file itself
    text = (out / "cycle.yaml").read_text(encoding="utf-8")
    for key in ("deadline:", "reply_by:", 'notice: ""', "reply_to:"):
        line = next(i for i, t in enumerate(text.splitlines()) if t.startswith(key))
        assert "ĐIỀN" in "\n".join(text.splitlines()[line - 2 : line + 1]), key
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]  # no staging left behind


def test_a_run_needs_the_deadline_the_dic_writes_forms_do_not(tmp_path, last_year):
    out = tmp_path / "raw" / "2018"
    init_cycle(2018, last_year, out, results=fake_run(last_year, tmp_path / "run"))
    with pytest.raises(CycleError, match="deadline is not set"):
        load_cycle(out)
    text = (out / "cycle.yaml").read_text(encoding="utf-8").replace("\ndeadline:\n", "\ndeadline: 2018-11-02\n")
    (out / "cycle.yaml").write_text(text, encoding="utf-8")
    assert str(load_cycle(out).deadline) == "2018-11-02"


def test_a_renamed_or_merged_agency_keeps_its_link_through_predecessor(tmp_path, last_year):
    """The DIC gives the unit its new id and keeps last year's in predecessor (';' for a merger)."""
    out = tmp_path / "raw" / "2018"
    init_cycle(2018, last_year, out, results=fake_run(last_year, tmp_path / "run"))
    roster = (out / "agencies.csv").read_text(encoding="utf-8")
    roster = roster.replace("huyen-ha-quang,UBND huyện Hà Quảng,ubnd_huyen,true,,huyen-ha-quang",
                            "huyen-ha-quang,UBND huyện Hà Quảng,ubnd_huyen,true,,huyen-ha-quang;huyen-thong-nong")
    roster = "\n".join(line for line in roster.splitlines() if not line.startswith("huyen-thong-nong,")) + "\n"
    (out / "agencies.csv").write_text(roster, encoding="utf-8")
    agencies = load_cycle(out, for_run=False).agencies.set_index("agency_id")
    assert agencies.loc["huyen-ha-quang", "predecessor"] == "huyen-ha-quang;huyen-thong-nong"
    assert "huyen-thong-nong" not in agencies.index


def test_refuses_a_folder_that_is_not_empty_and_changes_nothing(tmp_path, last_year):
    out = tmp_path / "raw" / "2018"
    out.mkdir()
    (out / "notes.txt").write_text("của Sở", encoding="utf-8")
    with pytest.raises(CycleError, match="not empty"):
        init_cycle(2018, last_year, out, results=tmp_path / "none")
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
    assert sorted(p.name for p in out.parent.iterdir()) == ["2017", "2018"]


def test_the_new_folder_is_never_inside_last_years(tmp_path, last_year):
    with pytest.raises(CycleError, match="nằm trong thư mục đợt năm trước"):
        init_cycle(2018, last_year, last_year / "2018", results=tmp_path / "none")
    assert not (last_year / "2018").exists()


def test_an_empty_folder_is_used(tmp_path, last_year):
    out = tmp_path / "raw" / "2018"
    out.mkdir()
    init_cycle(2018, last_year, out, results=tmp_path / "none")
    assert (out / "cycle.yaml").exists()


def test_without_a_finished_run_the_folder_is_written_and_the_warning_says_why_and_how(tmp_path, last_year):
    out = tmp_path / "raw" / "2018"
    result = init_cycle(2018, last_year, out, results=tmp_path / "outputs" / "2017")
    assert result.previous is None
    assert result.warning.startswith("CẢNH BÁO: chưa liên kết được kết quả đã công bố của năm 2017")
    assert "manifest.json" in result.warning and "(L24)" in result.warning
    assert f"ictaudit run --cycle {last_year}" in result.warning and "--results" in result.warning
    assert load_cycle(out, for_run=False).previous is None
    assert not (out / "previous").exists()
    assert "Chưa liên kết kết quả đã công bố" in (out / "cycle.yaml").read_text(encoding="utf-8")


def test_a_run_of_last_years_folder_as_it_was_before_an_edit_is_not_its_published_result(tmp_path, last_year):
    run_dir = fake_run(last_year, tmp_path / "run")
    with (last_year / "corrections.csv").open("a", encoding="utf-8") as fh:  # edited after the run
        fh.write("so-tttt,F01,48,49,sửa sau khi công bố,,Ai đó,2017-12-01\n")
    result = init_cycle(2018, last_year, tmp_path / "a", results=run_dir)
    assert result.previous is None and "đã thay đổi sau lần chạy" in result.warning and "corrections.csv" in result.warning
    with pytest.raises(CycleError, match=r"--results .* không dùng được"):
        init_cycle(2018, last_year, tmp_path / "b", results=run_dir, explicit_results=True)
    assert not (tmp_path / "b").exists()


def test_a_scored_table_changed_since_the_run_is_not_linked(tmp_path, last_year):
    run_dir = fake_run(last_year, tmp_path / "run")
    (tmp_path / "scored-run" / "scores.csv").write_text("agency_id,score_100\nso-tttt,99\n", encoding="utf-8")
    with pytest.raises(CycleError, match=r"scores\.csv không còn là bảng lần chạy đã ghi"):
        init_cycle(2018, last_year, tmp_path / "b", results=run_dir, explicit_results=True)


def test_a_run_of_another_year_is_not_last_years(tmp_path, last_year):
    run_dir = fake_run(last_year, tmp_path / "run")
    manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    manifest["cycle"]["year"] = 2016
    (run_dir / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    result = init_cycle(2018, last_year, tmp_path / "a", results=run_dir)
    assert "là lần chạy năm 2016, không phải năm 2017" in result.warning


@pytest.mark.parametrize(
    ("year", "rubric", "says"),
    [(2017, None, "đợt mới phải sau năm"), (2016, None, "đợt mới phải sau năm"),
     (2020, None, "chỉ áp dụng cho các năm 2016, 2017, 2018, 2019, không phải 2020: .* --rubric")],
)  # fmt: skip
def test_years_and_rubrics_that_do_not_fit_are_refused_before_anything_is_written(tmp_path, last_year, year, rubric, says):
    with pytest.raises(CycleError, match=says):
        init_cycle(year, last_year, tmp_path / "new", results=tmp_path / "none", rubric=rubric)
    assert not (tmp_path / "new").exists()


def test_the_documents_particulars_are_carried_without_last_years_number_and_date(tmp_path, last_year):
    text = (last_year / "cycle.yaml").read_text(encoding="utf-8")
    text += ("documents:\n  issuer: Sở Thông tin và Truyền thông\n  report:\n    number: 123/BC-STTTT\n"
             "    date: 2017-12-05\n    signer: Nguyễn Văn A\n")  # fmt: skip
    (last_year / "cycle.yaml").write_text(text, encoding="utf-8")
    out = tmp_path / "raw" / "2018"
    init_cycle(2018, last_year, out, results=tmp_path / "none")
    documents = load_cycle(out, for_run=False).documents
    assert documents == {"issuer": "Sở Thông tin và Truyền thông", "report": {"number": "", "date": "", "signer": "Nguyễn Văn A"}}


def test_the_documents_wording_file_comes_along(tmp_path, last_year):
    wording = "bao_cao:\n  recommendations_heading: \"IV. KIẾN NGHỊ CỦA SỞ\"\n"
    (last_year / "van-ban.yaml").write_text(wording, encoding="utf-8")
    text = (last_year / "cycle.yaml").read_text(encoding="utf-8") + "documents:\n  wording: van-ban.yaml\n"
    (last_year / "cycle.yaml").write_text(text, encoding="utf-8")
    out = tmp_path / "raw" / "2018"
    init_cycle(2018, last_year, out, results=tmp_path / "none")
    assert load_cycle(out, for_run=False).documents == {"wording": "van-ban.yaml"}
    assert (out / "van-ban.yaml").read_text(encoding="utf-8") == wording


def test_the_cli_says_what_it_wrote_and_warns_on_stderr(tmp_path, last_year, capsys, monkeypatch):
    from ictaudit.cli import main

    monkeypatch.chdir(tmp_path)
    import ictaudit.run.suite as suite

    monkeypatch.setattr(suite, "default_dirs", lambda cycle, year: (tmp_path / "outputs" / str(year), tmp_path / "s"))
    assert main(["init", "--year", "2018", "--from", str(last_year), "--out", "raw/2018", "--results",
                 str(fake_run(last_year, tmp_path / "run"))]) == 0  # fmt: skip
    captured = capsys.readouterr()
    assert "Đã tạo thư mục đợt đánh giá năm 2018" in captured.out and "previous/" in captured.out
    assert captured.err == ""
    assert main(["init", "--year", "2018", "--from", str(last_year), "--out", "raw/2019"]) == 0
    assert f"không có {tmp_path / 'outputs' / '2017' / 'manifest.json'}" in capsys.readouterr().err
    assert main(["init", "--year", "2018", "--from", str(last_year), "--out", "raw/2018"]) == 1
    assert "not empty" in capsys.readouterr().err
    assert os.listdir(tmp_path / "raw" / "2018")

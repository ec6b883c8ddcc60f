"""The whole suite through papermill on a small cycle: reproducible, verifiable, offline, and loud on failure.

One run (under a network namespace with no network, when the machine allows it) is shared by the
tests of this module; each verify re-runs the suite in a temporary folder.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from ictaudit.cli import main
from ictaudit.common.paths import RUBRICS_DIR
from ictaudit.run.manifest import hash_tree, sha256_file
from ictaudit.run.notebooks import NotebookFailed, UnknownParameters, execute
from ictaudit.run.suite import RunError, run_cycle
from ictaudit.run.verify import verify_run
from ictaudit.year.link import link_previous_results
from ictaudit.year.sample import write_sample_cycle

pytestmark = pytest.mark.slow
ICTAUDIT = Path(sys.executable).with_name("ictaudit")


def _offline_prefix() -> list[str]:
    """``unshare -n`` with loopback up (kernels talk over 127.0.0.1), when this machine permits it."""
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return []
    probe = subprocess.run(["unshare", "-n", "sh", "-c", "ip link set lo up"], capture_output=True, check=False)
    return ["unshare", "-n", "sh", "-c", 'ip link set lo up && exec "$@"', "offline"] if probe.returncode == 0 else []


@pytest.fixture(scope="module")
def cycle(tmp_path_factory):
    """A 12-agency cycle linked to the published results of a run of the year before (as ``ictaudit init``
    links them), with the rubric copied beside them (so a test may edit it)."""
    root = tmp_path_factory.mktemp("raw")
    write_sample_cycle(2016, root / "2016", agencies=12, seed=16)
    write_sample_cycle(2017, root / "2017", agencies=12, seed=17)
    rubric = root / "rubric.yaml"
    shutil.copy(RUBRICS_DIR / "caobang-2310-2016.yaml", rubric)
    for year in ("2016", "2017"):
        path = root / year / "cycle.yaml"
        text = path.read_text(encoding="utf-8").replace("rubric: caobang-2310-2016", f"rubric: {rubric}")
        assert str(rubric) in text
        path.write_text(text, encoding="utf-8")
    last_year = tmp_path_factory.mktemp("run2016")
    run_cycle(root / "2016", out=last_year / "out", scored=last_year / "scored", progress=False, notes=False,
              notebooks=("01_intake.ipynb", "02_validate.ipynb", "03_score.ipynb"))  # fmt: skip
    link_previous_results(root / "2017", last_year / "out")
    return root / "2017"


@pytest.fixture(scope="module")
def cycle_hashes_before(cycle):
    return hash_tree(cycle.parent)


@pytest.fixture(scope="module")
def run(cycle, cycle_hashes_before, tmp_path_factory):
    base = tmp_path_factory.mktemp("run")
    prefix = _offline_prefix()
    cmd = [*prefix, str(ICTAUDIT), "run", "--cycle", str(cycle), "--out", str(base / "out"),
           "--scored", str(base / "scored"), "--draws", "200"]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return {"out": base / "out", "scored": base / "scored", "offline": bool(prefix), "stderr": proc.stderr}


def test_run_writes_every_output_and_shows_progress(run):
    out, scored = run["out"], run["scored"]
    statuses = pd.read_csv(scored / "statuses.csv", encoding="utf-8-sig")["status"].value_counts().to_dict()
    assert statuses == {"ranked": 10, "excluded": 2, "late": 1, "missing": 1}, statuses
    for name in ("values.csv", "issues.csv", "trail.csv", "scores.csv", "criteria.csv", "robustness.csv"):
        assert (scored / name).stat().st_size > 0, name
    assert (out / "report.html").exists() and (out / "report.xlsx").exists()
    assert any((out / "agencies").glob("*.html"))
    assert (out / "validation" / "index.html").exists()
    for nb in ("01_intake", "02_validate", "03_score", "06_robustness", "04_report"):
        assert (out / "notebooks" / f"{nb}.ipynb").exists()
        html = (out / "notebooks" / f"{nb}.html").read_text(encoding="utf-8")
        assert "from ictaudit import" not in html, f"code shown in {nb}.html"
    assert "[1/5] 01_intake.ipynb" in run["stderr"] and "[5/5] 04_report.ipynb done" in run["stderr"]


def test_run_works_without_network(run):
    if not run["offline"]:
        pytest.skip("this machine cannot make a network namespace (unshare -n)")
    assert (run["out"] / "manifest.json").exists()


def test_manifest_records_inputs_parameters_and_outputs(run, cycle):
    m = json.loads((run["out"] / "manifest.json").read_text(encoding="utf-8"))
    some_file = next((cycle / "submissions").iterdir())
    assert m["inputs"]["cycle"][f"submissions/{some_file.name}"] == sha256_file(some_file)
    assert set(m["inputs"]["expectations"]) == {"PL1.json", "PL2.json"}
    assert m["previous"]["year"] == 2016 and "previous_cycle_dir" not in m
    assert m["inputs"]["cycle"]["previous/scores.csv"] == m["previous"]["sha256"]["scores.csv"]
    assert m["rubric"]["version_check"]["state"] == "recorded"
    assert m["rubric"]["content_sha256"] == m["rubric"]["version_check"]["content_sha256"]
    assert set(m["inputs"]["rubric"]) == {"rubric.yaml", "versions.yaml"}
    assert m["environment"]["packages"]["great_expectations"].startswith("1.")
    assert m["seeds"]["robustness"] == 20171103
    assert next(n["name"] for n in m["notebooks"]) == "01_intake.ipynb"
    assert m["notebooks"][1]["parameters"]["out_dir"] == m["paths"]["staged_out"]
    assert m["paths"]["out"] == str(run["out"])
    assert m["outputs"]["scored/scores.csv"] == sha256_file(run["scored"] / "scores.csv")
    assert "out/report.html" in m["outputs"] and "out/notebooks/01_intake.ipynb" in m["records"]


def test_verify_passes_and_a_second_run_is_byte_identical(run, tmp_path):
    report = verify_run(run["out"], keep=tmp_path)
    assert report.ok, report.text()
    for table in sorted(run["scored"].rglob("*.csv")):
        rel = table.relative_to(run["scored"])
        assert (tmp_path / "scored" / rel).read_bytes() == table.read_bytes(), rel
    assert (tmp_path / "out" / "report.html").read_bytes() == (run["out"] / "report.html").read_bytes()


def test_verify_fails_naming_the_file_after_one_raw_byte_changes(run, cycle, capsys):
    target = sorted((cycle / "submissions").glob("*.xlsx"))[0]
    original = target.read_bytes()
    try:
        target.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))
        assert main(["verify", str(run["out"])]) == 3
    finally:
        target.write_bytes(original)
    out = capsys.readouterr().out
    assert f"cycle file submissions/{target.name}: sha256" in out
    assert "FAILED" in out


def test_verify_fails_after_one_rubric_value_changes(run, cycle, capsys):
    rubric = cycle.parent / "rubric.yaml"
    original = rubric.read_text(encoding="utf-8")
    changed = original.replace("{at_least: 6, points: 4}, {at_least: 3, points: 2}", "{at_least: 6, points: 4}, {at_least: 2, points: 2}")
    assert changed != original
    try:
        rubric.write_text(changed, encoding="utf-8")
        assert main(["verify", str(run["out"])]) == 3
    finally:
        rubric.write_text(original, encoding="utf-8")
    out = capsys.readouterr().out
    assert "rubric rubric.yaml: sha256" in out


def test_trace_then_verify_passes(run, capsys):
    """The trace page lies outside the audited run folder (verify stays green), in Vietnamese, and names
    the agency holding each "best in the group" value."""
    trail = pd.read_csv(run["scored"] / "trail.csv", encoding="utf-8-sig", keep_default_na=False)
    clean = trail[(trail["indicator_id"] == "C2.1") & (trail["flags"] == "")]
    agency_id = clean["agency_id"].iloc[0]
    explanation = clean["explanation_vi"].iloc[0]
    assert main(["trace", agency_id, "--run", str(run["out"])]) == 0
    page = run["out"].parent / f"{run['out'].name}-traces" / f"{agency_id}.html"
    assert f"trace: {page}" in capsys.readouterr().out
    html = page.read_text(encoding="utf-8")
    for words in ("Số liệu từ phiếu", explanation, "Thứ hạng trong khối", "◀", agency_id,
                  "Đơn vị có giá trị cao nhất trong khối:", "Cách tính (Tỷ lệ):"):  # fmt: skip
        assert words in html, words
    for raw in ("raw_value", "criterion_id", "so_ban_nganh", "trạng thái ranked", "label_vi"):
        assert raw not in html, raw
    assert page.with_suffix(".ipynb").exists() and not list(run["out"].rglob("*trace*"))
    assert main(["verify", str(run["out"])]) == 0, capsys.readouterr().out


def test_trace_refuses_a_folder_inside_the_run_and_an_unknown_agency(run, capsys):
    assert main(["trace", "so-tttt", "--run", str(run["out"]), "--out", str(run["out"] / "traces")]) == 1
    assert "a trace goes outside the audited run" in capsys.readouterr().err
    assert not (run["out"] / "traces").exists()
    assert main(["trace", "so-khong-co", "--run", str(run["out"])]) == 1
    assert "agency 'so-khong-co' is not in" in capsys.readouterr().err


def test_a_failing_notebook_names_itself_and_the_cell_and_keeps_its_output(tmp_path):
    with pytest.raises(NotebookFailed) as info:
        execute("03_score.ipynb", {"cycle_dir": str(tmp_path), "scored_dir": str(tmp_path / "empty")}, tmp_path / "nb")
    message = str(info.value)
    assert "03_score.ipynb failed in cell 4" in message and "chạy notebook 02_validate trước" in message
    assert (tmp_path / "nb" / "03_score.ipynb").exists() and (tmp_path / "nb" / "03_score.html").exists()


def test_unknown_notebook_parameters_are_refused(tmp_path):
    with pytest.raises(UnknownParameters, match="does not declare parameters colour"):
        execute("01_intake.ipynb", {"cycle_dir": "x", "colour": "blue"}, tmp_path)


def test_run_exits_1_naming_the_file_when_the_cycle_cannot_be_processed(tmp_path, capsys):
    (tmp_path / "cycle.yaml").write_text("year: 2017\nrubric: no-such-rubric\n", encoding="utf-8")
    assert main(["run", "--cycle", str(tmp_path), "--out", str(tmp_path / "o"), "--quiet"]) == 1
    assert "cycle.yaml" in capsys.readouterr().err


def test_no_run_modifies_any_file_of_the_cycle_folders(run, cycle, cycle_hashes_before):
    assert hash_tree(cycle.parent) == cycle_hashes_before


def test_a_second_run_on_the_same_output_refuses_while_the_first_holds_it(cycle, tmp_path):
    out = tmp_path / "out"
    (tmp_path / ".out.lock").write_text(str(os.getpid()))  # a live process holds it
    with pytest.raises(RunError, match=r"another run \(pid \d+\) is writing"):
        run_cycle(cycle, out=out, scored=tmp_path / "scored", notebooks=(), progress=False)
    assert not out.exists()


def test_a_stale_lock_of_a_dead_run_is_taken_over(cycle, tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True).stdout
    (tmp_path / ".out.lock").write_text(dead.strip())
    result = run_cycle(cycle, out=tmp_path / "out", scored=tmp_path / "scored", notebooks=(), progress=False)
    assert result.manifest.exists() and not (tmp_path / ".out.lock").exists()


def test_an_interrupted_run_leaves_the_previous_outputs_whole(cycle, tmp_path):
    out, scored = tmp_path / "out", tmp_path / "scored"
    out.mkdir()
    (out / "report.html").write_text("the previous, complete report")
    with pytest.raises(NotebookFailed):
        # notebook 03 alone fails its precondition: nothing of this run reaches out/
        run_cycle(cycle, out=out, scored=scored, notebooks=("03_score.ipynb",), progress=False)
    assert (out / "report.html").read_text() == "the previous, complete report"
    assert sorted(p.name for p in out.iterdir()) == ["report.html"]
    assert (tmp_path / ".out.partial" / "notebooks" / "03_score.ipynb").exists()  # partial output kept aside
    assert not (tmp_path / ".out.lock").exists()


def test_a_run_never_replaces_a_folder_that_is_not_an_earlier_runs(cycle, tmp_path):
    documents = tmp_path / "documents"
    documents.mkdir()
    (documents / "precious.txt").write_text("not an output")
    with pytest.raises(RunError, match=r"holds files that are not an earlier run's outputs \(precious.txt\)"):
        run_cycle(cycle, out=documents, scored=tmp_path / "scored", notebooks=(), progress=False)
    with pytest.raises(RunError, match="overlaps the cycle folder"):
        run_cycle(cycle, out=cycle / "out", scored=tmp_path / "scored", notebooks=(), progress=False)
    with pytest.raises(RunError, match="overlaps the cycle folder"):
        run_cycle(cycle, out=tmp_path / "out", scored=cycle.parent, notebooks=(), progress=False)
    assert (documents / "precious.txt").read_text() == "not an output"


def test_verify_fails_when_a_report_or_table_of_the_run_was_edited_afterwards(run, capsys):
    report = run["out"] / "report.html"
    scores = run["scored"] / "scores.csv"
    originals = {p: p.read_bytes() for p in (report, scores)}
    try:
        report.write_bytes(originals[report] + b"<!-- edited -->")
        scores.write_bytes(originals[scores].replace(b",ranked,", b",late,", 1))
        assert main(["verify", str(run["out"])]) == 3
    finally:
        for p, data in originals.items():
            p.write_bytes(data)
    out = capsys.readouterr().out
    assert "run file out/report.html: sha256" in out and "run file scored/scores.csv: sha256" in out


def test_an_impossible_date_in_cycle_yaml_is_named_not_a_traceback(tmp_path, capsys):
    shutil.copytree(Path(__file__).parents[1] / "data" / "raw" / "2017", tmp_path / "2017")
    path = tmp_path / "2017" / "cycle.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("deadline: 2017-11-02", "deadline: 2017-11-31"), encoding="utf-8")
    assert main(["run", "--cycle", str(tmp_path / "2017"), "--out", str(tmp_path / "o"), "--quiet"]) == 1
    assert "cycle.yaml: có giá trị không phải ngày có thật" in capsys.readouterr().err


def test_last_year_is_read_as_published_never_from_a_sibling_folder(tmp_path):
    """Only the results cycle.yaml links count: a broken sibling year folder is not even read."""
    from ictaudit.run.pipeline import intake_step

    for year in ("2016", "2017"):
        shutil.copytree(Path(__file__).parents[1] / "data" / "raw" / year, tmp_path / year)
    prev = tmp_path / "2016" / "cycle.yaml"
    prev.write_text(prev.read_text(encoding="utf-8").replace("deadline: ", "deadline: 2016-13-01 #"), encoding="utf-8")
    counts = intake_step(tmp_path / "2017", tmp_path / "scored")
    assert counts["agencies"].sum() == 35
    info = json.loads((tmp_path / "scored" / "previous.json").read_text(encoding="utf-8"))
    assert info["linked"] and info["year"] == 2016 and not (tmp_path / "scored" / "previous").exists()


def test_a_run_names_the_files_it_replaces_that_its_previous_run_did_not_write(cycle, tmp_path):
    from ictaudit.run.suite import plan_run, replaced_files_notice

    out, scored = tmp_path / "out", tmp_path / "scored"
    (out / "agencies").mkdir(parents=True)
    scored.mkdir()
    (out / "report.html").write_text("r")
    (out / "agencies" / "so-tttt-trace.html").write_text("a page an older ictaudit traced into the run folder")
    (scored / "scores.csv").write_text("s")
    manifest = {"outputs": {"out/report.html": "x", "scored/scores.csv": "y"}, "records": {}}
    (out / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    lines = replaced_files_notice(plan_run(cycle, out, scored))
    assert "1 tệp sau không do lần chạy trước tạo ra" in lines[0] and "sẽ bị xoá" in lines[0]
    assert lines[1:] == [f"  - {out / 'agencies' / 'so-tttt-trace.html'}"]
    (out / "agencies" / "so-tttt-trace.html").unlink()
    assert replaced_files_notice(plan_run(cycle, out, scored)) == []

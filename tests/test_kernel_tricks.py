"""The kernel speed tricks' switch (:mod:`ictaudit.run.kernels.supply`): on by default, off on request,
and both positions write the same bytes."""

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from ictaudit.common.paths import PROJECT_ROOT
from ictaudit.run.kernels import launch
from ictaudit.run.kernels.supply import TRICKS_ENV, EarlyKernels, PapermillKernels, kernel_tricks_on, notebook_kernels

ICTAUDIT = Path(sys.executable).with_name("ictaudit")
SAMPLE = PROJECT_ROOT / "data" / "raw" / "2017"


@pytest.mark.parametrize(
    "choice,env,on",
    [
        (None, None, True),  # the default: tricks on
        (None, "on", True),
        (None, "off", False),
        (None, " OFF ", False),
        (None, "0", False),
        (None, "false", False),
        (None, "no", False),
        (False, None, False),  # --plain-papermill
        (False, "on", False),  # the command's option wins over the environment
        (True, "off", True),
    ],
)
def test_the_switch_reads_the_option_then_the_environment(monkeypatch, choice, env, on):
    if env is None:
        monkeypatch.delenv(TRICKS_ENV, raising=False)
    else:
        monkeypatch.setenv(TRICKS_ENV, env)
    assert kernel_tricks_on(choice) is on


def test_off_leaves_every_kernel_to_papermill():
    with notebook_kernels([Path("a.ipynb"), Path("b.ipynb")], PROJECT_ROOT, tricks=False) as kernels:
        assert isinstance(kernels, PapermillKernels)
        for _ in range(2):
            with kernels.kernel() as km:
                assert km is None


def test_on_launches_each_kernel_one_notebook_ahead_and_kills_it_when_its_notebook_is_done(monkeypatch, tmp_path):
    calls: list[str] = []
    monkeypatch.setattr(launch, "start_kernel", lambda cwd, warm_up: calls.append(f"start {warm_up}") or warm_up)
    monkeypatch.setattr(launch, "kill_kernel", lambda km: calls.append(f"kill {km}"))
    monkeypatch.setattr(launch, "stop_kernel", lambda km: calls.append(f"stop {km}"))
    monkeypatch.setattr("ictaudit.run.kernels.warmup.warm_up_code", lambda path: Path(path).stem)

    with notebook_kernels([tmp_path / "a.ipynb", tmp_path / "b.ipynb"], tmp_path, tricks=True) as kernels:
        assert isinstance(kernels, EarlyKernels)
        assert calls == ["start a"]  # the first kernel boots while the run hashes its inputs
        with kernels.kernel() as km:
            assert km == "a" and calls[-1] == "start b"  # b boots while a's notebook runs
        with kernels.kernel() as km:
            assert km == "b"
    assert calls == ["start a", "start b", "kill a", "kill b", "stop a", "stop b"]


def _run(out: Path, *options: str, env: dict | None = None) -> dict:
    cmd = [str(ICTAUDIT), "run", "--cycle", str(SAMPLE), "--out", str(out / "out"), "--scored", str(out / "scored"),
           "--quiet", *options]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads((out / "out" / "manifest.json").read_text(encoding="utf-8"))


def _cell_outputs(notebook: Path, run_dir: Path) -> list:
    """Every cell's outputs and execution count, with the run's own folder written as ``<run>``."""
    cells = nbformat.read(str(notebook), as_version=4).cells
    text = json.dumps([(c.get("execution_count"), c.get("outputs")) for c in cells], ensure_ascii=False)
    return json.loads(text.replace(str(run_dir), "<run>"))


@pytest.mark.slow
def test_the_bundled_sample_gives_the_same_bytes_with_and_without_the_tricks(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != TRICKS_ENV}
    tricks = _run(tmp_path / "tricks", env=env)
    plain = _run(tmp_path / "plain", "--plain-papermill", env=env)

    assert (tricks["run"]["kernel_tricks"], plain["run"]["kernel_tricks"]) == (True, False)
    assert tricks["outputs"] == plain["outputs"]  # the scored tables and reports, byte for byte
    assert len(tricks["outputs"]) > 50 and "scored/scores.csv" in tricks["outputs"] and "out/report.xlsx" in tricks["outputs"]
    for name in (n["name"] for n in tricks["notebooks"]):  # the record: no warm-up output leaked into a cell
        a = _cell_outputs(tmp_path / "tricks" / "out" / "notebooks" / name, tmp_path / "tricks")
        b = _cell_outputs(tmp_path / "plain" / "out" / "notebooks" / name, tmp_path / "plain")
        assert a == b, name

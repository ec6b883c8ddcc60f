"""The environments stay what pyproject.toml says: one lock for the run and the tests, one for JupyterLab,
and environment.yml with the same dependencies at the locked versions."""

import re
import tomllib

import pytest

from ictaudit.common.paths import PROJECT_ROOT

#: what JupyterLab brings and the run must not import (jsonschema builds IRI parsers when it finds
#: rfc3987_syntax: ~0.9 s in each process that imports it; docs/performance.md)
LAB_ONLY = ("jupyterlab", "jupyter_server", "jupyter_events", "rfc3987_syntax", "lark")


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[; ]", requirement.strip(), maxsplit=1)[0].lower().replace("-", "_")


def _lock(name: str) -> dict[str, str]:
    lines = (PROJECT_ROOT / name).read_text(encoding="utf-8").splitlines()
    pins = [line.split("==") for line in lines if line and not line.startswith("#")]
    assert all(len(p) == 2 for p in pins), f"{name}: every line is name==version"
    return {_name(n): v for n, v in pins}


def _project() -> dict:
    return tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def test_the_run_lock_holds_every_dependency_and_nothing_of_jupyterlab():
    lock = _lock("requirements.lock")
    project = _project()
    wanted = [*project["dependencies"], *project["optional-dependencies"]["dev"]]
    assert not [r for r in wanted if _name(r) not in lock], "run `make lock`"
    assert not [n for n in LAB_ONLY if n in lock], "JupyterLab belongs in requirements-lab.lock (make lab)"


def test_the_lab_lock_has_jupyterlab_at_the_versions_the_run_lock_shares():
    lab, run = _lock("requirements-lab.lock"), _lock("requirements.lock")
    assert "jupyterlab" in lab
    assert {n: (v, lab[n]) for n, v in run.items() if n in lab and lab[n] != v} == {}


def test_environment_yml_lists_the_same_dependencies_at_the_locked_versions():
    text = (PROJECT_ROOT / "environment.yml").read_text(encoding="utf-8")
    listed = dict(re.findall(r"^\s+- ([A-Za-z0-9_.-]+)==(\S+)$", text, flags=re.M))
    listed = {_name(n): v for n, v in listed.items()}
    project = _project()
    wanted = {_name(r) for r in [*project["dependencies"], *project["optional-dependencies"]["dev"]]}
    lock = _lock("requirements.lock")
    assert set(listed) == wanted
    assert {n: v for n, v in listed.items() if lock[n] != v} == {}
    assert "- -r requirements.lock" in text


@pytest.mark.parametrize("module", LAB_ONLY)
def test_the_run_environment_does_not_have_it(module):
    import importlib.util

    assert importlib.util.find_spec(module) is None, f"{module} is installed in the run's environment: rebuild it (make clean setup)"

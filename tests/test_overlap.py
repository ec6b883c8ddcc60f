"""What ``ictaudit run`` does beside the running notebook: the next kernel's warm-up (what it imports,
and that it binds nothing) and the HTML rendering of the notebooks already run."""

import json
import sys

import pytest

from ictaudit.common.paths import NOTEBOOKS_DIR
from ictaudit.run.kernels.warmup import STEP_IMPORTS, modules_to_warm, warm, warm_up_code
from ictaudit.run.suite import RUN_ORDER


def _notebook(tmp_path, *sources: str):
    cells = [{"cell_type": "code", "source": s, "metadata": {}, "outputs": [], "execution_count": None} for s in sources]
    cells.insert(1, {"cell_type": "markdown", "source": "import not_code", "metadata": {}})
    path = tmp_path / "x.ipynb"
    path.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    return path


def test_modules_follow_the_import_lines_in_order_without_repeats(tmp_path):
    path = _notebook(
        tmp_path,
        "import json, os.path\nfrom pathlib import Path, PurePath\nx = 1",
        "def f(:\n    import never_seen",  # a cell that does not parse is skipped
        "import json\nfrom . import relative\nfrom decimal import *",
    )
    assert modules_to_warm(path) == ["json", "os.path", "pathlib:Path", "pathlib:PurePath"]


def test_every_notebook_of_the_run_has_its_step_modules():
    for name in (*RUN_ORDER, "05_agency_trace.ipynb"):
        specs = modules_to_warm(NOTEBOOKS_DIR / name)
        assert set(STEP_IMPORTS[name]) <= set(specs), name
        own = ("pathlib:Path", "IPython.display:HTML") if name == "05_agency_trace.ipynb" else ("pathlib:Path", "pandas")
        assert set(own) <= set(specs), name  # its own import lines too


def test_the_code_imports_submodules_and_binds_no_name(tmp_path, monkeypatch):
    pkg = tmp_path / "warmpkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "sub.py").write_text("VALUE = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    path = _notebook(tmp_path, "from warmpkg import sub\nimport no_such_module_here")
    namespace: dict = {}
    exec(warm_up_code(path), namespace)  # what the kernel runs
    assert "warmpkg.sub" in sys.modules  # ``from warmpkg import sub`` loaded the submodule
    assert set(namespace) == {"__builtins__"}  # nothing bound: a forgotten import still fails


@pytest.mark.parametrize("spec", ["no_such_module_here", "json:no_such_name", "ictaudit:no_such_module"])
def test_a_failing_import_is_left_to_the_notebook(spec):
    warm([spec, "json"])  # no exception; the rest still imported
    assert "json" in sys.modules


def _executed_notebook(path):
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x = 1", outputs=[nbformat.v4.new_output("stream", text="visible\n")])]
    nbformat.write(nb, str(path))
    return path


def test_the_renderer_writes_every_html_before_it_is_left(tmp_path):
    from ictaudit.run.notebooks import html_renderer

    notebooks = [_executed_notebook(tmp_path / f"n{i}.ipynb") for i in range(3)]
    with html_renderer() as render:
        for nb in notebooks:
            render(nb)
    for nb in notebooks:
        html = nb.with_suffix(".html").read_text(encoding="utf-8")
        assert "visible" in html and "x = 1" not in html  # outputs kept, code hidden


def test_a_rendering_error_in_the_worker_reaches_the_run(tmp_path):
    from ictaudit.run.notebooks import html_renderer

    (tmp_path / "broken.ipynb").write_text("{not json")
    with pytest.raises(Exception, match=r"(?i)json|notebook"), html_renderer() as render:
        render(tmp_path / "broken.ipynb")

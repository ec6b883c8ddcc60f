"""Importing, ahead of time, what a notebook is about to import — in the kernel it will run in.

``ictaudit run`` starts each notebook's kernel while the previous notebook runs and sends it
:func:`warm_up_code` (a silent execution: no output, no history, no execution count). The modules
land in ``sys.modules`` and no name is bound in the notebook's namespace, so a notebook that forgot
an import still fails as it would in ``make lab``; its own import cells then cost nothing. Great
Expectations alone takes ~2.5 s to import, which notebook 01's run now hides.
"""

from __future__ import annotations

import ast
import importlib
import json
from pathlib import Path

#: library modules each notebook's step imports lazily (its own import lines do not show them)
STEP_IMPORTS: dict[str, tuple[str, ...]] = {
    "01_intake.ipynb": ("ictaudit.intake.submissions", "python_calamine"),
    "02_validate.ipynb": ("great_expectations", "ictaudit.validate.gx", "ictaudit.validate.corrections", "ictaudit.validate.confirmations"),
    "03_score.ipynb": ("ictaudit.score.scoring", "ictaudit.validate.corrections"),
    "06_robustness.ipynb": ("ictaudit.score.robustness", "ictaudit.report.robustness"),
    "04_report.ipynb": ("ictaudit.report.build", "ictaudit.report.html", "ictaudit.report.xlsx",
                        "ictaudit.report.documents.bao_cao", "ictaudit.report.documents.quyet_dinh",
                        "ictaudit.report.documents.pdf"),
    "05_agency_trace.ipynb": ("ictaudit.report.trace", "ictaudit.report.html"),
}


def notebook_imports(path: Path) -> list[str]:
    """The import statements of a notebook's code cells, as written (cells that do not parse are skipped)."""
    nb = json.loads(Path(path).read_text(encoding="utf-8"))
    lines: list[str] = []
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        try:
            tree = ast.parse("".join(cell["source"]))
        except SyntaxError:
            continue
        lines += [ast.unparse(node) for node in tree.body if isinstance(node, ast.Import | ast.ImportFrom)]
    return lines


def modules_to_warm(path: Path) -> list[str]:
    """What to import for the notebook at ``path``: ``a.b`` for ``import a.b``, ``a:b`` for ``from a import b``."""
    specs: list[str] = []
    for line in notebook_imports(path):
        node = ast.parse(line).body[0]
        if isinstance(node, ast.Import):
            specs += [alias.name for alias in node.names]
        elif node.level == 0 and node.module:  # relative imports mean nothing in a kernel
            specs += [f"{node.module}:{alias.name}" for alias in node.names if alias.name != "*"]
    specs += STEP_IMPORTS.get(Path(path).name, ())
    return list(dict.fromkeys(specs))


def warm_up_code(path: Path) -> str:
    """One expression for the kernel: imports the notebook's modules and binds no name."""
    return f"__import__('ictaudit.run.kernels.warmup', fromlist=['warm']).warm({modules_to_warm(path)!r})"


def warm(specs: list[str]) -> None:
    """Import every spec of :func:`modules_to_warm`; a failing one is left for the notebook to report."""
    for spec in specs:
        module, _, name = spec.partition(":")
        try:
            loaded = importlib.import_module(module)
            if name and not hasattr(loaded, name):
                importlib.import_module(f"{module}.{name}")  # ``from ictaudit import pipeline``
        except Exception:  # the notebook's own import raises it again, in its cell
            continue

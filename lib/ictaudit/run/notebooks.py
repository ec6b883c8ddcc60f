"""Executing the suite's notebooks with papermill, and rendering them to HTML with the code hidden.

papermill only warns about parameters a notebook does not declare; here they are an error. A failing
notebook stops the run with :class:`NotebookFailed`, naming the notebook and the cell; papermill has
already written the partial output notebook, which is kept (and rendered) for the audit record.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ictaudit.common.paths import NOTEBOOKS_DIR

KERNEL_NAME = "ictaudit"


class NotebookFailed(RuntimeError):
    """A notebook raised; names the notebook, the cell and the error, and where the output is."""

    def __init__(self, notebook: str, cell: int | None, error: str, output: Path):
        self.notebook, self.cell, self.error, self.output = notebook, cell, error, output
        where = f"cell {cell}" if cell is not None else "an unknown cell"
        super().__init__(f"notebook {notebook} failed in {where}: {error} (partial output kept in {output})")


class UnknownParameters(ValueError):
    pass


@dataclass(frozen=True)
class Executed:
    notebook: str
    output: Path
    html: Path
    parameters: dict[str, Any]
    seconds: float


def notebook_path(name: str) -> Path:
    path = NOTEBOOKS_DIR / name
    if not path.exists():
        raise FileNotFoundError(f"notebook {name} not found in {NOTEBOOKS_DIR}")
    return path


def declared_parameters(path: Path) -> dict[str, dict]:
    """The parameters a notebook declares in its ``parameters`` cell (name → papermill's description)."""
    import papermill

    return dict(papermill.inspect_notebook(str(path)))


def check_parameters(path: Path, parameters: dict[str, Any]) -> None:
    declared = declared_parameters(path)
    if unknown := sorted(set(parameters) - set(declared)):
        raise UnknownParameters(
            f"notebook {path.name} does not declare parameters {', '.join(unknown)}; "
            f"it declares: {', '.join(sorted(declared)) or 'none'}"
        )


@functools.cache
def kernel_name() -> str:
    """The project's kernel if installed (``make setup`` installs it), else the default python3.

    Looked up once per process (the lookup scans every kernel directory: ~0.1 s, twice per notebook).
    """
    from jupyter_client.kernelspec import KernelSpecManager

    return KERNEL_NAME if KERNEL_NAME in KernelSpecManager().find_kernel_specs() else "python3"


#: the kernel listens on loopback only; its start-up warning about unencrypted TCP would only alarm
#: the DIC staff reading the run's output
KERNEL_ARGUMENTS = ["--IPKernelApp.log_level=ERROR"]


def execute(
    name: str, parameters: dict[str, Any], out_dir: Path, cwd: Path | None = None, km=None,
    render: Callable[[Path], object] | None = None,
) -> Executed:  # fmt: skip
    """Run one notebook with papermill into ``out_dir`` (``.ipynb`` and code-hidden ``.html``).

    ``km``: a kernel from :func:`ictaudit.run.kernels.launch.start_kernel` to run it in (the caller
    stops it afterwards); None leaves papermill to start and stop one. ``render``: what to do with the
    executed notebook instead of :func:`render_html` now (with the speed tricks on, ``ictaudit run``
    hands it to a worker process and waits for the HTML before hashing the outputs); a failed
    notebook's HTML is always rendered here, before raising.
    """
    import papermill
    from papermill.exceptions import PapermillExecutionError

    src = notebook_path(name)
    check_parameters(src, parameters)
    out_dir.mkdir(parents=True, exist_ok=True)
    output = out_dir / name
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    started = time.perf_counter()
    try:
        papermill.execute_notebook(
            str(src),
            str(output),
            parameters=parameters,
            kernel_name=kernel_name(),
            progress_bar=False,
            log_output=False,
            cwd=str(cwd) if cwd else None,
            extra_arguments=list(KERNEL_ARGUMENTS),
            **({"km": km} if km is not None else {}),
        )
    except PapermillExecutionError as exc:
        render_html(output)  # the partial notebook is part of the audit record too
        raise NotebookFailed(name, _cell_number(output, exc), f"{exc.ename}: {exc.evalue}", output) from None
    if render is None:
        render_html(output)
    else:
        render(output)
    return Executed(name, output, output.with_suffix(".html"), dict(parameters), time.perf_counter() - started)


def _cell_number(output: Path, exc) -> int | None:
    """The 1-based position of the failing cell in the notebook as stored (papermill's banner and
    injected-parameters cells are not counted), so the number points at the cell a person edits."""
    import nbformat

    added = {"papermill-error-cell-tag", "injected-parameters"}
    try:
        nb = nbformat.read(str(output), as_version=4)
    except Exception:
        return None
    position = 0
    for cell in nb.cells:
        if added & set(cell.metadata.get("tags", [])):
            continue
        position += 1
        if cell.cell_type == "code" and any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
            return position
    return None


# what nbconvert's lab template emits for a code cell's source (markdown cells use neither)
_INPUT_MARKERS = re.compile(r'class="[^"]*\b(jp-CodeMirrorEditor|highlight hl-ipython3)\b')


@contextlib.contextmanager
def html_renderer() -> Iterator[Callable[[Path], object]]:
    """A ``render`` for :func:`execute` that renders in a forked worker while the next notebook runs.

    Enter it before any kernel starts (the worker forks at once, from a process without kernel
    connections, and imports nbconvert, ~1 s, beside the first notebook). Leaving waits for every
    HTML and raises the first rendering error. Without ``fork``, renders in this process.
    """
    if not hasattr(os, "fork"):
        yield render_html
        return
    from ictaudit.common.forked import forked_worker

    pending = []
    with forked_worker() as pool:
        pending.append(pool.submit(_import_nbconvert))
        try:
            yield lambda notebook: pending.append(pool.submit(render_html, notebook))
        finally:
            for future in pending:
                future.result()


def _import_nbconvert() -> None:
    import nbconvert  # noqa: F401


def render_html(notebook: Path) -> Path:
    """An HTML copy of an executed notebook with every code input hidden (outputs and markdown kept)."""
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(str(notebook), as_version=4)
    exporter = HTMLExporter(exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True)
    body, _ = exporter.from_notebook_node(nb)
    if _INPUT_MARKERS.search(body):  # nbconvert ignored the setting: never publish code silently
        raise RuntimeError(f"nbconvert left code inputs in the HTML of {notebook.name}")
    html = notebook.with_suffix(".html")
    html.write_text(body, encoding="utf-8")
    return html

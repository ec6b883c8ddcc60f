"""The library's shape: rooms by stage, arrows one way, rooms small enough to hold in mind.

``lib/ictaudit`` is one package per stage (docs/architecture.md). A room may import only the rooms
below it in :data:`ROOMS`; ``cli`` sits on top of all of them. These tests read the source (no
import), so they fail with the offending file and line.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "lib" / "ictaudit"

#: the stages, bottom first: each may import the ones before it, never one after it
ROOMS = ("common", "rules", "intake", "validate", "score", "report", "year", "run")
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 80

#: the only modules allowed to touch another library's private names (each pinned exactly in
#: pyproject.toml and tested against that version: docs/performance.md)
FENCED = {
    "report/xlsx_internals.py",
    "run/kernels/client.py",
}


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _rel(path: Path) -> str:
    return path.relative_to(PACKAGE).as_posix()


def _room(path: Path) -> str | None:
    parts = path.relative_to(PACKAGE).parts
    return parts[0] if len(parts) > 1 else None


def _imported(tree: ast.AST) -> list[tuple[int, str]]:
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "ictaudit":
                out += [(node.lineno, f"ictaudit.{a.name}") for a in node.names]
            elif node.module.startswith("ictaudit."):
                out.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names if a.name.startswith("ictaudit.")]
    return out


def test_every_module_lives_in_a_room():
    loose = [_rel(p) for p in _modules() if _room(p) is None and p.name not in ("__init__.py", "cli.py")]
    assert not loose, f"modules outside the rooms {ROOMS}: {loose}"
    unknown = sorted({_room(p) for p in _modules() if _room(p) not in (None, *ROOMS)})
    assert not unknown, f"rooms not in the order of tests/test_architecture.py ROOMS: {unknown}"


def test_every_room_opens_with_a_docstring_of_what_comes_in_and_goes_out():
    for room in ROOMS:
        doc = ast.get_docstring(ast.parse((PACKAGE / room / "__init__.py").read_text(encoding="utf-8")))
        assert doc and "In:" in doc and "Out:" in doc, f"{room}/__init__.py: say what comes in (In:) and goes out (Out:)"


def test_arrows_point_one_way():
    wrong = []
    for path in _modules():
        room = _room(path)
        if room is None:
            continue
        for line, module in _imported(ast.parse(path.read_text(encoding="utf-8"))):
            other = module.split(".")[1]
            if other in ROOMS and ROOMS.index(other) > ROOMS.index(room):
                wrong.append(f"{_rel(path)}:{line} ({room}) imports {module} ({other} is above it)")
            elif other == "cli":
                wrong.append(f"{_rel(path)}:{line} imports the command line")
    assert not wrong, "imports that point up the stages:\n" + "\n".join(wrong)


def test_no_import_circle_between_modules():
    graph: dict[str, set[str]] = {}
    for path in _modules():
        name = "ictaudit." + _rel(path)[:-3].replace("/", ".").removesuffix(".__init__")
        graph[name] = {m for _, m in _imported(ast.parse(path.read_text(encoding="utf-8")))}
    graph = {k: {m for m in v if m in graph and m != k} for k, v in graph.items()}
    seen: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> list[str] | None:
        seen[n] = 1
        stack.append(n)
        for m in sorted(graph[n]):
            if seen.get(m) == 1:
                return [*stack[stack.index(m):], m]
            if m not in seen and (cycle := visit(m)):
                return cycle
        seen[n] = 2
        stack.pop()
        return None

    for n in sorted(graph):
        if n not in seen and (cycle := visit(n)):
            pytest.fail("import circle: " + " → ".join(cycle))


def test_no_module_is_too_long_to_hold_in_mind():
    long = [f"{_rel(p)} ({n} lines)" for p in _modules() if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES]
    assert not long, f"modules over {MAX_MODULE_LINES} lines: {long}"


def _body_lines(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """Lines of a function without its docstring."""
    first = node.body[0]
    start = node.lineno
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
        start = first.end_lineno + 1 if len(node.body) > 1 else node.lineno
    return node.end_lineno - start + 1


def test_no_function_is_too_long_to_read():
    long = []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and (n := _body_lines(node)) > MAX_FUNCTION_LINES:
                long.append(f"{_rel(path)}:{node.lineno} {node.name} ({n} lines)")
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines:\n" + "\n".join(long)


def _own_private_names() -> set[str]:
    names: set[str] = set()
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.add(node.name)
            elif isinstance(node, ast.Name | ast.arg):
                names.add(node.id if isinstance(node, ast.Name) else node.arg)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                names.add(node.attr)
    return {n for n in names if n.startswith("_")}


def test_other_libraries_private_names_only_inside_the_fence():
    own = _own_private_names()
    found = []
    for path in _modules():
        if _rel(path) in FENCED:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute):
                name = node.attr
                if name.startswith("_") and not name.startswith("__") and name not in own:
                    found.append(f"{_rel(path)}:{node.lineno} .{name}")
            elif isinstance(node, ast.ImportFrom) and node.module and not node.module.startswith("ictaudit"):
                found += [f"{_rel(path)}:{node.lineno} from {node.module} import {a.name}"
                          for a in node.names if a.name.startswith("_") and not a.name.startswith("__")]
    assert not found, "another library's private names outside the fenced modules:\n" + "\n".join(found)

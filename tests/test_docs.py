"""The documents keep up with the code, and nothing in the repository points outside it."""

import re
import subprocess

from ictaudit.common.paths import PROJECT_ROOT

PACKAGE = PROJECT_ROOT / "lib" / "ictaudit"
ARCHITECTURE = PROJECT_ROOT / "docs" / "architecture.md"
ROOMS = ("common", "rules", "intake", "validate", "score", "report", "year", "run")

#: references to documents that are not in the repository (the briefs the project was built from)
OUTSIDE = re.compile(r"\.\./shared|/work/shared|\b(DOMAIN|DESIGN|STYLE|TOOLS)\.md|\b(DOMAIN|DESIGN)\s*§")

#: files allowed to cite outside documents: none (they cite docs/domain.md and docs/contracts.md)
PENDING: set[str] = set()


def _tree_paths() -> set[str]:
    """The paths drawn in the tree of docs/architecture.md, relative to lib/ictaudit/."""
    text = ARCHITECTURE.read_text(encoding="utf-8")
    block = text.split("## The tree", 1)[1].split("```", 2)[1]
    paths, stack = set(), []
    for line in block.splitlines():
        m = re.match(r"^((?:│   |    )*)[├└]── (\S+)", line)
        if not m:
            continue
        depth = len(m.group(1)) // 4
        stack[depth:] = [m.group(2)]
        paths.add("".join(stack).rstrip("/"))
    return paths


def test_the_architecture_tree_names_every_module_and_no_other():
    modules = {p.relative_to(PACKAGE).as_posix() for p in PACKAGE.rglob("*.py")}
    modules = {m for m in modules if m == "__init__.py" or not m.endswith("/__init__.py")}
    drawn = {p for p in _tree_paths() if p.endswith(".py")}
    assert sorted(modules - drawn) == [], "modules missing from docs/architecture.md's tree"
    assert sorted(drawn - modules) == [], "docs/architecture.md draws modules that do not exist"


def test_the_architecture_says_a_sentence_about_every_room():
    text = ARCHITECTURE.read_text(encoding="utf-8").split("## The rooms", 1)[1]
    assert [r for r in ROOMS if f"- **{r}** — " not in text] == []
    assert set(ROOMS) <= _tree_paths()


def test_nothing_in_the_repository_points_outside_it():
    files = subprocess.run(["git", "-C", str(PROJECT_ROOT), "ls-files"], capture_output=True, text=True, check=True)
    citing = set()
    for name in files.stdout.splitlines():
        path = PROJECT_ROOT / name
        if name == "tests/test_docs.py" or not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # a workbook or another binary file
        if OUTSIDE.search(text):
            citing.add(name)
    assert sorted(citing - PENDING) == [], "cite docs/domain.md or docs/contracts.md instead"
    assert sorted(PENDING - citing) == [], "these no longer cite outside documents: remove them from PENDING"

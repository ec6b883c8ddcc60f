"""``manifest.json``: what a run read, with what, and what it produced (docs/contracts.md §7).

Inputs are hashed **before** any processing. Outputs are split in two:
- ``outputs``: the tables and reports that must come out byte-identical from the same inputs
  (``data/scored/`` tables, report.html, report.xlsx, agency pages, confirmation workbooks, the
  documents' .docx and particulars.json) —
  ``ictaudit verify`` recomputes and compares these;
- ``records``: executed notebooks, GX Data Docs and results JSON, which carry timestamps by nature, and
  the official documents' PDFs (their .docx are outputs); hashed for the record, not expected to
  reproduce. The Vietnamese validation page (``validation/index.html``) is built from the scored
  tables, so it is an output.
The run's wall-clock times live here only, never inside a hashed output.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata
from pathlib import Path

from ictaudit import __version__
from ictaudit.common.paths import PROJECT_ROOT

MANIFEST_VERSION = 1
KEY_PACKAGES = (
    "ictaudit", "pandas", "numpy", "great_expectations", "papermill", "nbconvert", "nbclient", "ipykernel",
    "openpyxl", "xlsxwriter", "python-calamine", "defusedxml", "pyyaml", "pydantic", "jinja2", "python-docx", "lxml",
)  # fmt: skip


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def hash_tree(root: Path, base: Path | None = None, skip: tuple[str, ...] = ()) -> dict[str, str]:
    """sha256 of every file under ``root``, keyed by its path relative to ``base`` (default ``root``).

    Symbolic links are never followed: one is recorded as ``symlink → target``. A file that cannot
    be read is recorded as ``unreadable: reason`` (intake reports it for its agency; the record says
    it was there).
    """
    root, base = Path(root), Path(base or root)
    out, regular = {}, []
    for folder, dirs, files in os.walk(root, followlinks=False):
        here = Path(folder)
        dirs[:] = sorted(d for d in dirs if d not in skip)
        for name in [*files, *(d for d in dirs if (here / d).is_symlink())]:
            p = here / name
            if any(part in skip for part in p.relative_to(root).parts):
                continue
            rel = p.relative_to(base).as_posix()
            if p.is_symlink():
                out[rel] = f"symlink → {os.readlink(p)}"
                continue
            regular.append((rel, p))
    # hashlib and file reads release the GIL: a national cycle's 10,000 files hash on every core
    with ThreadPoolExecutor(max_workers=HASH_THREADS) as pool:
        for rel, digest in zip((r for r, _ in regular), pool.map(_digest_or_reason, (p for _, p in regular))):
            out[rel] = digest
    return dict(sorted(out.items()))


HASH_THREADS = 4


def _digest_or_reason(path: Path) -> str:
    try:
        return sha256_file(path)
    except OSError as exc:
        return f"unreadable: {exc.strerror or exc}"


def package_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in KEY_PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def git_revision(root: Path = PROJECT_ROOT) -> dict[str, object]:
    """The checkout's commit and whether it had uncommitted changes (None outside a git checkout)."""

    def git(*args: str) -> str | None:
        try:
            proc = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=10, check=False)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return proc.stdout.strip() if proc.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": bool(status) if status is not None else None}


def rubric_inputs(rubric_file: Path) -> list[Path]:
    """The files a rubric is read and checked from: its own, its base's (when derived), and the version
    registry it is checked against (:mod:`ictaudit.rules.versions`), when there is one."""
    from ictaudit.rules.rubric import rubric_files
    from ictaudit.rules.versions import registry_path

    registry = registry_path(rubric_file)
    return [*rubric_files(rubric_file), *([registry] if registry.is_file() else [])]


def input_hashes(cycle_dir: Path, rubric_file: Path, suites: list[Path], notebooks: list[Path]) -> dict[str, dict[str, str]]:
    """Hashes of everything a run reads, grouped: the cycle's files (last year's published results under
    its ``previous/`` among them), the rubric, the suites, the notebooks."""
    return {
        "cycle": hash_tree(cycle_dir),
        "rubric": {p.name: sha256_file(p) for p in rubric_inputs(rubric_file)},  # a derived rubric's base too
        "expectations": {p.name: sha256_file(p) for p in sorted(suites)},
        "notebooks": {p.name: sha256_file(p) for p in sorted(notebooks)},
    }


#: files under the records' folders that are built from the scored tables alone, so reproduce byte for byte
REPRODUCIBLE_RECORDS_EXCEPTIONS = ("validation/index.html",)


def output_hashes(scored_dir: Path, out_dir: Path) -> tuple[dict[str, str], dict[str, str]]:
    """(outputs, records): the reproducible tables and reports, and the rest of the run's files."""
    outputs = {f"scored/{k}": v for k, v in hash_tree(scored_dir).items()}
    records = {}
    for rel, digest in hash_tree(out_dir, skip=("manifest.json",)).items():
        top = rel.split("/", 1)[0]
        if rel in REPRODUCIBLE_RECORDS_EXCEPTIONS:
            outputs[f"out/{rel}"] = digest
        elif top in ("notebooks", "validation") or rel.startswith(".") or is_document_print(rel):
            records[f"out/{rel}"] = digest
        else:
            outputs[f"out/{rel}"] = digest
    return outputs, records


def is_document_print(rel: str) -> bool:
    """An official document's PDF (``documents/*.pdf``): LibreOffice's print of a hashed .docx, the same
    bytes on one machine but not across LibreOffice versions or fonts — a record, not an output."""
    return rel.startswith("documents/") and rel.endswith(".pdf")


def write_manifest(path: Path, manifest: dict) -> Path:
    manifest = {"manifest_version": MANIFEST_VERSION, "ictaudit_version": __version__, **manifest}
    path.write_text(json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    return path


def read_manifest(run_dir: Path) -> dict:
    path = Path(run_dir) / "manifest.json"
    if not path.exists():
        raise FileNotFoundError(f"no manifest.json in {run_dir}: is it the output folder of `ictaudit run`?")
    return json.loads(path.read_text(encoding="utf-8"))


def all_distributions() -> dict[str, str]:
    """Every installed distribution and its version (what ``pip freeze`` would list), sorted."""
    out = {}
    for dist in metadata.distributions():
        name = dist.metadata.get("Name")
        if name:
            out[name.lower()] = dist.version
    return dict(sorted(out.items()))


def environment() -> dict[str, object]:
    lock = PROJECT_ROOT / "requirements.lock"
    return {
        "packages": package_versions(),
        "platform": platform.platform(),
        "executable": sys.executable,
        "requirements_lock_sha256": sha256_file(lock) if lock.exists() else None,
        "distributions": all_distributions(),
    }


def environment_differences(recorded: dict) -> list[str]:
    """How this environment differs from a recorded one (package versions, lock file)."""
    now = environment()
    notes = []
    before, after = recorded.get("distributions", {}), now["distributions"]
    for name in sorted(set(before) | set(after)):
        if before.get(name) != after.get(name):
            notes.append(f"{name}: {before.get(name, 'absent')} at the run, {after.get(name, 'absent')} now")
    if recorded.get("requirements_lock_sha256") != now["requirements_lock_sha256"]:
        notes.append("requirements.lock differs from the one installed at the run")
    return notes

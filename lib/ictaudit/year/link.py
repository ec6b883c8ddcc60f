"""Link last year's published results into a cycle folder: ``previous/`` and the ``previous:`` block.

In: a finished run of last year (its ``manifest.json`` names its cycle folder and its scored folder)
and this year's cycle folder. Out: under ``<cycle>/previous/`` copies of what that run published —
``scores.csv`` and ``values.csv`` (its scored folder), ``agencies.csv`` (its roster), ``manifest.json``
— each checked against the sha256 the run's manifest recorded, and a ``previous:`` block at the end of
``cycle.yaml`` listing each copy with its sha256 (:data:`ictaudit.intake.cycle.PREVIOUS_FILES`, read
back and checked by :func:`ictaudit.intake.cycle.read_previous`).

This is how the bundled sample 2017 gets last year's results from a run of the bundled 2016
(``make sample-years``); ``ictaudit init`` links a new year's cycle the same way. A file that no
longer matches what the run recorded is refused, naming it: the comparison must rest on the
results as published, not on a table edited since.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

from ictaudit.intake.cycle import AGENCIES_FILE, CYCLE_FILE, PREVIOUS_DIR, PREVIOUS_FILES, CycleError

#: the first line of the block :func:`link_previous_results` appends to cycle.yaml (and strips again)
BLOCK_MARK = "# Last year's published results, linked by ictaudit (previous/; do not edit the files):"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def published_files(run_dir: Path) -> dict[str, tuple[Path, str | None]]:
    """Each file of :data:`PREVIOUS_FILES` in the run, with the sha256 its manifest recorded (None: the manifest itself)."""
    run_dir = Path(run_dir)
    manifest_path = run_dir / "manifest.json"
    if not manifest_path.is_file():
        raise CycleError(f"{run_dir}: no manifest.json — is it the output folder of a finished `ictaudit run`?")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    scored, cycle = Path(manifest["paths"]["scored"]), Path(manifest["cycle"]["dir"])
    return {
        "scores.csv": (scored / "scores.csv", manifest["outputs"].get("scored/scores.csv")),
        "values.csv": (scored / "values.csv", manifest["outputs"].get("scored/values.csv")),
        "agencies.csv": (cycle / AGENCIES_FILE, manifest["inputs"]["cycle"].get(AGENCIES_FILE)),
        "manifest.json": (manifest_path, None),
    }


def strip_previous_block(text: str) -> str:
    """``cycle.yaml``'s text without the block :func:`link_previous_results` appended."""
    at = text.find("\n" + BLOCK_MARK)
    return text if at < 0 else text[:at]


def link_previous_results(cycle_dir: Path, run_dir: Path) -> dict[str, str]:
    """Copy last year's published results of ``run_dir`` into ``cycle_dir/previous/`` and link them in
    ``cycle.yaml`` (an earlier link is replaced); return ``{file: sha256}``.

    Raises :class:`CycleError` when a file is missing or differs from what the run's manifest recorded.
    """
    cycle_dir, run_dir = Path(cycle_dir), Path(run_dir)
    files = published_files(run_dir)
    digests = {}
    for name, (source, recorded) in files.items():
        if not source.is_file():
            raise CycleError(f"{source}: missing; the run {run_dir} published it as its {name}")
        digests[name] = _sha256(source)
        if recorded is not None and digests[name] != recorded:
            raise CycleError(
                f"{source}: changed since the run {run_dir} (sha256 {digests[name][:12]}…, its manifest recorded "
                f"{recorded[:12]}…); link last year's results only as they were published"
            )
    manifest = json.loads(files["manifest.json"][0].read_text(encoding="utf-8"))
    year = int(manifest["cycle"]["year"])
    folder = cycle_dir / PREVIOUS_DIR
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir()
    for name in PREVIOUS_FILES:
        shutil.copyfile(files[name][0], folder / name)
    yaml_path = cycle_dir / CYCLE_FILE
    text = strip_previous_block(yaml_path.read_text(encoding="utf-8")).rstrip("\n") + "\n"
    block = [
        BLOCK_MARK,
        "previous:",
        f"  year: {year}",
        f"  folder: {PREVIOUS_DIR}",
        "  sha256:",
        *(f"    {name}: {digests[name]}" for name in PREVIOUS_FILES),
    ]
    yaml_path.write_text(text + "\n" + "\n".join(block) + "\n", encoding="utf-8")
    return {name: digests[name] for name in PREVIOUS_FILES}

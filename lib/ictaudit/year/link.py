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

import json
import shutil
from pathlib import Path

from ictaudit.intake.cycle import CYCLE_FILE, PREVIOUS_DIR, PREVIOUS_FILES, CycleError, load_cycle
from ictaudit.year.init import MANIFEST_FILE, NoPublishedResults, PreviousLink, find_published_results

#: the first line of the block :func:`link_previous_results` appends to cycle.yaml (and strips again)
BLOCK_MARK = "# Last year's published results, linked by ictaudit (previous/; do not edit the files):"


def published_results(run_dir: Path) -> PreviousLink:
    """The published results of the finished run in ``run_dir``, checked as ``ictaudit init`` checks
    them (:func:`ictaudit.year.init.find_published_results`) against the cycle folder its manifest names."""
    run_dir = Path(run_dir)
    try:
        cycle_dir = Path(json.loads((run_dir / MANIFEST_FILE).read_text(encoding="utf-8"))["cycle"]["dir"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CycleError(
            f"{run_dir}: không đọc được manifest.json — đây có phải là thư mục kết quả của một lần `ictaudit run` đã chạy xong không? ({exc})"
        ) from None
    try:
        return find_published_results(load_cycle(cycle_dir), run_dir)
    except NoPublishedResults as exc:
        raise CycleError(f"{run_dir}: {exc}") from None


def strip_previous_block(text: str) -> str:
    """``cycle.yaml``'s text without the block :func:`link_previous_results` appended."""
    at = text.find("\n" + BLOCK_MARK)
    return text if at < 0 else text[:at]


def link_previous_results(cycle_dir: Path, run_dir: Path) -> dict[str, str]:
    """Copy last year's published results of ``run_dir`` into ``cycle_dir/previous/`` and link them in
    ``cycle.yaml`` (an earlier link is replaced); return ``{file: sha256}``.

    Raises :class:`CycleError` when a file is missing or differs from what the run's manifest recorded,
    or when last year's cycle folder has changed since that run.
    """
    cycle_dir = Path(cycle_dir)
    link = published_results(run_dir)
    folder = cycle_dir / PREVIOUS_DIR
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir()
    for name in PREVIOUS_FILES:
        shutil.copyfile(link.sources[name], folder / name)
    digests, year = link.sha256, link.year
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

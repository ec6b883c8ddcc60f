"""``ictaudit verify RUN_DIR``: recompute a run from its recorded inputs and compare with its manifest.

1. Every recorded input (cycle files, previous cycle, rubric, expectation suites, notebooks) is
   hashed again; a file changed, missing or added since the run is named.
2. The whole suite runs again, with the recorded parameters and seed, into a temporary folder.
3. Every reproducible output (scored tables, reports, agency pages, confirmation workbooks) is
   compared with the hash the manifest recorded; for a table that differs, the differing cells are
   printed (against the run's own copy when it is still there).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ictaudit.common.paths import EXPECTATIONS_DIR, NOTEBOOKS_DIR
from ictaudit.run import manifest as mf

MAX_CELLS_SHOWN = 10


@dataclass
class VerifyReport:
    run_dir: Path
    input_problems: list[str] = field(default_factory=list)
    output_differences: list[str] = field(default_factory=list)
    details: list[str] = field(default_factory=list)
    environment_notes: list[str] = field(default_factory=list)
    outputs_checked: int = 0

    run_folder_problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.input_problems and not self.output_differences and not self.run_folder_problems

    def text(self) -> str:
        lines = [f"verify {self.run_dir}"]
        if self.input_problems:
            lines.append("inputs no longer match the manifest:")
            lines += [f"  - {p}" for p in self.input_problems]
        if self.run_folder_problems:
            lines.append("the run's own files no longer match its manifest (changed after the run):")
            lines += [f"  - {p}" for p in self.run_folder_problems]
        if self.output_differences:
            lines.append("recomputed outputs differ from the manifest:")
            lines += [f"  - {p}" for p in self.output_differences]
            lines += [f"    {d}" for d in self.details]
        if self.environment_notes:
            lines.append("note: this environment differs from the run's (a reason if outputs differ):")
            lines += [f"  - {n}" for n in self.environment_notes[:20]]
            if len(self.environment_notes) > 20:
                lines.append(f"  - … and {len(self.environment_notes) - 20} more")
        if self.ok:
            lines.append(f"OK: all inputs match and {self.outputs_checked} outputs were reproduced byte for byte")
        else:
            lines.append("FAILED: the run cannot be reproduced from what it recorded")
        return "\n".join(lines)


def compare_hashes(recorded: dict[str, str], current: dict[str, str], what: str) -> list[str]:
    problems = []
    for name in sorted(set(recorded) | set(current)):
        if name not in current:
            problems.append(f"{what} {name}: missing (recorded sha256 {recorded[name][:12]}…)")
        elif name not in recorded:
            problems.append(f"{what} {name}: not in the manifest (added after the run)")
        elif recorded[name] != current[name]:
            problems.append(f"{what} {name}: sha256 {current[name][:12]}… ≠ recorded {recorded[name][:12]}…")
    return problems


def check_inputs(manifest: dict) -> list[str]:
    inputs = manifest["inputs"]
    problems = compare_hashes(inputs["cycle"], _hash_or_empty(Path(manifest["cycle"]["dir"])), "cycle file")
    rubric_file = Path(manifest["rubric"]["file"])
    current = {p.name: mf.sha256_file(p) for p in mf.rubric_inputs(rubric_file) if p.exists()}
    problems += compare_hashes(inputs["rubric"], current, "rubric")
    suites = {p.name: mf.sha256_file(p) for p in EXPECTATIONS_DIR.glob("*.json")}
    problems += compare_hashes(inputs["expectations"], suites, "expectation suite")
    notebooks = {n: mf.sha256_file(NOTEBOOKS_DIR / n) for n in inputs["notebooks"] if (NOTEBOOKS_DIR / n).exists()}
    problems += compare_hashes(inputs["notebooks"], notebooks, "notebook")
    return problems


def check_run_folder(run_dir: Path, manifest: dict) -> list[str]:
    """The tables and reports as they lie in the run's folders, against the hashes the run recorded."""
    present, _ = mf.output_hashes(Path(manifest["paths"]["scored"]), run_dir)
    return compare_hashes(manifest["outputs"], present, "run file")


def _hash_or_empty(root: Path) -> dict[str, str]:
    return mf.hash_tree(root) if root.exists() else {}


def diff_tables(old: Path, new: Path, limit: int = MAX_CELLS_SHOWN) -> list[str]:
    """Cell-level differences between two CSV tables of the same contract (first ``limit``)."""
    from ictaudit.common.tables import read_csv

    a, b = read_csv(old), read_csv(new)
    if list(a.columns) != list(b.columns):
        return [f"columns differ: {list(a.columns)} vs {list(b.columns)}"]
    out = []
    if len(a) != len(b):
        out.append(f"{len(a)} rows recorded, {len(b)} recomputed")
    n = min(len(a), len(b))
    key = a.columns[0]
    diff = (a.iloc[:n] != b.iloc[:n]).to_numpy()
    for i, j in zip(*diff.nonzero()):
        col = a.columns[j]
        out.append(f"row {i + 2} ({key}={a.iat[i, 0]}) {col}: {a.iat[i, j]!r} → {b.iat[i, j]!r}")
        if len(out) >= limit:
            out.append("…")
            break
    return out


def verify_run(run_dir: Path, keep: Path | None = None) -> VerifyReport:
    """Recompute the run in a temporary place (or ``keep``) and compare; see the module docstring."""
    from ictaudit.run.suite import RUN_ORDER, run_cycle

    run_dir = Path(run_dir).resolve()
    manifest = mf.read_manifest(run_dir)
    report = VerifyReport(run_dir)
    report.input_problems = check_inputs(manifest)
    report.run_folder_problems = check_run_folder(run_dir, manifest)
    report.environment_notes = mf.environment_differences(manifest.get("environment", {}))
    cycle_dir = Path(manifest["cycle"]["dir"])
    if not (cycle_dir / "cycle.yaml").exists():
        report.input_problems.append(f"cycle folder {cycle_dir} is gone: nothing to recompute from")
        return report
    seeds = manifest.get("seeds", {})
    run_notebooks = tuple(n["name"] for n in manifest["notebooks"]) or RUN_ORDER
    with tempfile.TemporaryDirectory(prefix="ictaudit-verify-") as tmp:
        base = Path(keep) if keep else Path(tmp)
        out, scored = base / "out", base / "scored"
        run_cycle(
            cycle_dir, out=out, scored=scored, seed=seeds.get("robustness", 0),
            draws=seeds.get("robustness_draws", 1000), spread=seeds.get("robustness_spread", 0.25),
            progress=False, notebooks=run_notebooks,
        )  # fmt: skip
        recomputed, _ = mf.output_hashes(scored, out)
        recorded = manifest["outputs"]
        report.outputs_checked = len(recorded)
        report.output_differences = compare_hashes(recorded, recomputed, "output")
        original_scored = Path(manifest["paths"]["scored"])
        for name in sorted(set(recorded) & set(recomputed)):
            if recorded[name] == recomputed[name] or not name.endswith(".csv") or not name.startswith("scored/"):
                continue
            rel = name.removeprefix("scored/")
            old = original_scored / rel
            if old.exists() and mf.sha256_file(old) == recorded[name]:
                report.details += [f"{name}: {d}" for d in diff_tables(old, scored / rel)]
            else:
                report.details.append(f"{name}: the run's own copy is gone or changed, no cell comparison")
    return report


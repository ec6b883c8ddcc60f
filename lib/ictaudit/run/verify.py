"""``ictaudit verify RUN_DIR``: recompute a run from its recorded inputs and compare with its manifest.

1. Every recorded input (cycle files, previous cycle, rubric, expectation suites, notebooks) is
   hashed again; a file changed, missing or added since the run is named.
2. The whole suite runs again, with the recorded parameters and seed, into a temporary folder.
3. Every reproducible output (scored tables, reports, agency pages, confirmation workbooks) is
   compared with the hash the manifest recorded; for a table that differs, each row's own differing
   cells are printed, rows matched on the table's key (agency; agency × field, × indicator, …), never
   on their position, and a changed row order is named as such (against the run's own copy when it
   is still there).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ictaudit.common.paths import EXPECTATIONS_DIR, NOTEBOOKS_DIR
from ictaudit.run import manifest as mf


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


#: the columns that name a row of each scored table (docs/contracts.md §6): tables are compared row by
#: row on these, never by position, so that a shifted rank shows as each agency's own differences
TABLE_KEYS = {
    "statuses.csv": ("agency_id",),
    "scores.csv": ("agency_id",),
    "values.csv": ("agency_id", "field"),
    "values_submitted.csv": ("agency_id", "field"),
    "trail.csv": ("agency_id", "indicator_id"),
    "criteria.csv": ("agency_id", "criterion_id"),
    "issues.csv": ("agency_id", "check_id", "round", "fields"),
    "corrections.csv": ("correction_id",),
    "intake_problems.csv": ("agency_id", "file", "sheet", "cell", "code"),
    "robustness.csv": ("agency_id",),
    "robustness_loo.csv": ("agency_id", "criterion_id"),
    "robustness_loo_summary.csv": ("group", "criterion_id"),
    "previous_links.csv": ("agency_id", "predecessor_id"),
    "previous_values.csv": ("agency_id", "field"),
}
MAX_ROWS_SHOWN = 20
MAX_CELLS_PER_ROW = 12


def _keyed(df, key: list[str]):
    """``df`` indexed by its key columns plus each key's occurrence (a key that repeats stays apart)."""
    occurrence = df.groupby(key, sort=False).cumcount().astype(str).rename("#")
    return df.set_index([*(df[k] for k in key), occurrence])


def _label(key: list[str], index: tuple) -> str:
    parts = [f"{k}={v}" if i else str(v) for i, (k, v) in enumerate(zip(key, index))]
    return (" × ".join(parts) or "(blank)") + (f" (#{int(index[-1]) + 1})" if index[-1] != "0" else "")


def diff_tables(old: Path, new: Path, limit: int = MAX_ROWS_SHOWN) -> list[str]:
    """What differs between a recorded and a recomputed table of the same contract, row by row on the
    table's key (:data:`TABLE_KEYS`; another table by its first column): each row's own differing cells,
    rows in one table only, and a changed row order (the contract says the tables are sorted)."""
    from ictaudit.common.tables import read_csv

    a, b = read_csv(old), read_csv(new)
    if list(a.columns) != list(b.columns):
        return [f"columns differ: {list(a.columns)} recorded, {list(b.columns)} recomputed"]
    key = [c for c in TABLE_KEYS.get(Path(old).name, ()) if c in a.columns] or [a.columns[0]]
    ka, kb = _keyed(a, key), _keyed(b, key)
    rows: list[str] = []
    common = [i for i in ka.index if i in kb.index]
    kb_common = kb.loc[common]
    for i, (x, y) in enumerate(zip(ka.loc[common].itertuples(index=False), kb_common.itertuples(index=False))):
        cells = [f"{c}: {u!r} → {v!r}" for c, u, v in zip(a.columns, x, y) if u != v and c not in key]
        if cells:
            shown = cells[:MAX_CELLS_PER_ROW] + ([f"… {len(cells) - MAX_CELLS_PER_ROW} more"] if len(cells) > MAX_CELLS_PER_ROW else [])
            rows.append(f"{_label(key, common[i])}: " + "; ".join(shown))
    rows += [f"{_label(key, i)}: only in the recorded table" for i in ka.index if i not in kb.index]
    rows += [f"{_label(key, i)}: only in the recomputed table" for i in kb.index if i not in ka.index]
    counted = "1 row differs" if len(rows) == 1 else f"{len(rows)} rows differ"
    out = [f"{counted} (compared by {', '.join(key)})"] if rows else []
    out += rows[:limit] + ([f"… and {len(rows) - limit} more rows"] if len(rows) > limit else [])
    order_a = [i for i in ka.index if i in kb.index]
    order_b = [i for i in kb.index if i in ka.index]
    if order_a != order_b:
        at = next(n for n, (u, v) in enumerate(zip(order_a, order_b)) if u != v)
        out.append(
            f"rows in another order than recorded (the contract says the table is sorted): from row {at + 2}, "
            f"recorded {_label(key, order_a[at])}, recomputed {_label(key, order_b[at])}"
        )
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
            progress=False, notebooks=run_notebooks, notes=False,
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


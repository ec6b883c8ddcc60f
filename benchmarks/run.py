"""The suite at province, ministry and commune size, measured against the cost of reading the forms.

    .venv/bin/python benchmarks/run.py [--sizes 35,2200,10000] [--seed 2017] [--work benchmarks/.work]

For each size N:

1. a synthetic cycle of N agencies (``ictaudit sample --agencies N --seed S``), cached in
   ``<work>/cycles/n<N>-s<S>/2017`` and reused by later runs with the same size and seed;
2. ``ictaudit run`` on it, as a subprocess, as a user would; wall time, and the peak memory of the
   whole process tree (the run, every kernel it starts and their workers), polled with psutil every
   0.1 s: the sum of the proportional set sizes (PSS, ``/proc/<pid>/smaps_rollup``: shared pages
   split among the processes sharing them, so the sum is the tree's physical memory), and for
   comparison the sum of resident set sizes (RSS, which counts shared pages once per process);
3. the time of each stage: the manifest's seconds per notebook, split with the step timings the
   pipeline writes to ``out/notebooks/steps.jsonl`` (``ictaudit.common.timings``); what a notebook spent
   outside its steps is its start-up (kernel, imports, papermill, the HTML rendering of the record);
4. the **floor**, measured in the same session: reading the ``Số liệu`` sheet of every submission with
   python-calamine, plus starting one kernel per notebook (papermill, the project's kernel, started as
   the run starts its kernels) that only imports what that notebook imports (its own import lines
   and the library modules its step loads).
   The ratio run / floor says how close the suite is to the unavoidable cost;
5. scoring alone on the run's confirmed values: the vectorised core (``score_points`` per group) and
   the full ``score_cycle`` with the Vietnamese trail, in indicator evaluations (agency × indicator)
   per second.

Prints a block per size, then a markdown table; writes ``<work>/results.json`` and ``results.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ictaudit.run.suite import RUN_ORDER

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
YEAR = 2017
STAGE_OF_NOTEBOOK = {
    "01_intake.ipynb": "intake",
    "02_validate.ipynb": "validation",
    "03_score.ipynb": "scoring",
    "06_robustness.ipynb": "robustness",
    "04_report.ipynb": "reports",
}
STEP_PREFIX = {"intake": "intake.", "validation": "validate.", "scoring": "score.", "robustness": "robustness.",
               "reports": "report."}  # fmt: skip
SHEET = "Số liệu"
POLL_SECONDS = 0.1


# -- the cycles ------------------------------------------------------------------------------------


def ensure_cycle(work: Path, n: int, seed: int) -> tuple[Path, float | None]:
    """The cached cycle folder of ``n`` agencies (generated when absent); seconds spent generating."""
    final = work / "cycles" / f"n{n}-s{seed}"
    if (final / str(YEAR) / "cycle.yaml").exists():
        return final / str(YEAR), None
    partial = final.with_name(final.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    t0 = time.perf_counter()
    subprocess.run(
        [str(BIN / "ictaudit"), "sample", "--year", str(YEAR), "--out", str(partial / str(YEAR)),
         "--agencies", str(n), "--seed", str(seed)],
        check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    partial.rename(final)
    return final / str(YEAR), time.perf_counter() - t0


# -- the run ---------------------------------------------------------------------------------------


def tree_memory(proc) -> tuple[int, int]:
    """(sum of RSS, sum of PSS) of ``proc`` and all its descendants, in bytes.

    PSS (proportional set size, from ``/proc/<pid>/smaps_rollup``) shares each page among the
    processes mapping it, so the sum is the physical memory of the tree; the sum of RSS counts shared
    pages (libraries, and a forked worker's copy-on-write view of its parent) once per process.
    Processes that vanish between listing and reading count 0.
    """
    import psutil

    rss = pss = 0
    try:
        procs = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return 0, 0
    for p in procs:
        with contextlib.suppress(psutil.Error):
            info = p.memory_full_info()
            rss += info.rss
            pss += getattr(info, "pss", info.rss)
    return rss, pss


def run_suite(cycle: Path, run_dir: Path) -> dict:
    """``ictaudit run`` as a subprocess; wall seconds, peak tree RSS, the manifest and the step timings."""
    import psutil

    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    out, scored = run_dir / "out", run_dir / "scored"
    env = {**os.environ, "GX_ANALYTICS_ENABLED": "false", "PYTHONHASHSEED": "0"}
    cmd = [str(BIN / "ictaudit"), "run", "--cycle", str(cycle), "--out", str(out), "--scored", str(scored), "--quiet"]
    t0 = time.perf_counter()
    popen = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    proc = psutil.Process(popen.pid)
    peak_rss = peak_pss = 0
    while popen.poll() is None:
        rss, pss = tree_memory(proc)
        peak_rss, peak_pss = max(peak_rss, rss), max(peak_pss, pss)
        time.sleep(POLL_SECONDS)
    wall = time.perf_counter() - t0
    _stdout, stderr = popen.communicate()
    if popen.returncode != 0:
        raise SystemExit(f"ictaudit run failed ({popen.returncode}) on {cycle}:\n{stderr.decode()[-4000:]}")
    from ictaudit.common.timings import TIMINGS_FILE, read_timings

    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    return {
        "wall_s": wall,
        "peak_rss_bytes": peak_rss,
        "peak_pss_bytes": peak_pss,
        "manifest_run_s": manifest["run"]["seconds"],
        "notebooks": {nb["name"]: nb["seconds"] for nb in manifest["notebooks"]},
        "steps": read_timings(out / "notebooks" / TIMINGS_FILE),
        "out": str(out),
        "scored": str(scored),
        "sizes": {
            "report.html": _size(out / "report.html"),
            "report.xlsx": _size(out / "report.xlsx"),
            "agencies/": _tree_size(out / "agencies"),
            "validation/": _tree_size(out / "validation"),
            "confirmations/": _tree_size(out / "confirmations"),
        },
    }


def _size(p: Path) -> int:
    return p.stat().st_size if p.exists() else 0


def _tree_size(p: Path) -> int:
    return sum(f.stat().st_size for f in p.rglob("*") if f.is_file()) if p.exists() else 0


def stages(result: dict) -> dict[str, dict[str, float]]:
    """Per stage: the notebook's seconds, the seconds inside its steps, and the rest (start-up)."""
    out = {}
    for nb, stage in STAGE_OF_NOTEBOOK.items():
        total = result["notebooks"].get(nb, 0.0)
        prefix = STEP_PREFIX[stage]
        inside = sum(s for k, s in result["steps"].items() if k.startswith(prefix) and k.count(".") == 1)
        out[stage] = {"notebook_s": total, "step_s": inside, "startup_s": max(0.0, total - inside)}
    return out


# -- the floor -------------------------------------------------------------------------------------


def read_floor(cycle: Path) -> tuple[float, int]:
    """Seconds to open every submission with python-calamine and read its ``Số liệu`` sheet."""
    from python_calamine import CalamineWorkbook

    files = sorted(p for p in (cycle / "submissions").iterdir() if p.is_file())
    t0 = time.perf_counter()
    cells = 0
    for path in files:
        try:
            rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(SHEET).to_python()
        except Exception:  # a broken or foreign file costs its open attempt, like in intake
            continue
        cells += sum(len(r) for r in rows)
    return time.perf_counter() - t0, len(files)


def notebook_imports(name: str) -> list[str]:
    """The import statements of a notebook's code cells, plus the modules its library step loads
    (what ``ictaudit run`` warms each kernel with, :mod:`ictaudit.run.kernels.warmup`)."""
    from ictaudit.run.kernels.warmup import STEP_IMPORTS
    from ictaudit.run.kernels.warmup import notebook_imports as own_lines

    return [*own_lines(ROOT / "notebooks" / name), *(f"import {m}" for m in STEP_IMPORTS[name])]


def kernel_floor(tmp: Path) -> dict[str, float]:
    """Seconds to run, with papermill and the project's kernel, a notebook that only imports.

    The kernel is started as ``ictaudit run`` starts its kernels (:func:`ictaudit.run.kernels.launch.start_kernel`:
    Unix sockets, and the exact readiness check of :mod:`ictaudit.run.kernels.client` instead of
    jupyter_client's 0.2 s of IOPub silence), so the floor holds no wait the run does not have; it is
    stopped after the clock, as the run reaps its kernels at the end.
    """
    import nbformat
    import papermill

    from ictaudit.run.kernels.launch import start_kernel, stop_kernel
    from ictaudit.run.notebooks import kernel_name

    out = {}
    kernel = kernel_name()
    for name in RUN_ORDER:
        nb = nbformat.v4.new_notebook()
        nb.metadata["kernelspec"] = {"name": kernel, "display_name": kernel, "language": "python"}
        nb.cells = [nbformat.v4.new_code_cell("\n".join(notebook_imports(name)))]
        src, dst = tmp / f"floor_{name}", tmp / f"floor_out_{name}"
        nbformat.write(nb, str(src))
        t0 = time.perf_counter()
        km = start_kernel(ROOT)
        try:
            papermill.execute_notebook(str(src), str(dst), kernel_name=kernel, progress_bar=False, log_output=False,
                                       cwd=str(ROOT), km=km)  # fmt: skip
            out[name] = time.perf_counter() - t0
        finally:
            stop_kernel(km)
    return out


# -- scoring alone ---------------------------------------------------------------------------------


def scoring_rate(cycle: Path, scored: Path) -> dict[str, float]:
    """Indicator evaluations per second: vectorised core, and score_cycle with the Vietnamese trail."""
    from ictaudit.intake.values import read_values, to_wide
    from ictaudit.run.pipeline import open_cycle, read_issues, read_statuses
    from ictaudit.score.scoring import group_frame, score_cycle, score_points
    from ictaudit.validate.resolution import blocked_fields

    ctx = open_cycle(cycle)
    statuses = read_statuses(scored)
    wide = to_wide(read_values(scored / "values.csv"))
    blocked = blocked_fields(read_issues(scored / "issues.csv"), ctx.rubric)
    roster = statuses.set_index("agency_id")
    frames = [(g.id, group_frame(ctx.rubric, g.id, wide, roster, set(blocked))) for g in ctx.rubric.groups]
    evaluations = sum(len(f[0]) * len(list(ctx.rubric.indicators(g))) for g, f in frames)
    repeats = 5
    t0 = time.perf_counter()
    for _ in range(repeats):
        for g, (_, _, used, is_ranked) in frames:
            score_points(ctx.rubric, g, used, is_ranked)
    core = (time.perf_counter() - t0) / repeats
    t0 = time.perf_counter()
    score_cycle(ctx.rubric, wide, statuses, blocked)
    full = time.perf_counter() - t0
    return {"evaluations": evaluations, "core_s": core, "core_per_s": evaluations / core,
            "trail_s": full, "trail_per_s": evaluations / full}  # fmt: skip


# -- report ----------------------------------------------------------------------------------------


def mib(n: float) -> str:
    return f"{n / 2**20:,.0f} MiB"


def print_block(n: int, r: dict) -> None:
    st = r["stages"]
    print(f"\n== {n:,} agencies  (cycle {r['cycle']})")
    if r.get("generated_s") is not None:
        print(f"   generated the cycle in {r['generated_s']:.1f} s (cached for later runs)")
    print(f"   ictaudit run: {r['run']['wall_s']:.1f} s wall, peak memory {mib(r['run']['peak_pss_bytes'])} PSS "
          f"({mib(r['run']['peak_rss_bytes'])} as a sum of RSS) over the process tree, psutil every {POLL_SECONDS} s")  # fmt: skip
    print(f"   floor: {r['floor_s']:.1f} s = read {r['files']:,} files with calamine {r['read_s']:.1f} s "
          f"+ 5 import-only kernels {sum(r['kernels'].values()):.1f} s")  # fmt: skip
    print(f"   run / floor = {r['ratio']:.2f}")
    print("   stage        notebook   in steps   start-up   (import-only kernel)")
    for nb, stage in STAGE_OF_NOTEBOOK.items():
        s = st[stage]
        print(f"   {stage:<11} {s['notebook_s']:8.1f} s {s['step_s']:8.1f} s {s['startup_s']:8.1f} s "
              f"  ({r['kernels'][nb]:.1f} s)")  # fmt: skip
    other = r["run"]["wall_s"] - sum(s["notebook_s"] for s in st.values())
    print(f"   outside the notebooks (CLI start, input hashes, manifest, moves): {other:.1f} s")
    print("   steps: " + ", ".join(f"{k} {v:.2f}" for k, v in sorted(r["run"]["steps"].items())))
    print("   outputs: " + ", ".join(f"{k} {mib(v)}" for k, v in r["run"]["sizes"].items()))
    sc = r["scoring"]
    print(f"   scoring alone: {sc['evaluations']:,} indicator evaluations; core {sc['core_s'] * 1000:.1f} ms "
          f"({sc['core_per_s'] / 1e6:.1f} M/s), with the trail {sc['trail_s']:.2f} s "
          f"({sc['trail_per_s'] / 1e6:.2f} M/s)")  # fmt: skip


def markdown_table(results: dict[int, dict]) -> str:
    head = ("| agencies | run (s) | peak memory (PSS) | floor (s): read + kernels | run / floor | intake | validation "
            "| scoring | robustness | reports | notebook start-up | scoring core / with trail |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for n, r in sorted(results.items()):
        st = r["stages"]
        startup = sum(s["startup_s"] for s in st.values())
        sc = r["scoring"]
        lines.append(
            f"| {n:,} | {r['run']['wall_s']:.1f} | {mib(r['run']['peak_pss_bytes'])} "
            f"| {r['floor_s']:.1f} = {r['read_s']:.1f} + {sum(r['kernels'].values()):.1f} | {r['ratio']:.2f} "
            + "".join(f"| {st[s]['step_s']:.1f} " for s in ("intake", "validation", "scoring", "robustness", "reports"))
            + f"| {startup:.1f} | {sc['core_per_s'] / 1e6:.1f} M/s / {sc['trail_per_s'] / 1e6:.2f} M/s |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="35,2200,10000", help="comma-separated agency counts")
    parser.add_argument("--seed", type=int, default=2017, help="seed of the synthetic cycles")
    parser.add_argument("--work", default=str(ROOT / "benchmarks" / ".work"), help="cache of cycles and runs")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    work = Path(args.work).resolve()
    work.mkdir(parents=True, exist_ok=True)

    results: dict[int, dict] = {}
    for n in sizes:
        cycle, generated = ensure_cycle(work, n, args.seed)
        run = run_suite(cycle, work / "runs" / f"n{n}-s{args.seed}")
        read_s, files = read_floor(cycle)
        with tempfile.TemporaryDirectory() as tmp:
            kernels = kernel_floor(Path(tmp))
        floor = read_s + sum(kernels.values())
        r = {
            "cycle": str(cycle), "generated_s": generated, "run": run, "read_s": read_s, "files": files,
            "kernels": kernels, "floor_s": floor, "ratio": run["wall_s"] / floor,
            "scoring": scoring_rate(cycle, Path(run["scored"])),
        }  # fmt: skip
        r["stages"] = stages(run)
        results[n] = r
        print_block(n, r)
        sys.stdout.flush()

    table = markdown_table(results)
    print("\n" + table)
    (work / "results.md").write_text(table + "\n", encoding="utf-8")
    (work / "results.json").write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()

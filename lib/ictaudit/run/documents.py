"""``ictaudit document --run RUN_DIR``: a finished run's official documents written again.

Once the DIC fills in the number, date, signer or recipients in ``cycle.yaml`` (``documents:``), or its
wording file, the documents are rewritten from the run's own scored tables, and nothing else of the run
changes. How that fits the audit record:

1. The run's record must still hold: the scored tables are those the manifest hashed, every cycle file
   but ``cycle.yaml`` (and the wording file ``documents.wording`` names) is unchanged, and ``cycle.yaml``
   differs from the run's only in ``documents:`` and ``notice`` (which only the documents read;
   ``documents/particulars.json`` holds the hash of its other settings). Anything else changes what a run computes: the command refuses and says to run
   ``ictaudit run`` again.
2. ``documents/`` is written anew in a staging folder and swapped in whole.
3. The manifest is updated where the documents are concerned: the hashes of ``out/documents/*``, the
   input hashes of ``cycle.yaml`` and the wording file, and an entry in ``documents_reissued`` saying
   when, and what ``cycle.yaml`` hashed before and after. Every other output keeps its hash, and
   ``ictaudit verify`` recomputes the whole run from the cycle folder as it now is: the same tables and
   reports (only what the documents alone read changed) and the new documents.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

from ictaudit.run import manifest as mf
from ictaudit.run.suite import RunError, run_lock
from ictaudit.run.verify import compare_hashes

DOCUMENTS_PREFIX = "out/documents/"


def _recorded_particulars(run_dir: Path) -> dict:
    from ictaudit.report.documents import DOCUMENTS_DIR, RECORD_FILE

    path = run_dir / DOCUMENTS_DIR / RECORD_FILE
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunError(
            f"{path}: không có — kết quả này được lập trước khi có văn bản chính thức; chạy lại ictaudit run"
        ) from None


def check_reissue(run_dir: Path, manifest: dict) -> tuple[Path, Path, dict]:
    """(cycle folder, scored folder, the recorded particulars) once the run's record is found to hold;
    :class:`RunError` naming what changed otherwise (see the module docstring)."""
    from ictaudit.report.documents.particulars import cycle_digests

    cycle_dir, scored = Path(manifest["cycle"]["dir"]), Path(manifest["paths"]["scored"])
    if not (cycle_dir / "cycle.yaml").exists():
        raise RunError(f"{cycle_dir}: không còn thư mục kỳ đánh giá (cycle.yaml) mà manifest ghi")
    record = _recorded_particulars(run_dir)
    now = cycle_digests(cycle_dir)
    if now["cycle_settings_sha256"] != record.get("cycle_settings_sha256"):
        before, after = record.get("cycle_settings"), now["cycle_settings"]
        keys = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k)) if before else []
        what = f"{', '.join(keys)} đã thay đổi" if keys else "đã thay đổi"
        raise RunError(
            f"{cycle_dir / 'cycle.yaml'}: {what} kể từ lần chạy (ngoài documents: và notice); "
            "điều đó thay đổi kết quả của lần chạy, nên ictaudit document không viết lại văn bản — chạy lại: "
            f"ictaudit run --cycle {cycle_dir}"
        )
    free = {"cycle.yaml", *(f for f in (record.get("wording_file"), _wording_now(cycle_dir)) if f)}
    recorded = {k: v for k, v in manifest["inputs"]["cycle"].items() if k not in free}
    present = {k: v for k, v in mf.hash_tree(cycle_dir).items() if k not in free}
    if changed := compare_hashes(recorded, present, "cycle file"):
        raise RunError("thư mục kỳ đánh giá đã thay đổi kể từ lần chạy; chạy lại ictaudit run:\n  - " + "\n  - ".join(changed))
    tables = {k: v for k, v in manifest["outputs"].items() if k.startswith("scored/")}
    current = {f"scored/{k}": v for k, v in mf.hash_tree(scored).items()} if scored.exists() else {}
    if changed := compare_hashes(tables, current, "scored table"):
        raise RunError("bảng kết quả của lần chạy đã thay đổi hoặc không còn; chạy lại ictaudit run:\n  - " + "\n  - ".join(changed))
    return cycle_dir, scored, record


def _wording_now(cycle_dir: Path) -> str | None:
    from ictaudit.intake.cycle import read_cycle_yaml

    name = read_cycle_yaml(cycle_dir / "cycle.yaml")["documents"].get("wording")
    return name if isinstance(name, str) and name else None


def reissue_documents(run_dir: Path | str, pdf_any_size: bool = False) -> dict[str, Path]:
    """Rewrite ``RUN_DIR/documents/`` from the run's tables and the cycle's particulars as they are now,
    and update the manifest (module docstring); the files written. ``pdf_any_size``: print the PDFs
    even above :data:`ictaudit.report.documents.PDF_MAX_AGENCIES` ranked agencies (minutes)."""
    from ictaudit.report.documents import DOCUMENTS_DIR
    from ictaudit.run.pipeline import documents_step

    run_dir = Path(run_dir).resolve()
    manifest = mf.read_manifest(run_dir)
    with run_lock(run_dir):
        cycle_dir, scored, before = check_reissue(run_dir, manifest)
        stage = run_dir / ".documents.partial"
        if stage.exists():
            shutil.rmtree(stage)
        written = documents_step(cycle_dir, scored, stage, pdf_any_size=pdf_any_size)
        final, old = run_dir / DOCUMENTS_DIR, run_dir / ".documents.old"
        if old.exists():
            shutil.rmtree(old)
        if final.exists():
            final.rename(old)
        (stage / DOCUMENTS_DIR).rename(final)
        shutil.rmtree(stage)
        if old.exists():
            shutil.rmtree(old)
        _update_manifest(run_dir, manifest, cycle_dir, before)
    return {k: final / p.name for k, p in written.items()}


def _update_manifest(run_dir: Path, manifest: dict, cycle_dir: Path, before: dict) -> None:
    from ictaudit.report.documents import DOCUMENTS_DIR, RECORD_FILE

    after = json.loads((run_dir / DOCUMENTS_DIR / RECORD_FILE).read_text(encoding="utf-8"))
    outputs, records = mf.output_hashes(Path(manifest["paths"]["scored"]), run_dir)
    for key in ("outputs", "records"):
        manifest[key] = {k: v for k, v in manifest[key].items() if not k.startswith(DOCUMENTS_PREFIX)}
    manifest["outputs"].update({k: v for k, v in outputs.items() if k.startswith(DOCUMENTS_PREFIX)})
    manifest["records"].update({k: v for k, v in records.items() if k.startswith(DOCUMENTS_PREFIX)})
    manifest["outputs"] = dict(sorted(manifest["outputs"].items()))
    manifest["records"] = dict(sorted(manifest["records"].items()))
    inputs = manifest["inputs"]["cycle"]
    for name in {"cycle.yaml", before.get("wording_file"), after.get("wording_file")} - {None}:
        path = cycle_dir / name
        if path.is_file():
            inputs[name] = mf.sha256_file(path)
        else:
            inputs.pop(name, None)
    manifest["inputs"]["cycle"] = dict(sorted(inputs.items()))
    manifest.setdefault("documents_reissued", []).append(
        {
            "utc": datetime.now(UTC).isoformat(timespec="seconds"),
            "cycle_yaml_sha256_before": before.get("cycle_yaml_sha256"),
            "cycle_yaml_sha256": after.get("cycle_yaml_sha256"),
            "unset": after.get("unset", []),
        }
    )
    mf.write_manifest(run_dir / "manifest.json", manifest)

"""LibreOffice in headless mode: recalculating workbooks and converting between formats.

Used by tests (to hold ``excel_formula`` to ``compute``), by anyone who wants an independent
spreadsheet engine's opinion of ``report.xlsx``, and by the report to print the official documents to
PDF (:func:`start_conversion`, in the background while the other reports are written). A throw-away
user profile is created per call; :func:`convert` sets "recalculate on load: always" for OOXML and
ODF in it, so cached values are never trusted.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

_PROFILE_XCU = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" oor:op="fuse">
<value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="ODFRecalcMode" oor:op="fuse">
<value>0</value></prop></item>
</oor:items>
"""


class OfficeError(RuntimeError):
    pass


def soffice_path() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def convert(src: Path, out_dir: Path, to: str, timeout: float = 180) -> Path:
    """Convert ``src`` with LibreOffice (``to`` like ``xlsx``, ``xls``, ``ods``); formulas are recalculated."""
    exe = soffice_path()
    if exe is None:
        raise OfficeError("LibreOffice (soffice) is not installed: run `make system`")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="ictaudit-lo-") as profile:
        user = Path(profile) / "user"
        user.mkdir()
        (user / "registrymodifications.xcu").write_text(_PROFILE_XCU, encoding="utf-8")
        cmd = [
            exe, f"-env:UserInstallation=file://{profile}", "--headless", "--norestore", "--nolockcheck",
            "--convert-to", to, "--outdir", str(out_dir), str(src),
        ]  # fmt: skip
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    target = out_dir / f"{Path(src).stem}.{to.split(':')[0]}"
    if proc.returncode != 0 or not target.exists():
        raise OfficeError(f"LibreOffice could not convert {src} to {to}: {proc.stderr.strip() or proc.stdout.strip()}")
    return target


def recalculate(src: Path, out_dir: Path) -> Path:
    """A copy of an .xlsx with every formula recalculated by LibreOffice (the original is untouched)."""
    return convert(src, out_dir, "xlsx")


class Conversion:
    """A LibreOffice conversion running in the background (:func:`start_conversion`); :meth:`wait` for it."""

    def __init__(self, proc: subprocess.Popen, profile: tempfile.TemporaryDirectory, targets: list[Path]):
        self.proc, self.profile, self.targets = proc, profile, targets

    def wait(self, timeout: float = 180) -> list[Path]:
        """The converted files, in the order of the sources; :class:`OfficeError` if one is missing."""
        try:
            out, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, err = self.proc.communicate()
            err = f"timed out after {timeout:.0f} s. {err}"
        finally:
            self.profile.cleanup()
        missing = [t for t in self.targets if not t.exists()]
        if self.proc.returncode != 0 or missing:
            names = ", ".join(t.name for t in missing) or "(all written)"
            raise OfficeError(f"LibreOffice could not convert to {names}: {err.strip() or out.strip()}")
        return list(self.targets)


def start_conversion(srcs: list[Path], out_dir: Path, to: str) -> Conversion:
    """Start converting ``srcs`` with one LibreOffice process (e.g. ``to="pdf"`` for .docx files); the
    caller goes on with other work and calls :meth:`Conversion.wait`. Earlier outputs are removed first."""
    exe = soffice_path()
    if exe is None:
        raise OfficeError("LibreOffice (soffice) is not installed: run `make system`")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    targets = [out_dir / f"{Path(s).stem}.{to.split(':')[0]}" for s in srcs]
    for t in targets:
        t.unlink(missing_ok=True)
    profile = tempfile.TemporaryDirectory(prefix="ictaudit-lo-")
    cmd = [
        exe, f"-env:UserInstallation=file://{profile.name}", "--headless", "--norestore", "--nolockcheck",
        "--convert-to", to, "--outdir", str(out_dir), *(str(s) for s in srcs),
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    return Conversion(proc, profile, targets)

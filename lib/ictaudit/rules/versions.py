"""What each released rubric version contained: ``rubrics/versions.yaml``, and a rubric checked against it.

A rubric's ``version`` names its content. A scale edited in place without a new version silently
changes every result computed "with version 1.0.0" — last year's published results among them, and
any comparison with them. The registry records, per rubric id and version, the sha256 of the
content as it was released; :func:`version_check` compares a loaded rubric with it:

- ``recorded``: the content is the one recorded for its version;
- ``changed``: its version is recorded with other content — the scale was edited without a new
  version (``ictaudit rubric`` exits 1 naming it; a run goes on, but its report and summary say so);
- ``unrecorded``: its version is not in the registry (a new version not yet recorded, or a rubric of
  another province): record it with ``ictaudit rubric ID --record`` once it is final.

The content hash (:func:`content_sha256`) is taken over the rubric as loaded — a derived rubric merged
with its base — in a canonical JSON form: comments, key order and layout of the YAML do not count,
every value does (a changed base therefore changes the rubrics derived from it too).

The registry used for a rubric file is the ``versions.yaml`` beside it, else the project's
(``rubrics/versions.yaml``): a copy of a shipped rubric elsewhere is checked against what the project
released under its id and version.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import yaml

from ictaudit.common.paths import RUBRICS_DIR
from ictaudit.rules.files import load_yaml
from ictaudit.rules.rubric import Rubric, rubric_path

REGISTRY_FILE = "versions.yaml"
REGISTRY_HEADER = """\
# The content of each released rubric version: rubric id → version → sha256 of its content as loaded
# (ictaudit.rules.versions.content_sha256; comments and layout of the YAML do not count).
#
# A changed scale gets a new `version` in its file and a CHANGELOG entry naming the years and
# criteria it affects; then `ictaudit rubric ID --record` adds the line here. A rubric whose content
# differs from what its version recorded is named by `ictaudit rubric` and in every run's summary
# and report: results "of version 1.0.0" must mean one scale.
"""


class RegistryError(ValueError):
    """The registry cannot be read, or a version cannot be recorded (the message says why and what to do)."""


@dataclass(frozen=True)
class VersionCheck:
    """A rubric against the registry: ``state`` is ``recorded``, ``changed`` or ``unrecorded``."""

    rubric_id: str
    version: str
    state: str
    content_sha256: str
    recorded_sha256: str | None
    registry: Path
    #: how to name the rubric to ``ictaudit rubric``: its id for a project rubric, else its path
    argument: str = ""

    @property
    def ok(self) -> bool:
        return self.state != "changed"

    def message_vi(self) -> str:
        """One paragraph for a person: what the state means and what to do."""
        rid, v, now = self.rubric_id, self.version, self.content_sha256[:12]
        arg = self.argument or rid
        if self.state == "recorded":
            return f"Thang điểm {rid} phiên bản {v}: nội dung đúng như phiên bản đã ghi nhận (sha256 {now}…)."
        if self.state == "changed":
            return (
                f"Nội dung thang điểm {rid} đã thay đổi nhưng vẫn mang phiên bản {v} ({self.registry.name} ghi nhận "
                f"sha256 {self.recorded_sha256[:12]}…, nội dung hiện nay {now}…). Kết quả tính với thang điểm này "
                f"khác kết quả đã công bố với cùng phiên bản {v}. Nếu thay đổi là cố ý: đặt phiên bản mới "
                f"(version) trong tệp thang điểm, ghi vào CHANGELOG, rồi chạy `ictaudit rubric {arg} --record`; "
                "nếu không: khôi phục tệp thang điểm."
            )
        return (
            f"Thang điểm {rid} phiên bản {v} chưa được ghi nhận trong {self.registry} (sha256 nội dung {now}…): "
            f"khi thang điểm đã chốt, ghi nhận bằng `ictaudit rubric {arg} --record`."
        )

    def record(self) -> dict:
        """What a run's manifest keeps of the check."""
        return {"state": self.state, "content_sha256": self.content_sha256, "recorded_sha256": self.recorded_sha256}


def content_sha256(rubric: Rubric) -> str:
    """sha256 of the rubric's content in canonical JSON (sorted keys, no whitespace, UTF-8)."""
    data = rubric.model_dump(mode="json")
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def registry_path(rubric_file: Path | str) -> Path:
    """The registry a rubric file is checked against: ``versions.yaml`` beside it, else the project's."""
    beside = Path(rubric_file).resolve().parent / REGISTRY_FILE
    return beside if beside.is_file() else RUBRICS_DIR / REGISTRY_FILE


def read_registry(path: Path) -> dict[str, dict[str, str]]:
    """``{rubric id: {version: sha256}}``; an absent file is an empty registry."""
    if not path.is_file():
        return {}
    try:
        data = load_yaml(path.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise RegistryError(f"{path}: cannot read the rubric version registry: {exc}") from None
    if not isinstance(data, dict):
        raise RegistryError(f"{path}: must map each rubric id to its versions and their sha256")
    out: dict[str, dict[str, str]] = {}
    for rid, versions in data.items():
        if not isinstance(versions, dict):
            raise RegistryError(f"{path}: {rid}: must map each version to the sha256 of its content")
        out[str(rid)] = {}
        for version, digest in versions.items():
            if not isinstance(digest, str) or len(digest) != 64:
                raise RegistryError(f"{path}: {rid} {version}: {digest!r} is not a sha256 (64 hex digits)")
            out[str(rid)][str(version)] = digest
    return out


def version_check(rubric: Rubric, rubric_file: Path | str | None = None) -> VersionCheck:
    """Compare ``rubric`` (read from ``rubric_file``, default its id's file) with the registry."""
    file = Path(rubric_file) if rubric_file is not None else rubric_path(rubric.id)
    registry = registry_path(file)
    now = content_sha256(rubric)
    recorded = read_registry(registry).get(rubric.id, {}).get(rubric.version)
    state = "unrecorded" if recorded is None else "recorded" if recorded == now else "changed"
    shipped = file.resolve() == (RUBRICS_DIR / f"{rubric.id}.yaml").resolve()
    return VersionCheck(rubric.id, rubric.version, state, now, recorded, registry, rubric.id if shipped else str(file))


def record_version(rubric: Rubric, rubric_file: Path | str) -> Path:
    """Record the rubric's content under its version in the registry beside its file (created if absent).

    Refuses (:class:`RegistryError`) to record a version that is recorded with other content — in that
    registry or in the one the rubric is checked against now (the project's, for a copy elsewhere):
    that is exactly the edit without a new version the registry exists to catch.
    """
    path = Path(rubric_file).resolve().parent / REGISTRY_FILE
    registry = read_registry(path)
    now = content_sha256(rubric)
    for where in dict.fromkeys((path, registry_path(rubric_file))):
        recorded = read_registry(where).get(rubric.id, {}).get(rubric.version)
        if recorded is None or recorded == now:
            continue
        raise RegistryError(
            f"{where}: {rubric.id} version {rubric.version} is already recorded with other content "
            f"(sha256 {recorded[:12]}…, now {now[:12]}…); give the changed scale a new version in its file, "
            "add a CHANGELOG entry, then record it"
        )
    registry.setdefault(rubric.id, {})[rubric.version] = now
    write_registry(path, registry)
    return path


def write_registry(path: Path, registry: dict[str, dict[str, str]]) -> None:
    """The registry with its header, ids and versions sorted (stable bytes)."""
    lines = [REGISTRY_HEADER]
    for rid in sorted(registry):
        lines.append(f"{rid}:")
        for version in sorted(registry[rid], key=_version_key):
            lines.append(f'  "{version}": {registry[rid][version]}')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _version_key(version: str) -> tuple:
    """``1.10.0`` after ``1.9.0``; parts that are not numbers compare as text after numbers."""
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in version.split("."))

"""A rubric edited in place without a new version is named: by `ictaudit rubric`, in a run's notes and report."""

from __future__ import annotations

import shutil

import pytest

from ictaudit.cli import main
from ictaudit.common.paths import RUBRICS_DIR
from ictaudit.rules.rubric import load_rubric
from ictaudit.rules.versions import (
    REGISTRY_FILE,
    RegistryError,
    content_sha256,
    read_registry,
    record_version,
    version_check,
)

SHIPPED = ("caobang-2310-2016", "caobang-whatif-online-services")


@pytest.mark.parametrize("rubric_id", SHIPPED)
def test_every_shipped_rubric_is_recorded_with_its_content(rubric_id):
    check = version_check(load_rubric(rubric_id))
    assert check.state == "recorded", check.message_vi()
    assert read_registry(RUBRICS_DIR / REGISTRY_FILE)[rubric_id][check.version] == check.content_sha256


def test_comments_and_layout_do_not_count_values_do(tmp_path):
    source = (RUBRICS_DIR / "caobang-2310-2016.yaml").read_text(encoding="utf-8")
    commented = tmp_path / "commented.yaml"
    commented.write_text("# a comment the DIC added\n" + source.replace("\nid:", "\n\nid:", 1), encoding="utf-8")
    assert content_sha256(load_rubric(commented)) == content_sha256(load_rubric("caobang-2310-2016"))
    edited = tmp_path / "edited.yaml"
    edited.write_text(source.replace("min_score: 85}", "min_score: 80}"), encoding="utf-8")
    assert content_sha256(load_rubric(edited)) != content_sha256(load_rubric("caobang-2310-2016"))


@pytest.fixture
def edited_copy(tmp_path):
    """The shipped rubric copied elsewhere with the Tốt threshold changed and its version kept (1.0.0)."""
    path = tmp_path / "caobang.yaml"
    text = (RUBRICS_DIR / "caobang-2310-2016.yaml").read_text(encoding="utf-8")
    path.write_text(text.replace("min_score: 85}", "min_score: 80}"), encoding="utf-8")
    return path


def test_ictaudit_rubric_names_a_rubric_changed_without_a_new_version(edited_copy, capsys):
    assert main(["rubric", str(edited_copy)]) == 1
    out, err = capsys.readouterr()
    assert "FAILED" in out and "OK:" not in out
    assert "Nội dung thang điểm caobang-2310-2016 đã thay đổi nhưng vẫn mang phiên bản 1.0.0" in err
    assert f"`ictaudit rubric {edited_copy} --record`" in err


def test_recording_the_same_version_with_other_content_is_refused(edited_copy, capsys):
    assert main(["rubric", str(edited_copy), "--record"]) == 1
    assert "already recorded with other content" in capsys.readouterr().err
    assert not (edited_copy.parent / REGISTRY_FILE).exists()
    with pytest.raises(RegistryError, match="give the changed scale a new version"):
        record_version(load_rubric(edited_copy), edited_copy)


def test_a_new_version_is_unrecorded_until_recorded_then_recorded(edited_copy, capsys):
    edited_copy.write_text(edited_copy.read_text(encoding="utf-8").replace("version: 1.0.0", "version: 1.1.0"),
                           encoding="utf-8")  # fmt: skip
    assert version_check(load_rubric(edited_copy), edited_copy).state == "unrecorded"
    assert main(["rubric", str(edited_copy)]) == 0
    assert "chưa được ghi nhận" in capsys.readouterr().out
    assert main(["rubric", str(edited_copy), "--record"]) == 0
    registry = read_registry(edited_copy.parent / REGISTRY_FILE)
    assert list(registry["caobang-2310-2016"]) == ["1.1.0"]
    check = version_check(load_rubric(edited_copy), edited_copy)
    assert check.state == "recorded" and check.registry == edited_copy.parent / REGISTRY_FILE


def test_an_edited_base_is_named_in_the_rubrics_derived_from_it(tmp_path):
    for rid in SHIPPED:
        shutil.copy(RUBRICS_DIR / f"{rid}.yaml", tmp_path / f"{rid}.yaml")
    shutil.copy(RUBRICS_DIR / REGISTRY_FILE, tmp_path / REGISTRY_FILE)
    base = tmp_path / "caobang-2310-2016.yaml"
    base.write_text(base.read_text(encoding="utf-8").replace("min_score: 85}", "min_score: 80}"), encoding="utf-8")
    derived = tmp_path / "caobang-whatif-online-services.yaml"
    assert version_check(load_rubric(derived), derived).state == "changed"


def test_a_run_notes_an_edited_rubric(edited_copy, tmp_path):
    from ictaudit.run.pipeline import run_notes

    notes = run_notes(tmp_path / "no-scored-folder", edited_copy)
    assert notes[0].startswith("CẢNH BÁO: Nội dung thang điểm caobang-2310-2016 đã thay đổi")
    assert run_notes(tmp_path / "no-scored-folder", RUBRICS_DIR / "caobang-2310-2016.yaml") == []

"""The pieces of the audit record on tiny data: hashing, comparing, environment notes, table diffs."""

import pandas as pd

from ictaudit.common.tables import write_csv
from ictaudit.run import manifest as mf
from ictaudit.run.verify import compare_hashes, diff_tables


def test_hash_tree_keys_files_by_relative_path(tmp_path):
    (tmp_path / "submissions").mkdir()
    (tmp_path / "cycle.yaml").write_text("year: 2017\n")
    (tmp_path / "submissions" / "Sở Nội vụ.xlsx").write_bytes(b"\x00\x01")
    hashes = mf.hash_tree(tmp_path)
    assert list(hashes) == ["cycle.yaml", "submissions/Sở Nội vụ.xlsx"]
    assert hashes["submissions/Sở Nội vụ.xlsx"] == mf.sha256_file(tmp_path / "submissions" / "Sở Nội vụ.xlsx")


def test_compare_hashes_names_changed_missing_and_added_files():
    recorded = {"a.csv": "1" * 64, "b.csv": "2" * 64, "c.csv": "3" * 64}
    current = {"a.csv": "1" * 64, "b.csv": "9" * 64, "d.csv": "4" * 64}
    problems = compare_hashes(recorded, current, "output")
    assert problems == [
        "output b.csv: sha256 999999999999… ≠ recorded 222222222222…",
        "output c.csv: missing (recorded sha256 333333333333…)",
        "output d.csv: not in the manifest (added after the run)",
    ]
    assert compare_hashes(recorded, dict(recorded), "output") == []


def test_diff_tables_shows_the_differing_cells(tmp_path):
    old = write_csv(pd.DataFrame({"agency_id": ["a", "b"], "score_100": [85.5, 70.0]}), tmp_path / "old.csv")
    new = write_csv(pd.DataFrame({"agency_id": ["a", "b"], "score_100": [85.5, 71.25]}), tmp_path / "new.csv")
    assert diff_tables(old, new) == ["1 row differs (compared by agency_id)", "b: score_100: '70' → '71.25'"]


def test_environment_records_every_distribution_and_the_lock():
    env = mf.environment()
    assert env["distributions"]["pandas"] == env["packages"]["pandas"]
    assert len(env["requirements_lock_sha256"]) == 64
    assert mf.environment_differences(env) == []
    older = dict(env, distributions=dict(env["distributions"], pandas="2.0.0"))
    assert mf.environment_differences(older) == [f"pandas: 2.0.0 at the run, {env['packages']['pandas']} now"]


def test_hash_tree_records_symlinks_without_following_them(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("not part of the cycle")
    cycle = tmp_path / "cycle"
    (cycle / "submissions").mkdir(parents=True)
    (cycle / "submissions" / "a.xlsx").write_bytes(b"x")
    (cycle / "submissions" / "link.xlsx").symlink_to(outside / "secret.txt")
    (cycle / "linked-dir").symlink_to(outside, target_is_directory=True)
    hashes = mf.hash_tree(cycle)
    assert hashes["submissions/link.xlsx"] == f"symlink → {outside / 'secret.txt'}"
    assert hashes["linked-dir"] == f"symlink → {outside}"
    assert not any("secret" in k for k in hashes)


def test_hash_tree_records_an_unreadable_file_instead_of_stopping(tmp_path, monkeypatch):
    (tmp_path / "a.xlsx").write_bytes(b"a")
    (tmp_path / "b.xlsx").write_bytes(b"b")
    real = mf.sha256_file

    def refuse_b(path):
        if path.name == "b.xlsx":  # root can read anything: simulate what a normal user would meet
            raise PermissionError(13, "Permission denied")
        return real(path)

    monkeypatch.setattr(mf, "sha256_file", refuse_b)
    hashes = mf.hash_tree(tmp_path)
    assert hashes == {"a.xlsx": real(tmp_path / "a.xlsx"), "b.xlsx": "unreadable: Permission denied"}

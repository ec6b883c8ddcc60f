"""The documents in a whole run: ``ictaudit run`` writes them, ``ictaudit document`` rewrites them after
the DIC fills in cycle.yaml, and ``ictaudit verify`` still reproduces the run afterwards."""

import json
import sys
from pathlib import Path

import pytest
import yaml
from docx import Document

from ictaudit.cli import main
from ictaudit.run.manifest import sha256_file
from ictaudit.run.verify import verify_run
from ictaudit.year.sample import write_sample_cycle

pytestmark = [pytest.mark.slow, pytest.mark.libreoffice]
ICTAUDIT = Path(sys.executable).with_name("ictaudit")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("raw")
    write_sample_cycle(2017, root / "2017", agencies=10, seed=7)
    base = tmp_path_factory.mktemp("run")
    code = main(["run", "--cycle", str(root / "2017"), "--out", str(base / "out"), "--scored", str(base / "scored"),
                 "--draws", "50", "--quiet"])  # fmt: skip
    assert code == 0
    return {"cycle": root / "2017", "out": base / "out", "scored": base / "scored"}


def _fill_particulars(cycle: Path, **changes) -> None:
    path = cycle / "cycle.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["notice"] = "Công văn số 1032/STTTT-CNTT ngày 05/10/2017 của Sở Thông tin và Truyền thông"
    data["documents"] = {
        "bao_cao": {"number": 27, "date": "2018-01-05", "signer_name": "Hoàng Văn C", "signer_title": "GIÁM ĐỐC"},
        "quyet_dinh": {"number": 88, "date": "2018-01-10", "signer_name": "Lê Thị D"},
    }
    data.update(changes)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def test_the_run_writes_both_documents_and_records_them(run, capsys):
    out = run["out"]
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    for name in ("bao-cao.docx", "quyet-dinh.docx", "particulars.json"):
        assert manifest["outputs"][f"out/documents/{name}"] == sha256_file(out / "documents" / name)
    for name in ("bao-cao.pdf", "quyet-dinh.pdf"):
        assert f"out/documents/{name}" in manifest["records"] and f"out/documents/{name}" not in manifest["outputs"]
    number = Document(str(out / "documents" / "bao-cao.docx")).tables[0].rows[1].cells[0].text
    assert number == "Số: …/BC-STTTT"


def test_document_rewrites_them_from_the_filled_particulars_and_verify_still_passes(run, capsys, tmp_path):
    out, cycle = run["out"], run["cycle"]
    before = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    report_html = (out / "report.html").read_bytes()
    _fill_particulars(cycle)
    capsys.readouterr()
    assert main(["document", "--run", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "bao-cao.docx" in printed and "bao-cao.pdf" in printed
    d = Document(str(out / "documents" / "bao-cao.docx"))
    assert d.tables[0].rows[1].cells[0].text == "Số: 27/BC-STTTT"
    assert d.tables[0].rows[1].cells[1].text == "Cao Bằng, ngày 05 tháng 01 năm 2018"
    q = Document(str(out / "documents" / "quyet-dinh.docx"))
    assert any("Báo cáo số 27/BC-STTTT ngày 05/01/2018" in p.text for p in q.paragraphs)
    assert "Căn cứ Công văn số 1032/STTTT-CNTT ngày 05/10/2017 của Sở Thông tin và Truyền thông;" in [p.text for p in d.paragraphs]
    after = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    changed = {k for k in after["outputs"] if after["outputs"][k] != before["outputs"].get(k)}
    assert changed == {"out/documents/bao-cao.docx", "out/documents/quyet-dinh.docx", "out/documents/particulars.json"}
    assert after["inputs"]["cycle"]["cycle.yaml"] == sha256_file(cycle / "cycle.yaml")
    assert after["documents_reissued"][0]["cycle_yaml_sha256_before"] == before["inputs"]["cycle"]["cycle.yaml"]
    assert (out / "report.html").read_bytes() == report_html
    assert not list(out.glob(".documents*"))
    report = verify_run(out, keep=tmp_path / "verify")
    assert report.ok, report.text()


def test_document_refuses_when_cycle_yaml_changed_beyond_its_documents(run, capsys):
    out, cycle = run["out"], run["cycle"]
    saved = (cycle / "cycle.yaml").read_bytes()
    manifest = (out / "manifest.json").read_bytes()
    try:
        _fill_particulars(cycle, title="Một tiêu đề khác")
        assert main(["document", "--run", str(out)]) == 1
        err = capsys.readouterr().err
        assert "cycle.yaml: title đã thay đổi" in err and "ictaudit run --cycle" in err
        assert (out / "manifest.json").read_bytes() == manifest
    finally:
        (cycle / "cycle.yaml").write_bytes(saved)


def test_document_refuses_when_a_scored_table_changed(run, capsys):
    out, scored = run["out"], run["scored"]
    table = scored / "scores.csv"
    saved = table.read_bytes()
    try:
        table.write_bytes(saved.replace(b"ranked", b"rankeD", 1))
        assert main(["document", "--run", str(out)]) == 1
        assert "scored/scores.csv" in capsys.readouterr().err
    finally:
        table.write_bytes(saved)


def test_on_an_unseen_cycle_the_tables_hold_the_independently_computed_ranks_and_scores(run):
    """Ranks and scores recomputed here from scores.csv's points (Decimal, half up, 1 + higher scores)."""
    from decimal import ROUND_HALF_UP, Decimal

    from ictaudit.common.tables import read_csv
    from tests.test_documents import _published, _ranking_tables

    s = read_csv(run["scored"] / "scores.csv")
    s = s[s["status"] == "ranked"]
    for name in ("bao-cao.docx", "quyet-dinh.docx"):
        tables = _ranking_tables(Document(str(run["out"] / "documents" / name)), full=True)
        assert len(tables) == 2
        for table, group in zip(tables, ("so_ban_nganh", "ubnd_huyen")):
            g = s[s["group"] == group]
            score = {r["agency_name"]: (Decimal(r["points"]) / Decimal(r["applicable_max"]) * 100).quantize(
                Decimal("0.01"), rounding=ROUND_HALF_UP) for r in g.to_dict("records")}  # fmt: skip
            assert {row[1]: int(row[0]) for row in table} == {n: 1 + sum(v > p for v in score.values()) for n, p in score.items()}
            assert {row[1]: row[-2] for row in table} == {n: _published(str(p)) for n, p in score.items()}

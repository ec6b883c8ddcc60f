"""The validation a user opens works offline and in Vietnamese; GX's Data Docs stay as an appendix that
works offline too (their CDN assets bundled, nothing fetched at run time)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import great_expectations
import pandas as pd
import pytest

from ictaudit.report.build import build_reports
from ictaudit.validate.datadocs import ASSETS_DIR, CDN_ASSETS, DROPPED_SCRIPTS, bundle_assets, offline_page
from ictaudit.validate.gx import DATA_DOCS_DIR, make_context, validate_values
from tests.report_fixture import CYCLE_INFO, SCRIPT_NAME, build_scored_fixture

from .plausible import plausible_values

GX_TEMPLATES = Path(great_expectations.__file__).parent / "render" / "view" / "templates"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
LOADS = re.compile(r'<(?:script|link|img)\b[^>]*\b(?:src|href)="([^"]+)"', re.IGNORECASE)


def test_every_address_gxs_templates_load_is_bundled_or_dropped():
    """A GX upgrade that loads something new from a CDN fails here, naming the address."""
    found = set()
    for template in GX_TEMPLATES.glob("*.j2"):
        found |= set(re.findall(r'(?:src|href)="(https?://[^"{]+)"', template.read_text(encoding="utf-8")))
    anchors = {"https://greatexpectations.io"}  # links a reader may follow, not loaded by the page
    loaded = {u for u in found if u not in anchors and "greatexpectations.io/newsletter" not in u}
    assert loaded - set(CDN_ASSETS) - set(DROPPED_SCRIPTS) == set()
    for relative in set(CDN_ASSETS.values()):
        assert (ASSETS_DIR / relative).is_file(), relative
    for folder in {r.split("/")[0] for r in CDN_ASSETS.values()}:
        assert list((ASSETS_DIR / folder).glob("LICENSE*")), f"{folder}: the licence is bundled with the files"


def test_a_page_is_pointed_at_the_bundled_files_and_refuses_nothing_silently():
    head = (
        '<script src="https://code.jquery.com/jquery-3.7.1.min.js"></script>\n'
        '<script src="https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js" integrity="sha384-x" '
        'crossorigin="anonymous"></script>\n'
        '<link rel="stylesheet" href="https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css"/>\n'
        '<script src="https://cdn.jsdelivr.net/npm/vega@5"></script>\n'
        '<img class="NO-CACHE" src="https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/logo-long.png?d=1&c=2" />'
    )
    out = offline_page(head, "../static/vendor")
    assert '<script src="../static/vendor/jquery/jquery.min.js"></script>' in out
    assert '<script src="../static/vendor/popper/popper.min.js"></script>' in out  # no integrity/crossorigin
    assert 'href="../static/vendor/bootstrap/bootstrap.min.css"' in out
    assert 'src="../static/vendor/../images/logo-long.png"' in out
    assert "vega@5: charts of profiling results only" in out
    assert "https://" not in out.replace("<!-- https://cdn.jsdelivr.net/npm/vega@5", "")


@pytest.fixture(scope="module")
def site(rubric, tmp_path_factory):
    """Data Docs of a two-agency validation, built as a run builds them."""
    docs = tmp_path_factory.mktemp("validation")
    rows = {"so-a": plausible_values(rubric, "PL1"), "so-b": plausible_values(rubric, "PL1") | {"F02": 10_000}}
    wide = pd.DataFrame.from_dict(rows, orient="index").astype(float).rename_axis("agency_id")
    agencies = pd.DataFrame({"agency_id": list(rows), "group": "so_ban_nganh", "status": "ranked"})
    issues = validate_values(rubric, wide, agencies, docs_dir=docs, context=make_context())
    assert "L03" in set(issues["check_id"])
    return docs / DATA_DOCS_DIR


def test_the_data_docs_load_nothing_from_the_network(site):
    pages = sorted(site.rglob("*.html"))
    assert len(pages) >= 3 and (site / "index.html") in pages
    for page in pages:
        for address in LOADS.findall(page.read_text(encoding="utf-8")):
            assert not address.startswith(("http:", "https:", "//")), f"{page.name} loads {address}"
            if address.endswith("favicon.ico"):  # GX's own relative path is one level off on result pages
                continue
            assert (page.parent / address.split("?")[0]).resolve().is_file(), f"{page.name}: {address} is not there"
    assert bundle_assets(site) == len(pages)  # bundling again changes nothing and finds nothing remote


@pytest.mark.chromium
@pytest.mark.skipif(CHROMIUM is None or shutil.which("unshare") is None, reason="needs chromium and unshare")
def test_the_data_docs_render_offline_in_chromium(site, tmp_path):
    """With no network at all, the index's results table is filled by its (bundled) scripts."""
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True, check=False)
    if probe.returncode != 0:
        pytest.skip("this machine cannot make a network namespace (unshare -n)")
    cmd = ["unshare", "-n", CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
           f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=5000", "--dump-dom",
           (site / "index.html").as_uri()]  # fmt: skip
    dom = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False).stdout
    assert "Showing 1 to" in dom  # bootstrap-table (bundled) ran and counted the rows
    assert re.search(r"<td[^>]*>PL1_round1_agencies_\d+</td>", dom), "the validation results are listed"


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    root = tmp_path_factory.mktemp("validation_page")
    rubric, scored, _previous, _ = build_scored_fixture(root)
    paths = build_reports(rubric, scored, root / "out", CYCLE_INFO)
    return {"rubric": rubric, "out": root / "out", "paths": paths}


def _rows(html: str) -> list[str]:
    return [re.sub(r"<[^>]+>", " ", r) for r in re.findall(r"<tr[^>]*>(.*?)</tr>", html, re.S)]


def test_the_validation_page_lists_each_check_per_form_and_round(report):
    page = report["out"] / "validation" / "index.html"
    assert report["paths"]["validation"] == page
    html = page.read_text(encoding="utf-8")
    assert "Kiểm tra số liệu" in html and "Phiếu PL1" in html and "Phiếu PL2" in html
    pl1 = html[html.index('id="phieu-PL1"'):html.index('id="phieu-PL2"')]
    rows = {re.sub(r"\s+", " ", r).strip().split(" ")[0]: re.sub(r"\s+", " ", r) for r in _rows(pl1)[1:]}
    assert set(rows) >= {f"L{n:02d}" for n in range(1, 23)} | {"L24", "L25"}
    # L03: sb-script in round 1 and still in round 2; L08: sb-tot, resolved by K001; L02: nobody
    assert "1 đơn vị:" in rows["L03"] and rows["L03"].count("Sở Nội vụ") == 2
    assert "Văn phòng UBND tỉnh" in rows["L08"] and " 1 " in rows["L08"].split("Văn phòng UBND tỉnh")[1][:6]
    assert rows["L02"].count("Đạt") == 2
    assert "&lt;script&gt;" in pl1 and SCRIPT_NAME not in pl1  # an agency's name stays text
    pl2 = html[html.index('id="phieu-PL2"'):html.index('id="tiep-nhan"')]
    assert "UBND huyện Hà Quảng" in pl2 and "Hà Quảng" not in pl1
    for href in re.findall(r'href="(\.\./agencies/[^"]+)"', html):
        assert (page.parent / href).resolve().is_file(), href
    assert 'href="data-docs/index.html"' in html and 'href="../report.html"' in html
    assert not re.findall(r'(?:src|href)="https?://', html)


def test_the_validation_page_says_l24_was_not_run_without_last_year(report, tmp_path):
    import json

    from ictaudit.intake.previous import INFO_FILE, LINKS_FILE

    scored = tmp_path / "scored"
    shutil.copytree(report["out"].parent / "scored", scored)
    (scored / LINKS_FILE).unlink()
    (scored / INFO_FILE).write_text(json.dumps({"linked": False, "reason_vi": "không có"}), encoding="utf-8")
    build_reports(report["rubric"], scored, tmp_path / "out", CYCLE_INFO)
    html = (tmp_path / "out" / "validation" / "index.html").read_text(encoding="utf-8")
    l24 = next(r for r in _rows(html) if r.strip().startswith("L24"))
    assert "Không kiểm tra kỳ này: không có kết quả năm trước được gắn" in l24

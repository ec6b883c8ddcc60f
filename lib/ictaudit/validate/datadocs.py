"""Great Expectations' Data Docs made to work offline: the CDN assets bundled, every page pointed at them.

In: a Data Docs site GX has built (``outputs/<year>/validation/data-docs/``). Out: the same site with
the style sheets, scripts and fonts its pages load from CDNs copied into ``static/vendor/`` (from
``datadocs_assets/``, vendored in the package with their licences: its README says which versions
and why) and every ``<script src>`` and ``<link href>`` rewritten to those copies; the vega scripts,
which only profiling charts use, are removed. A page that still loads anything from the network after
this raises :class:`OfflineAssetsError` naming it: the appendix never silently depends on the network.

The Data Docs are the technical appendix, in GX's English; the page a user opens is the project's own
Vietnamese validation page (``validation/index.html``, :mod:`ictaudit.report.html_validation`).
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

ASSETS_DIR = Path(__file__).parent / "datadocs_assets"
VENDOR_DIR = Path("static") / "vendor"

#: each CDN address GX 1.x's templates load, and the bundled file that replaces it (under static/vendor/)
CDN_ASSETS = {
    "https://code.jquery.com/jquery-3.7.1.min.js": "jquery/jquery.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js": "popper/popper.min.js",
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css": "bootstrap/bootstrap.min.css",
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js": "bootstrap/bootstrap.min.js",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css": "bootstrap-table/bootstrap-table.min.css",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js": "bootstrap-table/bootstrap-table.min.js",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/bootstrap-table-filter-control.min.js":
        "bootstrap-table/bootstrap-table-filter-control.min.js",
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.css":
        "bootstrap-table/bootstrap-table-filter-control.min.css",
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.min.css":
        "bootstrap-table/bootstrap-table-filter-control.min.css",
    "https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/bootstrap-prefers-dark.css":
        "bootstrap-dark/bootstrap-prefers-dark.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/bootstrap-datepicker.min.css":
        "bootstrap-datepicker/bootstrap-datepicker.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/bootstrap-datepicker.min.js":
        "bootstrap-datepicker/bootstrap-datepicker.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css": "fontawesome/css/all.min.css",
}  # fmt: skip
#: scripts only profiling charts use: removed, not bundled (validation results have no chart)
DROPPED_SCRIPTS = (
    "https://cdn.jsdelivr.net/npm/vega@5",
    "https://cdn.jsdelivr.net/npm/vega-lite@5",
    "https://cdn.jsdelivr.net/npm/vega-embed@6",
)

#: GX's navbar logo, fetched from GX's own server with the context's id and a time in the address (a
#: tracking image): pointed at the copy every site has in static/images/
_GX_IMAGE = re.compile(r'src="https://great-expectations-web-assets\.s3\.[a-z0-9-]+\.amazonaws\.com/(?P<name>[A-Za-z0-9_.-]+)(?:\?[^"]*)?"')
_SCRIPT = re.compile(r'<script\b[^>]*\bsrc="(?P<url>https?://[^"]+)"[^>]*>\s*</script>', re.IGNORECASE)
_LINK = re.compile(r'<link\b[^>]*\bhref="(?P<url>https?://[^"]+)"[^>]*?/?>', re.IGNORECASE)
_REMOTE = re.compile(r'<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)="(https?://[^"]+)"', re.IGNORECASE)


class OfflineAssetsError(RuntimeError):
    """A Data Docs page would still load something from the network (the message names the page and address)."""


def bundle_assets(site_dir: Path) -> int:
    """Copy the bundled assets into ``site_dir/static/vendor`` and point every page of the site at them;
    return the number of pages rewritten. Raises :class:`OfflineAssetsError` for an address left remote."""
    site_dir = Path(site_dir)
    vendor = site_dir / VENDOR_DIR
    if vendor.exists():
        shutil.rmtree(vendor)
    shutil.copytree(ASSETS_DIR, vendor, ignore=shutil.ignore_patterns("README.md", "__pycache__"))
    shutil.copy(ASSETS_DIR / "README.md", vendor / "README.md")
    pages = sorted(site_dir.rglob("*.html"))
    for page in pages:
        prefix = Path(os.path.relpath(vendor, page.parent)).as_posix()
        text = page.read_text(encoding="utf-8")
        offline = offline_page(text, prefix)
        if remote := _REMOTE.findall(offline):
            raise OfflineAssetsError(
                f"{page}: still loads {remote[0]} from the network; bundle it (lib/ictaudit/validate/datadocs_assets/"
                "README.md says how) or remove it"
            )
        if offline != text:
            page.write_text(offline, encoding="utf-8")
    return len(pages)


def offline_page(html: str, prefix: str) -> str:
    """``html`` with each CDN script and style sheet pointed at ``prefix/<bundled file>`` (integrity and
    crossorigin attributes dropped: they would make a browser refuse a local file), GX's logo taken from the
    site's own ``static/images/`` and the vega scripts removed."""

    def script(m: re.Match) -> str:
        url = m.group("url")
        if url in DROPPED_SCRIPTS:
            return f"<!-- {url}: charts of profiling results only, not bundled -->"
        if url in CDN_ASSETS:
            return f'<script src="{prefix}/{CDN_ASSETS[url]}"></script>'
        return m.group(0)

    def link(m: re.Match) -> str:
        url = m.group("url")
        if url in CDN_ASSETS:
            return f'<link rel="stylesheet" type="text/css" href="{prefix}/{CDN_ASSETS[url]}">'
        return m.group(0)

    html = _GX_IMAGE.sub(lambda m: f'src="{prefix}/../images/{m.group("name")}"', html)
    return _LINK.sub(link, _SCRIPT.sub(script, html))

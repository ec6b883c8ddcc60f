"""Last year's published results, and which of last year's agencies each of this year's continues.

In: a cycle whose ``cycle.yaml`` links last year's published results (``previous:``; the files under
``previous/`` — ``scores.csv``, ``values.csv``, ``agencies.csv``, ``manifest.json`` as ``ictaudit init``
copied them from last year's run — each checked against its sha256 by :mod:`ictaudit.intake.cycle`),
and this year's roster with its ``predecessor`` column. Out, written by the intake step into the scored
folder (docs/contracts.md §6):

- ``previous_links.csv``: one row per this year's agency × last year's agency it continues, with that
  agency's published status, rank, score and band; a row with no predecessor for a new agency; a row
  with an empty ``agency_id`` for each of last year's agencies nobody continues. ``link`` says how:
  ``same`` (same id), ``renamed`` (one predecessor of another id), ``merged`` (several predecessors),
  ``split`` (a predecessor several of this year's agencies continue), ``new``, ``gone``;
- ``previous_values.csv``: last year's *confirmed* values on this year's ids, for the year-over-year
  check L24 — an agency's own for ``same`` and ``renamed``; for ``merged``, the predecessors'
  combined: counts and decimals summed (blank when any predecessor's is blank: a partial sum would
  look like a fall), a yes/no is ``Có`` when any predecessor's is ``Có``, ``Không`` when all are; a
  ``split`` or ``new`` agency has none (its counts are not comparable, so L24 stays quiet);
- ``previous.json``: whether last year is linked (and if not, why), its files' sha256, and the scale
  last year's results were computed on (id, version, file and content hashes, from its manifest)
  against this year's — results are compared as published, never re-scored.

A ``predecessor`` naming an id that is not in last year's results stops the run (:class:`CycleError`
naming the line): a comparison with half a merged agency would be wrong without a word.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd

from ictaudit.common.tables import read_csv, write_csv
from ictaudit.intake.cycle import AGENCIES_FILE, Cycle, CycleError
from ictaudit.rules.rubric import Rubric

LINKS_FILE = "previous_links.csv"
VALUES_FILE = "previous_values.csv"
INFO_FILE = "previous.json"
LINK_COLUMNS = [
    "agency_id", "link", "predecessor_id", "predecessor_name", "predecessor_group", "predecessor_status",
    "predecessor_rank", "predecessor_score_100", "predecessor_band",
]  # fmt: skip
VALUE_COLUMNS = ["agency_id", "field", "value", "predecessor_ids", "combined"]
#: how a link reads in the report
LINK_VI = {
    "same": "cùng mã",
    "renamed": "đổi tên hoặc mã",
    "merged": "hợp nhất",
    "split": "chia tách",
    "new": "đơn vị mới",
    "gone": "không còn trong danh sách",
}
#: the links whose last-year values are compared (L24)
COMPARED = ("same", "renamed", "merged")


def published_score_column(scores: pd.DataFrame) -> str:
    """The column of ``scores.csv`` that holds the published (rounded) score on 100."""
    return "score_100_published" if "score_100_published" in scores.columns else "score_100"


# -- links ------------------------------------------------------------------------------------------


def predecessor_links(
    roster: pd.DataFrame, previous_scores: pd.DataFrame, previous_roster: pd.DataFrame, roster_file: str = AGENCIES_FILE
) -> pd.DataFrame:
    """The rows of ``previous_links.csv`` (module docstring), sorted by agency and predecessor.

    ``roster``: this year's ``agency_id`` and ``predecessor`` (``;``-separated ids, empty = the same id);
    ``previous_scores`` and ``previous_roster``: last year's published ``scores.csv`` and ``agencies.csv``.
    A predecessor that is not among last year's agencies raises :class:`CycleError` naming
    ``roster_file`` and its line.
    """
    known = set(previous_roster["agency_id"]) | set(previous_scores["agency_id"])
    preds: dict[str, list[str]] = {}
    for line, (agency_id, text) in enumerate(zip(roster["agency_id"], roster["predecessor"]), start=2):
        named = [p.strip() for p in str(text).split(";") if p.strip()]
        if unknown := [p for p in named if p not in known]:
            raise CycleError(
                f"{roster_file}, dòng {line}: đơn vị tiền thân (predecessor) {unknown[0]} không có trong danh sách đơn vị "
                "năm trước (agencies.csv và scores.csv đã công bố, trong previous/); ghi mã đơn vị của năm trước, hoặc "
                "để trống predecessor nếu đơn vị giữ nguyên mã"
            )
        if not named and agency_id in known:
            named = [agency_id]
        preds[agency_id] = named
    claims = pd.Series([p for ps in preds.values() for p in ps], dtype=object).value_counts()
    split = set(claims.index[claims > 1])
    by_id = _previous_rows(previous_scores, previous_roster)
    rows = []
    for agency_id, named in preds.items():
        if not named:
            rows.append({"agency_id": agency_id, "link": "new"})
            continue
        if split & set(named):
            link = "split"
        elif len(named) > 1:
            link = "merged"
        else:
            link = "same" if named[0] == agency_id else "renamed"
        rows += [{"agency_id": agency_id, "link": link, **by_id[p]} for p in named]
    claimed = set(claims.index)
    rows += [{"agency_id": "", "link": "gone", **by_id[p]} for p in sorted(by_id) if p not in claimed]
    out = pd.DataFrame(rows, columns=LINK_COLUMNS).fillna("")
    return out.sort_values(["agency_id", "predecessor_id"], kind="mergesort").reset_index(drop=True)


def _previous_rows(scores: pd.DataFrame, roster: pd.DataFrame) -> dict[str, dict]:
    """Last year's agencies by id: name, group, and the status, rank, score and band it was published with."""
    score_col = published_score_column(scores)
    out = {}
    for r in roster.to_dict("records"):
        out[r["agency_id"]] = {
            "predecessor_id": r["agency_id"], "predecessor_name": r["name"], "predecessor_group": r["group"],
            "predecessor_status": "", "predecessor_rank": "", "predecessor_score_100": "", "predecessor_band": "",
        }  # fmt: skip
    for r in scores.to_dict("records"):
        row = out.setdefault(r["agency_id"], {"predecessor_id": r["agency_id"]})
        row.update(
            predecessor_name=r["agency_name"], predecessor_group=r["group"], predecessor_status=r["status"],
            predecessor_rank=r["rank"], predecessor_score_100=r[score_col], predecessor_band=r["band"],
        )  # fmt: skip
    return out


# -- values -----------------------------------------------------------------------------------------


def previous_values(links: pd.DataFrame, values: pd.DataFrame, rubric: Rubric) -> pd.DataFrame:
    """The rows of ``previous_values.csv``: last year's confirmed values on this year's ids (module docstring)."""
    types = {f.code: f.type for f in rubric.fields}
    values = values[values["field"].isin(types)]
    number = pd.to_numeric(values["value"].replace("", np.nan), errors="coerce")
    last = {(a, f): v for a, f, v in zip(values["agency_id"], values["field"], number)}
    fields_of = {}
    for a, f in zip(values["agency_id"], values["field"]):
        fields_of.setdefault(a, []).append(f)
    rows = []
    compared = links[links["link"].isin(COMPARED)]
    for agency_id, group in compared.groupby("agency_id", sort=True):
        named = group["predecessor_id"].tolist()
        fields = list(dict.fromkeys(f for p in named for f in fields_of.get(p, [])))
        for field in fields:
            parts = [last.get((p, field), np.nan) for p in named]
            rows.append(
                {
                    "agency_id": agency_id, "field": field, "value": _combined(parts, types[field]),
                    "predecessor_ids": ";".join(named), "combined": "true" if len(named) > 1 else "false",
                }
            )  # fmt: skip
    return pd.DataFrame(rows, columns=VALUE_COLUMNS)


def _combined(parts: list[float], field_type: str) -> float:
    """One value from the predecessors' (a single one as it is): see the module docstring."""
    if len(parts) == 1:
        return parts[0]
    if any(np.isnan(p) for p in parts):
        return np.nan if field_type != "yesno" or not any(p == 1 for p in parts) else 1.0
    return float(max(parts)) if field_type == "yesno" else float(sum(parts))


def previous_wide(scored_dir: Path) -> pd.DataFrame | None:
    """``previous_values.csv`` as the wide frame L24 reads (None when last year is not linked).

    ``attrs["combined"]`` holds the ids whose values are a merged agency's predecessors' combined.
    """
    from ictaudit.intake.values import read_values, to_wide

    path = Path(scored_dir) / VALUES_FILE
    if not path.exists():
        return None
    long = read_values(path)
    wide = to_wide(long)
    wide.attrs["combined"] = sorted(set(long.loc[long["combined"] == "true", "agency_id"]))
    return wide


# -- the scale, and the whole step -------------------------------------------------------------------


def scale_of_run(manifest: dict) -> dict:
    """What a run's manifest says about its rubric: id, version, file hashes, content hash (when recorded)."""
    rubric = manifest.get("rubric", {})
    return {
        "id": rubric.get("id"),
        "version": rubric.get("version"),
        "files": {k: v for k, v in manifest.get("inputs", {}).get("rubric", {}).items() if k != "versions.yaml"},
        "content_sha256": rubric.get("content_sha256"),
    }


def scale_differences(then: dict, now: dict) -> list[str]:
    """How last year's scale differs from this year's, in Vietnamese (empty: the same scale)."""
    out = []
    if then["id"] != now["id"]:
        out.append(f"mã thang điểm khác: năm trước {then['id']}, năm nay {now['id']}")
    if then["version"] != now["version"]:
        out.append(f"phiên bản khác: năm trước {then['version']}, năm nay {now['version']}")
    if then.get("content_sha256") and now.get("content_sha256"):
        if then["content_sha256"] != now["content_sha256"]:
            out.append(
                f"nội dung thang điểm khác (sha256 năm trước {then['content_sha256'][:12]}…, "
                f"năm nay {now['content_sha256'][:12]}…)"
            )
    elif then["files"] != now["files"]:
        changed = sorted(set(then["files"]) | set(now["files"]))
        out.append(f"tệp thang điểm khác ({', '.join(changed)}: sha256 năm trước và năm nay không trùng)")
    return out


def not_linked_reason(cycle: Cycle) -> str:
    return (
        f"Kỳ {cycle.year} không gắn kết quả đã công bố của năm trước (cycle.yaml không có mục previous): "
        "không so sánh với năm trước và không kiểm tra L24. Tạo kỳ mới bằng `ictaudit init` từ kỳ trước đã "
        "chạy để gắn kết quả năm trước."
    )


def write_previous_tables(cycle: Cycle, rubric: Rubric, rubric_file: Path, scored_dir: Path) -> dict:
    """Write ``previous_links.csv``, ``previous_values.csv`` and ``previous.json``; return the latter's content.

    Without ``previous:`` only ``previous.json`` is written, saying why there is no comparison.
    """
    from ictaudit.rules.rubric import rubric_files
    from ictaudit.rules.versions import content_sha256

    scored_dir = Path(scored_dir)
    prev = cycle.previous
    if prev is None:
        info = {"linked": False, "reason_vi": not_linked_reason(cycle)}
    else:
        scores, roster = read_csv(prev.path("scores.csv")), read_csv(prev.path("agencies.csv"))
        manifest = json.loads(prev.path("manifest.json").read_text(encoding="utf-8"))
        links = predecessor_links(cycle.agencies, scores, roster, str(cycle.root / AGENCIES_FILE))
        write_csv(links, scored_dir / LINKS_FILE, LINK_COLUMNS)
        write_csv(previous_values(links, read_csv(prev.path("values.csv")), rubric), scored_dir / VALUES_FILE, VALUE_COLUMNS)
        now = {
            "id": rubric.id, "version": rubric.version,
            "files": {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in rubric_files(rubric_file)},
            "content_sha256": content_sha256(rubric),
        }  # fmt: skip
        then = scale_of_run(manifest)
        info = {
            "linked": True, "year": prev.year, "folder": prev.folder.name, "sha256": dict(sorted(prev.sha256.items())),
            "run": {"started_utc": manifest.get("run", {}).get("started_utc"), "git": manifest.get("git"),
                    "title": manifest.get("cycle", {}).get("title")},
            "scale_then": then, "scale_now": now, "scale_differences": scale_differences(then, now),
            "links": {k: int(n) for k, n in links.drop_duplicates(["agency_id", "link", "predecessor_id"])
                      .groupby("link").size().items()},
        }  # fmt: skip
    scored_dir.mkdir(parents=True, exist_ok=True)
    text = json.dumps(info, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    (scored_dir / INFO_FILE).write_text(text, encoding="utf-8")
    return info


def read_previous_info(scored_dir: Path) -> dict | None:
    """``previous.json`` of a scored folder (None for a run made before it existed)."""
    path = Path(scored_dir) / INFO_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def previous_notes_vi(info: dict | None) -> list[str]:
    """What a reader must know about last year's comparison, one line each (run summary, report)."""
    if info is None:
        return []
    if not info["linked"]:
        return [info["reason_vi"]]
    lines = [f"So sánh với kết quả năm {info['year']} như đã công bố (không tính lại)."]
    if info["scale_differences"]:
        lines.append(
            f"Thang điểm năm {info['year']} khác thang điểm năm nay: " + "; ".join(info["scale_differences"])
            + ". Chênh lệch điểm giữa hai năm phản ánh cả thay đổi thang điểm."
        )
    return lines

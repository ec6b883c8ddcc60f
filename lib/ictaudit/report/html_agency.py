"""The agency pages, ``agencies/<agency_id>.html``: one per roster agency, each how its score was made.

A national cycle has 10,000 pages of ~90 table rows each. The rows of the two long tables (the
calculation trail and the source cells) are assembled here as UTF-8, from whole columns read once
and grouped by agency; every repeated piece (a label, a number's text, an inputs cell) is escaped or
formatted once per run. The markup is what agency.html.j2 wrote for these rows before, byte for
byte; the page around them is still the template.
"""

from __future__ import annotations

import itertools
import math
import statistics

import jinja2
import pandas as pd
from markupsafe import Markup

from ictaudit.common.numfmt import fmt_value, is_nan
from ictaudit.report.html_svg import svg_agency_criteria
from ictaudit.report.html_text import band_colour, encoded, esc, escape_all, num_memo, rank_text
from ictaudit.report.inputs import (
    CORRECTION_STATUS_VI,
    FLAG_VI,
    KIND_VI,
    RANKED,
    SEVERITY_VI,
    Memo,
    ReportInputs,
    bands_text,
    fmt_date_text,
    parse_inputs,
    records,
    shown_sum_differs,
    source_vi,
    status_vi,
)

HELD_NOTE = " — giữ lại do lỗi chưa xác nhận"


def group_stats(data: ReportInputs) -> dict[tuple[str, str], tuple[float, float]]:
    """(group, criterion) → (median, best) of criterion points over the group's ranked agencies."""
    ranked = set(data.scores.loc[data.scores["status"] == RANKED, "agency_id"])
    pts: dict[tuple[str, str], list[float]] = {}
    c = data.criteria
    for a, g, cid, p in zip(*(c[k].tolist() for k in ("agency_id", "group", "criterion_id", "points"))):
        if a in ranked and not is_nan(p):
            pts.setdefault((g, cid), []).append(float(p))
    return {k: (statistics.median(v), max(v)) for k, v in pts.items()}


def positions(ids: list[str]) -> dict[str, list[int]]:
    """Row positions of each agency in a table, in table order (one pass, not one filter per agency)."""
    out: dict[str, list[int]] = {}
    for i, a in enumerate(ids):
        out.setdefault(a, []).append(i)
    return out


def table_columns(df: pd.DataFrame, names: list[str]) -> dict[str, list]:
    """The columns ``names`` of ``df`` as lists."""
    return {c: df[c].tolist() for c in names}


def rows_by_agency(df: pd.DataFrame) -> dict[str, list[dict]]:
    """The rows of a table as records, grouped by ``agency_id`` in table order (one pass, not N filters)."""
    out: dict[str, list[dict]] = {}
    for r in df.to_dict("records"):
        out.setdefault(r["agency_id"], []).append(r)
    return out


class AgencyPages:
    """What every agency page reads, prepared once: labels, group statistics, each table's columns
    grouped by agency, and the repeated pieces of the rows, escaped and formatted once.

    A page is the template rendered around markers where the trail and source rows go; those rows
    are assembled as UTF-8 bytes (each distinct piece encoded once) and put in the markers' place,
    so the bulk of a page (~45 KB) is never encoded as a whole.
    """

    TRAIL, SOURCES = "\x00trail-rows\x00", "\x00source-rows\x00"

    def __init__(self, data: ReportInputs, title: str, year):
        rubric = data.rubric
        self.data = data
        self.title = title
        self.year = year
        self.labels = {i.id: i.label_vi for c in rubric.criteria for i in c.indicators}
        self.field_labels = {f.code: f.label_vi for f in rubric.fields}
        self.yesno = {f.code for f in rubric.fields if f.type == "yesno"}
        self.crit = data.criteria_by_agency
        self.stats = group_stats(data)
        scores = data.scores
        self.scores = dict(zip(scores["agency_id"].tolist(), records(scores)))
        self.n_ranked = scores.loc[scores["status"] == RANKED, "group"].value_counts().to_dict()
        self.criteria_for = {g.id: list(rubric.criteria_for(g.id)) for g in rubric.groups}
        self.bands_text = bands_text(rubric)
        self.reconstructed = rubric.status == "reconstructed"
        t = data.trail
        self.trail = table_columns(
            t, ["criterion_id", "indicator_id", "kind", "inputs", "points", "max_points", "applicable", "flags"]
        )
        self.trail["explanation"] = encoded(escape_all(t["explanation_vi"].tolist()))
        self.trail_at = positions(t["agency_id"].tolist())
        v = data.values
        self.values = table_columns(v, ["field", "source_file", "sheet", "cell", "correction_id"])
        self.values["raw_value"] = data.raw_shown  # as the agency saw it: number cells the Vietnamese way
        self.values["value"] = data.row_values
        self.values_at = positions(v["agency_id"].tolist())
        self.issues = rows_by_agency(data.issues)
        self.corrections = rows_by_agency(data.corrections)
        # the repeated pieces
        self.num = num_memo()
        self.num_max = num_memo(2, True)
        self.num_0 = num_memo(0)
        self.esc = Memo(esc)
        self.esc_bytes = Memo(lambda x: esc(x).encode())
        self._trail_head = Memo(self._trail_head_html)
        value = Memo(fmt_value).__getitem__
        distinct = list(dict.fromkeys(self.trail["inputs"]))
        self._inputs = {text: self._inputs_cell(d, value) for text, d in zip(distinct, parse_inputs(distinct))}
        self._points = Memo(lambda pm: f"<b>{self.num(pm[0])}</b> / {self.num_max(pm[1])}".encode())
        self._flags = Memo(lambda flags: self._flags_html(flags).encode())
        self._source_head = Memo(self._source_head_html)
        self._shown = Memo(self._shown_text)
        self._bars: dict = {}  # the chart's rows, by what they show
        self._trail_all: list[bytes] | None = None  # every trail row's markup, built on first use
        self._usable_all: list[dict | None] = []
        self._sources_all: list[bytes] | None = None  # every source row's markup, as when none is held

    # -- every row of the long tables, built once (a row's markup does not depend on its page) ---
    def _trail_markup(self) -> tuple[list[bytes], list[dict | None]]:
        """Each trail row's markup (as :meth:`trail_rows` writes it) and, for an applicable row with a
        maximum, its entry among the strengths and weaknesses (else None), in table order."""
        c = self.trail
        ind_of, pts_of, max_of = c["indicator_id"], c["points"], c["max_points"]
        app_of = [bool(a) for a in c["applicable"]]
        points, num, num_max = self._points, self.num, self.num_max
        na = "— / —".encode()
        cells = [
            na if not a else points[p, m] if p == p and m == m else f"<b>{num(p)}</b> / {num_max(m)}".encode()
            for a, p, m in zip(app_of, pts_of, max_of)
        ]  # NaN: each would be a new key
        rows = list(
            map(
                _TRAIL_ROW.__mod__,
                zip(
                    map(self._trail_head.__getitem__, zip(ind_of, c["kind"])),
                    map(self._inputs.__getitem__, c["inputs"]),
                    c["explanation"],
                    cells,
                    map(self._flags.__getitem__, c["flags"]),
                ),
            )
        )
        labels = self.labels
        usable = [
            {"indicator_id": ind, "label": labels.get(ind, ""), "points": p, "max_points": m, "share": p / m}
            if a and m > 0 else None
            for ind, a, p, m in zip(ind_of, app_of, pts_of, max_of)
        ]  # fmt: skip
        return rows, usable

    # -- the repeated pieces --------------------------------------------------------------------
    def _trail_head_html(self, key: tuple[str, str]) -> bytes:
        indicator_id, kind = key
        return (
            f"<tr><td><b>{esc(indicator_id)}</b> {esc(self.labels.get(indicator_id, ''))}"
            f"<small>{esc(KIND_VI.get(kind, kind))}</small></td>\n"
        ).encode()

    def _inputs_cell(self, d: dict, value) -> bytes:
        """The inputs cell of a trail row (``d``: its parsed ``inputs``; ``value``: fmt_value or a memo of it):
        one ``<div>`` per input, a held one marked, each with its field's label as its title."""
        esc, labels, yesno = self.esc, self.field_labels, self.yesno
        held = set(d.get("blocked") or ())
        divs = []
        for k, v in d.items():
            if k == "blocked":
                continue
            if k == "best":
                divs.append(f"<div>{esc[f'cao nhất trong khối = {value(v)}']}</div>")
                continue
            shown = ("Có" if v == 1 else "Không" if v == 0 else value(v)) if k in yesno else value(v)
            text, label = esc[f"{k} = {shown}"], labels.get(k, "")
            if k in held:
                divs.append(f'<div class="held" title="{esc[label]}{HELD_NOTE}">{text}</div>')
            elif label:
                divs.append(f'<div title="{esc[label]}">{text}</div>')
            else:
                divs.append(f"<div>{text}</div>")
        many = " many" if len(divs) > 4 else ""
        return f'<td class="inputs{many}">{"".join(divs)}</td>\n'.encode()

    def _flags_html(self, flags: str) -> str:
        return "".join(
            f'<span class="flag {esc(f)}">{esc(FLAG_VI.get(f, f))}</span>' for f in str(flags).split(";") if f
        )

    def _source_head_html(self, key: tuple[str, bool]) -> bytes:
        """The start of a source row, up to its raw value."""
        field, held = key
        cells = f'<td class="mono">{esc(field)}</td><td>{esc(self.field_labels.get(field, ""))}</td><td class="n">'
        return (('<tr class="held">' if held else "<tr>") + cells).encode()

    def _shown_text(self, key: tuple[bool, float | None]) -> bytes:
        is_yesno, value = key
        if is_yesno and value is not None:
            return ("Có" if value == 1 else "Không").encode()
        return esc(fmt_value(value)).encode()

    # -- the rows -------------------------------------------------------------------------------
    def criteria_rows(self, criteria: list[dict]) -> str:
        num, num_max, esc = self.num, self.num_max, self.esc
        return "".join(
            f'<tr><td><b>{esc[c["criterion_id"]]}</b> {esc[c["label"]]}</td><td class="n"><b>{num(c["points"])}</b>'
            f'</td><td class="n">{num_max(c["applicable_max"])}</td><td class="n">{num_max(c["max_points"])}</td>'
            f'<td class="n">{num(c["median"])}</td><td class="n">{num(c["best"])}</td>'
            f'<td class="c">{rank_text(c["rank"])}</td></tr>\n'
            for c in criteria
        )

    def share_rows(self, rows: list[dict]) -> str:
        """Rows of the strengths or the weaknesses table."""
        num, num_max, esc = self.num, self.num_max, self.esc
        return "".join(
            f'<tr><td><b>{esc[t["indicator_id"]]}</b> {esc[t["label"]]}</td><td class="n">{num(t["points"])} / '
            f'{num_max(t["max_points"])}</td><td class="n">{self.num_0(100 * t["share"])}%</td></tr>'
            for t in rows
        )

    def trail_rows(self, agency_id: str, criteria: list[dict]) -> tuple[bytes, list[dict], dict[str, int]]:
        """The trail table's rows (with a row per criterion where the criterion changes), the applicable
        indicators with a maximum and their share of it (for strengths and weaknesses), and the
        position of each indicator's last row."""
        if self._trail_all is None:
            self._trail_all, self._usable_all = self._trail_markup()
        rows, usable_of = self._trail_all, self._usable_all
        crit_of, ind_of = self.trail["criterion_id"], self.trail["indicator_id"]
        crit_html = {}
        for r in criteria:
            crit_html.setdefault(
                r["criterion_id"],
                (
                    f'<tr class="crit-row"><td colspan="3">{self.esc[r["criterion_id"]]}. {self.esc[r["label"]]}</td>'
                    f'<td class="n">{self.num(r["points"])} / {self.num_max(r["applicable_max"])}</td><td></td></tr>'
                ).encode(),
            )
        at = self.trail_at.get(agency_id, ())
        out: list[bytes] = []
        current = ""
        for i in at:
            crit = crit_of[i]
            if crit != current:
                current = crit
                out.append(crit_html.get(crit, b""))
            out.append(rows[i])
        # an indicator's last row among the agency's trail rows (the sort's tie-break)
        order = dict(zip(map(ind_of.__getitem__, at), range(len(at))))
        usable = [u for u in map(usable_of.__getitem__, at) if u is not None]
        return b"".join(out), usable, order

    def _source_markup(self) -> list[bytes]:
        """Each source row's markup as :meth:`source_rows` writes it for an agency with no field held."""
        c = self.values
        esc, yesno, head, shown = self.esc_bytes, self.yesno, self._source_head, self._shown
        fields = c["field"]
        empty = "(trống)".encode()
        return list(
            map(
                _SOURCE_ROW.__mod__,
                zip(
                    map(head.__getitem__, zip(fields, itertools.repeat(False))),
                    [t or empty for t in map(esc.__getitem__, c["raw_value"])],
                    [shown[f in yesno, None if v != v else v] for f, v in zip(fields, c["value"])],
                    itertools.repeat(b""),
                    map(esc.__getitem__, c["source_file"]),
                    map(esc.__getitem__, c["sheet"]),
                    map(esc.__getitem__, c["cell"]),
                    map(esc.__getitem__, c["correction_id"]),
                ),
            )
        )

    def source_rows(self, agency_id: str, held: set[str]) -> bytes:
        if not held:
            if self._sources_all is None:
                self._sources_all = self._source_markup()
            return b"".join(map(self._sources_all.__getitem__, self.values_at.get(agency_id, ())))
        c = self.values
        field_of, raw_of, value_of, file_of, sheet_of, cell_of, corr_of = (
            c["field"], c["raw_value"], c["value"], c["source_file"], c["sheet"], c["cell"], c["correction_id"],
        )  # fmt: skip
        esc, yesno, head, shown = self.esc_bytes, self.yesno, self._source_head, self._shown
        out = []
        for i in self.values_at.get(agency_id, ()):
            field = field_of[i]
            is_held = field in held
            value = value_of[i]
            used = (  # a value held back is not used: the sheet Số liệu of report.xlsx leaves it blank too
                _HELD_USED if is_held else shown[field in yesno, None if value != value else value]  # NaN: one key
            )
            out.append(
                _SOURCE_ROW
                % (
                    head[field, is_held], esc[raw_of[i]] or "(trống)".encode(), used,
                    b"", esc[file_of[i]], esc[sheet_of[i]],
                    esc[cell_of[i]], esc[corr_of[i]],
                )
            )  # fmt: skip
        return b"".join(out)

    # -- a page ---------------------------------------------------------------------------------
    def criteria_of(self, agency_id: str, group: str) -> list[dict]:
        """The agency's criteria (those it has a row of), with the group's median and best of each."""
        crit = self.crit.get(agency_id, {})
        rows = []
        for c in self.criteria_for[group]:
            cr = crit.get(c.id)
            if not cr:
                continue
            median, best = self.stats.get((group, c.id), (math.nan, math.nan))
            rows.append(
                {
                    "criterion_id": c.id, "label": c.label_vi, "points": cr["points"], "max_points": cr["max_points"],
                    "applicable_max": cr["applicable_max"], "score_100": cr["score_100"], "rank": cr["rank"],
                    "median": median, "best": best,
                }
            )  # fmt: skip
        return rows

    def issues_of(self, agency_id: str) -> list[dict]:
        return [
            {
                "check_id": r["check_id"], "severity": SEVERITY_VI.get(r["severity"], r["severity"]),
                "severity_id": r["severity"], "fields": r["fields"].replace(";", ", "), "shown_values": r["values"],
                "message": r["message_vi"], "round": int(r["round"]), "resolved_by": self.data.resolution_vi(r),
            }
            for r in self.issues.get(agency_id, ())
        ]  # fmt: skip

    def corrections_of(self, agency_id: str) -> list[dict]:
        return [
            {
                "id": r["correction_id"], "field": r["field"], "old": r["old_value"], "new": r["new_value"],
                "reason": r["reason"], "by": r["confirmed_by"], "on": fmt_date_text(r["confirmed_on"]),
                "status": CORRECTION_STATUS_VI.get(r["status"], r["status"]), "status_reason": r["status_reason"],
                "source": source_vi(r["source"], r["document"], r["reply_file"]),
            }
            for r in self.corrections.get(agency_id, ())
        ]  # fmt: skip

    def context(self, agency_id: str) -> tuple[dict, bytes, bytes]:
        """The template's context, with markers for the rows of the trail and the sources; and those rows."""
        data = self.data
        rubric = data.rubric
        s = self.scores[agency_id]
        g = rubric.group(s["group"])
        criteria_rows = self.criteria_of(agency_id, g.id)
        trail_rows, usable, order = self.trail_rows(agency_id, criteria_rows)
        strengths = sorted(usable, key=lambda r: (-r["share"], order[r["indicator_id"]]))[:3]
        weaknesses = sorted(usable, key=lambda r: (r["share"], order[r["indicator_id"]]))[:3]
        held = set(data.blocked.get(agency_id, ()))
        source_rows = self.source_rows(agency_id, held)
        ctx = {
            "agency_id": agency_id,
            "name": s["agency_name"],
            "group": g.label_vi,
            "form": g.form,
            "status": status_vi(s["status"]),
            "status_id": s["status"],
            "status_reason": s["status_reason"],
            "scored": not is_nan(s["points"]),
            "ranked": s["status"] == RANKED,
            "points": s["points"],
            "applicable_max": s["applicable_max"],
            "max_points": g.max_points,
            "score_100": s["score_100_published"],
            "shown_sum": shown_sum_differs([r["points"] for r in criteria_rows], s["points"]) if criteria_rows else None,
            "index": s["index"],
            "band": s["band"],
            "band_colour": band_colour(data, s["band"]),
            "rank": s["rank"],
            "n_ranked": int(self.n_ranked.get(g.id, 0)),
            "criteria_rows": Markup(self.criteria_rows(criteria_rows)),
            "chart": (
                svg_agency_criteria(criteria_rows, self.num, self.num_max, self._bars) if criteria_rows else None
            ),
            "strength_rows": Markup(self.share_rows(strengths)),
            "weakness_rows": Markup(self.share_rows(weaknesses)),
            "trail_rows": Markup(self.TRAIL if trail_rows else ""),
            "source_rows": Markup(self.SOURCES if source_rows else ""),
            "issues": self.issues_of(agency_id),
            "corrections": self.corrections_of(agency_id),
            "held": sorted(held),
            "title": self.title,
            "year": self.year,
            "sample": data.is_sample,
            "reconstructed": self.reconstructed,
            "rubric": rubric,
            "ranking_decimals": rubric.ranking.decimals,
            "bands_text": self.bands_text,
        }
        return ctx, trail_rows, source_rows

    def page(self, template: jinja2.Template, agency_id: str) -> bytes:
        """The agency's page, UTF-8."""
        ctx, trail_rows, source_rows = self.context(agency_id)
        html = template.render(**ctx)
        rows = [(m, r) for m, r in ((self.TRAIL, trail_rows), (self.SOURCES, source_rows)) if r]
        if any(html.count(m) != 1 for m, _r in rows):  # a marker in the agency's own text: the rows as text
            ctx["trail_rows"], ctx["source_rows"] = Markup(trail_rows.decode()), Markup(source_rows.decode())
            return template.render(**ctx).encode()
        out = []
        for m, r in rows:
            head, _m, html = html.partition(m)
            out += [head.encode(), r]
        out.append(html.encode())
        return b"".join(out)


_TRAIL_ROW = b'%s%s<td class="expl">%s</td>\n<td class="n">%s</td>\n<td>%s</td></tr>\n'
_HELD_USED = "—<small>giữ lại, không dùng để tính điểm</small>".encode()
_SOURCE_ROW = (
    b'%s%s</td><td class="n">%s%s</td><td class="mono">%s</td><td>%s</td><td class="mono">%s</td>'
    b'<td class="mono">%s</td></tr>\n'
)

"""One agency's score step by step, from the form cell to its rank: the Vietnamese trace page.

In: the scored folder of a finished run (``scores.csv``, ``values.csv``, ``values_submitted.csv``,
``corrections.csv``, ``issues.csv``, ``trail.csv``, ``criteria.csv``), the rubric and what the run's
manifest says about the run. Out: :class:`TracePage` — the page ``ictaudit trace`` writes (outside the
run folder), and its sections one by one for notebook 05, which displays them as it executes.

The page is the project's own, in Vietnamese throughout: labels, statuses, groups, severities and
flags in words, numbers with a decimal comma, each indicator's rule in words with the numbers put in,
and for every "best in the group" the agency (or agencies) holding it. It prints on A4 portrait.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import pandas as pd
from markupsafe import Markup

from ictaudit.common.tables import read_csv
from ictaudit.report.trace_sections import corrections, criteria, findings, indicators, ranking, sources, summary
from ictaudit.rules.rubric import Rubric

SECTIONS = ("summary", "sources", "corrections", "findings", "indicators", "criteria", "ranking")


class UnknownAgency(KeyError):
    """The agency is not in the run's scores.csv (the message lists some ids that are)."""

    def __str__(self) -> str:
        return str(self.args[0])


def known_agency(scored_dir: Path, agency_id: str) -> None:
    """Raise :class:`UnknownAgency` unless ``agency_id`` is in the run's ``scores.csv``."""
    scores = _read(scored_dir, "scores.csv")
    if scores.empty or agency_id not in set(scores["agency_id"]):
        ids = sorted(scores["agency_id"]) if not scores.empty else []
        close = [a for a in ids if agency_id.split("-")[-1] in a] or ids
        raise UnknownAgency(
            f"agency {agency_id!r} is not in {Path(scored_dir) / 'scores.csv'} (e.g. {', '.join(close[:8]) or 'none'}); "
            "give an agency_id of the run's roster"
        )


def run_facts(run_dir: Path) -> dict:
    """What the trace page says about its run, from the run's manifest: year, title, date, scores.csv's hash."""
    from datetime import datetime

    manifest = json.loads((Path(run_dir) / "manifest.json").read_text(encoding="utf-8"))
    started = manifest.get("run", {}).get("started_utc")
    return {
        "year": manifest.get("cycle", {}).get("year", ""),
        "title": manifest.get("cycle", {}).get("title", ""),
        "started": datetime.fromisoformat(started).strftime("%d/%m/%Y") if started else "",
        "scores_sha256": manifest.get("outputs", {}).get("scored/scores.csv", ""),
    }


def _read(scored_dir: Path, name: str) -> pd.DataFrame:
    path = Path(scored_dir) / name
    return read_csv(path) if path.exists() else pd.DataFrame()


# -- the page ------------------------------------------------------------------------------------


@dataclass
class TracePage:
    """The trace of one agency of a run. ``run``: what the page says about the run (``year``, ``title``,
    ``started``: the run's date as dd/mm/yyyy, ``scores_sha256``: the hash of the scores.csv it reads)."""

    scored_dir: Path
    agency_id: str
    rubric: Rubric
    run: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.scored_dir = Path(self.scored_dir)
        known_agency(self.scored_dir, self.agency_id)

    @cached_property
    def tables(self) -> dict[str, pd.DataFrame]:
        names = ("scores", "values", "values_submitted", "corrections", "issues", "trail", "criteria")
        return {n: _read(self.scored_dir, f"{n}.csv") for n in names}

    @cached_property
    def me(self) -> dict:
        s = self.tables["scores"]
        return s[s["agency_id"] == self.agency_id].iloc[0].to_dict()

    @cached_property
    def group(self) -> str:
        return self.me["group"]

    @cached_property
    def ranked_in_group(self) -> pd.DataFrame:
        s = self.tables["scores"]
        return s[(s["group"] == self.group) & (s["status"] == "ranked")]

    @cached_property
    def names(self) -> dict[str, str]:
        s = self.tables["scores"]
        return dict(zip(s["agency_id"], s["agency_name"]))

    def _mine(self, table: str) -> pd.DataFrame:
        t = self.tables[table]
        return t[t["agency_id"] == self.agency_id] if not t.empty else t

    # -- sections ---------------------------------------------------------------------------------
    def context(self) -> dict:
        return {
            "title": f"Diễn giải điểm: {self.me['agency_name']}",
            "run": self.run,
            "summary": summary(self),
            "sources": sources(self),
            "corrections": corrections(self),
            "findings": findings(self),
            "indicators": indicators(self),
            "criteria": criteria(self),
            "ranking": ranking(self),
        }

    @cached_property
    def _context(self) -> dict:
        return self.context()

    @staticmethod
    def style() -> Markup:
        """The page's style sheet as a ``<style>`` element (the notebook shows the sections styled as the page)."""
        from ictaudit.report.html import TEMPLATES_DIR

        css = "".join((TEMPLATES_DIR / n).read_text(encoding="utf-8") for n in ("_style.css", "_trace.css"))
        return Markup(f"<style>{css}</style>")

    def section(self, name: str) -> Markup:
        """One section's HTML (the notebook shows them one by one), as the page renders it."""
        from ictaudit.report.html import jinja_env

        if name not in SECTIONS:
            raise KeyError(f"no section {name!r}; sections: {', '.join(SECTIONS)}")
        macros = jinja_env().get_template("trace_sections.html.j2").module
        return Markup(getattr(macros, name)(self._context))

    def html(self) -> str:
        from ictaudit.report.html import jinja_env

        ctx = self._context
        return jinja_env().get_template("trace.html.j2").render(**ctx, ctx=ctx, sections=SECTIONS)

    def write(self, path: Path | str) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.html(), encoding="utf-8")
        return path

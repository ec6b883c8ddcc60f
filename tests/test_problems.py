"""The catalogue of intake problem codes and status reasons (``rules/problems.yaml``): sound, complete,
the only source of intake's messages, and what docs/intake.md shows.

Regenerate the table of docs/intake.md after editing the catalogue with ``python tests/test_problems.py``.
"""

from __future__ import annotations

import ast
import re
import sys
import textwrap
from pathlib import Path

import pytest

from ictaudit.rules.problems import (
    PROBLEMS_FILE,
    ProblemCatalogueError,
    load_problems,
    placeholders_of,
    problem_catalogue,
)

ROOT = Path(__file__).resolve().parents[1]
INTAKE = ROOT / "lib" / "ictaudit" / "intake"
DOC = ROOT / "docs" / "intake.md"
BEGIN, END = "<!-- problem codes: begin (python tests/test_problems.py) -->", "<!-- problem codes: end -->"

GOOD = """\
placeholders:
  file: the file's name
  size: a size in bytes
problems:
  - id: I01
    severity: E
    title: a title
    why: why
    action: what to do
    messages:
      - id: empty
        vi: "Tệp {file} rỗng."
      - id: big
        severity: W
        vi: "Tệp {file} có {size} byte."
statuses:
  - {id: excluded, meaning: m, reasons: [{id: a, vi: "x"}]}
  - {id: missing, meaning: m, reasons: [{id: a, vi: "x"}]}
  - {id: late, meaning: m, reasons: [{id: a, vi: "x"}]}
  - {id: invalid, meaning: m, reasons: [{id: a, vi: "x"}]}
  - {id: ranked, meaning: m, reasons: [{id: a, vi: "x"}]}
"""


def load_text(tmp_path: Path, text: str):
    path = tmp_path / "problems.yaml"
    path.write_text(text, encoding="utf-8")
    return load_problems(path)


def test_a_tiny_catalogue_loads_with_severities_per_message(tmp_path):
    catalogue = load_text(tmp_path, GOOD)
    assert catalogue.message("I01", "empty") == ("E", "Tệp {file} rỗng.")
    assert catalogue.message("I01", "big") == ("W", "Tệp {file} có {size} byte.")
    assert catalogue.reason("late", "a") == "x"
    with pytest.raises(KeyError, match=r"I01\.absent"):
        catalogue.message("I01", "absent")


I01_BLOCK = GOOD[GOOD.index("  - id: I01") : GOOD.index("statuses:")]
BROKEN = [  # (what is wrong, GOOD with that change, what the error must name)
    ("duplicate code", GOOD.replace("statuses:", I01_BLOCK + "statuses:"), "duplicate problem codes: I01"),
    ("a code not I..", GOOD.replace("- id: I01", "- id: L01"), "must read I01, I02…: L01"),
    ("severity", GOOD.replace("severity: W", "severity: X"), "I01.big.severity"),
    ("unknown placeholder", GOOD.replace("có {size} byte", "có {bytes} byte"),
     "I01.big: placeholders not declared under placeholders: bytes"),
    ("unused placeholder", GOOD.replace("  size: a size in bytes\n", "  size: a size in bytes\n  rows: rows\n"),
     "placeholders no message uses: rows"),
    ("positional placeholder", GOOD.replace("rỗng.", "rỗng {}."), "I01.empty: placeholders are plain names"),
    ("format spec", GOOD.replace("có {size} byte", "có {size:>9} byte"), "I01.big: placeholders are plain names"),
    ("not NFC", GOOD.replace("rỗng", "ro\u0302\u0303ng"), "I01.empty: the message is not in Unicode NFC"),
    ("duplicate message", GOOD.replace("id: big", "id: empty"), "I01: duplicate message ids: empty"),
    ("unknown key", GOOD.replace("    action: what to do\n", "    action: what to do\n    hint: h\n"),
     "I01.hint: Extra inputs are not permitted"),
    ("missing why", GOOD.replace("    why: why\n", ""), "I01.why: Field required"),
    ("statuses out of order", GOOD.replace("  - {id: late", "  - {id: lately"),
     "statuses must be excluded, missing, late, invalid, ranked"),
]  # fmt: skip


@pytest.mark.parametrize("case", BROKEN, ids=[c[0] for c in BROKEN])
def test_a_broken_catalogue_names_its_offenders(tmp_path, case):
    _what, text, says = case
    assert text != GOOD
    with pytest.raises(ProblemCatalogueError) as err:
        load_text(tmp_path, text)
    assert says in str(err.value), str(err.value)


def test_the_projects_catalogue_has_every_code_from_I01_to_I17():
    catalogue = problem_catalogue()
    assert [p.id for p in catalogue.problems] == [f"I{n:02d}" for n in range(1, 18)]
    for code in catalogue.problems:
        assert code.title and code.why and code.action and code.messages, code.id
    assert [s.id for s in catalogue.statuses] == ["excluded", "missing", "late", "invalid", "ranked"]


def test_every_message_fills_from_its_placeholders():
    catalogue = problem_catalogue()
    texts = [m.vi for p in catalogue.problems for m in p.messages]
    texts += [r.vi for s in catalogue.statuses for r in s.reasons]
    for text in texts:
        names = placeholders_of(text)
        filled = text.format_map({name: f"<{name}>" for name in names})
        assert "{" not in filled and all(f"<{name}>" in filled for name in names), text


def test_intake_fills_a_message_by_code_and_id_and_names_a_missing_placeholder():
    from ictaudit.intake.problems import problem, refusal

    err = refusal("I05", "too_large", file="a.xlsx", size=9, limit=8)
    assert (err.code, err.severity, err.sheet) == ("I05", "E", "")
    assert err.message_vi.startswith("Tệp a.xlsx quá lớn (9 byte, giới hạn 8 byte)")
    row = problem("I04", "unknown_row", agency_id="so-a", file="a.xlsx", sheet="Số liệu", cell="A9", field="F99")
    assert (row["code"], row["severity"], row["cell"], row["field"]) == ("I04", "W", "A9", "F99")
    assert row["message_vi"].startswith("Tệp a.xlsx, trang “Số liệu”, ô A9: dòng có mã “F99”")
    with pytest.raises(KeyError, match=r"I05\.too_large needs the placeholder size"):
        refusal("I05", "too_large", file="a.xlsx", limit=8)


def _asked_for() -> tuple[set[tuple[str | None, str | None]], set[str]]:
    """(code or status, message id) of every call the intake modules make for a catalogue message,
    None for what the call passes as a variable (``problem(code, "cell_value", …)``,
    ``refusal("I05", message_id, …)``); and every string constant of those modules."""
    asked, constants = set(), set()
    for path in sorted(INTAKE.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                constants.add(node.value)
            if not isinstance(node, ast.Call) or len(node.args) < 2:
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name in ("problem", "refusal", "_reason"):
                asked.add(tuple(a.value if isinstance(a, ast.Constant) else None for a in node.args[:2]))
    return asked, constants


def test_intake_asks_for_every_message_of_the_catalogue_and_only_those():
    catalogue = problem_catalogue()
    known = {(p.id, m.id) for p in catalogue.problems for m in p.messages}
    known |= {(s.id, r.id) for s in catalogue.statuses for r in s.reasons}
    asked, constants = _asked_for()
    by_any_code = {m for c, m in asked if c is None}
    chosen_in_code = {c for c, m in asked if m is None}  # the message id is a constant chosen elsewhere

    def used(code, message_id):
        return (code, message_id) in asked or message_id in by_any_code or (
            code in chosen_in_code and message_id in constants
        )

    unknown = sorted(f"{c}.{m}" for c, m in asked if None not in (c, m) and (c, m) not in known)
    unused = sorted(f"{c}.{m}" for c, m in known if not used(c, m))
    assert not unknown, f"messages intake asks for that the catalogue lacks: {unknown}"
    assert not unused, f"catalogue messages intake never asks for: {unused}"
    assert len(asked) > 50


def test_no_vietnamese_message_is_written_in_the_intake_code():
    """Only the catalogue holds messages: no string literal of the reading modules is Vietnamese text
    (parsing.py's parse messages and forms.py's form text are theirs by contract)."""
    vietnamese = re.compile(r"[ạảãàáâầấậẩẫăằắặẳẵèéẹẻẽêềếệểễìíịỉĩòóọỏõôồốộổỗơờớợởỡùúụủũưừứựửữỳýỵỷỹđ]", re.IGNORECASE)
    found = []
    for name in ("package", "formulas", "workbook", "disk", "submissions", "problems"):
        tree = ast.parse((INTAKE / f"{name}.py").read_text(encoding="utf-8"))
        docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                      if isinstance(n, ast.Module | ast.FunctionDef | ast.ClassDef) and n.body
                      and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}  # fmt: skip
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
                words = [w for w in node.value.split() if vietnamese.search(w)]
                if len(words) > 2:  # a sentence, not a sheet or header name (Số liệu, Giá trị)
                    found.append(f"{name}.py:{node.lineno} {node.value[:50]!r}")
    assert not found, "\n".join(found)


# -- docs/intake.md ------------------------------------------------------------------------------


def render_codes() -> str:
    """The problem-code section of docs/intake.md, from the catalogue."""
    catalogue = problem_catalogue()
    lines = [BEGIN, "", "| code | severity | what | why | what to do |", "|---|---|---|---|---|"]
    for code in catalogue.problems:
        severities = "/".join(dict.fromkeys([code.severity, *(code.severity_of(m) for m in code.messages)]))
        lines.append(f"| {code.id} | {severities} | {code.title} | {code.why} | {code.action} |")
    lines += ["", "The messages, by code and message id (W where a message is a warning of an E code):", ""]
    for code in catalogue.problems:
        for m in code.messages:
            severity = f" ({code.severity_of(m)})" if code.severity_of(m) != code.severity else ""
            lines.append(f"- `{code.id}.{m.id}`{severity}: {m.vi}")
    lines += ["", "The status reasons (`status_reason` in scores.csv and the reports):", ""]
    for status in catalogue.statuses:
        lines.append(f"- **{status.id}**, {status.meaning}:")
        lines += [f"  - `{status.id}.{r.id}`: {r.vi}" for r in status.reasons]
    return "\n".join([*lines, "", END])


def test_docs_show_the_catalogue_as_it_is():
    text = DOC.read_text(encoding="utf-8")
    assert BEGIN in text and END in text, f"{DOC} lacks the generated section"
    shown = text[text.index(BEGIN) : text.index(END) + len(END)]
    assert shown == render_codes(), f"{DOC} is out of date: run python tests/test_problems.py"
    assert str(PROBLEMS_FILE.relative_to(ROOT)) in text


if __name__ == "__main__":  # rewrite the generated section of docs/intake.md
    text = DOC.read_text(encoding="utf-8")
    DOC.write_text(text[: text.index(BEGIN)] + render_codes() + text[text.index(END) + len(END) :], encoding="utf-8")
    print(textwrap.shorten(f"{DOC}: {len(problem_catalogue().problems)} codes written", 100), file=sys.stderr)

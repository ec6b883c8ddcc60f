"""The deferred import of rfc3987_syntax (:mod:`ictaudit.deferred`): nothing built until used, and the
IRI checks of jsonschema give what they give without it."""

import json
import subprocess
import sys

CASES = ["http://example.com/ä", "not an iri at all", "a b", "/x/y", "urn:isbn:0451450523", ""]

CHECK = f"""
import json, sys
{{prelude}}
import jsonschema
state = {{{{"stand_in": getattr(sys.modules.get("rfc3987_syntax"), "__ictaudit_deferred__", False),
          "lark": "lark" in sys.modules}}}}
fc = jsonschema.FormatChecker()
state["answers"] = [[fc.conforms(v, f) for f in ("iri", "iri-reference")] for v in {CASES!r}]
state["real_after"] = not getattr(sys.modules["rfc3987_syntax"], "__ictaudit_deferred__", False)
print(json.dumps(state))
"""


def _run(prelude: str) -> dict:
    out = subprocess.run([sys.executable, "-c", CHECK.format(prelude=prelude)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_importing_jsonschema_after_ictaudit_builds_no_parser_and_checks_alike():
    deferred, plain = _run("import ictaudit"), _run("")
    assert deferred["stand_in"] and not deferred["lark"]  # imported, nothing built yet
    assert not plain["stand_in"] and plain["lark"]
    assert deferred["answers"] == plain["answers"]
    assert [a for a, _ in plain["answers"]] == [True, False, False, False, True, False]  # the checks do check
    assert deferred["real_after"]  # the first check put the real module in place

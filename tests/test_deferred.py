"""The deferred IRI parser (:mod:`ictaudit.run.kernels.deferred`): nothing built until used, jsonschema's IRI checks
unchanged, and ``rfc3987_syntax`` an ordinary module for anyone who imports it."""

import json
import subprocess
import sys

CASES = ["http://example.com/ä", "not an iri at all", "a b", "/x/y", "urn:isbn:0451450523", ""]

CHECK = f"""
import importlib.util, json, sys
{{prelude}}
import jsonschema
state = {{{{"imported": "rfc3987_syntax" in sys.modules, "lark": "lark" in sys.modules,
          "spec": importlib.util.find_spec("rfc3987_syntax") is not None}}}}
fc = jsonschema.FormatChecker()
state["answers"] = [[fc.conforms(v, f) for f in ("iri", "iri-reference")] for v in {CASES!r}]
import rfc3987_syntax.syntax_helpers
from rfc3987_syntax import *
state["real_after"] = rfc3987_syntax.__file__.endswith("__init__.py") and "syntax_parser" in dir(rfc3987_syntax)
print(json.dumps(state))
"""


def _run(prelude: str) -> dict:
    out = subprocess.run([sys.executable, "-c", CHECK.format(prelude=prelude)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_jsonschema_after_ictaudit_builds_no_parser_and_checks_alike():
    deferred, plain = _run("import ictaudit"), _run("")
    assert not deferred["imported"] and not deferred["lark"]  # nothing built, no stand-in left behind
    assert plain["imported"] and plain["lark"]
    assert deferred["spec"] and plain["spec"]
    assert deferred["answers"] == plain["answers"]
    assert [a for a, _ in plain["answers"]] == [True, False, False, False, True, False]  # the checks do check
    assert deferred["real_after"] and plain["real_after"]  # submodules and import * as usual


def test_nothing_is_done_when_jsonschema_came_first():
    state = _run("import jsonschema, ictaudit")
    assert state["imported"] and state["lark"]

"""A costly import that nothing in a run uses, deferred to its first use.

``rfc3987_syntax`` builds Earley parsers for the IRI grammar when it is imported: ~0.7 s of CPU.
jsonschema imports it at once (``from rfc3987_syntax import is_valid_syntax``), for its ``iri`` and
``iri-reference`` format checks, and jsonschema is imported by nbformat (papermill, nbconvert) and by
Great Expectations: three times in every ``ictaudit run`` (the command, the worker rendering the
notebooks' HTML, the validation kernel). No schema those read has an IRI format.

:func:`import_jsonschema_lazily` imports jsonschema (~0.1 s) while a stand-in sits in
``sys.modules`` under that name for the length of the import only: jsonschema keeps the stand-in's
:func:`is_valid_syntax`, which imports the real module on its first call, and the stand-in is then
removed, so any later ``import rfc3987_syntax`` (``find_spec``, submodules, ``import *``) is the
real, ordinary import. Every check gives what it gave, only built later.

``import ictaudit`` calls it, so the run, its workers, its kernels and the benchmark's floor all
import the same way. It does nothing when jsonschema is already imported, or when rfc3987_syntax or
its parser library (lark) is not installed (jsonschema then skips the IRI checks itself).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types

NAME = "rfc3987_syntax"


def is_valid_syntax(term: str, value: str):
    """``rfc3987_syntax.is_valid_syntax``, importing the module on the first call."""
    return importlib.import_module(NAME).is_valid_syntax(term, value)


def import_jsonschema_lazily() -> None:
    """Import jsonschema without building rfc3987_syntax's parsers (see the module's docstring)."""
    if "jsonschema" in sys.modules or NAME in sys.modules:
        return
    if any(importlib.util.find_spec(name) is None for name in ("jsonschema", NAME, "lark")):
        return
    stand_in = types.ModuleType(NAME, "Stand-in for rfc3987_syntax while jsonschema imports (ictaudit.run.kernels.deferred).")
    stand_in.is_valid_syntax = is_valid_syntax  # the one name jsonschema takes from it
    sys.modules[NAME] = stand_in
    try:
        import jsonschema  # noqa: F401
    finally:
        if sys.modules.get(NAME) is stand_in:
            del sys.modules[NAME]

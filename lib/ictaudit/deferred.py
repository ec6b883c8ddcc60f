"""A costly import that nothing in a run uses, deferred to its first use.

``rfc3987_syntax`` builds Earley parsers for the IRI grammar when it is imported: ~0.7 s of CPU.
jsonschema imports it at once, for its ``iri`` and ``iri-reference`` format checks, and jsonschema is
imported by nbformat (papermill, nbconvert) and by Great Expectations: three times in every
``ictaudit run`` (the command, the worker rendering the notebooks' HTML, the validation kernel). No
schema those read has an IRI format. :func:`defer_rfc3987_syntax` puts a stand-in module in its place
whose functions import the real module on their first call and hand it over (the real module then
replaces the stand-in in ``sys.modules``), so every check still gives what it gave, only later.

``import ictaudit`` installs it, so the run, its workers, its kernels and the benchmark's floor all
import the same way.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types

NAME = "rfc3987_syntax"


def defer_rfc3987_syntax() -> None:
    """Install the stand-in, unless the module is already imported or not installed."""
    if NAME in sys.modules or importlib.util.find_spec(NAME) is None:
        return
    stand_in = types.ModuleType(NAME, "Stand-in for rfc3987_syntax (ictaudit.deferred): imports it on first use.")
    stand_in.__ictaudit_deferred__ = True

    def _real() -> types.ModuleType:
        if sys.modules.get(NAME) is stand_in:
            del sys.modules[NAME]
        return importlib.import_module(NAME)

    def is_valid_syntax(term: str, value: str):
        return _real().is_valid_syntax(term, value)

    def parse(term: str, value: str):
        return _real().parse(term, value)

    def __getattr__(attribute: str):  # the module-level __getattr__ of PEP 562
        if attribute.startswith("__"):  # the import system asks for __path__, __file__, …: no reason to load
            raise AttributeError(attribute)
        return getattr(_real(), attribute)

    stand_in.is_valid_syntax = is_valid_syntax
    stand_in.parse = parse
    stand_in.__getattr__ = __getattr__
    sys.modules[NAME] = stand_in

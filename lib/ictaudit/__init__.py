"""ictaudit: a reproducible audit notebook suite for ranking state agencies' IT application."""

from ictaudit.deferred import defer_rfc3987_syntax

__version__ = "0.1.0"

defer_rfc3987_syntax()  # ~0.7 s of parser building per process that imports jsonschema, never used

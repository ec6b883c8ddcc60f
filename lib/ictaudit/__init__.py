"""ictaudit: a reproducible audit notebook suite for ranking state agencies' IT application."""

from ictaudit.run.kernels.deferred import import_jsonschema_lazily

__version__ = "0.1.0"

import_jsonschema_lazily()  # saves ~0.7 s of IRI parser building per process that imports jsonschema

"""ictaudit: a reproducible audit notebook suite for ranking state agencies' IT application."""

__version__ = "0.1.0"

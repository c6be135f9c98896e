"""The monitoring app's models."""

from .alerts import Alert, AlertKind, AlertRule

__all__ = ["Alert", "AlertKind", "AlertRule"]

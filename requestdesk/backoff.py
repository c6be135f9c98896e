"""A shared service (Redis) taken as down for a while after it failed, in this process.

Callers that can do without it (a cache, limits kept in-process instead) ask `usable()`
first and call `failed(exc)` when it fails (`attempt(call)` does the second): they then
skip it for `seconds` instead of waiting its connect timeout on every call, and the outage
is logged once, not per call."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any


class Backoff:
    def __init__(self, what: str, *, seconds: float, logger: logging.Logger):
        self.what, self.seconds, self.logger = what, seconds, logger
        self.down_until = 0.0  # time.monotonic() before which the service is left alone

    def usable(self) -> bool:
        return self.down_until <= time.monotonic()

    def failed(self, exc: Exception) -> None:
        self.down_until = time.monotonic() + self.seconds
        self.logger.warning("%s for the next %.0f s (%s: %s)", self.what, self.seconds, exc.__class__.__name__, exc)

    def attempt(self, call: Callable[[], Any], default: Any = None) -> Any:
        """`call()`; `default` when it raises (the service is then left alone `seconds`)."""
        try:
            return call()
        except Exception as exc:  # the service is down
            self.failed(exc)
            return default

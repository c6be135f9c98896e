"""Rate limits and the sign-in lockout, which fail open: when Redis (the cache) is down,
requests are not limited rather than refused, so reads and sign-ins keep working; the outage
is logged and reported by /health/db/.

Every limit counts per client address as DRF's `NUM_PROXIES` defines it (`client_ip`):
X-Forwarded-For is believed only as far as the configured proxies wrote it, so a client cannot
make itself a new address per request."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from axes.handlers.cache import AxesCacheHandler
from axes.helpers import get_cache
from django.core.cache.backends.base import BaseCache
from django.http import HttpRequest
from redis.exceptions import RedisError
from rest_framework import throttling

if TYPE_CHECKING:
    from rest_framework.request import Request
    from rest_framework.views import APIView

logger = logging.getLogger(__name__)


def client_ip(request: HttpRequest | Request) -> str:
    """The client's address: REMOTE_ADDR, or with NUM_PROXIES = N the Nth address from the
    right of X-Forwarded-For (the one our own nearest proxy saw). Django and DRF requests alike."""
    # DRF reads only request.META, which a Django request has too.
    return throttling.BaseThrottle().get_ident(request)  # type: ignore[arg-type]


def _skipped(what: str, exc: Exception) -> None:
    logger.warning("%s skipped, cache unavailable: %s", what, exc.__class__.__name__)


class FailOpenMixin(throttling.BaseThrottle):
    def allow_request(self, request: Request, view: APIView) -> bool:
        try:
            return super().allow_request(request, view)
        except RedisError as exc:
            _skipped("throttling", exc)
            return True


class AnonRateThrottle(FailOpenMixin, throttling.AnonRateThrottle):
    pass


class UserRateThrottle(FailOpenMixin, throttling.UserRateThrottle):
    pass


class ScopedRateThrottle(FailOpenMixin, throttling.ScopedRateThrottle):
    pass


# django-axes ships no types: its handler is Any to mypy.
class FailOpenAxesHandler(AxesCacheHandler):  # type: ignore[misc]
    """django-axes' per-account failure counts in the cache; with the cache down an account
    counts no failures (and none are recorded) instead of every sign-in answering 500.
    The cache is looked up on each use, not kept, so it follows the settings."""

    def __init__(self) -> None:
        pass  # no cache kept: see `cache`

    @property
    def cache(self) -> BaseCache:
        cache: BaseCache = get_cache()
        return cache

    def get_failures(self, request: HttpRequest, credentials: dict[str, Any] | None = None) -> int:
        try:
            failures: int = super().get_failures(request, credentials)
            return failures
        except RedisError as exc:
            _skipped("sign-in lockout", exc)
            return 0

    def user_login_failed(
        self, sender: object, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
    ) -> None:
        try:
            super().user_login_failed(sender, credentials, request, **kwargs)
        except RedisError as exc:
            _skipped("sign-in lockout", exc)

    def user_logged_in(self, sender: object, request: HttpRequest, user: object, **kwargs: Any) -> None:
        try:
            super().user_logged_in(sender, request, user, **kwargs)
        except RedisError as exc:
            _skipped("sign-in lockout", exc)

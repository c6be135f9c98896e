"""Rate limits and the sign-in lockout, which fail open: when Redis (the cache) is down,
requests are not limited rather than refused, so reads and sign-ins keep working; the outage
is logged and reported by /health/db/.

Every limit counts per client address as DRF's `NUM_PROXIES` defines it (`client_ip`):
X-Forwarded-For is believed only as far as the configured proxies wrote it, so a client cannot
make itself a new address per request."""

import logging

from axes.handlers.cache import AxesCacheHandler
from axes.helpers import get_cache
from redis.exceptions import RedisError
from rest_framework import throttling

logger = logging.getLogger(__name__)


def client_ip(request) -> str:
    """The client's address: REMOTE_ADDR, or with NUM_PROXIES = N the Nth address from the
    right of X-Forwarded-For (the one our own nearest proxy saw). Django and DRF requests alike."""
    return throttling.BaseThrottle().get_ident(request)


def _skipped(what: str, exc: Exception) -> None:
    logger.warning("%s skipped, cache unavailable: %s", what, exc.__class__.__name__)


class FailOpenMixin:
    def allow_request(self, request, view):
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


class FailOpenAxesHandler(AxesCacheHandler):
    """django-axes' per-account failure counts in the cache; with the cache down an account
    counts no failures (and none are recorded) instead of every sign-in answering 500.
    The cache is looked up on each use, not kept, so it follows the settings."""

    def __init__(self):
        pass  # no cache kept: see `cache`

    @property
    def cache(self):
        return get_cache()

    def get_failures(self, request, credentials=None) -> int:
        try:
            return super().get_failures(request, credentials)
        except RedisError as exc:
            _skipped("sign-in lockout", exc)
            return 0

    def user_login_failed(self, sender, credentials, request=None, **kwargs):
        try:
            return super().user_login_failed(sender, credentials, request, **kwargs)
        except RedisError as exc:
            _skipped("sign-in lockout", exc)

    def user_logged_in(self, sender, request, user, **kwargs):
        try:
            return super().user_logged_in(sender, request, user, **kwargs)
        except RedisError as exc:
            _skipped("sign-in lockout", exc)

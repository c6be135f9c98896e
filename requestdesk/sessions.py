"""Sessions (the admin's sign-in): Django's cached_db store, so a signed-in page reads its
session from the cache (Redis) and costs no database round trip; the database keeps every
session, as Django's db store does.

Two changes to Django's store:

* With the cache unreachable, its calls are a miss or a no-op (logged once, then the cache is
  left alone for a while, requestdesk.backoff): pages go on from the database. Django's
  store answers a 500 when it cannot write the session it read, or delete one at sign-out.
* A session is kept in the cache at most CACHED_SECONDS: a sign-out while the cache was
  unreachable leaves the signed-out copy there at most that long once it is back.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.contrib.sessions.backends import cached_db
from django.core.cache import caches
from django.core.cache.backends.base import BaseCache

from .backoff import Backoff

CACHED_SECONDS = 300

log = logging.getLogger(__name__)
cache_down = Backoff("sessions: cache unavailable, sessions read from the database", seconds=30, logger=log)


class _Forgiving:
    """The calls cached_db makes on its cache, each a miss or a no-op when the cache fails."""

    def __init__(self, cache: BaseCache) -> None:
        self._cache = cache

    def _call(self, name: str, *args: Any, default: Any = None) -> Any:
        if not cache_down.usable():
            return default
        return cache_down.attempt(lambda: getattr(self._cache, name)(*args), default)  # the database has every session

    def get(self, key: str, default: Any = None) -> Any:
        return self._call("get", key, default, default=default)

    def set(self, key: str, value: Any, timeout: float | None = None) -> None:
        seconds = CACHED_SECONDS if timeout is None else min(timeout, CACHED_SECONDS)
        self._call("set", key, value, seconds)

    def delete(self, key: str) -> None:
        self._call("delete", key)

    def __contains__(self, key: str) -> bool:
        return bool(self._call("has_key", key, default=False))

    def __getattr__(self, name: str) -> Any:
        """Any other call (the async ones an ASGI server would make) goes to the cache as is."""
        return getattr(self._cache, name)


class SessionStore(cached_db.SessionStore):
    def __init__(self, session_key: str | None = None) -> None:
        super().__init__(session_key)
        self._cache: Any = _Forgiving(caches[settings.SESSION_CACHE_ALIAS])  # the four calls cached_db makes

"""Politeness for the fetcher: per-domain rate and concurrency limits, and robots.txt.

* `DomainLimiter.slot(domain, interval, hold_seconds)`: requests to one domain are spaced
  `interval` seconds apart and at most `concurrency` run at once, across every worker
  process (two small Lua scripts in Redis: a slot reservation and an expiring semaphore).
  When Redis does not answer the same limits hold within this process.
* `Robots`: robots.txt rules per origin (RFC 9309: a 4xx robots.txt allows everything, an
  unreachable one or a 5xx allows nothing for a minute), kept in memory for one fetcher and
  in the Django cache (Redis) for everyone, `SCRAPING_ROBOTS_CACHE_SECONDS`. An unreachable
  robots.txt is not a site's rule: `allowed` raises `RobotsUnreachable` with the reason (a
  refused connection, a timeout, HTTP 503), so the page is reported as what happened to it
  rather than as "Disallowed by robots.txt".
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
import uuid
from contextlib import contextmanager
from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser

import redis
from django.conf import settings
from django.core.cache import cache
from redis.backoff import NoBackoff
from redis.retry import Retry

from requestdesk import outbound
from requestdesk.backoff import Backoff

logger = logging.getLogger(__name__)

UNREACHABLE_ROBOTS_SECONDS = 60
DOMAIN_WAIT_SECONDS = 300  # how long a request waits for a free place on a busy domain


class DomainBusy(Exception):
    """No place on the domain within DOMAIN_WAIT_SECONDS."""


class RobotsUnreachable(Exception):
    """robots.txt could not be read (network error or 5xx): nothing on the origin may be
    fetched for now (RFC 9309), and the message says why."""


# --- per-domain limits ---------------------------------------------------------------------

# Reserve the next free slot of a domain: returns how long to wait for it (seconds, string).
_RESERVE = """
local now = tonumber(ARGV[1])
local slot = math.max(now, tonumber(redis.call('GET', KEYS[1]) or '0'))
redis.call('SET', KEYS[1], tostring(slot + tonumber(ARGV[2])), 'PX', ARGV[3])
return tostring(slot - now)
"""
# Take one of `limit` concurrent places of a domain (holders expire: a crashed worker's too).
_ACQUIRE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], ARGV[4], ARGV[3])
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
  return 1
end
return 0
"""

_redis_client = None
# After a Redis error, limits stay in-process this long.
redis_down = Backoff("domain limits kept in-process", seconds=30, logger=logger)


def _redis():
    """The shared Redis client, or None while Redis is considered down (fail fast: a
    client that retries its connection on every request would slow every fetch)."""
    global _redis_client
    if not redis_down.usable():
        return None
    if _redis_client is None:
        _redis_client = redis.Redis.from_url(
            settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=1, retry=Retry(NoBackoff(), 0)
        )
    return _redis_client


class DomainLimiter:
    """Spacing (rate) and concurrency per domain, shared by every worker through Redis. When
    Redis does not answer, the same limits hold within this process."""

    _local_lock = threading.Lock()
    _local_next: dict[str, float] = {}
    _local_slots: dict[str, threading.BoundedSemaphore] = {}

    def __init__(self, *, concurrency: int, sleep=time.sleep):
        self.concurrency, self.sleep = max(1, concurrency), sleep

    @contextmanager
    def slot(self, domain: str, interval: float, hold_seconds: float):
        """Wait for a free place on `domain` and for its next request slot, then hold the place."""
        release = self._acquire(domain, hold_seconds)
        try:
            self.sleep(self._reserve(domain, interval))
            yield
        finally:
            release()

    def _reserve(self, domain: str, interval: float) -> float:
        client = _redis()
        if client is not None:
            try:
                wait = client.register_script(_RESERVE)(
                    keys=[f"scraping:rate:{domain}"], args=[time.time(), interval, int(interval * 1000) + 60_000]
                )
                return float(wait)
            except redis.RedisError as exc:
                redis_down.failed(exc)
        with self._local_lock:
            now = time.time()
            slot = max(now, self._local_next.get(domain, 0.0))
            self._local_next[domain] = slot + interval
            return slot - now

    def _acquire(self, domain: str, hold_seconds: float):
        key, token = f"scraping:conc:{domain}", uuid.uuid4().hex
        deadline = time.monotonic() + DOMAIN_WAIT_SECONDS
        client = _redis()
        if client is not None:
            try:
                script = client.register_script(_ACQUIRE)
                while True:
                    now = time.time()
                    if script(
                        keys=[key],
                        args=[now, self.concurrency, token, now + hold_seconds, int(hold_seconds * 1000) + 60_000],
                    ):
                        return lambda: self._release(client, key, token)
                    if time.monotonic() > deadline:
                        raise DomainBusy(f"The domain {domain} stayed busy for {DOMAIN_WAIT_SECONDS}s.")
                    self.sleep(0.05)
            except redis.RedisError as exc:
                redis_down.failed(exc)
        with self._local_lock:
            semaphore = self._local_slots.setdefault(domain, threading.BoundedSemaphore(self.concurrency))
        if not semaphore.acquire(timeout=DOMAIN_WAIT_SECONDS):
            raise DomainBusy(f"The domain {domain} stayed busy for {DOMAIN_WAIT_SECONDS}s.")
        return semaphore.release

    @staticmethod
    def _release(client, key: str, token: str) -> None:
        try:
            client.zrem(key, token)
        except redis.RedisError:
            pass  # the place expires by itself


# --- robots.txt ------------------------------------------------------------------------------


class Robots:
    """robots.txt rules per origin: in memory for one fetcher, in the cache for everyone."""

    def __init__(self, download, *, cache_seconds: int):
        self._download, self.cache_seconds = download, cache_seconds
        self._parsers: dict[str, RobotFileParser] = {}
        self._lock = threading.Lock()

    def allowed(self, url: str) -> bool:
        """Whether robots.txt lets us fetch `url`; RobotsUnreachable when it could not be read."""
        parser = self._parser(url)
        if isinstance(parser, _Unreachable):
            raise RobotsUnreachable(f"robots.txt could not be read ({parser.reason}); the page was not fetched.")
        return parser.can_fetch(outbound.USER_AGENT, url)

    def crawl_delay(self, url: str) -> float:
        try:
            return float(self._parser(url).crawl_delay(outbound.USER_AGENT) or 0)
        except (TypeError, ValueError):
            return 0.0

    def _parser(self, url: str) -> RobotFileParser:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}".lower()
        with self._lock:
            if origin not in self._parsers:
                self._parsers[origin] = self._load(origin)
            return self._parsers[origin]

    def _load(self, origin: str) -> RobotFileParser:
        key = "scraping:robots:" + hashlib.sha256(origin.encode()).hexdigest()
        try:
            cached = cache.get(key)
        except Exception:  # the cache is an optimisation: Redis down means fetching again
            cached = None
        if cached is None:
            status, text = self._download(origin + "/robots.txt")  # text: the reason when status is None
            seconds = self.cache_seconds
            if status is None or status >= 500:
                seconds = min(seconds, UNREACHABLE_ROBOTS_SECONDS)
            cached = (status, text)
            try:
                cache.set(key, cached, seconds)
            except Exception:
                pass
        status, text = cached
        if status is None or status >= 500:
            return _Unreachable(origin + "/robots.txt", text or f"HTTP {status}")
        parser = RobotFileParser(origin + "/robots.txt")
        if status >= 400:
            parser.allow_all = True
        else:
            parser.parse(text.splitlines())
        return parser


class _Unreachable(RobotFileParser):
    """The rules of an unreachable robots.txt: nothing allowed, and why."""

    def __init__(self, url: str, reason: str):
        super().__init__(url)
        self.disallow_all, self.reason = True, reason

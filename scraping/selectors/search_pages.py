"""The results search's query-result cache (like Solr's queryResultCache), shared by every
process through the cache (Redis): what the client-side walk found for a page of a query (its
ranked ids with their scores, the count and whether it is exact), by company, query terms,
filters and page, kept SCRAPING_SEARCH_PAGE_SECONDS (0: nothing is kept).

Each company's pages live under a generation read once per search, before its walk; `forget`
(scraping.signals.postings_changed and results_ingested, in whichever process stored or
deleted the results: a web request or a worker's scrape; a project's or target's deletion)
gives the company a new one, so every process's next search walks again, and a page walked
across that change is stored under the old generation, where no search looks. So a page is
as fresh as the last change, whatever its seconds (they only bound the memory it holds).

One process walks a page at a time (`claim`): a search that finds another walking the same
page waits up to WAIT_SECONDS for its answer (`wait`) instead of walking it too, so a popular
query after a change costs one walk, not one per request that arrives meanwhile.

The cache is an optimisation: with Redis down a search walks every time, and a process that
found it down says so once and leaves it alone for a while (`cache_down`: each attempt could
wait the cache's connect timeout)."""

from __future__ import annotations

import hashlib
import logging
import time
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

from requestdesk.backoff import Backoff

log = logging.getLogger(__name__)
PREFIX = "scraping:search:"
EVERY_COMPANY = f"{PREFIX}generation"
# How long a search waits for a page another process walks (its claim lasts as long: a process
# killed mid-walk holds it no longer), and how often it looks.
WAIT_SECONDS = 10.0
POLL_SECONDS = (0.005, 0.1)  # the first look, the longest interval (doubling in between)
# Redis down: searches walk without asking it, for 30 s at a time.
cache_down = Backoff("search pages: cache unavailable, searches walk", seconds=30, logger=log)


@dataclass(frozen=True)
class Walked:
    """What the walk found for one page: its (id, score) best first, the count, and whether
    the count is exact."""

    page: tuple[tuple[object, int], ...]
    count: int
    exact: bool


def seconds() -> float:
    """How long a page is kept at most (0: nothing is kept); what the search learns under a
    generation (its empty weights) is kept as long."""
    return float(settings.SCRAPING_SEARCH_PAGE_SECONDS or 0)


def generation(company_key) -> tuple | None:
    """The generation of the company's pages (every company's, then its own); None when
    nothing is kept (no seconds, or the cache cannot be reached)."""
    if seconds() <= 0 or not cache_down.usable():
        return None
    keys = [EVERY_COMPANY, f"{PREFIX}generation:{company_key}"]
    found = cache_down.attempt(lambda: cache.get_many(keys))
    return None if found is None else tuple(found.get(key, "") for key in keys)


def _key(generation: tuple, parts: tuple) -> str:
    return PREFIX + "page:" + hashlib.sha256(repr((generation, parts)).encode()).hexdigest()


def _walking(key: str) -> str:
    """The claim on the page of `key`."""
    return key + ":walking"


def get(generation: tuple | None, parts: tuple) -> Walked | None:
    if generation is None:
        return None
    found = cache_down.attempt(lambda: cache.get(_key(generation, parts)))
    return found if isinstance(found, Walked) else None


def put(generation: tuple | None, parts: tuple, walked: Walked) -> None:
    if generation is not None:
        cache_down.attempt(lambda: cache.set(_key(generation, parts), walked, seconds()))


def claim(generation: tuple | None, parts: tuple) -> bool:
    """Whether this search walks the page: True unless another process claimed it and has not
    released it (nothing kept, or the cache down: every search walks)."""
    if generation is None:
        return True
    return bool(cache_down.attempt(lambda: cache.add(_walking(_key(generation, parts)), 1, WAIT_SECONDS), default=True))


def release(generation: tuple | None, parts: tuple) -> None:
    """The claim's end (the page is put, or the walk failed: a waiter then walks itself)."""
    if generation is not None:
        cache_down.attempt(lambda: cache.delete(_walking(_key(generation, parts))))


def wait(generation: tuple | None, parts: tuple) -> Walked | None:
    """The page another process is walking, once it is put; None when its claim ends without
    one (it failed), the cache fails, or WAIT_SECONDS pass."""
    if generation is None:
        return None
    key, deadline, pause = _key(generation, parts), time.monotonic() + WAIT_SECONDS, POLL_SECONDS[0]
    while time.monotonic() < deadline:
        time.sleep(pause)
        found = cache_down.attempt(lambda: cache.get_many([key, _walking(key)]))
        if found is None:
            return None
        if isinstance(found.get(key), Walked):
            return found[key]
        if _walking(key) not in found:
            return None
        pause = min(pause * 2, POLL_SECONDS[1])
    return None


def forget(company_key=None) -> None:
    """The company's pages (company_key None: every company's) are walked again, in every
    process. While the cache is down here, nothing is dropped: what other processes keep
    expires within SCRAPING_SEARCH_PAGE_SECONDS."""
    if not cache_down.usable():
        return
    key = EVERY_COMPANY if company_key is None else f"{PREFIX}generation:{company_key}"
    cache_down.attempt(lambda: cache.set(key, uuid.uuid4().hex, None))

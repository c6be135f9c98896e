"""Fixtures the tests of tests/scraping/ share (pytest finds them here)."""

import pytest

from tests.support.celery_worker import celery_worker  # noqa: F401
from tests.support.content import llm  # noqa: F401
from tests.support.migrations import database_at, migration_databases  # noqa: F401
from tests.support.round_trips import round_trips  # noqa: F401
from tests.support.scraping import queued, site  # noqa: F401
from tests.support.search import corpus, walk_only  # noqa: F401


@pytest.fixture(autouse=True)
def _no_search_kept(monkeypatch):
    """Each test starts with nothing the search keeps (empty tiers per process, cached pages in Redis):
    tests that share a company (a class's shared world) would otherwise be served another
    test's walk. And with the cache taken as reachable, whatever an earlier test found."""
    from scraping.selectors import search, search_pages

    monkeypatch.setattr(search_pages.cache_down, "down_until", 0.0)
    search.forget()

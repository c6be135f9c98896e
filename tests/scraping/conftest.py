"""Fixtures the tests of tests/scraping/ share (pytest finds them here)."""

from tests.support.celery_worker import celery_worker  # noqa: F401
from tests.support.content import llm  # noqa: F401
from tests.support.migrations import database_at, migration_databases  # noqa: F401
from tests.support.scraping import queued, site  # noqa: F401

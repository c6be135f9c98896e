"""Fixtures the tests of tests/monitoring/ share (pytest finds them here)."""

from tests.fakes.webhooks import receiver  # noqa: F401
from tests.support.celery_worker import celery_worker  # noqa: F401
from tests.support.content import llm  # noqa: F401
from tests.support.knowledge import fake_apis, manager  # noqa: F401
from tests.support.migrations import migrated_db, migration_databases  # noqa: F401
from tests.support.scraping import site  # noqa: F401

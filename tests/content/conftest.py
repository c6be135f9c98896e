"""Fixtures the tests of tests/content/ share (pytest finds them here)."""

from tests.support.celery_worker import celery_worker  # noqa: F401
from tests.support.content import aged, llm  # noqa: F401
from tests.support.migrations import database_at, migration_databases  # noqa: F401
from tests.support.round_trips import round_trips  # noqa: F401

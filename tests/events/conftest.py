"""Fixtures the tests of tests/events/ share (pytest finds them here)."""

from tests.fakes.webhooks import receiver  # noqa: F401
from tests.support.celery_worker import celery_worker  # noqa: F401
from tests.support.mail import smtp  # noqa: F401
from tests.support.migrations import migrated_db, migration_databases  # noqa: F401

"""Fixtures the tests of tests/requestdesk/ share (pytest finds them here)."""

from tests.fakes.webhooks import receiver  # noqa: F401
from tests.support.celery_worker import celery_worker  # noqa: F401
from tests.support.content import aged, llm  # noqa: F401
from tests.support.knowledge import fake_apis  # noqa: F401
from tests.support.migrations import fresh_db, migrated_db, migration_databases  # noqa: F401
from tests.support.round_trips import round_trips  # noqa: F401
from tests.support.storage import s3_archives, s3_server  # noqa: F401

"""Fixtures the tests of tests/knowledge/ share (pytest finds them here)."""

from tests.support.celery_worker import celery_worker  # noqa: F401
from tests.support.knowledge import fake_apis, manager, queued  # noqa: F401
from tests.support.storage import s3_server  # noqa: F401

"""Fixtures the tests of tests/tenants/ share (pytest finds them here)."""

from tests.support.content import llm  # noqa: F401
from tests.support.mail import smtp  # noqa: F401
from tests.support.migrations import fresh_db, migration_databases  # noqa: F401

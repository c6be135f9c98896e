"""Migrations run as an operator runs them: `manage.py` in a subprocess against a database of
its own (`fresh_db`), dropped after the test."""

import os
import subprocess
import sys
import uuid

import pymongo
import pytest
from django.conf import settings

from tests.paths import ROOT


def manage(db_name: str, *args, check: bool = True) -> subprocess.CompletedProcess:
    """`manage.py *args` on database `db_name` (the test's FIELD_ENCRYPTION_KEY); with `check`,
    a non-zero exit fails the test with its stderr."""
    env = {**os.environ, "MONGODB_NAME": db_name, "FIELD_ENCRYPTION_KEY": settings.FIELD_ENCRYPTION_KEY}
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    if check:
        assert done.returncode == 0, done.stderr[-3000:]
    return done


@pytest.fixture
def fresh_db():
    """(name, pymongo database) of an empty database on the test server."""
    name = f"fresh_{uuid.uuid4().hex[:8]}"
    client = pymongo.MongoClient(settings.DATABASES["default"]["HOST"])
    yield name, client[name]
    client.drop_database(name)

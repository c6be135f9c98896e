"""The proof folder: every test here is marked `proof` (the hook below); and the fixtures its
tests share (pytest finds them here)."""

from pathlib import Path

import pytest

from tests.support.celery_worker import celery_worker  # noqa: F401
from tests.support.knowledge import fake_apis  # noqa: F401
from tests.support.scraping import site  # noqa: F401

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items):
    """Every test in this folder is a proof of the whole product (benchmark entry, fuzzing, HTTP
    load, faults, browser, generated client): marked `proof`, which ./dev test --fast leaves out."""
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.proof)

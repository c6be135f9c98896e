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
    load, faults, browser, generated client): marked `proof`, which ./dev test --fast leaves out.

    The modules holding the longest tests run first (proofs, then modules with `slow` tests;
    each module whole, in its usual order): a minute-long proof started last kept one
    pytest-xdist worker busy alone at the end while the other had finished; started first,
    the short tests fill in around it."""
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.proof)
    rank: dict[Path, int] = {}
    for item in items:
        kind = 0 if item.get_closest_marker("proof") else 1 if item.get_closest_marker("slow") else 2
        rank[item.path] = min(rank.get(item.path, 2), kind)
    items.sort(key=lambda item: rank[item.path])

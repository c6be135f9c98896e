"""The proof folder: every test here is marked `proof` (the hook below); and the fixtures its
tests share (pytest finds them here)."""

from pathlib import Path

import pytest

from tests.fakes.webhooks import receiver  # noqa: F401
from tests.support.celery_worker import celery_worker  # noqa: F401
from tests.support.knowledge import fake_apis  # noqa: F401
from tests.support.scraping import site  # noqa: F401

HERE = Path(__file__).parent


def pytest_itemcollected(item):
    """Every test in this folder is a proof of the whole product (benchmark entry, fuzzing, HTTP
    load, faults, browser, generated client): marked `proof`, which ./dev test --fast leaves out."""
    if HERE in item.path.parents:
        item.add_marker(pytest.mark.proof)


@pytest.hookimpl(trylast=True)  # after -m has deselected: the order of what runs
def pytest_collection_modifyitems(items):
    """The modules holding the longest tests run first (proofs, then modules with `slow` tests,
    then those whose tests migrate databases of their own; each module whole, in its usual
    order): a minute-long proof started last kept one pytest-xdist worker busy alone at the end
    while the other had finished; started first, the short tests fill in around it."""
    rank: dict[Path, int] = {}
    for item in items:
        if item.get_closest_marker("proof"):
            kind = 0
        elif item.get_closest_marker("slow"):
            kind = 1
        else:
            kind = 2 if "migration_databases" in getattr(item, "fixturenames", ()) else 3
        rank[item.path] = min(rank.get(item.path, 3), kind)
    items.sort(key=lambda item: rank[item.path])

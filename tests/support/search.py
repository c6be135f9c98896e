"""The results search's shared test corpus (the `corpus` fixture, offered by
tests/scraping/conftest.py) and the helpers its tests use: results stored through ingest on
chosen days, a search on the client-side walk, and a spy on the postings the walk asks for."""

from datetime import UTC, datetime, timedelta

import pytest

from scraping.selectors import search as selectors
from scraping.selectors import search_segments, search_walk
from scraping.services import ingest
from scraping.services.extraction import Item
from tests.support.scraping import make_project, make_target

DAY = datetime(2024, 3, 1, tzinfo=UTC)


def add_results(target, platform="article", **items):
    """items: name=(title, text, days after DAY)."""
    for title, text, days in items.values():
        ingest.ingest(
            target=target, items=[Item(title=title, text=text, date=DAY + timedelta(days=days))], platform=platform
        )


@pytest.fixture
def corpus(world):
    project = make_project(world.a, name="Lights")
    other = make_project(world.a, name="Kitchen")
    target = make_target(project, "http://127.0.0.1:9/lights")
    second = make_target(other, "http://127.0.0.1:9/kitchen")
    add_results(
        target,
        r1=("Lantern battery test", "The lantern battery lasts all night. Wonderful!", 0),
        r2=("Lantern review", "The battery is fine.", 1),
        r3=("Garden news", "A lantern and a battery, sadly broken and awful.", 2),
        r5=("Kettle", "It boils water.", 4),
    )
    add_results(second, platform="reviews", r4=("Battery", "Nothing else to say.", 3))
    # Company B has the best match of all: never shown to A.
    b_target = make_target(make_project(world.b), "http://127.0.0.1:9/b")
    add_results(b_target, rb=("Lantern battery lantern battery", "lantern battery", 9))
    return project, other, target, second


@pytest.fixture
def walk_only(monkeypatch):
    """Queries walk the results, as when the search index is stale (the tests of the walk
    itself)."""
    monkeypatch.setattr(search_segments, "rank", lambda **_: None)


def walked_search(company, query, *, on_server=False, **filters):
    """The search of `query`, scored here (the walk, or the search index), or with
    `on_server` as a server with ordered index sorts and cheap counts scores it."""
    return selectors.SearchResults(
        company=company,
        terms=selectors.search(company=company, query=query).terms,
        filters=selectors.ResultFilters(**filters),
        on_server=on_server,
    )


def asked_postings(monkeypatch) -> list:
    """The postings the walk asks the server for (each a find)."""
    asked, real = [], search_walk._results

    class Spy:
        def __init__(self, company):
            self.collection = real(company)

        def find(self, query, *args, **kwargs):
            asked.append(query["terms"])
            return self.collection.find(query, *args, **kwargs)

        def __getattr__(self, name):
            return getattr(self.collection, name)

    monkeypatch.setattr(search_walk, "_results", Spy)
    return asked

"""Weighted text search over results: title words weigh 10, text words 5, ties newest
first; filters, pagination, the tenant boundary, and the (company_id, terms) index."""

from datetime import datetime, timedelta, timezone

import pytest
from django.db import connection

from scraping import selectors
from scraping.services import ingest
from scraping.services.extraction import Item
from tests.scraping_support import make_project, make_target, system_presets  # noqa: F401

DAY = datetime(2024, 3, 1, tzinfo=timezone.utc)


def _add(target, platform="article", **items):
    """items: name=(title, text, days after DAY)."""
    for title, text, days in items.values():
        ingest.ingest(target=target, items=[Item(title=title, text=text, date=DAY + timedelta(days=days))],
                      platform=platform)


@pytest.fixture
def corpus(world):
    project = make_project(world.a, name="Lights")
    other = make_project(world.a, name="Kitchen")
    target = make_target(project, "http://127.0.0.1:9/lights")
    second = make_target(other, "http://127.0.0.1:9/kitchen")
    _add(target, r1=("Lantern battery test", "The lantern battery lasts all night. Wonderful!", 0),
         r2=("Lantern review", "The battery is fine.", 1),
         r3=("Garden news", "A lantern and a battery, sadly broken and awful.", 2),
         r5=("Kettle", "It boils water.", 4))
    _add(second, platform="reviews", r4=("Battery", "Nothing else to say.", 3))
    # Company B has the best match of all: never shown to A.
    b_target = make_target(make_project(world.b), "http://127.0.0.1:9/b")
    _add(b_target, rb=("Lantern battery lantern battery", "lantern battery", 9))
    return project, other, target, second


def _titles(found):
    return [(r.content.title, r.score) for r in found[0:100]]


def test_ranked_by_weighted_score_then_newest(world, corpus):
    found = selectors.search(company=world.a, query="lanterns battery")
    assert found.count() == 4
    assert _titles(found) == [("Lantern battery test", 30), ("Lantern review", 15), ("Battery", 10),
                              ("Garden news", 10)]


def test_filters(world, corpus):
    project, other, target, second = corpus
    by = selectors.ResultFilters

    def titles(**filters):
        return [r.content.title for r in selectors.search(company=world.a, query="lantern battery",
                                                          filters=by(**filters))[0:100]]

    assert titles(project=project.pk) == ["Lantern battery test", "Lantern review", "Garden news"]
    assert titles(target=second.pk) == titles(platform="reviews") == ["Battery"]
    assert titles(sentiment="negative") == ["Garden news"]
    assert titles(date_from=DAY + timedelta(days=1), date_to=DAY + timedelta(days=2)) == [
        "Lantern review", "Garden news"]
    assert titles(project=world.b.pk) == []  # a foreign id matches nothing


def test_api_search_is_paginated_and_scoped(api, world, corpus):
    api.as_user(world.user("a", "client"))
    page = api.get("/api/v1/scraping/results/search/?q=lantern+battery&page_size=2").json()
    assert page["count"] == 4 and page["next"] and page["previous"] is None
    assert [(r["content"]["title"], r["score"]) for r in page["results"]] == [
        ("Lantern battery test", 30), ("Lantern review", 15)]
    assert "terms" not in page["results"][0] and "search" not in page["results"][0]
    second = api.get(page["next"]).json()
    assert [r["content"]["title"] for r in second["results"]] == ["Battery", "Garden news"]
    filtered = api.get("/api/v1/scraping/results/search/?q=battery&sentiment=negative&date_from=2024-03-04").json()
    assert filtered["count"] == 0  # Garden news (negative) is of March 3
    assert api.get("/api/v1/scraping/results/search/?q=battery&date_to=2024-03-01").json()["count"] == 1

    api.as_user(world.user("b", "client"))
    b_page = api.get("/api/v1/scraping/results/search/?q=lantern").json()
    assert [r["content"]["title"] for r in b_page["results"]] == ["Lantern battery lantern battery"]


@pytest.mark.parametrize("query, message", [("", "Enter words"), ("the and of", "at least one word")])
def test_api_search_needs_a_word(api, world, query, message):
    response = api.as_user(world.user("a", "client")).get(f"/api/v1/scraping/results/search/?q={query}")
    assert response.status_code == 400 and message in response.json()["q"][0]


def test_api_search_rejects_bad_filters(api, world):
    api.as_user(world.user("a", "client"))
    response = api.get("/api/v1/scraping/results/search/?q=lamp&project=nope&sentiment=happy&date_from=soon")
    assert response.status_code == 400
    assert set(response.json()) == {"project", "sentiment", "date_from"}


def test_the_search_uses_the_terms_index(world, corpus):
    results = connection.get_collection("results")
    match = selectors.search(company=world.a, query="lantern").pipeline()[0]
    plan = str(results.database.command(
        "explain", {"aggregate": "results", "pipeline": [match], "cursor": {}}, verbosity="queryPlanner"))
    assert "IXSCAN" in plan and "result_company_terms" in plan and "COLLSCAN" not in plan
    # What the client-side scoring sends, filters or not: company and terms only.
    scan = {**selectors.tenant_match(world.a), "terms": {"$in": ["lantern"]}}
    find_plan = str(results.find(scan).explain())
    assert "result_company_terms" in find_plan and "COLLSCAN" not in find_plan


def test_server_and_client_scoring_rank_alike(world, corpus, settings):
    assert selectors.scores_on_server() is False  # the embedded server: scored here
    settings.SCRAPING_SEARCH_SCORING = "server"
    assert selectors.scores_on_server() is True
    for query in ("lantern battery", "battery", "garden kettle water"):
        terms = selectors.search(company=world.a, query=query).terms
        both = [selectors.SearchResults(company=world.a, terms=terms, filters=selectors.ResultFilters(),
                                        on_server=mode) for mode in (True, False)]
        assert both[0].count() == both[1].count()
        assert _titles(both[0]) == _titles(both[1]), query
        assert [r.pk for r in both[0][1:3]] == [r.pk for r in both[1][1:3]]

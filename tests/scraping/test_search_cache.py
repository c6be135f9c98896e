"""The search's query-result cache (scraping.selectors.search_pages, shared by every process
through Redis; `numbered()`): a repeated page of the client-side walk is its rows read by id in
one round trip, in the walk's order, with the walk's count; results stored drop it at once; the
rows are read fresh (deleted ones left out, edited ones as they are now) and only ever the
company's; no seconds, no cache; no cache reachable, a walk every time. Queries of several
words walk here as when the search index is stale (`walk_only`); a page ranked from the index
is kept the same way (tests/scraping/test_search_index.py)."""

import logging
import threading
from datetime import timedelta

import pytest
from django.db import connection

from scraping.models import Result, ScrapeJob
from scraping.selectors import search as selectors
from scraping.selectors import search_pages
from scraping.signals import results_ingested
from tests.support.scraping import system_presets  # noqa: F401
from tests.support.search import DAY, add_results, asked_postings, walked_search

pytestmark = pytest.mark.usefixtures("walk_only")


def _page(found, number=1, size=2):
    page = found.numbered(number=number, size=size)
    rows = [(r.content.title, r.score) for r in page.rows]
    return rows, page.count, page.count_exact, page.has_next


def test_a_repeated_page_is_its_rows_read_by_id_in_one_round_trip(world, corpus, round_trips):
    with round_trips() as first_trips:
        first = walked_search(world.a, "lantern battery")
        walked = _page(first)
    with round_trips() as again_trips:
        again = walked_search(world.a, "lantern battery")
        cached = _page(again)
    assert walked == ([("Lantern battery test", 30), ("Lantern review", 15)], 3, False, True)
    assert cached == walked
    assert first.read >= 3 and again.read == 0  # results the walk read
    assert len(first_trips.commands) >= 3 and again_trips.commands == [("aggregate", "results")]
    # Another page, or the same words with a filter, is walked on its own.
    assert _page(walked_search(world.a, "lantern battery"), number=2) == (
        [("Battery", 10), ("Garden news", 10)],
        4,
        True,
        False,
    )
    filtered = walked_search(world.a, "lantern battery", platform="reviews")
    assert _page(filtered) == ([("Battery", 10)], 1, True, False) and filtered.read > 0


def test_the_api_gives_the_same_page_again(api, world, corpus):
    api.as_user(world.user("a", "client"))
    path = "/api/v1/scraping/results/search/?q=lantern+battery&page_size=2"
    first, again = api.get(path).json(), api.get(path).json()
    assert first == again and (first["count"], first["count_exact"]) == (3, False)
    assert [r["content"]["title"] for r in again["results"]] == ["Lantern battery test", "Lantern review"]


def test_a_result_stored_here_is_found_by_the_next_search(world, corpus):
    _, _, target, _ = corpus
    assert _page(walked_search(world.a, "kettle"))[0] == [("Kettle", 10)]
    add_results(target, new=("Kettle kettle", "A kettle.", 5))  # ingest: postings_changed
    assert _page(walked_search(world.a, "kettle")) == ([("Kettle kettle", 25), ("Kettle", 10)], 2, True, False)
    # A finished scrape elsewhere (results_ingested, from a worker) drops the company's pages too.
    Result.objects.filter(content__title="Kettle").update(published_at=DAY + timedelta(days=30))
    results_ingested.send(sender=ScrapeJob, company_id=world.a.pk, project_id=target.project_id, job_id=None)
    found = walked_search(world.a, "kettle")
    assert _page(found)[0] == [("Kettle kettle", 25), ("Kettle", 10)] and found.read > 0


def test_a_page_walked_across_a_change_is_not_kept(world, corpus):
    """A search that read the postings before a result was stored here, and gives its page
    after, gives what it read (once) but does not keep it."""
    _, _, target, _ = corpus
    stale = walked_search(world.a, "kettle")
    stale.count()  # the walk reads the postings now
    add_results(target, new=("Kettle kettle", "A kettle.", 5))
    assert _page(stale)[0] == [("Kettle", 10)]
    fresh = walked_search(world.a, "kettle")
    assert _page(fresh)[0] == [("Kettle kettle", 25), ("Kettle", 10)] and fresh.read > 0


def test_rows_are_read_fresh_deleted_ones_left_out(world, corpus, round_trips):
    assert _page(walked_search(world.a, "lantern battery"))[0] == [("Lantern battery test", 30), ("Lantern review", 15)]
    connection.get_collection("results").update_one(
        {"content.title": "Lantern review"}, {"$set": {"content.title": "Lantern review (edited)"}}
    )
    assert _page(walked_search(world.a, "lantern battery"))[0] == [
        ("Lantern battery test", 30),
        ("Lantern review (edited)", 15),
    ]
    Result.objects.filter(content__title="Lantern battery test").delete()  # no signal: the page stays cached
    with round_trips() as trips:
        found = walked_search(world.a, "lantern battery")
        rows, count, exact, has_next = _page(found)
    assert rows == [("Lantern review (edited)", 15)] and found.read == 0 and len(trips.commands) == 1
    assert (count, exact, has_next) == (3, False, True)  # the count is the walk's until the page expires


def test_another_company_gets_its_own_rows(api, world, corpus):
    assert _page(walked_search(world.a, "lantern battery"))[0] == [("Lantern battery test", 30), ("Lantern review", 15)]
    other = walked_search(world.b, "lantern battery")
    assert _page(other) == ([("Lantern battery lantern battery", 50)], 1, True, False) and other.read > 0
    api.as_user(world.user("b", "client"))
    page = api.get("/api/v1/scraping/results/search/?q=lantern+battery&page_size=2").json()
    assert [r["content"]["title"] for r in page["results"]] == ["Lantern battery lantern battery"]
    assert page["count"] == 1


def test_zero_seconds_keeps_nothing(world, corpus, settings, round_trips):
    settings.SCRAPING_SEARCH_PAGE_SECONDS = 0
    for _ in range(2):
        with round_trips() as trips:
            found = walked_search(world.a, "lantern battery")
            assert _page(found)[0] == [("Lantern battery test", 30), ("Lantern review", 15)]
        assert found.read >= 3 and len(trips.commands) >= 3


def test_a_page_outlives_the_per_process_seconds_until_results_change(world, corpus, settings):
    """Pages are dropped by the company's generation, not by time: kept past
    SCRAPING_SEARCH_DENSITY_SECONDS (what this process keeps) up to SCRAPING_SEARCH_PAGE_SECONDS."""
    settings.SCRAPING_SEARCH_DENSITY_SECONDS = 0
    _page(walked_search(world.a, "lantern battery"))
    again = walked_search(world.a, "lantern battery")
    assert _page(again)[0] == [("Lantern battery test", 30), ("Lantern review", 15)] and again.read == 0


def test_empty_weights_outlive_the_per_process_seconds_until_results_change(world, corpus, monkeypatch, settings):
    """A weight found empty under the company's generation is kept as its pages are (until the
    results change, at most SCRAPING_SEARCH_PAGE_SECONDS), not SCRAPING_SEARCH_DENSITY_SECONDS:
    a running server asks each word's empty weights once per change, not every few seconds."""
    settings.SCRAPING_SEARCH_DENSITY_SECONDS = 0
    asked = asked_postings(monkeypatch)
    walked_search(world.a, "kettle")[0:10]
    assert "60:kettle" in asked
    asked.clear()
    walked_search(world.a, "kettle")[0:10]
    assert asked == ["10:kettle"]  # the only weight that holds the word
    selectors.forget(company_id=world.a.pk)
    asked.clear()
    walked_search(world.a, "kettle")[0:10]
    assert "60:kettle" in asked


def test_another_process_storing_results_makes_empty_weights_asked_again(world, corpus, monkeypatch):
    """A weight found empty is kept under the company's generation of pages: a result stored by
    another process (its forget reaches Redis, not this process's memory) is found at once."""
    asked = asked_postings(monkeypatch)
    walked_search(world.a, "kettle")[0:10]
    asked.clear()
    walked_search(world.a, "kettle")[0:10]
    assert "60:kettle" not in asked  # known empty
    search_pages.forget(selectors._company_key(world.a.pk))  # what another process's forget does here
    asked.clear()
    walked_search(world.a, "kettle")[0:10]
    assert "60:kettle" in asked


def _walking_elsewhere(company, query):
    """Claim the page of `query` (page 1, size 2) as another process walking it would, and
    return (its generation, key)."""
    found = walked_search(company, query)
    key = (found._company_key, tuple(found.terms), found._filters_key(), 0, 2)
    assert search_pages.claim(found._pages, key)
    return found._pages, key


def test_a_page_another_process_walks_is_waited_for_not_walked_again(world, corpus):
    generation, key = _walking_elsewhere(world.a, "lantern battery")
    theirs = search_pages.Walked(((Result.objects.get(content__title="Kettle").pk, 99),), 7, True)

    def walked_elsewhere():
        search_pages.put(generation, key, theirs)
        search_pages.release(generation, key)

    timer = threading.Timer(0.3, walked_elsewhere)
    timer.start()
    found = walked_search(world.a, "lantern battery")
    assert _page(found) == ([("Kettle", 99)], 7, True, True) and found.read == 0  # its page, not a walk
    timer.join()


def test_a_claim_released_without_a_page_is_walked_here(world, corpus):
    generation, key = _walking_elsewhere(world.a, "lantern battery")
    timer = threading.Timer(0.3, search_pages.release, (generation, key))  # that walk failed
    timer.start()
    found = walked_search(world.a, "lantern battery")
    assert _page(found)[0] == [("Lantern battery test", 30), ("Lantern review", 15)] and found.read >= 3
    timer.join()
    assert search_pages.get(generation, key) is not None  # and kept for the next one


def test_a_deleted_target_drops_the_pages(world, corpus):
    """A target's results go with it (a cascade, no per-result signal): its deletion gives the
    company's pages a new generation, so the count is walked again."""
    _, _, target, _ = corpus
    assert _page(walked_search(world.a, "lantern battery"))[1:3] == (3, False)
    target.delete()
    found = walked_search(world.a, "lantern battery")
    assert _page(found) == ([("Battery", 10)], 1, True, False) and found.read > 0


def test_the_server_side_strategy_is_not_cached(world, corpus, settings):
    settings.DATABASE_CAPABILITIES = {"ordered_index_sort": True, "cheap_counts": True}
    assert selectors.scores_on_server()
    first = selectors.search(company=world.a, query="kettle").numbered(number=1, size=2)
    _, _, target, _ = corpus
    Result.objects.filter(content__title="Kettle").delete()  # no signal: only a cache would hide it
    again = selectors.search(company=world.a, query="kettle").numbered(number=1, size=2)
    assert (len(first.rows), first.count) == (1, 1) and (again.rows, again.count) == ([], 0)


def test_with_the_cache_unreachable_a_search_walks(world, corpus, settings, caplog):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    with caplog.at_level(logging.WARNING, logger=search_pages.__name__):
        for _ in range(3):
            found = walked_search(world.a, "lantern battery")
            assert _page(found)[0] == [("Lantern battery test", 30), ("Lantern review", 15)]
            assert found.read >= 3  # walked each time: nothing could be kept
        selectors.forget(company_id=world.a.pk)  # a result stored meanwhile: nothing to drop it in
    assert len(caplog.records) == 1  # said once, not asked again

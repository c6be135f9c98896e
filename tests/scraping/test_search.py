"""Weighted text search over results: title words weigh 10, text words 5, ties newest
first; filters, pagination, the tenant boundary, the (company_id, terms, -published_at)
index of weighted postings, and the client-side walk (windows, merge, counts that are at least
the page and one more, empty weights remembered) ranking exactly like the server-side pipeline.

The tests that only read the random corpus share one (`TestRandomCorpus`: made once per class)."""

import random
from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.db import connection

from requestdesk.db.collections import raw
from scraping.models import Project, Result, ScrapeJob
from scraping.selectors import analytics, search_segments, search_walk
from scraping.selectors import search as selectors
from scraping.services import ingest, rollups
from scraping.services.extraction import Item
from tests import flushing
from tests.conftest import shared_world
from tests.support.scraping import make_project, make_target, system_presets  # noqa: F401
from tests.support.search import DAY, add_results, asked_postings, walked_search


def _titles(found):
    return [(r.content.title, r.score) for r in found[0:100]]


def test_ranked_by_weighted_score_then_newest(world, corpus):
    found = selectors.search(company=world.a, query="lanterns battery")
    assert found.count() == 4
    assert _titles(found) == [
        ("Lantern battery test", 30),
        ("Lantern review", 15),
        ("Battery", 10),
        ("Garden news", 10),
    ]


def test_filters(world, corpus):
    project, other, target, second = corpus
    by = selectors.ResultFilters

    def titles(**filters):
        return [
            r.content.title
            for r in selectors.search(company=world.a, query="lantern battery", filters=by(**filters))[0:100]
        ]

    assert titles(project=project.pk) == ["Lantern battery test", "Lantern review", "Garden news"]
    assert titles(target=second.pk) == titles(platform="reviews") == ["Battery"]
    assert titles(sentiment="negative") == ["Garden news"]
    assert titles(date_from=DAY + timedelta(days=1), date_to=DAY + timedelta(days=2)) == [
        "Lantern review",
        "Garden news",
    ]
    assert titles(project=world.b.pk) == []  # a foreign id matches nothing


@pytest.mark.usefixtures("walk_only")
def test_api_search_is_paginated_and_scoped(api, world, corpus):
    api.as_user(world.user("a", "client"))
    page = api.get("/api/v1/scraping/results/search/?q=lantern+battery&page_size=2").json()
    # The walk stopped once the page was final and one row more scored: "at least 3".
    assert (page["count"], page["count_exact"]) == (3, False) and page["next"] and page["previous"] is None
    assert [(r["content"]["title"], r["score"]) for r in page["results"]] == [
        ("Lantern battery test", 30),
        ("Lantern review", 15),
    ]
    assert "terms" not in page["results"][0] and "search" not in page["results"][0]
    second = api.get(page["next"]).json()
    assert [r["content"]["title"] for r in second["results"]] == ["Battery", "Garden news"]
    assert (second["count"], second["count_exact"], second["next"]) == (4, True, None)  # every posting read
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


def test_results_store_weighted_postings(world, corpus):
    stored = connection.get_collection("results").find_one({"content.title": "Lantern battery test"})
    assert stored["terms"] == ["15:lantern", "15:battery", "10:test", "5:last", "5:night", "5:wonderful"]


def test_the_search_uses_the_postings_index(world, corpus):
    results = connection.get_collection("results")
    match = selectors.search(company=world.a, query="lantern").pipeline()[0]
    plan = str(
        results.database.command(
            "explain", {"aggregate": "results", "pipeline": [match], "cursor": {}}, verbosity="queryPlanner"
        )
    )
    assert "IXSCAN" in plan and "result_company_postings" in plan and "COLLSCAN" not in plan
    # What the client-side walk sends: company, one weighted posting, a date window.
    window = raw(Result, company=world.a).match(
        {"terms": "15:lantern", "published_at": {"$gte": DAY, "$lt": DAY + timedelta(days=2)}}
    )
    find_plan = str(results.find(window).explain())
    assert "result_company_postings" in find_plan and "COLLSCAN" not in find_plan


def test_server_and_client_scoring_rank_alike(world, corpus, settings):
    assert selectors.scores_on_server() is False  # the embedded server: scored here
    settings.DATABASE_CAPABILITIES = {"ordered_index_sort": True, "cheap_counts": True}
    assert selectors.scores_on_server() is True
    for query in ("lantern battery", "battery", "garden kettle water"):
        terms = selectors.search(company=world.a, query=query).terms
        both = [
            selectors.SearchResults(company=world.a, terms=terms, filters=selectors.ResultFilters(), on_server=mode)
            for mode in (True, False)
        ]
        assert both[0].count() == both[1].count()
        assert _titles(both[0]) == _titles(both[1]), query
        assert [r.pk for r in both[0][1:3]] == [r.pk for r in both[1][1:3]]


@pytest.mark.usefixtures("walk_only")
def test_a_count_is_at_least_the_page_and_one_more(world, corpus, monkeypatch):
    """Where the walk has not read every posting, the count is the rows it scored (all real
    matches): at least the page's and one more, "at least" (count_exact false)."""
    monkeypatch.setattr(search_walk, "WINDOW_TARGET", 1)  # windows of about one result
    found = walked_search(world.a, "lantern battery").numbered(number=1, size=2)
    assert (found.count, found.count_exact, found.has_next) == (3, False, True)
    assert [(r.content.title, r.score) for r in found.rows] == [("Lantern battery test", 30), ("Lantern review", 15)]
    last = walked_search(world.a, "lantern battery").numbered(number=2, size=2)
    assert (last.count, last.count_exact, last.has_next) == (4, True, False)
    rare = walked_search(world.a, "kettle")
    assert (rare.count(), rare.count_exact) == (1, True)


def test_api_reports_a_lower_bound_count(api, world, corpus, monkeypatch):
    monkeypatch.setattr(search_walk, "WINDOW_TARGET", 1)  # windows of about one result
    api.as_user(world.user("a", "client"))
    page = api.get("/api/v1/scraping/results/search/?q=battery&page_size=1").json()
    assert (page["count"], page["count_exact"]) == (2, False) and page["next"]
    assert [r["content"]["title"] for r in page["results"]] == ["Lantern battery test"]
    last = api.get("/api/v1/scraping/results/search/?q=battery&page_size=1&page=4").json()
    assert (last["count"], last["count_exact"], last["next"]) == (4, True, None)
    assert [r["content"]["title"] for r in last["results"]] == ["Lantern review"]


def _random_corpus(company):
    """80 results over 40 days, words drawn from 6, in three targets of two projects."""
    rnd = random.Random(7)
    words = ["amber", "birch", "cedar", "dune", "ember", "fjord"]
    projects = [make_project(company, name="One"), make_project(company, name="Two")]
    targets = [
        make_target(projects[0], "http://127.0.0.1:9/r1"),
        make_target(projects[0], "http://127.0.0.1:9/r2"),
        make_target(projects[1], "http://127.0.0.1:9/r3"),
    ]
    items = {target.pk: [] for target in targets}
    for n in range(80):
        title = " ".join(rnd.sample(words, rnd.randint(0, 2))) + f" r{n}"
        text = " ".join(rnd.choices(words, k=rnd.randint(1, 4))) + " great" * (n % 2) + " awful" * (n % 3 == 0)
        date = DAY + timedelta(days=rnd.randint(0, 40), hours=rnd.randint(0, 23))
        items[targets[n % 3].pk].append(Item(title=title, text=text, date=date))
    for target in targets:  # one ingest a target: the same rows as one an item, in a fraction of the time
        ingest.ingest(target=target, items=items[target.pk], platform="article")
    return projects, targets


@pytest.fixture(scope="class")
def shared(django_db_setup, django_db_blocker):
    """(world, random corpus) made once for the tests of a class, which only read them."""

    def build():
        world = shared_world()
        return world, _random_corpus(world.a)

    yield from flushing.shared(django_db_blocker, build)


@pytest.mark.django_db
class TestRandomCorpus:
    """Reads of one random corpus."""

    @pytest.mark.parametrize("from_the_index", [True, False])
    @pytest.mark.parametrize("read_the_filter", [True, False])
    @pytest.mark.parametrize("query", ["amber", "birch cedar", "dune ember fjord", "amber fjord"])
    def test_the_walk_ranks_like_the_server(self, shared, monkeypatch, query, read_the_filter, from_the_index):
        """Small windows (a few postings each) so the merge crosses many of them; a project or
        target filter read whole (few results), or walked like the others; ranked
        from the search index (search_segments), or walked as when it is stale."""
        monkeypatch.setattr(search_walk, "WINDOW_TARGET", 2)
        if not from_the_index:
            monkeypatch.setattr(search_segments, "rank", lambda **_: None)
        if not read_the_filter:
            monkeypatch.setattr(analytics, "rollup_count", lambda company, filters: 10**9)
        world, (projects, targets) = shared
        for filters in (
            {},
            {"project": projects[0].pk},
            {"target": targets[2].pk},
            {"sentiment": "positive"},
            {"date_from": DAY + timedelta(days=10), "date_to": DAY + timedelta(days=30)},
        ):
            server = selectors.SearchResults(
                company=world.a,
                terms=selectors.search(company=world.a, query=query).terms,
                filters=selectors.ResultFilters(**filters),
                on_server=True,
            )
            expected = [(r.pk, r.score) for r in server[0:100]]
            assert expected and server.count() == len(expected)
            walked = walked_search(world.a, query, **filters)
            assert [(r.pk, r.score) for r in walked[0:100]] == expected, (query, filters)
            assert walked.count() == len(expected) and walked.count_exact  # a page past the end: all read
            paged = walked_search(world.a, query, **filters).numbered(number=2, size=5)
            assert [(r.pk, r.score) for r in paged.rows] == expected[5:10]
            assert paged.has_next == (len(expected) > 10)
            # exact, or at least the rows up to this page and one more (never more than match)
            assert paged.count == len(expected) if paged.count_exact else 11 <= paged.count <= len(expected)

    @pytest.mark.usefixtures("walk_only")
    def test_the_walk_reads_a_bounded_number_of_results(self, shared, monkeypatch):
        world, _ = shared
        monkeypatch.setattr(search_walk, "WINDOW_TARGET", 2)
        found = walked_search(world.a, "amber")
        first = [(r.pk, r.score) for r in found[0:3]]
        everything = walked_search(world.a, "amber")
        assert first == [(r.pk, r.score) for r in everything[0:100]][:3]
        assert found.read < everything.read and not found.complete and everything.complete
        assert 4 <= found.count() < everything.count() and not found.count_exact


@pytest.mark.usefixtures("walk_only")
def test_results_stored_since_the_density_was_kept_are_found(world, corpus, monkeypatch):
    """The walk sizes its windows from the company's results per day, kept a few seconds in the
    process; results stored meanwhile, older and newer than every day it counted, are found
    and ranked all the same (tiny windows: the walk crosses every one it plans)."""
    monkeypatch.setattr(search_walk, "WINDOW_TARGET", 1)
    asked, real = [], rollups.company_days
    monkeypatch.setattr(rollups, "company_days", lambda company: asked.append(1) or real(company))
    assert [(r.content.title, r.score) for r in walked_search(world.a, "kettle")[0:10]] == [("Kettle", 10)]
    _, _, target, _ = corpus
    add_results(target, old=("Kettle descaling", "The kettle is clean.", -400), new=("Kettle again", "A kettle.", 900))
    found = walked_search(world.a, "kettle")
    assert found.count() == 3 and found.count_exact
    assert [(r.content.title, r.score) for r in found[0:10]] == [
        ("Kettle again", 15),
        ("Kettle descaling", 15),
        ("Kettle", 10),
    ]
    assert len(asked) == 1  # the second search planned its windows from the kept days


@pytest.mark.usefixtures("walk_only")
def test_empty_weights_are_not_asked_again_until_results_change(world, corpus, monkeypatch, settings):
    """A weight of a word read whole and found empty is kept (SCRAPING_SEARCH_DENSITY_SECONDS,
    in this process) and skipped; a result stored here (ingest) or a finished scrape
    (results_ingested) drops the company's, so the new result is found at once."""
    asked = asked_postings(monkeypatch)
    kettle = [(r.content.title, r.score) for r in walked_search(world.a, "kettle")[0:10]]
    assert kettle == [("Kettle", 10)] and "60:kettle" in asked and "5:kettle" in asked  # every weight read
    asked.clear()
    assert [(r.content.title, r.score) for r in walked_search(world.a, "kettle")[0:10]] == kettle
    assert asked == ["10:kettle"]  # the only weight that holds the word
    dated = walked_search(
        world.a, "battery", date_from=DAY + timedelta(days=3)
    )  # only a date range of each weight read
    assert [r.content.title for r in dated[0:10]] == ["Battery"]
    asked.clear()
    walked_search(world.a, "battery")[0:10]
    assert "60:battery" in asked  # so not kept as empty

    project, _, target, _ = corpus
    add_results(target, new=("Kettle kettle", "A kettle.", 5))  # a weight found empty before
    asked.clear()
    found = walked_search(world.a, "kettle")
    assert [(r.content.title, r.score) for r in found[0:10]] == [("Kettle kettle", 25), ("Kettle", 10)]
    assert "60:kettle" in asked and found.count_exact

    from scraping.signals import results_ingested

    asked.clear()
    walked_search(world.a, "kettle")[0:10]
    assert asked == ["25:kettle", "10:kettle"]
    b_project = Project.objects.filter(company=world.b).first()
    results_ingested.send(sender=ScrapeJob, company_id=world.b.pk, project_id=b_project.pk, job_id=None)
    walked_search(world.a, "kettle")[0:10]
    assert asked == ["25:kettle", "10:kettle"] * 2  # another company's scrape changes nothing here
    results_ingested.send(sender=ScrapeJob, company_id=world.a.pk, project_id=project.pk, job_id=None)
    asked.clear()
    walked_search(world.a, "kettle")[0:10]
    assert "60:kettle" in asked

    # kept no time (no pages kept either: weights found empty under a generation live as long)
    settings.SCRAPING_SEARCH_DENSITY_SECONDS = settings.SCRAPING_SEARCH_PAGE_SECONDS = 0
    selectors.forget(company_id=world.a.pk)
    asked.clear()
    walked_search(world.a, "kettle")[0:10]
    walked_search(world.a, "kettle")[0:10]
    assert asked.count("60:kettle") == 2


@pytest.mark.usefixtures("walk_only")
def test_a_dense_weight_after_empty_ones_is_read_in_windows(world, monkeypatch):
    """A common word said once in each text: every weight above 5 is read whole and found
    empty, then the dense one is read a window at a time (not all of it at once), and the
    page is the server's."""
    monkeypatch.setattr(search_walk, "WINDOW_TARGET", 2)
    target = make_target(make_project(world.a), "http://127.0.0.1:9/notes")
    items = [Item(title=f"Note {n}", text="The kettle works.", date=DAY + timedelta(hours=7 * n)) for n in range(160)]
    ingest.ingest(target=target, items=items, platform="article")
    found = walked_search(world.a, "kettle")
    page = [(r.pk, r.score) for r in found[0:5]]
    server = selectors.SearchResults(
        company=world.a, terms=found.terms, filters=selectors.ResultFilters(), on_server=True
    )
    assert page == [(r.pk, r.score) for r in server[0:5]] and {score for _, score in page} == {5}
    assert 6 <= found.count() < 160 and not found.count_exact  # at least the page and one more
    assert found.read <= 2 * search_walk.WINDOW_TARGET / search_walk.TIER_SHARE < 160  # about one window's results


def test_a_server_with_text_indexes_is_searched_with_text(world, corpus, settings, monkeypatch):
    """The embedded server has no text index (the migration skipped it); a server that has one
    gets `$text` on result_text, scoped to the tenant, ranked by textScore then newest."""
    from requestdesk.db import text

    assert "result_text" not in connection.get_collection("results").index_information()
    assert text.strategy(Result) == text.POSTINGS_IN_WINDOWS
    settings.DATABASE_CAPABILITIES = {"ordered_index_sort": True, "cheap_counts": True}
    assert text.strategy(Result) == text.POSTINGS_ON_SERVER
    settings.DATABASE_CAPABILITIES = {"text_index": True}
    assert text.strategy(Result) == text.TEXT_INDEX
    sent = []
    real = type(raw(Result, company=world.a))

    def capture(self, pipeline, **kwargs):
        sent.append(self.scoped_pipeline(pipeline))
        return iter([{"_id": r.pk, "score": 1.5} for r in Result.objects.filter(company=world.a)[:1]])

    monkeypatch.setattr(real, "aggregate", capture)
    found = selectors.search(company=world.a, query="Lantern battery")
    page = found[0:20]
    match = sent[-1][0]["$match"]
    assert match["$text"] == {"$search": "Lantern battery"} and match["company_id"] == world.a.pk
    assert sent[-1][2]["$sort"] == {"score": -1, "published_at": -1, "_id": -1}
    assert len(page) == 1 and page[0].company_id == world.a.pk and page[0].score == 1.5


def test_ranked_by_term_frequency_title_10_text_5(world):
    """10 x the word's count in the title + 5 x its count in the text (each capped at
    analysis.TF_CAP), the same on the server and in the client-side walk."""
    target = make_target(make_project(world.a, name="Kettles"), "http://127.0.0.1:9/kettles")
    add_results(
        target,
        once=("Review", "The kettle is fine.", 0),
        thrice=("Review", "Kettle, kettle, kettle: I say it three times.", 1),
        titled=("Kettle review", "It boils.", 2),
        many=("Kettle kettle", "kettle " * 9, 3),
    )
    for on_server in (True, False):
        found = selectors.SearchResults(
            company=world.a, terms=["kettle"], filters=selectors.ResultFilters(), on_server=on_server
        )
        ranked = [(r.content.text[:6], r.score) for r in found[0:10]]
        assert ranked == [("kettle", 40), ("Kettle", 15), ("It boi", 10), ("The ke", 5)], on_server


def test_a_word_said_once_in_a_long_review_is_found(world):
    target = make_target(make_project(world.a, name="Long"), "http://127.0.0.1:9/long")
    filler = " ".join(f"filler{n} filler{n}" for n in range(70))  # 70 words said twice: more than 64
    add_results(target, long=("A long review", f"{filler} and the hinge squeaks", 0))
    [hit] = selectors.search(company=world.a, query="hinge")[0:10]
    assert hit.content.title == "A long review" and hit.score == 5


def _naive_window(per_day, top, budget):
    """The density's window read day by day, newest first (what search_walk.Density.window computes)."""
    left = max(budget, 1.0)
    for day, count in sorted(per_day.items(), reverse=True):
        if day >= top:
            continue
        end = min(day + timedelta(days=1), top)
        share = (end - day) / timedelta(days=1) * count
        if share >= left:
            return end - timedelta(days=1) * (left / count)
        left -= share
    return None


def test_the_density_sizes_windows_day_by_day():
    """Windows from the per-day counts (uniform inside a day, empty and missing days
    included): the binary search finds the bound a pass over the days finds."""
    rnd = random.Random(5)
    start = datetime(2025, 1, 1)
    per_day = {start + timedelta(days=n): rnd.choice([0, 0, 1, 3, 40]) for n in range(0, 300, rnd.choice([1, 2]))}
    density = search_walk.Density(per_day)
    assert density.count(None, start + timedelta(days=400)) == sum(per_day.values())
    assert density.count(start + timedelta(days=10), start + timedelta(days=10)) == 0
    ends = [start + timedelta(days=n, hours=rnd.randrange(24)) for n in range(-5, 310, 7)]
    for top in ends:
        for budget in (0.5, 1, 7, 40, 250, 10_000):
            expected, found = _naive_window(per_day, top, budget), density.window(top, budget)
            if expected is None:
                assert found is None, (top, budget)
            else:
                assert abs(found - expected) < timedelta(seconds=1), (top, budget)
                assert abs(density.count(found, top) - max(budget, 1)) < 0.01

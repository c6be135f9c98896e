"""The search index on the embedded server (scraping.services.search_index, read by
scraping.selectors.search_segments): what ingest writes, a query ranked from
it as the server ranks it, reading only the results that could make the page, and what a
deletion, a changed item, the merge and the upkeep do to it."""

from datetime import UTC, datetime, timedelta
from functools import partial
from io import StringIO

import pytest
from bson import ObjectId
from django.core.management import CommandError, call_command

from requestdesk.db import leases
from requestdesk.db.collections import raw
from scraping import tasks
from scraping.models import PostingBatch, PostingSegment, Result, SearchIndex
from scraping.selectors import analytics, search_segments
from scraping.services import ingest, search_index
from scraping.services.extraction import Item
from tests.support.scraping import make_project, make_target
from tests.support.search import DAY, add_results, asked_postings, walked_search


def _split(data: bytes) -> list[bytes]:
    return [data[i : i + 20] for i in range(0, len(data), 20)]


def _segments(company) -> dict[tuple[str, int], list[bytes]]:
    """The company's postings, in segments and in batches not folded yet."""
    found: dict[tuple[str, int], list[bytes]] = {}
    for doc in raw(PostingSegment, company=company).find({}):
        assert doc["n"] == len(_split(doc["data"]))
        found.setdefault((doc["term"], doc["weight"]), []).extend(_split(doc["data"]))
    for doc in raw(PostingBatch, company=company).find({}):
        assert doc["terms"] == list(doc["postings"])
        for term, per_weight in doc["postings"].items():
            for weight, data in per_weight.items():
                found.setdefault((term, int(weight)), []).extend(_split(data))
    return found


_server = partial(walked_search, on_server=True)


def _ranked(found, stop=100):
    return [(r.pk, r.score) for r in found[0:stop]]


def test_entries_sort_by_date_then_id():
    older, newer = datetime(2024, 3, 1, 12, tzinfo=UTC), datetime(2024, 3, 1, 12, 0, 0, 1, tzinfo=UTC)
    low, high = ObjectId("0" * 24), ObjectId("f" * 24)
    assert search_index.entry(older, high) < search_index.entry(newer, low) < search_index.entry(newer, high)
    assert search_index.published(search_index.entry(newer, low)) == newer.replace(tzinfo=None)
    assert search_index.result_id(search_index.entry(newer, high)) == high
    naive = datetime(1999, 12, 31, 23, 59)
    assert search_index.entry(naive, low) == search_index.entry(naive.replace(tzinfo=UTC), low)


def test_ingest_writes_each_term_and_weight_of_its_results(world, corpus):
    segments = _segments(world.a)
    stored = list(raw(Result, company=world.a).find({}, {"terms": 1, "published_at": 1}))
    expected: dict[tuple[str, int], set[bytes]] = {}
    for doc in stored:
        for posting in doc["terms"]:
            weight, _, term = posting.partition(":")
            expected.setdefault((term, int(weight)), set()).add(search_index.entry(doc["published_at"], doc["_id"]))
    assert {key: set(entries) for key, entries in segments.items()} == expected
    state = search_index.state(world.a.pk)
    # One batch document a stored batch (the corpus stores its five results one at a time).
    assert (
        search_index.usable(state) and state["batches"] == len(list(raw(PostingBatch, company=world.a).find({}))) == 5
    )
    assert list(raw(PostingSegment, company=world.a).find({})) == []
    # The other company's postings are its own.
    assert all(
        search_index.result_id(e) not in {d["_id"] for d in stored} for es in _segments(world.b).values() for e in es
    )


def test_a_query_is_ranked_from_the_index(world, corpus, monkeypatch):
    asked = asked_postings(monkeypatch)
    for query in ("lantern battery", "battery kettle water", "lantern nothing", "battery", "nothing"):
        found = walked_search(world.a, query)
        assert _ranked(found) == _ranked(_server(world.a, query)), query
        assert found.count() == _server(world.a, query).count() and found.count_exact
    assert asked == []  # no posting window of the results was read


@pytest.mark.parametrize(
    "filters",
    [
        {"project": "first"},
        {"platform": "reviews"},
        {"sentiment": "negative"},
        {"target": "first", "sentiment": "positive"},
    ],
)
def test_a_filtered_query_is_ranked_from_the_index(world, corpus, monkeypatch, filters):
    """Filters besides the dates are checked on the candidates read (a project or target with
    many results: a small one's results are read whole instead)."""
    monkeypatch.setattr(analytics, "rollup_count", lambda company, filters: 10**9)
    asked = asked_postings(monkeypatch)
    project, _, target, _ = corpus
    chosen = {name: {"first": project.pk if name == "project" else target.pk}.get(v, v) for name, v in filters.items()}
    for query in ("lantern battery", "battery", "battery kettle water"):
        expected = _ranked(_server(world.a, query, **chosen))
        found = walked_search(world.a, query, **chosen)
        assert _ranked(found) == expected, (query, chosen)
        assert found.count() == len(expected) and found.count_exact  # every candidate read
        if len(expected) > 1:
            first = walked_search(world.a, query, **chosen).numbered(number=1, size=1)
            assert [(r.pk, r.score) for r in first.rows] == expected[:1] and first.has_next
            assert 2 <= first.count <= len(expected)
    assert asked == []  # no posting window of the results was read


def test_a_filtered_query_reads_at_most_its_budget(world, reviews, settings, monkeypatch):
    monkeypatch.setattr(analytics, "rollup_count", lambda company, filters: 10**9)
    settings.SCRAPING_SEARCH_MAX_CANDIDATES = 3
    found = walked_search(world.a, "review", project=reviews.project_id)
    rows = found.ranked(2)  # the page and the row after it: read, then the budget is spent
    assert found.read == 3 and [score for score, _, _ in rows] == [10, 10, 10]
    assert (found.count(), found.count_exact) == (3, False)  # at least the rows read
    everything = walked_search(world.a, "review", project=reviews.project_id)
    settings.SCRAPING_SEARCH_MAX_CANDIDATES = 5000
    assert _ranked(everything)[:3] == [(row_id, score) for score, _, row_id in rows]
    assert (everything.count(), everything.count_exact) == (40, True)


@pytest.fixture
def reviews(world):
    """40 reviews titled "Review ...", the last three of which say "broke"."""
    target = make_target(make_project(world.a, name="Reviews"), "http://127.0.0.1:9/reviews")
    items = [
        Item(title=f"Review {n}", text="It broke." if n >= 37 else "Fine.", date=DAY + timedelta(hours=n))
        for n in range(40)
    ]
    ingest.ingest(target=target, items=items, platform="reviews")
    return target


def test_a_word_most_results_hold_is_not_taken_in_when_a_rare_one_decides_the_page(world, reviews, monkeypatch):
    # A result read costs as much as one posting taken in: "review" (40 postings) costs more
    # than reading the page's two results.
    monkeypatch.setattr(search_segments, "TAKE_IN_PER_READ", 1)
    found = walked_search(world.a, "review broke").numbered(number=1, size=2)
    assert [(r.content.title, r.score) for r in found.rows] == [("Review 39", 15), ("Review 38", 15)]
    # "broke" (3 postings) was taken in; "review" (40) never was, so the count is a lower bound:
    # the three results seen, and only the page's two were read.
    assert (found.count, found.count_exact, found.has_next) == (3, False, True)
    search = walked_search(world.a, "review broke")
    search.ranked(2)  # not the cached page
    assert search.read == 2
    everything = walked_search(world.a, "review broke")
    assert _ranked(everything, 100) == _ranked(_server(world.a, "review broke"), 100)
    assert [r.score for r in everything[0:5]] == [15, 15, 15, 10, 10]


def test_a_word_cheaper_to_take_in_than_the_page_to_read_is_taken_in(world, reviews):
    search = walked_search(world.a, "review broke")
    search.ranked(2)
    assert search.read == 0  # every posting taken in (40 + 3): each score known without a read
    assert (search.count(), search.count_exact) == (40, True)


def test_the_api_pages_a_ranking_from_the_index_and_keeps_it(api, world, corpus, round_trips):
    api.as_user(world.user("a", "client"))
    path = "/api/v1/scraping/results/search/?q=lantern+battery&page_size=2"
    first = api.get(path).json()
    assert (first["count"], first["count_exact"]) == (4, True) and first["next"]
    assert [(r["content"]["title"], r["score"]) for r in first["results"]] == [
        ("Lantern battery test", 30),
        ("Lantern review", 15),
    ]
    with round_trips() as again:
        assert api.get(path).json() == first
    assert ("aggregate", "results") in again.commands and ("find", "scraping_posting_segments") not in again.commands
    second = api.get(first["next"]).json()
    assert [r["content"]["title"] for r in second["results"]] == ["Battery", "Garden news"] and not second["next"]


def test_reads_that_keep_falling_short_give_way_to_taking_the_word_in(world, monkeypatch):
    """Two words no result holds together, 30 results each: every result read scores less
    than its bound (it might hold the other word), so after a few reads the other word's
    postings are taken in instead of reading its 30 results two at a time."""
    monkeypatch.setattr(search_segments, "TAKE_IN_PER_READ", 5)
    target = make_target(make_project(world.a, name="Shop"), "http://127.0.0.1:9/shop")
    items = [
        Item(title=f"{word} {n}", text="", date=DAY + timedelta(hours=n))
        for word in ("Kettle", "Lantern")
        for n in range(30)
    ]
    ingest.ingest(target=target, items=items, platform="reviews")
    search = walked_search(world.a, "kettle lantern")
    assert [r.content.title for r in search[0:2]] == ["Lantern 29", "Kettle 29"]
    assert search.read <= 6 and (search.count(), search.count_exact) == (60, True)


def test_dates_bound_the_postings(world, reviews):
    found = walked_search(world.a, "review broke", date_to=DAY + timedelta(hours=37, minutes=30))
    server = _server(world.a, "review broke", date_to=DAY + timedelta(hours=37, minutes=30))
    assert _ranked(found) == _ranked(server) and found.count() == server.count() == 38
    assert [r.content.title for r in found[0:2]] == ["Review 37", "Review 36"]


def test_a_deletion_walks_the_results_until_the_index_is_rebuilt(world, corpus, monkeypatch):
    doomed = Result.objects.get(content__title="Lantern battery test")
    ingest.delete_results(Result.objects.filter(pk=doomed.pk))
    assert not search_index.usable(search_index.state(world.a.pk))
    assert search_segments.rank(company=world.a, company_id=world.a.pk, terms=["lantern", "battery"], stop=5) is None
    asked = asked_postings(monkeypatch)
    walked = walked_search(world.a, "lantern battery")
    assert doomed.pk not in {pk for pk, _ in _ranked(walked)} and asked  # the results were walked
    assert _ranked(walked) == _ranked(_server(world.a, "lantern battery"))
    reads, real = [], search_index.state
    monkeypatch.setattr(search_index, "state", lambda company_id: reads.append(company_id) or real(company_id))
    walked_search(world.a, "lantern nothing").numbered(number=1, size=5)
    assert len(reads) == 1  # the index asked once: it is stale, the page walks
    monkeypatch.setattr(search_index, "state", real)

    assert search_index.keep() == {"rebuilt": 1, "folded": 1, "merged": 0}  # A rebuilt, B's batch folded
    assert search_index.usable(search_index.state(world.a.pk))
    gone = search_index.entry(doomed.published_at, doomed.pk)
    assert all(gone not in entries for entries in _segments(world.a).values())
    asked.clear()
    found = walked_search(world.a, "lantern battery")
    assert _ranked(found) == _ranked(_server(world.a, "lantern battery")) and asked == []


def test_a_deleted_target_makes_the_index_stale(world, corpus):
    _, other, _, second = corpus
    second.delete()
    assert not search_index.usable(search_index.state(world.a.pk))
    assert search_index.rebuild(world.a.pk) == 4  # the results left
    assert ("nothing", 5) not in _segments(world.a)  # the Battery review of the deleted target
    assert _ranked(walked_search(world.a, "battery nothing")) == _ranked(_server(world.a, "battery nothing"))


def test_a_changed_item_is_found_by_its_words_of_now(world, monkeypatch):
    target = make_target(make_project(world.a, name="News"), "http://127.0.0.1:9/news")
    page = "http://127.0.0.1:9/news/1"
    ingest.ingest(
        target=target, items=[Item(title="Lantern", text="A lantern.", url=page, date=DAY)], platform="article"
    )
    add_results(target, other=("Kettle", "A kettle.", 1))
    stats = ingest.ingest(
        target=target, items=[Item(title="Garden", text="A garden.", url=page, date=DAY)], platform="article"
    )
    assert stats.updated == 1 and search_index.state(world.a.pk)["superseded"] == 1
    found = walked_search(world.a, "lantern kettle")
    assert [r.content.title for r in found[0:10]] == ["Kettle"]  # its old words no longer find it
    # Read, the changed result no longer counts; its old posting, until a rebuild, makes the count
    # a lower bound.
    assert found.count() == 1 and not found.count_exact
    assert [r.content.title for r in walked_search(world.a, "garden kettle")[0:10]] == ["Kettle", "Garden"]
    assert search_index.keep() == {"rebuilt": 0, "folded": 1, "merged": 0}  # one old posting: kept
    monkeypatch.setattr(search_index, "REBUILD_SUPERSEDED", 1)
    assert search_index.keep() == {"rebuilt": 1, "folded": 0, "merged": 0}
    found = walked_search(world.a, "lantern kettle")
    assert found.count() == 1 and found.count_exact and search_index.state(world.a.pk)["superseded"] == 0


def test_a_changed_item_with_a_new_date_is_one_row(world):
    """Its old and new postings carry different dates (two entries of one result): read once,
    it is ranked once, at its new date."""
    target = make_target(make_project(world.a, name="News"), "http://127.0.0.1:9/news")
    page = "http://127.0.0.1:9/news/1"
    ingest.ingest(
        target=target, items=[Item(title="Lantern", text="A lantern.", url=page, date=DAY)], platform="article"
    )
    add_results(target, other=("Kettle", "A kettle.", 1))
    later = DAY + timedelta(days=3)
    ingest.ingest(
        target=target,
        items=[Item(title="Lantern", text="A lantern, brighter.", url=page, date=later)],
        platform="article",
    )
    ranked = search_segments.rank(company=world.a, company_id=world.a.pk, terms=["lantern", "kettle"], stop=10)
    lantern = Result.objects.for_company(world.a).get(content__title="Lantern")
    assert [(score, pk) for score, _, pk in ranked.rows] == [(15, lantern.pk), (15, ranked.rows[1][2])]
    assert ranked.rows[0][1] == later.replace(tzinfo=None)
    assert ranked.read == 2 and ranked.count == 2 and not ranked.exact  # old postings kept: a lower bound


def test_a_built_index_state_is_read_once_a_generation(world, corpus, monkeypatch):
    """Kept in the process under the company's generation of cached pages (no round trip a
    search) once built with no batch left to fold; an ingest gives a new generation, and a
    state with batches is read by every search until they are folded."""
    reads = []
    real = search_index.state
    monkeypatch.setattr(search_index, "state", lambda company_id: reads.append(company_id) or real(company_id))
    search_index.keep()
    reads.clear()  # the upkeep's own
    for query in ("lantern battery", "kettle water", "battery"):
        walked_search(world.a, query)[0:10]
    assert len(reads) == 1
    _, _, target, _ = corpus
    add_results(target, new=("Lantern lamp", "A lantern lamp.", 7))
    assert walked_search(world.a, "lamp kettle")[0].content.title == "Lantern lamp"
    walked_search(world.a, "lamp kettle")[0:10]
    assert len(reads) == 3  # a batch waits: read again
    search_index.keep()
    reads.clear()
    for query in ("lamp kettle", "lantern"):
        walked_search(world.a, query)[0:10]
    assert len(reads) == 1


def test_a_words_segments_are_read_once_a_version(world, corpus, round_trips, settings):
    """Kept in the process under the index's version: a search of words read before sends no
    find to the segments; the upkeep's fold and merge raise the version, and the next search
    reads them again and finds what they wrote."""
    settings.SCRAPING_SEARCH_SEGMENTS_MERGE = 1
    search_index.keep()

    def segment_reads(query):
        with round_trips() as seen:
            ranked = _ranked(walked_search(world.a, query))
        return ranked, sum(1 for name, collection in seen.commands if collection == PostingSegment._meta.db_table)

    assert segment_reads("lantern battery")[1] == 1
    assert segment_reads("battery lantern")[1] == 0
    assert segment_reads("lantern kettle")[1] == 1  # only the word not read yet
    version = search_index.state(world.a.pk)["version"]
    _, _, target, _ = corpus
    add_results(target, new=("Lantern lamp", "A lantern lamp.", 7))
    search_index.keep()  # folded and merged: two leases, each raising the version twice
    assert search_index.state(world.a.pk)["version"] == version + 4
    ranked, reads = segment_reads("lantern lamp")
    assert reads == 1 and ranked[0][0] == Result.objects.get(content__title="Lantern lamp").pk
    assert ranked == _ranked(_server(world.a, "lantern lamp"))
    assert segment_reads("lamp lantern")[1] == 0


def test_the_upkeep_folds_the_batches_into_segments(world, corpus):
    before = _segments(world.a)
    ranked = _ranked(walked_search(world.a, "lantern battery"))  # read from the batches
    assert ranked == _ranked(_server(world.a, "lantern battery"))
    assert search_index.keep() == {"rebuilt": 0, "folded": 2, "merged": 0}  # both companies
    assert list(raw(PostingBatch, company=world.a).find({})) == []
    assert {key: sorted(entries) for key, entries in _segments(world.a).items()} == {
        key: sorted(entries) for key, entries in before.items()
    }
    assert len(list(raw(PostingSegment, company=world.a).find({"term": "lantern"}))) == len(
        {weight for term, weight in before if term == "lantern"}
    )  # one segment a weight
    assert _ranked(walked_search(world.a, "lantern battery")) == ranked
    state = search_index.state(world.a.pk)
    assert (state["batches"], state["segments"]) == (0, len(before))


def test_a_fold_reads_the_batches_a_few_at_a_time_until_none_is_left(world, corpus, monkeypatch):
    monkeypatch.setattr(search_index, "FOLD_AT_ONCE", 2)
    before = {key: sorted(entries) for key, entries in _segments(world.a).items()}
    assert search_index.fold(world.a.pk) == 5
    assert list(raw(PostingBatch, company=world.a).find({})) == [] and search_index.state(world.a.pk)["batches"] == 0
    assert {key: sorted(entries) for key, entries in _segments(world.a).items()} == before


def test_an_ingest_that_finds_batches_piling_up_queues_the_fold(world, monkeypatch):
    queued = []
    monkeypatch.setattr(tasks.fold_search_index, "delay", queued.append)
    target = make_target(make_project(world.a, name="Lights"), "http://127.0.0.1:9/lights")
    for n in range(search_index.FOLD_EARLY + 2):  # a batch each
        add_results(target, item=(f"Lantern {n}", "A battery.", n))
    assert queued == [str(world.a.pk)]  # once: by the ingest that took it to FOLD_EARLY
    assert tasks.fold_search_index(queued[0]) == search_index.FOLD_EARLY + 2
    assert search_index.state(world.a.pk)["batches"] == 0
    assert [r.content.title for r in walked_search(world.a, "lantern")[0:2]] == ["Lantern 9", "Lantern 8"]


def test_batches_the_upkeep_fell_behind_on_walk_the_results(world, corpus, monkeypatch):
    monkeypatch.setattr(search_index, "MAX_BATCHES", 4)  # the corpus wrote 5
    assert search_segments.rank(company=world.a, company_id=world.a.pk, terms=["lantern", "battery"], stop=5) is None
    assert _ranked(walked_search(world.a, "lantern battery")) == _ranked(_server(world.a, "lantern battery"))
    search_index.keep()
    assert search_segments.rank(company=world.a, company_id=world.a.pk, terms=["lantern", "battery"], stop=5)


def test_the_merge_joins_a_words_segments(world, settings):
    target = make_target(make_project(world.a, name="Lights"), "http://127.0.0.1:9/lights")
    for n in range(search_index.MERGE_AT):  # each folded on its own: a segment of "lantern" each
        add_results(target, item=(f"Lantern {n}", "A battery." if n % 2 else "Bright.", n))
        assert search_index.fold(world.a.pk) == 1
    titles = list(raw(PostingSegment, company=world.a).find({"term": "lantern"}))
    assert len(titles) == search_index.MERGE_AT
    before = _ranked(walked_search(world.a, "lantern battery"))
    settings.SCRAPING_SEARCH_SEGMENTS_MERGE = len(titles)  # every fold wrote at least one segment
    assert search_index.keep() == {"rebuilt": 0, "folded": 0, "merged": 1}
    merged = list(raw(PostingSegment, company=world.a).find({"term": "lantern"}))
    assert [doc["n"] for doc in merged] == [search_index.MERGE_AT]
    assert _ranked(walked_search(world.a, "lantern battery")) == before
    assert search_index.state(world.a.pk)["segments"] == 0


def test_one_process_at_a_time_rewrites_a_companys_segments(world, corpus):
    state = search_index.state(world.a.pk)
    held = leases.take(SearchIndex, state["_id"], guard={"lease_until": None}, holder={}, seconds=60)
    assert held is not None
    assert search_index.rebuild(world.a.pk) is None and search_index.merge(world.a.pk) is None
    held.release()
    assert search_index.rebuild(world.a.pk) == 5


def test_the_command_rebuilds_every_companys_index(world, corpus):
    raw(PostingBatch, company=world.a).delete_many({})  # as if a worker was lost before indexing
    assert walked_search(world.a, "lantern battery")[0:10] == []
    out = StringIO()
    call_command("rebuild_search_index", stdout=out)
    assert f"Company {world.a.pk}: index rebuilt from 5 results." in out.getvalue()
    assert _ranked(walked_search(world.a, "lantern battery")) == _ranked(_server(world.a, "lantern battery"))
    call_command("rebuild_search_index", "--company", str(world.b.pk), stdout=out)
    assert f"Company {world.b.pk}: index rebuilt from 1 results." in out.getvalue()
    with pytest.raises(CommandError, match="No company with id 'nope'"):
        call_command("rebuild_search_index", "--company", "nope")


def test_a_server_that_ranks_by_itself_gets_no_index(world, settings):
    settings.DATABASE_CAPABILITIES = {"ordered_index_sort": True, "cheap_counts": True}
    add_results(make_target(make_project(world.a), "http://127.0.0.1:9/x"), one=("Lantern", "A battery.", 0))
    assert Result.objects.filter(company=world.a).count() == 1
    assert list(raw(PostingBatch, company=world.a).find({})) == [] and search_index.state(world.a.pk) is None
    assert search_index.keep() == {"rebuilt": 0, "folded": 0, "merged": 0}

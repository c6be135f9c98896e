"""What a scrape tells about a target and what analytics count: a host that refuses
connections is an error with its reason, not a robots.txt block; a page or feed entry whose
content changed is one result, updated in place, whose rollup count moves to the new
version (and a rebuild agrees); concurrent ingests of one url make one result."""

import socket
from datetime import UTC, datetime, timezone
from io import StringIO

import pytest
from django.core.management import call_command

from requestdesk.db.collections import raw
from scraping.models import Result, ScrapeJob, SentimentRollup, Target
from scraping.selectors import analytics
from scraping.selectors import results as selectors
from scraping.services import ingest, jobs, rollups
from scraping.services.extraction import Item
from tests.support.scraping import XML, Reply, fast_scraping, make_project, make_target, system_presets  # noqa: F401

pytestmark = pytest.mark.django_db


def _free_port() -> int:
    """A loopback port nothing listens on: connecting to it is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _run(project):
    return jobs.run_job(job_id=jobs.create_job(project=project).pk)


def test_item2_refused_connection_is_not_robots_block(world):
    project = make_project(world.a, max_retries=0)
    target = make_target(project, f"http://127.0.0.1:{_free_port()}/news")
    job = _run(project)
    stored = Target.objects.get(pk=target.pk)
    assert stored.last_outcome == "error", stored.last_error
    assert "robots.txt could not be read" in stored.last_error and "refused" in stored.last_error.lower()
    assert "Disallowed" not in stored.last_error
    assert job.status == ScrapeJob.FAILED and "refused" in job.errors[0].message.lower()


def test_item2_robots_txt_answering_503_is_reported_as_such(world, site):
    site.route("/robots.txt", Reply(503, b"", "text/plain"))
    project = make_project(world.a, max_retries=0)
    target = make_target(project, site.url("/blog/solar-lantern"))
    _run(project)
    stored = Target.objects.get(pk=target.pk)
    assert (stored.last_outcome, site.hits("/blog/solar-lantern")) == ("error", [])
    assert "robots.txt could not be read (HTTP 503)" in stored.last_error


def _page(body_text: str, day: int) -> Reply:
    html = (
        f"<html><head><title>Lantern review</title>"
        f"<meta property='article:published_time' content='2024-03-{day:02d}T10:00:00Z'></head>"
        f"<body><article><h1>Lantern review</h1><p>{body_text}</p></article></body></html>"
    )
    return Reply(body=html.encode())


def _counts(company, project) -> dict:
    report = analytics.sentiment_analytics(company=company, filters=selectors.ResultFilters(project=project.pk))
    return {
        row["period"]: (row["count"], row["positive"], row["negative"]) for row in report["series"] if row["count"]
    } | {"total": report["totals"]["count"]}


def _rebuilt_agrees(company, project, expected: dict) -> None:
    """The rollup rebuild command, run from the results, gives the same numbers."""
    SentimentRollup.objects.filter(company=company).delete()
    call_command("rebuild_sentiment_rollups", stdout=StringIO())
    assert _counts(company, project) == expected
    assert sum(rollups.company_days(company).values()) == expected["total"]


def test_item4_changed_page_is_one_result_counted_once(world, site):
    url = site.route("/review", _page("I love this lantern, it is wonderful and bright.", 4))
    # Its three scrapes must each reach the local page: a loaded machine gets more than FAST's 2 s.
    project = make_project(world.a, timeout_seconds=10)
    make_target(project, url, platform="article")
    job = _run(project)
    assert job.status == ScrapeJob.COMPLETED, (job.status, [error.message for error in job.errors])
    assert _counts(world.a, project) == {"2024-03-04": (1, 1, 0), "total": 1}
    first = Result.objects.get(project=project)
    assert (first.item_key, first.changed_at, first.change_count) == (url, None, 0)

    site.route("/review", _page("I hate this lantern, it broke and is terrible.", 6))  # the page changed
    job = _run(project)
    assert job.status == ScrapeJob.COMPLETED, (job.status, [error.message for error in job.errors])
    changed = Result.objects.get(project=project)  # still one result, updated in place
    assert changed.pk == first.pk and changed.created_at == first.created_at
    assert changed.sentiment.label == "negative" and "hate" in changed.content.text
    assert changed.content_hash != first.content_hash and changed.change_count == 1
    assert changed.changed_at is not None and changed.changed_at > first.created_at
    assert changed.job_id == job.pk and (job.results_created, job.results_updated, job.duplicates) == (0, 1, 0)
    assert _counts(world.a, project) == {"2024-03-06": (1, 0, 1), "total": 1}
    assert sum(rollups.company_days(world.a).values()) == 1
    _rebuilt_agrees(world.a, project, {"2024-03-06": (1, 0, 1), "total": 1})

    _run(project)  # unchanged since: nothing moves
    assert Result.objects.get(project=project).change_count == 1
    assert _counts(world.a, project) == {"2024-03-06": (1, 0, 1), "total": 1}


def _feed(*entries) -> Reply:
    items = "".join(
        f"<item><title>{title}</title><link>https://example.org/posts/{slug}</link>"
        f"<pubDate>{day} Mar 2024 08:00:00 GMT</pubDate><description>{text}</description></item>"
        for slug, title, day, text in entries
    )
    return Reply(
        body=f'<?xml version="1.0"?><rss version="2.0"><channel><title>News</title>'
        f"<link>https://example.org/</link>{items}</channel></rss>".encode(),
        content_type=XML,
    )


def test_item4_changed_feed_entry_is_one_result_counted_once(world, site):
    calm = ("calm", "Opening hours", "Wed, 06", "The shop opens at nine on weekdays.")
    url = site.route(
        "/news.xml", _feed(("blend", "New blend", "Mon, 04", "Our new blend is wonderful, we love it."), calm)
    )
    project = make_project(world.a)
    make_target(project, url, platform="feed")
    _run(project)
    assert _counts(world.a, project) == {"2024-03-04": (1, 1, 0), "2024-03-06": (1, 0, 0), "total": 2}
    blend = Result.objects.get(project=project, item_key="https://example.org/posts/blend")

    site.route(
        "/news.xml", _feed(("blend", "New blend", "Tue, 05", "Recalled: the blend is awful, a terrible mistake."), calm)
    )
    _run(project)
    assert Result.objects.filter(project=project).count() == 2
    changed = Result.objects.get(pk=blend.pk)
    assert (
        changed.sentiment.label == "negative" and changed.change_count == 1 and changed.created_at == blend.created_at
    )
    expected = {"2024-03-05": (1, 0, 1), "2024-03-06": (1, 0, 0), "total": 2}  # the entry's new date and label
    assert _counts(world.a, project) == expected
    _rebuilt_agrees(world.a, project, expected)


def test_item4_result_lookup_by_item_url_is_planned_on_its_index(world):
    from django.db import connection

    project = make_project(world.a)
    target = make_target(project, "http://127.0.0.1:9/news.xml", platform="feed")
    ingest.ingest(
        target=target,
        platform="feed",
        items=[Item(title=f"Entry {i}", text="Fine.", url=f"https://example.org/{i}") for i in range(30)],
    )
    query = raw(Result, company=world.a).match({"target_id": target.pk, "item_key": {"$in": ["https://example.org/3"]}})
    plan = connection.get_collection("results").find(query).explain()
    assert "result_target_item_key_uniq" in str(plan["queryPlanner"]["winningPlan"]) and "COLLSCAN" not in str(plan)
    assert plan["executionStats"]["totalDocsExamined"] == 1


def test_item4_concurrent_ingests_of_one_url_make_one_result(world, monkeypatch):
    project = make_project(world.a)
    target = make_target(project, "http://127.0.0.1:9/a-page", platform="article")
    day = datetime(2024, 3, 4, tzinfo=UTC)
    ingest.ingest(
        target=target, platform="article", items=[Item(title="Lantern", text="I love it.", url=target.url, date=day)]
    )
    # As if another job stored the page a moment before this one looked: no hash, no url known.
    monkeypatch.setattr(ingest, "_existing", lambda target, digests: set())
    monkeypatch.setattr(ingest, "_stored_items", lambda target, urls: {})
    stats = ingest.ingest(
        target=target,
        platform="article",
        items=[Item(title="Lantern", text="I hate it, awful.", url=target.url, date=day)],
    )
    assert (stats.created, stats.updated, stats.duplicates) == (0, 0, 1)
    assert Result.objects.filter(target=target).count() == 1
    assert _counts(world.a, project)["total"] == 1


def test_item4_two_jobs_updating_one_item_move_its_count_once(world):
    project = make_project(world.a)
    target = make_target(project, "http://127.0.0.1:9/a-page", platform="article")
    day = datetime(2024, 3, 4, tzinfo=UTC)
    ingest.ingest(
        target=target, platform="article", items=[Item(title="Lantern", text="I love it.", url=target.url, date=day)]
    )
    stored = ingest._stored_items(target, {target.url})  # what both jobs read
    first = ingest.build_result(
        item=Item(title="Lantern", text="I hate it, awful.", url=target.url, date=day),
        target=target,
        platform="article",
    )
    second = ingest.build_result(
        item=Item(title="Lantern", text="It is blue.", url=target.url, date=day), target=target, platform="article"
    )
    now = datetime.now(UTC)
    assert ingest._update_changed([(stored[target.url], first)], now) == 1
    assert ingest._update_changed([(stored[target.url], second)], now) == 0  # the version it read is gone
    assert Result.objects.get(target=target).sentiment.label == "negative"
    assert _counts(world.a, project) == {"2024-03-04": (1, 0, 1), "total": 1}


def test_item4_items_sharing_a_page_url_each_count(world, site):
    """Reviews of one page carry the page's url: a new review is one more result."""
    project = make_project(world.a)
    target = make_target(project, site.url("/products/kettle"), platform="reviews")
    _run(project)
    reviews = Result.objects.filter(target=target).count()
    assert reviews >= 2 and len(set(Result.objects.filter(target=target).values_list("content__url", flat=True))) == 1
    assert sum(rollups.company_days(world.a).values()) == reviews
    rollups.rebuild()
    assert sum(rollups.company_days(world.a).values()) == reviews

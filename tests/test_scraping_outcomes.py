"""What a scrape tells about a target and what analytics count: a host that refuses
connections is an error with its reason, not a robots.txt block; a page whose content
changed is one item whose rollup count moves to the new version."""

import socket

import pytest

from scraping import selectors
from scraping.models import Result, ScrapeJob, SentimentRollup, Target
from scraping.services import jobs, rollups
from tests.scraping_support import Reply, fast_scraping, make_project, make_target, site, system_presets  # noqa: F401

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
    html = (f"<html><head><title>Lantern review</title>"
            f"<meta property='article:published_time' content='2024-03-{day:02d}T10:00:00Z'></head>"
            f"<body><article><h1>Lantern review</h1><p>{body_text}</p></article></body></html>")
    return Reply(body=html.encode())


def _counts(company, project) -> dict:
    report = selectors.sentiment_analytics(company=company, filters=selectors.ResultFilters(project=project.pk))
    return {row["period"]: (row["count"], row["positive"], row["negative"]) for row in report["series"]
            if row["count"]} | {"total": report["totals"]["count"]}


def test_item4_changed_page_moves_its_rollup_count(world, site):
    url = site.route("/review", _page("I love this lantern, it is wonderful and bright.", 4))
    project = make_project(world.a)
    make_target(project, url, platform="article")
    _run(project)
    assert _counts(world.a, project) == {"2024-03-04": (1, 1, 0), "total": 1}

    site.route("/review", _page("I hate this lantern, it broke and is terrible.", 6))  # the page changed
    _run(project)
    assert Result.objects.filter(project=project).count() == 2  # both versions are kept
    assert _counts(world.a, project) == {"2024-03-06": (1, 0, 1), "total": 1}
    company_days = rollups.company_days(world.a)
    assert sum(company_days.values()) == 1

    # A rebuild from the results gives the same numbers.
    SentimentRollup.objects.filter(company=world.a).delete()
    rollups.rebuild()
    assert _counts(world.a, project) == {"2024-03-06": (1, 0, 1), "total": 1}
    assert sum(rollups.company_days(world.a).values()) == 1


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

"""Ingest: sentiment labels on known sentences, search terms, results stored by a job run
against the local site, dedupe on rerun, conditional GET, bulk writes, job counters, the
scrape.completed / scrape.failed events and the failure notification."""

from datetime import UTC, datetime, timezone

import pytest

from events import tasks as tenant_tasks
from events.models import Notification, WebhookDelivery
from events.services.webhooks import create_webhook
from scraping.models import Result, ScrapeJob, Target
from scraping.services import analysis, ingest, jobs
from scraping.services.extraction import Item
from tests.support.scraping import Reply, fast_scraping, fixture, make_project, make_target, system_presets  # noqa: F401


@pytest.fixture(autouse=True)
def deliveries(monkeypatch):
    """Webhook deliveries recorded instead of queued."""
    sent = []
    monkeypatch.setattr(tenant_tasks.deliver_webhook, "delay", sent.append)
    return sent


@pytest.mark.parametrize(
    "text, label",
    [
        ("I love this product, it is absolutely wonderful!", "positive"),
        ("Great service and friendly staff :)", "positive"),
        ("This is the worst purchase ever. Terrible and broken.", "negative"),
        ("I hate waiting, the delivery was awful.", "negative"),
        ("The box is blue and weighs two kilograms.", "neutral"),
        ("The meeting is on Tuesday.", "neutral"),
    ],
)
def test_sentiment_labels_on_known_sentences(text, label):
    result = analysis.sentiment(text)
    assert result.label == label
    assert (
        (result.compound >= 0.05)
        if label == "positive"
        else (result.compound <= -0.05)
        if label == "negative"
        else (abs(result.compound) < 0.05)
    )
    assert abs(result.positive + result.neutral + result.negative - 1) < 0.01


def test_search_terms():
    assert analysis.tokens("The Batteries of my Lanterns aren't charging!") == ["battery", "lantern", "charging"]
    assert analysis.tokens("Straße CAFÉ glass bus 42 x") == ["strasse", "café", "glass", "bus", "42"]
    assert analysis.query_terms("the LANTERNS, lantern and the garden") == ["lantern", "garden"]
    assert analysis.query_terms("the and of") == []


def test_postings_weigh_term_frequency_per_field():
    fields = analysis.index_fields("Solar lanterns", "lantern light light light garden garden lanterns " + "glow " * 7)
    # 10 x title count + 5 x text count, each count capped at TF_CAP (4).
    assert fields["terms"] == ["10:solar", "20:lantern", "15:light", "10:garden", "20:glow"]
    assert fields["search"] == {"title": ["solar", "lantern"], "text": ["lantern", "light", "garden", "glow"]}
    assert (
        analysis.WEIGHTS[0] == 60
        and analysis.WEIGHTS[-1] == 5
        and list(analysis.WEIGHTS) == sorted(analysis.WEIGHTS, reverse=True)
    )


def test_every_word_of_a_long_result_is_indexed():
    words = [f"word{n}" for n in range(300)]
    text = " ".join(words[:150] * 3 + words[150:])  # 150 frequent words, 150 said once
    terms = analysis.weights(analysis.index_fields("", text)["terms"])
    assert len(terms) == 300 and terms["word299"] == 5 and terms["word0"] == 15


def _run(project):
    job = jobs.create_job(project=project)
    return jobs.run_job(job_id=job.pk)


@pytest.fixture
def monitored(world, site):
    project = make_project(world.a, name="Garden")
    targets = [
        make_target(project, site.url(path)) for path in ("/blog/solar-lantern", "/products/kettle", "/feed.xml")
    ]
    return project, targets


def test_a_job_stores_results_with_sentiment(monitored):
    project, (article, reviews, feed) = monitored
    job = _run(project)
    assert job.status == ScrapeJob.COMPLETED and job.progress == 1.0 and job.error == ""
    assert job.counts() == {
        "targets_total": 3,
        "targets_done": 3,
        "targets_skipped": 0,
        "pages_fetched": 3,
        "pages_not_modified": 0,
        "pages_failed": 0,
        "items_found": 7,
        "results_created": 7,
        "results_updated": 0,
        "duplicates": 0,
    }
    stored = ScrapeJob.objects.get(pk=job.pk)
    assert stored.finished_at and stored.duration_ms > 0 and stored.started_at <= stored.finished_at
    labels = {(r.target_id, r.content.title): r.sentiment.label for r in Result.objects.all()}
    assert labels == {
        (article.pk, "The Solar Lantern Review"): "positive",
        (reviews.pk, "Great kettle"): "positive",
        (reviews.pk, "Broke after a week"): "negative",
        (reviews.pk, "Acme Kettle"): "neutral",
        (feed.pk, "Wonderful new espresso blend"): "positive",
        (feed.pk, "Grinder recall"): "negative",
        (feed.pk, "Opening hours"): "neutral",
    }
    review = Result.objects.get(content__title="Great kettle")
    assert review.platform == "reviews" and review.job_id == job.pk and review.project_id == project.pk
    assert review.company_id == project.company_id and review.content.author == "Alice"
    assert review.published_at == datetime(2024, 3, 1, tzinfo=UTC)
    assert {"great", "kettle"} <= set(review.search.title) and analysis.weights(review.terms)["kettle"] >= 10
    assert len(review.content_hash) == 64
    done = Target.objects.get(pk=article.pk)
    assert done.last_outcome == "ok" and done.last_status_code == 200 and done.lease_job is None


def test_a_rerun_stores_no_duplicates(monitored):
    project, _ = monitored
    _run(project)
    again = _run(project)
    assert again.status == ScrapeJob.COMPLETED
    assert (again.results_created, again.duplicates, again.items_found) == (0, 7, 7)
    assert Result.objects.count() == 7


def test_an_unchanged_page_is_not_fetched_again(world, site):
    url = site.route("/news", Reply(body=fixture("article.html"), headers={"ETag": '"v7"'}))
    project = make_project(world.a)
    target = make_target(project, url)
    _run(project)
    assert Target.objects.get(pk=target.pk).etag == '"v7"'
    second = _run(project)
    assert (second.pages_not_modified, second.pages_fetched, second.results_created) == (0 + 1, 0, 0)
    assert Target.objects.get(pk=target.pk).last_outcome == "not_modified"
    assert site.hits("/news")[-1]["headers"]["If-None-Match"] == '"v7"'
    assert Result.objects.count() == 1


def test_bulk_ingest_in_batches_and_dedupe_within_a_batch(world, site):
    project = make_project(world.a)
    target = make_target(project, site.url("/feed.xml"))
    items = [
        Item(title=f"Entry {i}", text=f"Text number {i} is good.", url=f"https://x.example/{i}") for i in range(1200)
    ]
    stats = ingest.ingest(target=target, items=items + items[:10], platform="feed", batch_size=500)
    assert (stats.found, stats.created, stats.duplicates) == (1210, 1200, 10)
    assert Result.objects.filter(target=target).count() == 1200
    again = ingest.ingest(target=target, items=items[:50], platform="feed")
    assert (again.created, again.duplicates) == (0, 50)


def test_a_race_on_the_unique_index_counts_duplicates(world, site, monkeypatch):
    project = make_project(world.a)
    target = make_target(project, site.url("/feed.xml"))
    items = [Item(title=f"Entry {i}", text="same day") for i in range(4)]
    ingest.ingest(target=target, items=items[:2], platform="feed")
    monkeypatch.setattr(ingest, "_existing", lambda target, digests: set())  # as if another job just wrote
    stats = ingest.ingest(target=target, items=items, platform="feed")
    assert (stats.created, stats.duplicates) == (2, 2)
    assert Result.objects.filter(target=target).count() == 4


def test_completed_event_carries_the_counts(world, monitored, deliveries):
    project, _ = monitored
    hook = create_webhook(
        company=world.a, name="scrapes", url="http://127.0.0.1:9/hook", events=["scrape.completed", "scrape.failed"]
    )
    job = _run(project)
    [delivery] = WebhookDelivery.objects.filter(webhook=hook)
    assert deliveries == [str(delivery.pk)] and delivery.event_type == "scrape.completed"
    data = delivery.payload["data"]
    assert data["job_id"] == str(job.pk) and data["project_id"] == str(project.pk) and data["status"] == "completed"
    assert data["counts"]["results_created"] == 7 and data["errors"] == []
    assert Notification.objects.filter(type="scrape.failed").count() == 0


def test_a_failed_job_emits_scrape_failed_and_notifies_admins(world, site, make_user):
    second_admin = make_user(world.a, "company_admin", username="a-admin-2")
    hook = create_webhook(company=world.a, name="all", url="http://127.0.0.1:9/hook", events=["*"])
    project = make_project(world.a, name="Broken shop", max_retries=0)
    make_target(project, site.url("/private/secret"))  # robots.txt disallows it
    make_target(project, site.url("/gone"))  # 404
    job = _run(project)
    assert job.status == ScrapeJob.FAILED and job.pages_failed == 2 and job.results_created == 0
    assert job.error.startswith("Every page failed; first error:")
    assert sorted(e.message.split(":")[0] for e in job.errors) == ["Disallowed by robots.txt", "HTTP 404"]
    assert WebhookDelivery.objects.get(webhook=hook).event_type == "scrape.failed"
    notes = Notification.objects.filter(type="scrape.failed")
    assert sorted(n.user_id for n in notes) == sorted([world.user("a", "company_admin").pk, second_admin.pk])
    assert all("Broken shop" in n.title and n.metadata["job_id"] == str(job.pk) for n in notes)
    blocked = Target.objects.get(url=site.url("/private/secret"))
    assert blocked.last_outcome == "blocked" and "robots" in blocked.last_error


def test_some_failed_pages_still_complete_the_job(world, site):
    project = make_project(world.a, max_retries=0)
    make_target(project, site.url("/blog/solar-lantern"))
    make_target(project, site.url("/gone"))
    job = _run(project)
    assert job.status == ScrapeJob.COMPLETED and (job.pages_fetched, job.pages_failed) == (1, 1)
    [error] = job.errors
    assert error.status_code == 404 and error.url.endswith("/gone") and error.message == "HTTP 404"


def test_a_finished_job_is_not_run_again(monitored, site):
    project, _ = monitored
    job = _run(project)
    requests = len(site.requests)
    assert jobs.run_job(job_id=job.pk) is None
    assert len(site.requests) == requests and ScrapeJob.objects.get(pk=job.pk).results_created == 7


def test_sentiment_can_be_switched_off(world, site):
    project = make_project(world.a, sentiment="none")
    make_target(project, site.url("/blog/solar-lantern"))
    _run(project)
    assert Result.objects.get().analysis is None


def test_an_unexpected_error_fails_the_job_and_frees_its_targets(world, site, monkeypatch):
    project = make_project(world.a)
    target = make_target(project, site.url("/blog/solar-lantern"))

    def crash(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(jobs, "_apply", crash)
    job = jobs.create_job(project=project)
    with pytest.raises(RuntimeError):
        jobs.run_job(job_id=job.pk)
    failed = ScrapeJob.objects.get(pk=job.pk)
    assert failed.status == ScrapeJob.FAILED and failed.error == "Unexpected error: RuntimeError: disk on fire"
    assert Target.objects.get(pk=target.pk).lease_job is None
    assert Notification.objects.filter(type="scrape.failed").count() == 1  # the company admin of A

"""One product, end to end on the real parts: a local shop page publishes a burst of negative
reviews; the project's schedule (dispatched as beat does) has two Celery workers scrape it; the
company's alert rule fires once however many evaluations the two workers run; a notification,
a webhook the Standard Webhooks library verifies and a ticket appear; a response drafted from
one of the reviews by a pipeline [insights, retrieval, ai_generator] against a local
OpenAI-compatible server cites the reviews and a knowledge chunk; and the knowledge collection
sourced from the project answers a question about the reviews with their URLs.

The run's timeline and the draft are written to artifacts/one-product.md."""

from __future__ import annotations

import json
import re
import time
from datetime import timedelta

import pytest
import standardwebhooks
from django.utils import timezone

from content.models import Context, ContextStatus, Ticket
from events.models import Notification, Schedule
from events.services import scheduling
from knowledge.models import KnowledgeChunk, KnowledgeCollection, Message, SyncHistory
from monitoring import tasks as monitoring_tasks
from monitoring.models import Alert
from scraping.models import Result, ScrapeJob
from tests.fakes.openai import FakeOpenAI
from tests.paths import ROOT
from tests.support.celery_worker import wait_until
from tests.support.content import make_component, make_pipeline
from tests.support.knowledge import TEST_KEY, knowledge_settings, make_agent, make_provider  # noqa: F401
from tests.support.scraping import Reply, fast_scraping, make_project, make_target, system_presets

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

CALM = [
    ("Lovely kettle", "I love this kettle. It boils fast and looks great on the counter.", 5),
    ("Good value", "A good kettle for the price, quiet and quick. Happy with it.", 4),
]
BURST = [
    ("Broke in a week", "Terrible kettle. It broke after a week and the lid leaks boiling water.", 1),
    ("Leaking lid", "Awful. The lid leaks and burned my hand. I hate this kettle and want a refund.", 1),
    ("Stopped working", "The kettle stopped working after five days. Useless and disappointing.", 1),
    ("Dangerous", "Horrible and dangerous: the kettle sparks when it boils. Terrible quality.", 1),
    ("Rust inside", "Bad kettle. Rust inside after a week, the water tastes awful. Very disappointed.", 2),
]
POLICY = (
    "Kettle warranty and refunds",
    "A kettle that breaks, leaks or stops working within two years is replaced or refunded in full; "
    "customers write to care@acme.example with their order number.",
)
QUESTION = "What do customers say about the kettle lid?"


def page(site, reviews) -> bytes:
    """A product page whose JSON-LD lists `reviews`, each with its own URL, published now."""
    now = timezone.now().replace(microsecond=0).isoformat().replace("+00:00", "Z")
    listed = [
        {
            "@type": "Review",
            "name": title,
            "url": site.url(f"/reviews/{n + 1}"),
            "author": {"@type": "Person", "name": f"Customer {n + 1}"},
            "datePublished": now,
            "reviewBody": text,
            "reviewRating": {"@type": "Rating", "ratingValue": str(stars)},
        }
        for n, (title, text, stars) in enumerate(reviews)
    ]
    product = {"@context": "https://schema.org", "@type": "Product", "name": "Acme Kettle", "review": listed}
    return (
        '<!doctype html><html><head><meta charset="utf-8"><title>Acme Kettle</title>'
        f'<script type="application/ld+json">{json.dumps(product)}</script></head>'
        "<body><h1>Acme Kettle</h1></body></html>"
    ).encode()


def answer(body: dict) -> str:
    """The local model: a draft citing the sources its prompt numbers (a review, the
    insights' reviews, the policy chunk), or a chat answer citing the first review it was given."""
    prompt = "\n".join(m["content"] for m in body["messages"] if isinstance(m.get("content"), str))
    numbered = dict((title, n) for n, title in re.findall(r"^\[(\d+)\] (.+?)(?: \(http[^)]*\))?$", prompt, re.M))
    if numbered:
        reviews = [n for title, n in numbered.items() if title in {t for t, _, _ in BURST}]
        policy = f" [{numbered[POLICY[0]]}]" if POLICY[0] in numbered else ""
        cited = "".join(f"[{n}]" for n in reviews[:3])
        return (
            f"We are sorry: several of you tell us the kettle broke or its lid leaks {cited}. "
            f"Every such kettle is replaced or refunded in full{policy}."
        )
    return "Customers say the lid leaks and the kettle breaks within a week."


@pytest.fixture
def llm():
    with FakeOpenAI(reply=answer) as server:
        yield server


def test_monitoring_feeds_knowledge_grounds_generation_and_opens_work(api, world, site, receiver, llm, celery_worker):
    started, timeline = time.monotonic(), []

    def mark(what: str) -> None:
        timeline.append((round(time.monotonic() - started, 1), what))

    admin, manager = world.user("a", "company_admin"), world.user("a", "content_manager")
    writer = world.user("a", "content_writer")
    client = api.as_user(admin)
    provider = make_provider(world.a, url=llm.base)

    # The shop: two happy reviews first.
    site.route("/products/kettle", Reply(body=page(site, CALM)))
    project = make_project(world.a, name="Acme Kettle reviews")
    make_target(project, site.url("/products/kettle"))

    # The company's set-up, through the API: an alert rule, a webhook, two collections, an agent.
    rule = client.post(
        "/api/v1/monitoring/alert-rules/",
        {
            "project": str(project.pk),
            "name": "Kettle complaints",
            "kind": "negative_share",
            "window_hours": 24,
            "threshold": 0.5,
            "min_results": 4,
            "open_ticket": True,
            "ticket_assignee": str(writer.pk),
            "ticket_priority": "high",
        },
        format="json",
    )
    assert rule.status_code == 201, rule.content
    hook = client.post(
        "/api/v1/webhooks/",
        {"name": "on-call", "url": receiver.url, "events": ["scraping.sentiment.alert"]},
        format="json",
    )
    assert hook.status_code == 201, hook.content
    secret = hook.json()["secret"]
    embedding = {"embedding_provider": str(provider.pk), "embedding_model": "text-embedding-test"}
    policies = client.post("/api/v1/knowledge/collections/", {"name": "Policies", **embedding}, format="json")
    assert policies.status_code == 201, policies.content
    policies = policies.json()["id"]
    added = client.post(
        f"/api/v1/knowledge/collections/{policies}/texts/", {"title": POLICY[0], "text": POLICY[1]}, format="json"
    )
    assert added.status_code == 201, added.content
    voices = client.post(
        "/api/v1/knowledge/collections/",
        {
            "name": "What customers say",
            "source_type": "scraping",
            "settings": {"project_id": str(project.pk)},
            **embedding,
        },
        format="json",
    )
    assert voices.status_code == 201, voices.content
    voices = voices.json()["id"]
    agent = make_agent(world.a, provider=provider, collections=[KnowledgeCollection.objects.get(pk=voices)])
    schedule = client.put(
        f"/api/v1/scraping/projects/{project.pk}/schedule/", {"enabled": True, "interval_seconds": 3600}, format="json"
    )
    assert schedule.status_code == 201, schedule.content
    mark("set up through the API: alert rule, webhook, policy collection, scraping-sourced collection, schedule")

    env = {"FIELD_ENCRYPTION_KEY": TEST_KEY, "KNOWLEDGE_LLM_MAX_RETRIES": "0", "MONITORING_SYNC_OVERLAP_SECONDS": "0"}
    workers = [celery_worker("one", env=env), celery_worker("two", env=env)]

    def logs() -> str:
        return "\n".join(w.log() for w in workers)

    def scheduled_scrape() -> ScrapeJob:
        """Beat's tick: the schedule is due, the dispatcher queues the project's run."""
        before = set(ScrapeJob.objects.filter(project=project).values_list("pk", flat=True))
        Schedule.objects.filter(pk=schedule.json()["id"]).update(next_run=timezone.now() - timedelta(seconds=1))
        assert [s.subject_id for s in scheduling.dispatch_due()] == [str(project.pk)]
        assert wait_until(
            lambda: ScrapeJob.objects.filter(project=project, status__in=ScrapeJob.FINISHED).exclude(pk__in=before),
            timeout=90,
        ), logs()
        [job] = ScrapeJob.objects.filter(project=project).exclude(pk__in=before)
        assert job.status == ScrapeJob.COMPLETED, (job.error, logs())
        return job

    def synced(count: int) -> bool:
        return KnowledgeChunk.objects.filter(collection_id=voices).count() >= count and not (
            SyncHistory.objects.filter(collection_id=voices, status__in=["pending", "in_progress"]).exists()
        )

    # A first scheduled scrape: two happy reviews, no alert.
    scheduled_scrape()
    mark("scheduled scrape 1 ingested 2 positive reviews")
    assert wait_until(lambda: synced(len(CALM)), timeout=90), logs()
    mark("the scraping-sourced collection synced them (sync queued by the scrape)")
    assert not Alert.objects.exists()

    # The burst: five angry reviews appear on the page, and the next scheduled scrape ingests them.
    site.route("/products/kettle", Reply(body=page(site, CALM + BURST)))
    job = scheduled_scrape()
    assert Result.objects.filter(project=project).count() == len(CALM) + len(BURST)
    mark(f"scheduled scrape 2 ingested the burst: {job.results_created} new results")
    assert wait_until(lambda: Alert.objects.exists(), timeout=60), logs()
    assert wait_until(lambda: synced(len(CALM) + len(BURST)), timeout=90), logs()

    # Both workers evaluate the rule again at once (beat's ticks and more ingests would): still one alert.
    for _ in range(6):
        monitoring_tasks.evaluate_project.delay(str(world.a.pk), str(project.pk))

    def evaluations(worker) -> int:
        return len(re.findall(r"monitoring\.tasks\.evaluate_project\[[^\]]+\] succeeded", worker.log(1_000_000)))

    # One evaluation after each scrape, then the six: all done, by both workers.
    assert wait_until(lambda: sum(evaluations(w) for w in workers) == 8, timeout=60), logs()
    assert all(evaluations(w) for w in workers), [evaluations(w) for w in workers]
    [alert] = Alert.objects.all()
    assert alert.value == pytest.approx(len(BURST) / (len(CALM) + len(BURST)), abs=1e-3) and alert.count == 7
    mark(f"the rule fired once: {[evaluations(w) for w in workers]} evaluations by the two workers")

    # What firing did: a notification, a signed webhook, a ticket for the writer linking the reviews.
    notes = Notification.objects.filter(type="scraping.sentiment.alert")
    assert notes.count() == alert.notifications >= 1 and notes.filter(user=admin).exists()
    assert wait_until(lambda: len(receiver.requests) == 1, timeout=30), logs()
    [request] = receiver.requests
    event = standardwebhooks.Webhook(secret).verify(request["body"], request["headers"])
    assert event["type"] == "scraping.sentiment.alert"
    burst_urls = {site.url(f"/reviews/{n}") for n in range(len(CALM) + 1, len(CALM) + len(BURST) + 1)}
    ticket = Ticket.objects.get(pk=alert.ticket_id)
    assert (ticket.assigned_to_id, ticket.priority) == (writer.pk, "high")
    assert {link["url"] for link in ticket.links} == burst_urls
    mark("notification to the admin, webhook verified by the standardwebhooks library, ticket for the writer")

    # From the ticket's first review, one step: a pipeline run drafts the response.
    insights = make_component(world.a, "insights", {"project_id": str(project.pk), "days": 1, "top": 3})
    retrieval = make_component(world.a, "retrieval", {"collections": [policies], "query": "{result.text}"})
    writer_step = make_component(world.a, "ai_generator", {"model": "gpt-test", "provider_id": str(provider.pk)})
    pipeline = make_pipeline(world.a, [(insights, {}), (retrieval, {}), (writer_step, {})], name="Answer reviews")
    first = ticket.links[0]
    started_run = api.as_user(manager).post(
        f"/api/v1/scraping/results/{first['id']}/respond/",
        {"action": "pipeline", "pipeline": str(pipeline.pk)},
        format="json",
    )
    assert started_run.status_code == 202, started_run.content
    context_id = started_run.json()["id"]
    finished = (ContextStatus.COMPLETED, ContextStatus.FAILED)
    assert wait_until(lambda: Context.objects.get(pk=context_id).status in finished, timeout=90), logs()
    run = Context.objects.get(pk=context_id)
    assert run.status == ContextStatus.COMPLETED, (run.error, logs())
    assert run.links == [{"kind": "scraping.result", "id": first["id"], "url": first["url"], "title": first["title"]}]
    draft = run.data["generated_content"]["content"]
    footnotes = {
        n: linked or plain
        for n, linked, plain in re.findall(r"^\[\^(\d+)\]: (?:\[([^\]]+)\]\([^)]+\)|(.+))$", draft, re.M)
    }
    cited = set(re.findall(r"\[\^(\d+)\](?!:)", draft))
    cited_titles = {footnotes[n] for n in cited if n in footnotes}
    assert POLICY[0] in cited_titles  # the knowledge chunk
    assert len(cited_titles & {t for t, _, _ in BURST}) >= 2  # the reviews
    assert first["url"] in draft
    mark("response drafted by the pipeline run, citing reviews and the policy chunk")

    # The scraping-sourced collection answers a question about the reviews with their URLs.
    conversation = client.post("/api/v1/knowledge/conversations/", {"agent": str(agent.pk)}, format="json")
    assert conversation.status_code == 201, conversation.content
    asked = client.post(
        f"/api/v1/knowledge/conversations/{conversation.json()['id']}/messages/", {"content": QUESTION}, format="json"
    )
    assert asked.status_code == 201, asked.content
    stored = Message.objects.get(pk=asked.json()["message"]["id"])
    cited_urls = {c.url for c in stored.metadata.citations}
    assert cited_urls & burst_urls and cited_urls <= burst_urls | {site.url(f"/reviews/{n}") for n in (1, 2)}
    mark("the agent answered from the scraping-sourced collection, citing the reviews' URLs")

    artifacts = ROOT / "artifacts"
    artifacts.mkdir(exist_ok=True)
    lines = ["# One product: a run", "", "| seconds | step |", "| ---: | --- |"]
    lines += [f"| {at} | {what} |" for at, what in timeline]
    lines += ["", "## The draft", "", draft, "", "## The chat answer's citations", ""]
    lines += [f"- {c.title}: {c.url}" for c in stored.metadata.citations]
    (artifacts / "one-product.md").write_text("\n".join(lines) + "\n")
    llm.stop()

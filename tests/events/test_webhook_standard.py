"""Standard Webhooks: a consumer using the reference library (`standardwebhooks`) verifies
real deliveries received over loopback; secrets issued before the `whsec_` format still
verify; and the one catalogue of event names (events.catalogue) is what
subscriptions may name, what the apps emit and what the README lists."""

import base64
import secrets
from pathlib import Path

import pytest
import standardwebhooks
from standardwebhooks.webhooks import WebhookVerificationError

from events import catalogue, tasks
from events.models import Webhook, WebhookDelivery
from events.services import webhook_signing, webhooks
from tests.paths import ROOT

README = ROOT / "README.md"


@pytest.fixture(autouse=True)
def enqueued(monkeypatch):
    """Delivery tasks are recorded, not sent to the broker; the test runs them as the worker would."""
    calls = []
    monkeypatch.setattr(tasks.deliver_webhook, "delay", calls.append)
    return calls


def _deliver_all(enqueued):
    """One attempt at each queued delivery, as the worker's task makes it."""
    while enqueued:
        webhooks.deliver(enqueued.pop(0))


def test_the_standardwebhooks_library_verifies_a_real_delivery(api, world, receiver, enqueued):
    api.as_user(world.user("a", "company_admin"))
    created = api.post(
        "/api/v1/webhooks/", {"name": "crm", "url": receiver.url, "events": ["scrape.completed"]}, format="json"
    )
    assert created.status_code == 201, created.content
    secret = created.json()["secret"]
    assert secret.startswith("whsec_") and len(base64.b64decode(secret.removeprefix("whsec_"))) == 32

    [delivery] = webhooks.emit_event(company=world.a, event_type="scrape.completed", data={"job": "j1"})
    _deliver_all(enqueued)
    [request] = receiver.requests
    headers, body = request["headers"], request["body"]

    # What the consumer's code does: the library, given the secret as shown once.
    event = standardwebhooks.Webhook(secret).verify(body, headers)
    assert event["type"] == "scrape.completed" and event["data"] == {"job": "j1"}
    assert headers["webhook-id"] == delivery.event_id == event["id"]
    assert headers["webhook-signature"].startswith("v1,")
    # Today's header is still sent, with the same timestamp, and verifies as before.
    assert webhook_signing.verify_signature(secret, headers["X-Requestdesk-Signature"], body)
    assert headers["X-Requestdesk-Signature"].startswith(f"t={headers['webhook-timestamp']},")

    # The library refuses a changed body, another secret, and a missing header.
    with pytest.raises(WebhookVerificationError):
        standardwebhooks.Webhook(secret).verify(body.replace(b"j1", b"j2"), headers)
    with pytest.raises(WebhookVerificationError):
        standardwebhooks.Webhook(webhook_signing.new_secret()).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        standardwebhooks.Webhook(secret).verify(body, {k: v for k, v in headers.items() if k != "webhook-id"})


def test_retries_and_redeliveries_keep_the_webhook_id(api, world, receiver, enqueued):
    hook = webhooks.create_webhook(company=world.a, name="h", url=receiver.url, events=["*"])
    receiver.answer(503)
    [delivery] = webhooks.emit_event(company=world.a, event_type="content.batch.completed", data={})
    _deliver_all(enqueued)  # 503: a retry is due later
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=delivery.created_at)  # time passes
    webhooks.deliver(str(delivery.pk))
    webhooks.redeliver(WebhookDelivery.objects.get(pk=delivery.pk))
    _deliver_all(enqueued)

    assert len(receiver.requests) == 3
    ids = {request["headers"]["webhook-id"] for request in receiver.requests}
    assert ids == {delivery.event_id}  # one message: a receiver drops the duplicates by this id
    for request in receiver.requests:
        standardwebhooks.Webhook(hook.secret).verify(request["body"], request["headers"])


def test_a_secret_from_before_the_whsec_format_still_verifies(world, receiver, enqueued):
    """Secrets generated before were url-safe tokens: their Standard Webhooks key is the
    secret's UTF-8 bytes, given to the library as "whsec_" + base64(secret)."""
    hook = webhooks.create_webhook(company=world.a, name="old", url=receiver.url, events=["*"])
    old_secret = secrets.token_urlsafe(32)
    Webhook.objects.filter(pk=hook.pk).update(secret=old_secret)

    webhooks.send_test_event(Webhook.objects.get(pk=hook.pk))
    _deliver_all(enqueued)
    [request] = receiver.requests
    standard = "whsec_" + base64.b64encode(old_secret.encode()).decode()
    assert webhook_signing.standard_secret(old_secret) == standard
    assert standardwebhooks.Webhook(standard).verify(request["body"], request["headers"])["type"] == "webhook.test"
    assert webhook_signing.verify_signature(old_secret, request["headers"]["X-Requestdesk-Signature"], request["body"])


# --- one catalogue of event names ------------------------------------------------------------


@pytest.mark.parametrize("events", [["scrape.done"], ["*", "ticket.created"], ["Scrape.Completed"]])
def test_unknown_event_names_are_a_400_and_nothing_is_stored(api, world, receiver, events):
    api.as_user(world.user("a", "company_admin"))
    response = api.post("/api/v1/webhooks/", {"name": "x", "url": receiver.url, "events": events}, format="json")
    assert response.status_code == 400 and "events" in response.json(), response.content
    assert not Webhook.objects.exists()

    hook = webhooks.create_webhook(company=world.a, name="kept", url=receiver.url, events=["scrape.failed"])
    patched = api.patch(f"/api/v1/webhooks/{hook.pk}/", {"events": events}, format="json")
    assert patched.status_code == 400 and "events" in patched.json()
    assert Webhook.objects.get(pk=hook.pk).events == ["scrape.failed"]


def test_the_services_and_the_admin_refuse_unknown_event_names(client, world, receiver):
    with pytest.raises(webhooks.UnknownEvent):
        webhooks.create_webhook(company=world.a, name="x", url=receiver.url, events=["nope"])
    with pytest.raises(webhooks.UnknownEvent):
        webhooks.emit_event(company=world.a, event_type="nope", data={})
    client.force_login(world.user("a", "company_admin"))
    page = client.post(
        "/admin/events/webhook/add/",
        {"name": "x", "url": receiver.url, "events": "scrape.completed,nope", "enabled": "on"},
    )
    assert page.status_code == 200 and "Unknown event" in page.content.decode()
    assert not Webhook.objects.exists()


def test_the_schema_lists_the_catalogue(client, db):
    schema = client.get("/api/v1/schema/?format=json").json()
    events = schema["components"]["schemas"]["WebhookRequest"]["properties"]["events"]["items"]
    names = events.get("enum") or schema["components"]["schemas"][events["$ref"].rsplit("/", 1)[1]]["enum"]
    assert sorted(names) == sorted(catalogue.SUBSCRIBABLE)


def test_every_emitted_event_is_in_the_catalogue():
    from content.services import batches, contexts
    from monitoring.services import alerts
    from scraping.services import jobs

    emitted = {
        jobs.COMPLETED_EVENT,
        jobs.FAILED_EVENT,
        batches.COMPLETED_EVENT,
        contexts.COMPLETED_EVENT,
        contexts.FAILED_EVENT,
        "knowledge.sync.completed",
        "knowledge.sync.failed",
        alerts.ALERT_EVENT,
        catalogue.TEST_EVENT,
    }
    assert emitted == set(catalogue.EVENTS)


def test_the_catalogue_lists_the_payload_keys_each_emitter_sends():
    from bson import ObjectId

    from content.models import Batch, Context
    from content.services import batches, contexts
    from monitoring.models import Alert, AlertRule
    from monitoring.services import alerts
    from scraping.models import ScrapeJob
    from scraping.services import jobs

    sent = {
        jobs.COMPLETED_EVENT: jobs.event_data(ScrapeJob(project_id=ObjectId())),
        jobs.FAILED_EVENT: jobs.event_data(ScrapeJob(project_id=ObjectId(), status=ScrapeJob.FAILED)),
        batches.COMPLETED_EVENT: batches.event_data(Batch(pipeline_id=ObjectId())),
        contexts.COMPLETED_EVENT: contexts.event_data(Context(pipeline_id=ObjectId())),
        contexts.FAILED_EVENT: contexts.event_data(Context(pipeline_id=ObjectId(), error="boom")),
        alerts.ALERT_EVENT: alerts.event_data(Alert(project_id=ObjectId()), AlertRule(), []),
    }
    for name, data in sent.items():
        assert set(data) == set(catalogue.PAYLOADS[name]), name
    assert set(catalogue.PAYLOADS) == set(catalogue.EVENTS)


def test_the_readme_lists_every_event_and_the_headers():
    text = README.read_text()
    section = text[text.index("## Webhooks") :]
    section = section[: section.index("\n## ", 3)]
    for name in catalogue.EVENTS:
        assert f"`{name}`" in section, name
    for header in ("webhook-id", "webhook-timestamp", "webhook-signature", "X-Requestdesk-Signature", "whsec_"):
        assert header in section

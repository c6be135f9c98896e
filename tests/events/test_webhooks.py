"""Webhooks: signed deliveries to a real HTTP receiver on loopback, retries with
backoff, auto-disable with notifications, SSRF refusals, tenant isolation, the API and admin
actions, the TTL index, and one run through a real Celery worker."""

import json
import socket
import time
from datetime import timedelta

import pymongo
import pytest
from bson import ObjectId
from django.conf import settings as django_settings
from django.utils import timezone

from events import tasks
from events.models import Notification, Webhook, WebhookDelivery
from events.services import webhook_signing, webhooks
from requestdesk import outbound
from tests.conftest import SharedWorld
from tests.fakes.webhooks import Receiver
from tests.support.celery_worker import wait_until

UNSAFE_URLS = [
    "http://10.0.0.1/hook",
    "http://192.168.1.1/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://172.16.0.1/hook",
    "http://127.0.0.1:9/hook",
    "http://[::1]:9/hook",
    "http://localhost:9/hook",
    "ftp://example.com/hook",
]


@pytest.fixture(autouse=True)
def enqueued(request, monkeypatch):
    """Delivery tasks the services queue, recorded instead of sent to the broker (the
    `slow` test sends them to a real worker)."""
    calls = []
    if request.node.get_closest_marker("slow") is None:
        monkeypatch.setattr(tasks.deliver_webhook, "delay", calls.append)
    return calls


@pytest.fixture
def loopback_refused(settings):
    settings.OUTBOUND_ALLOW_LOOPBACK = False


def _hook(company, url, events=("*",), name="hook", **fields):
    return webhooks.create_webhook(company=company, name=name, url=url, events=list(events), **fields)


def _fresh(obj):
    return type(obj).objects.get(pk=obj.pk)


def _make_due(delivery):
    """Time passes: the delivery's next attempt is due now."""
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())


def _one_delivery(company, url, event_type="scrape.completed", data=None):
    hook = _hook(company, url)
    [delivery] = webhooks.emit_event(company=company, event_type=event_type, data=data or {"ticket": 1})
    return hook, delivery


# --- signing and one delivery ------------------------------------------------------------


def test_delivery_is_signed_and_verified_by_the_receiver(world, receiver, enqueued, caplog):
    caplog.set_level("DEBUG")
    hook, delivery = _one_delivery(world.a, receiver.url, data={"ticket": {"id": "t1", "title": "Hello"}})
    assert enqueued == [str(delivery.pk)]

    assert webhooks.deliver(delivery.pk) is None
    [request] = receiver.requests
    headers, body = request["headers"], request["body"]
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Requestdesk-Event"] == "scrape.completed"
    assert headers["X-Requestdesk-Delivery"] == str(delivery.pk)
    signature = headers["X-Requestdesk-Signature"]
    assert webhook_signing.verify_signature(hook.secret, signature, body)
    # The receiver refuses a wrong secret, a changed body, and a replayed old signature.
    assert not webhook_signing.verify_signature("not-the-secret", signature, body)
    assert not webhook_signing.verify_signature(hook.secret, signature, body.replace(b"Hello", b"Hellp"))
    old = webhook_signing.sign(hook.secret, body, timestamp=int(time.time()) - 301)
    assert not webhook_signing.verify_signature(hook.secret, old, body)
    assert webhook_signing.verify_signature(hook.secret, old, body, tolerance=400)

    event = json.loads(body)
    assert set(event) == {"id", "type", "created_at", "company_id", "source", "data"}
    assert event["id"] == delivery.event_id and event["type"] == "scrape.completed"
    assert event["company_id"] == str(world.a.pk)
    assert event["data"] == {"ticket": {"id": "t1", "title": "Hello"}}

    stored = _fresh(delivery)
    assert stored.status == WebhookDelivery.SUCCEEDED and stored.completed_at is not None
    [attempt] = stored.attempts
    assert attempt.status_code == 200 and attempt.error == "" and attempt.latency_ms > 0
    assert _fresh(hook).last_success_at is not None
    assert hook.secret not in caplog.text


def test_a_finished_delivery_is_not_sent_twice(world, receiver):
    _, delivery = _one_delivery(world.a, receiver.url)
    webhooks.deliver(delivery.pk)
    webhooks.deliver(delivery.pk)  # the task ran again (acks_late redelivery)
    tasks.deliver_webhook(str(delivery.pk))
    assert tasks.deliver_webhook("not-an-id") is None and tasks.deliver_webhook(str(ObjectId())) is None
    assert len(receiver.requests) == 1
    assert len(_fresh(delivery).attempts) == 1


# --- retries, backoff, auto-disable -------------------------------------------------------


def test_retry_with_growing_backoff_then_success(world, receiver):
    receiver.answer(500, 503, 200)
    hook, delivery = _one_delivery(world.a, receiver.url)

    before = timezone.now()
    assert webhooks.deliver(delivery.pk) == 10
    first = _fresh(delivery)
    assert first.status == WebhookDelivery.RETRYING
    assert before + timedelta(seconds=9) < first.next_attempt_at < timezone.now() + timedelta(seconds=11)
    # Not due yet: a second copy of the task sends nothing.
    assert webhooks.deliver(delivery.pk) is None
    assert len(receiver.requests) == 1

    _make_due(delivery)
    assert webhooks.deliver(delivery.pk) == 20
    assert _fresh(delivery).status == WebhookDelivery.RETRYING
    _make_due(delivery)
    assert webhooks.deliver(delivery.pk) is None

    done = _fresh(delivery)
    assert done.status == WebhookDelivery.SUCCEEDED and done.next_attempt_at is None
    assert [a.status_code for a in done.attempts] == [500, 503, 200]
    assert [a.error for a in done.attempts] == ["HTTP 500", "HTTP 503", ""]
    assert all(a.latency_ms > 0 for a in done.attempts)
    assert len(receiver.requests) == 3
    # Each attempt is signed afresh over the same event.
    assert len({r["body"] for r in receiver.requests}) == 1
    assert _fresh(hook).consecutive_failures == 0


def test_the_task_requeues_itself_after_the_backoff(world, receiver, monkeypatch):
    receiver.answer(502)
    _, delivery = _one_delivery(world.a, receiver.url)
    requeued = []
    monkeypatch.setattr(tasks.deliver_webhook, "apply_async", lambda **kw: requeued.append(kw))
    assert tasks.deliver_webhook(str(delivery.pk)) == 10
    assert requeued == [{"args": [str(delivery.pk)], "countdown": 10}]


@pytest.mark.parametrize(
    "status, outcome, countdown",
    [
        (429, WebhookDelivery.RETRYING, 10),
        (404, WebhookDelivery.FAILED, None),
        (400, WebhookDelivery.FAILED, None),
        (301, WebhookDelivery.FAILED, None),
    ],
)
def test_which_answers_are_retried(world, receiver, status, outcome, countdown):
    receiver.answer(status)
    hook, delivery = _one_delivery(world.a, receiver.url)
    assert webhooks.deliver(delivery.pk) == countdown
    stored = _fresh(delivery)
    assert stored.status == outcome and stored.attempts[0].status_code == status
    assert _fresh(hook).consecutive_failures == (1 if outcome == WebhookDelivery.FAILED else 0)


def test_exhausted_retries_disable_the_webhook_and_tell_each_admin_once(world, receiver, make_user, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    settings.WEBHOOK_DISABLE_AFTER = 2
    second_admin = make_user(world.a, "company_admin", username="a-second-admin")
    receiver.answer(*[503] * 10)
    hook = _hook(world.a, receiver.url, events=["scrape.completed"], name="crm")

    def run_out(delivery):
        countdowns = []
        while (countdown := webhooks.deliver(delivery.pk)) is not None:
            countdowns.append(countdown)
            _make_due(delivery)
        return countdowns

    [first] = webhooks.emit_event(company=world.a, event_type="scrape.completed", data={})
    assert run_out(first) == [10, 20]
    failed = _fresh(first)
    assert failed.status == WebhookDelivery.FAILED and len(failed.attempts) == 3
    assert _fresh(hook).enabled and _fresh(hook).consecutive_failures == 1
    assert Notification.objects.count() == 0

    [second] = webhooks.emit_event(company=world.a, event_type="scrape.completed", data={})
    run_out(second)
    disabled = _fresh(hook)
    assert not disabled.enabled and disabled.consecutive_failures == 2
    assert "2 failed deliveries" in disabled.disabled_reason and disabled.last_failure_at
    notes = Notification.objects.filter(type="webhook.disabled")
    assert sorted(n.user_id for n in notes) == sorted([world.user("a", "company_admin").pk, second_admin.pk])
    assert all("crm" in n.title and n.company_id == world.a.pk for n in notes)

    # Disabled: no more events, and a failing test event does not notify again.
    assert webhooks.emit_event(company=world.a, event_type="scrape.completed", data={}) == []
    run_out(webhooks.send_test_event(disabled))
    assert Notification.objects.filter(type="webhook.disabled").count() == 2
    assert len(receiver.requests) == 3 + 3 + 3


def test_enabling_again_starts_a_new_streak(api, world, receiver, settings):
    settings.WEBHOOK_DISABLE_AFTER = 1
    receiver.answer(410)
    hook, delivery = _one_delivery(world.a, receiver.url)
    webhooks.deliver(delivery.pk)
    assert not _fresh(hook).enabled
    api.as_user(world.user("a", "company_admin"))
    response = api.patch(f"/api/v1/webhooks/{hook.pk}/", {"enabled": True}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["consecutive_failures"] == 0 and response.json()["disabled_reason"] == ""


def test_a_hanging_receiver_is_a_timeout(world, receiver, settings):
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.3
    receiver.answer(200, delay=3)
    _, delivery = _one_delivery(world.a, receiver.url)
    started = time.monotonic()
    assert webhooks.deliver(delivery.pk) == 10
    assert time.monotonic() - started < 2
    [attempt] = _fresh(delivery).attempts
    assert attempt.status_code is None and attempt.error.startswith("timeout after 0.3s")
    assert 300 <= attempt.latency_ms < 2000


def test_a_refused_connection_is_retried(world):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    _, delivery = _one_delivery(world.a, f"http://127.0.0.1:{closed_port}/hook")
    assert webhooks.deliver(delivery.pk) == 10
    [attempt] = _fresh(delivery).attempts
    assert attempt.status_code is None and attempt.error.startswith("network error: ConnectError")


def test_retry_sweep_requeues_only_due_unfinished_deliveries(world, receiver, enqueued):
    hook = _hook(world.a, receiver.url)
    due, later, done = (
        webhooks.emit_event(company=world.a, event_type="scrape.completed", data={})[0] for _ in range(3)
    )
    WebhookDelivery.objects.filter(pk=due.pk).update(
        status=WebhookDelivery.RETRYING, next_attempt_at=timezone.now() - timedelta(seconds=5)
    )
    WebhookDelivery.objects.filter(pk=later.pk).update(
        status=WebhookDelivery.RETRYING, next_attempt_at=timezone.now() + timedelta(minutes=5)
    )
    WebhookDelivery.objects.filter(pk=done.pk).update(status=WebhookDelivery.SUCCEEDED, next_attempt_at=None)
    enqueued.clear()
    assert tasks.retry_due_webhook_deliveries() == 1
    assert enqueued == [str(due.pk)]
    assert hook.pk == due.webhook_id
    assert "retry-due-webhook-deliveries" in django_settings.CELERY_BEAT_SCHEDULE


# --- who receives an event -----------------------------------------------------------------


def test_emit_event_reaches_only_subscribed_enabled_webhooks_of_the_company(world, receiver, enqueued):
    exact = _hook(world.a, receiver.url, events=["scrape.completed"], name="exact")
    everything = _hook(world.a, receiver.url, events=["*"], name="all")
    _hook(world.a, receiver.url, events=["scrape.failed"], name="other-event")
    _hook(world.a, receiver.url, events=["scrape.completed"], name="off", enabled=False)
    _hook(world.b, receiver.url, events=["scrape.completed", "*"], name="company-b")

    deliveries = webhooks.emit_event(company=world.a, event_type="scrape.completed", data={"n": 1}, source="test")
    assert {d.webhook_id for d in deliveries} == {exact.pk, everything.pk}
    assert sorted(enqueued) == sorted(str(d.pk) for d in deliveries)
    assert len({d.event_id for d in deliveries}) == 1  # one event, one delivery per webhook
    assert all(d.company_id == world.a.pk and d.payload["source"] == "test" for d in deliveries)
    assert WebhookDelivery.objects.count() == 2


def test_deliveries_expire_after_seven_days_by_ttl_index(db):
    client = pymongo.MongoClient(django_settings.DATABASES["default"]["HOST"])
    indexes = client[django_settings.DATABASES["default"]["NAME"]].webhook_deliveries.index_information()
    ttl = [spec for spec in indexes.values() if spec["key"] == [("created_at", 1)]]
    assert [spec.get("expireAfterSeconds") for spec in ttl] == [604800]


# --- SSRF guard -------------------------------------------------------------------------------


@pytest.mark.parametrize("url", UNSAFE_URLS)
def test_check_url_refuses_internal_addresses(loopback_refused, url):
    with pytest.raises(outbound.UnsafeURL):
        outbound.check_url(url)


def test_check_url_refuses_when_any_resolved_address_is_internal(settings, monkeypatch):
    settings.OUTBOUND_ALLOW_LOOPBACK = True
    answers = {
        "public.test": ["93.184.216.34"],
        "mixed.test": ["93.184.216.34", "10.1.2.3"],
        "metadata.test": ["169.254.169.254"],
        "mapped.test": ["::ffff:192.168.0.1"],
    }
    real = socket.getaddrinfo

    def fake(host, port, *args, **kwargs):
        if host not in answers:
            return real(host, port, *args, **kwargs)
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
            for a in answers[host]
        ]

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    outbound.check_url("https://public.test/hook")
    for host in ("mixed.test", "metadata.test", "mapped.test"):
        with pytest.raises(outbound.UnsafeURL, match="only public addresses"):
            outbound.check_url(f"https://{host}/hook")
    # Loopback is allowed by the setting; private ranges and metadata never are.
    outbound.check_url("http://127.0.0.1:9/")
    outbound.check_url("http://localhost:9/")
    with pytest.raises(outbound.UnsafeURL, match="private"):
        outbound.check_url("http://10.0.0.1/")
    with pytest.raises(outbound.UnresolvableHost):
        outbound.check_url("http://no-such-host.invalid/")


class TestInternalURLs(SharedWorld):
    """Refused URLs write nothing: one world for them all."""

    @pytest.mark.parametrize("url", UNSAFE_URLS)
    def test_api_refuses_internal_urls_with_a_field_message(self, api, world, loopback_refused, url):
        api.as_user(world.user("a", "company_admin"))
        response = api.post("/api/v1/webhooks/", {"name": "bad", "url": url, "events": ["*"]}, format="json")
        assert response.status_code == 400
        assert list(response.json()) == ["url"] and response.json()["url"][0]
        assert Webhook.objects.count() == 0


@pytest.mark.parametrize(
    "url, reason",
    [
        ("http://10.0.0.1/hook", "private address"),
        ("http://169.254.169.254/latest/meta-data/", "metadata"),
        ("http://localhost:{port}/hook", "loopback"),
        ("http://127.0.0.1:{port}/hook", "loopback"),
    ],
)
def test_delivery_time_check_fails_without_sending(world, receiver, settings, url, reason):
    port = receiver.server.server_address[1]
    hook = _hook(world.a, receiver.url)
    # Saved while allowed (or rebound by DNS since): the check at send time refuses it.
    Webhook.objects.filter(pk=hook.pk).update(url=url.format(port=port))
    settings.OUTBOUND_ALLOW_LOOPBACK = False
    [delivery] = webhooks.emit_event(company=world.a, event_type="scrape.completed", data={})
    assert webhooks.deliver(delivery.pk) is None
    stored = _fresh(delivery)
    assert stored.status == WebhookDelivery.FAILED
    assert reason in stored.attempts[0].error and stored.attempts[0].status_code is None
    assert receiver.requests == []
    assert _fresh(hook).consecutive_failures == 1


# --- API ----------------------------------------------------------------------------------------


def test_api_crud_shows_the_secret_only_on_create_and_rotate(api, world, receiver):
    api.as_user(world.user("a", "company_admin"))
    created = api.post(
        "/api/v1/webhooks/",
        {
            "name": "crm",
            "url": receiver.url,
            "events": ["scrape.completed", "scrape.completed", "knowledge.sync.completed"],
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    stored = Webhook.objects.get(pk=body["id"])
    assert body["secret"] == stored.secret and len(stored.secret) >= 40
    assert stored.company_id == world.a.pk and stored.created_by_id == world.user("a", "company_admin").pk
    assert body["events"] == ["scrape.completed", "knowledge.sync.completed"]

    detail = api.get(f"/api/v1/webhooks/{stored.pk}/").json()
    listed = api.get("/api/v1/webhooks/").json()["results"]
    assert "secret" not in detail and all("secret" not in row for row in listed)
    assert stored.secret not in json.dumps([detail, listed])

    patched = api.patch(f"/api/v1/webhooks/{stored.pk}/", {"events": ["*"], "name": "crm2"}, format="json")
    assert patched.status_code == 200 and patched.json()["events"] == ["*"] and "secret" not in patched.json()

    rotated = api.post(f"/api/v1/webhooks/{stored.pk}/rotate-secret/")
    assert rotated.status_code == 200 and rotated.json()["secret"] == _fresh(stored).secret != stored.secret

    assert api.delete(f"/api/v1/webhooks/{stored.pk}/").status_code == 204
    assert not Webhook.objects.filter(pk=stored.pk).exists()
    assert Webhook.all_objects.get(pk=stored.pk).is_deleted  # soft: restorable


class TestEventNames(SharedWorld):
    """Refused names write nothing: one world for them all."""

    @pytest.mark.parametrize("events", [[], [""], ["  "], [5], "scrape.completed", None, ["no.such.event"]])
    def test_api_event_names_must_be_names_from_the_catalogue(self, api, world, receiver, events):
        api.as_user(world.user("a", "company_admin"))
        response = api.post("/api/v1/webhooks/", {"name": "x", "url": receiver.url, "events": events}, format="json")
        assert response.status_code == 400 and "events" in response.json()


def test_only_company_admins_manage_webhooks(api, world, receiver):
    _hook(world.a, receiver.url)
    for role in ("content_manager", "content_writer", "client"):
        api.as_user(world.user("a", role))
        assert api.get("/api/v1/webhooks/").status_code == 403
        assert api.get("/api/v1/webhook-deliveries/").status_code == 403
        assert (
            api.post(
                "/api/v1/webhooks/", {"name": "x", "url": receiver.url, "events": ["*"]}, format="json"
            ).status_code
            == 403
        )


def test_api_test_event_and_deliveries(api, world, receiver, enqueued):
    hook = _hook(world.a, receiver.url, events=["scrape.completed"])
    api.as_user(world.user("a", "company_admin"))

    response = api.post(f"/api/v1/webhooks/{hook.pk}/test/")
    assert response.status_code == 202
    queued = response.json()
    assert queued["event_type"] == "webhook.test" and queued["status"] == "pending"
    assert enqueued == [queued["id"]]

    tasks.deliver_webhook(queued["id"])  # what the worker does
    [request] = receiver.requests
    assert request["headers"]["X-Requestdesk-Event"] == "webhook.test"
    assert webhook_signing.verify_signature(hook.secret, request["headers"]["X-Requestdesk-Signature"], request["body"])

    for _ in range(2):
        webhooks.emit_event(company=world.a, event_type="scrape.completed", data={})
    page = api.get(f"/api/v1/webhooks/{hook.pk}/deliveries/?page_size=2").json()
    assert len(page["results"]) == 2 and page["next"] and page["previous"] is None
    rest = api.get(page["next"]).json()
    assert len(rest["results"]) == 1 and rest["next"] is None and rest["previous"]
    detail = api.get(f"/api/v1/webhook-deliveries/{queued['id']}/").json()
    assert detail["status"] == "succeeded"
    [attempt] = detail["attempts"]
    assert attempt["status_code"] == 200 and attempt["latency_ms"] > 0
    assert detail["payload"]["data"]["webhook_id"] == str(hook.pk)
    filtered = api.get("/api/v1/webhook-deliveries/?status=succeeded").json()
    assert [row["id"] for row in filtered["results"]] == [queued["id"]]
    other = _hook(world.a, receiver.url, name="other")
    webhooks.send_test_event(other)
    assert len(api.get(f"/api/v1/webhook-deliveries/?webhook={hook.pk}").json()["results"]) == 3
    assert len(api.get(f"/api/v1/webhook-deliveries/?webhook={other.pk}").json()["results"]) == 1
    assert len(api.get("/api/v1/webhook-deliveries/?event_type=webhook.test").json()["results"]) == 2


def test_api_redeliver_sends_the_same_event_again(api, world, receiver, enqueued):
    receiver.answer(404)
    hook, delivery = _one_delivery(world.a, receiver.url)
    webhooks.deliver(delivery.pk)
    assert _fresh(delivery).status == WebhookDelivery.FAILED
    enqueued.clear()

    api.as_user(world.user("a", "company_admin"))
    response = api.post(f"/api/v1/webhook-deliveries/{delivery.pk}/redeliver/")
    assert response.status_code == 202
    again = response.json()
    assert again["id"] != str(delivery.pk) and again["event_id"] == delivery.event_id
    assert again["payload"] == delivery.payload and again["status"] == "pending"
    assert enqueued == [again["id"]]
    tasks.deliver_webhook(again["id"])
    assert receiver.requests[0]["body"] == receiver.requests[1]["body"]
    assert _fresh(delivery).status == WebhookDelivery.FAILED  # the old one keeps its history
    assert WebhookDelivery.objects.get(pk=again["id"]).status == WebhookDelivery.SUCCEEDED

    Webhook.objects.filter(pk=hook.pk).update(enabled=False)
    refused = api.post(f"/api/v1/webhook-deliveries/{delivery.pk}/redeliver/")
    assert refused.status_code == 400 and "disabled" in refused.json()["detail"]


# --- tenant isolation ---------------------------------------------------------------------------


@pytest.fixture
def a_webhook(world, receiver):
    hook = _hook(world.a, receiver.url, name="a-hook")
    [delivery] = webhooks.emit_event(company=world.a, event_type="scrape.completed", data={})
    return hook, delivery


class TestCompanyB(SharedWorld):
    """B's requests on A's webhook, which change no company or user: one world for them all."""

    @pytest.mark.parametrize(
        "method, path",
        [
            ("get", "/api/v1/webhooks/{hook}/"),
            ("patch", "/api/v1/webhooks/{hook}/"),
            ("put", "/api/v1/webhooks/{hook}/"),
            ("delete", "/api/v1/webhooks/{hook}/"),
            ("post", "/api/v1/webhooks/{hook}/test/"),
            ("post", "/api/v1/webhooks/{hook}/rotate-secret/"),
            ("get", "/api/v1/webhooks/{hook}/deliveries/"),
            ("get", "/api/v1/webhook-deliveries/{delivery}/"),
            ("post", "/api/v1/webhook-deliveries/{delivery}/redeliver/"),
        ],
    )
    def test_company_b_gets_404_on_company_a_webhooks(self, api, world, a_webhook, enqueued, method, path):
        hook, delivery = a_webhook
        enqueued.clear()
        api.as_user(world.user("b", "company_admin"))
        response = getattr(api, method)(
            path.format(hook=hook.pk, delivery=delivery.pk),
            {"name": "hijacked", "url": "http://127.0.0.1:1/", "events": ["*"]},
            format="json",
        )
        assert response.status_code == 404
        assert _fresh(hook).name == "a-hook" and _fresh(hook).secret == hook.secret
        assert WebhookDelivery.objects.count() == 1 and enqueued == []

    def test_company_b_lists_none_of_company_a_webhooks(self, api, world, a_webhook):
        api.as_user(world.user("b", "company_admin"))
        assert api.get("/api/v1/webhooks/").json()["count"] == 0
        assert api.get("/api/v1/webhook-deliveries/").json()["results"] == []
        api.as_user(world.user("a", "company_admin"))
        assert api.get("/api/v1/webhooks/").json()["count"] == 1
        assert len(api.get("/api/v1/webhook-deliveries/").json()["results"]) == 1


# --- admin --------------------------------------------------------------------------------------


@pytest.fixture
def admin_client(client):
    def sign_in(user):
        client.force_login(user)
        return client

    return sign_in


def test_admin_send_test_event_and_redeliver_actions(admin_client, world, receiver, enqueued):
    hook = _hook(world.a, receiver.url, events=["scrape.completed"])
    client = admin_client(world.user("a", "company_admin"))

    response = client.post(
        "/admin/events/webhook/", {"action": "send_test_event", "_selected_action": [str(hook.pk)]}, follow=True
    )
    assert response.status_code == 200 and "Queued a test event to 1 webhook" in response.content.decode()
    [test_delivery] = WebhookDelivery.objects.filter(webhook=hook)
    assert test_delivery.event_type == "webhook.test" and enqueued == [str(test_delivery.pk)]

    receiver.answer(500)
    webhooks.deliver(test_delivery.pk)
    page = client.get(f"/admin/events/webhookdelivery/{test_delivery.pk}/change/").content.decode()
    assert "webhook-attempts" in page and "HTTP 500" in page and "<td>500</td>" in page

    response = client.post(
        "/admin/events/webhookdelivery/",
        {"action": "redeliver", "_selected_action": [str(test_delivery.pk)]},
        follow=True,
    )
    assert response.status_code == 200 and "Queued 1 redelivery" in response.content.decode()
    copy = WebhookDelivery.objects.exclude(pk=test_delivery.pk).get()
    assert copy.event_id == test_delivery.event_id and enqueued[-1] == str(copy.pk)


def test_admin_actions_do_not_reach_another_company(admin_client, world, a_webhook, enqueued):
    hook, delivery = a_webhook
    enqueued.clear()
    client = admin_client(world.user("b", "company_admin"))
    client.post("/admin/events/webhook/", {"action": "send_test_event", "_selected_action": [str(hook.pk)]})
    client.post("/admin/events/webhookdelivery/", {"action": "redeliver", "_selected_action": [str(delivery.pk)]})
    assert WebhookDelivery.objects.count() == 1 and enqueued == []
    assert client.get("/admin/events/webhook/").content.decode().count("a-hook") == 0


def test_admin_add_checks_the_url_and_shows_the_secret_once(admin_client, world, receiver, loopback_refused):
    client = admin_client(world.user("a", "company_admin"))
    form = {"name": "from-admin", "url": "http://192.168.1.1/hook", "events": "scrape.completed", "enabled": "on"}
    refused = client.post("/admin/events/webhook/add/", form)
    assert refused.status_code == 200 and "private address" in refused.content.decode()
    assert Webhook.objects.count() == 0

    public = client.post("/admin/events/webhook/add/", {**form, "url": "ftp://example.com/"})
    assert "Only http and https" in public.content.decode() and Webhook.objects.count() == 0


def test_admin_add_generates_a_secret(admin_client, world, receiver):
    client = admin_client(world.user("a", "company_admin"))
    response = client.post(
        "/admin/events/webhook/add/",
        {"name": "from-admin", "url": receiver.url, "events": "scrape.completed,scrape.failed", "enabled": "on"},
        follow=True,
    )
    hook = Webhook.objects.get(name="from-admin")
    assert hook.company_id == world.a.pk and hook.events == ["scrape.completed", "scrape.failed"]
    assert len(hook.secret) >= 40 and hook.secret in response.content.decode()
    assert hook.secret not in client.get(f"/admin/events/webhook/{hook.pk}/change/").content.decode()


# --- a real Celery worker -----------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_emit_event_through_a_real_celery_worker(world, receiver, celery_worker):
    worker = celery_worker("webhooks")
    hook = _hook(world.a, receiver.url, events=["scrape.completed"])
    [delivery] = webhooks.emit_event(company=world.a, event_type="scrape.completed", data={"via": "worker"})

    # Bounded wait; a worker that dies (say, a task module that does not import) ends it early.
    wait_until(lambda: receiver.requests or not worker.alive(), timeout=60)
    assert receiver.requests, f"the worker sent nothing; its log:\n{worker.log()}"
    [request] = receiver.requests
    assert webhook_signing.verify_signature(hook.secret, request["headers"]["X-Requestdesk-Signature"], request["body"])
    assert json.loads(request["body"])["data"] == {"via": "worker"}
    assert wait_until(lambda: _fresh(delivery).status == WebhookDelivery.SUCCEEDED, timeout=30)
    assert [a.status_code for a in _fresh(delivery).attempts] == [200]

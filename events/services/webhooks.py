"""Webhooks: registering endpoints, emitting events, delivering them signed.

`emit_event()` creates one WebhookDelivery per enabled webhook of the company subscribed to
the event (or to "*") and enqueues `events.tasks.deliver_webhook` for each. `deliver()`
makes ONE attempt and says when to try again:

* 2xx: succeeded; the webhook's failure streak is reset.
* network error, timeout, 5xx, 429: retried with exponential backoff
  (WEBHOOK_RETRY_BASE_SECONDS, doubling) until WEBHOOK_MAX_ATTEMPTS, then failed.
* any other status (4xx, an unfollowed redirect) or an unsafe URL: failed at once.

Each failed delivery adds one to the webhook's `consecutive_failures` ($inc); at
WEBHOOK_DISABLE_AFTER the webhook is disabled and its company admins are told, once.

A delivery is sent by whoever claims it: the claim is a lease (requestdesk.db.leases) whose
`until` is `next_attempt_at`, taken while it is the one read and pushed forward for as long
as the request may be in flight. A task that runs twice, or a copy enqueued by the
`retry_due_webhook_deliveries` safety net, finds the delivery finished, not due, or already
claimed, and sends nothing.

The body is the stored event (`payload`): {"id", "type", "created_at", "company_id",
"source", "data"}; a redelivery sends the same event again. `type` is one of the names in
`events.catalogue`, the one catalogue of events: subscriptions naming anything else are refused.

Every request is signed twice (events.services.webhook_signing: the secrets' format and both
signatures).

Secrets are stored encrypted (requestdesk.crypto) and never logged.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from datetime import timedelta

import httpx
from bson import ObjectId
from django.conf import settings
from django.db.models import F
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from requestdesk import outbound
from requestdesk.api.renderers import JSONEncoder
from requestdesk.db import leases

from ..catalogue import ALL_EVENTS, EVENTS, SUBSCRIBABLE, TEST_EVENT
from ..models import DeliveryAttempt, Webhook, WebhookDelivery
from .notifications import notify_company_admins
from .webhook_signing import new_secret, signature_headers

logger = logging.getLogger(__name__)

EVENT_HEADER = "X-Requestdesk-Event"
DELIVERY_HEADER = "X-Requestdesk-Delivery"
FINISHED = (WebhookDelivery.SUCCEEDED, WebhookDelivery.FAILED)
CLOCK_SLACK = timedelta(seconds=2)  # a retry task may run this much before next_attempt_at
ERROR_LENGTH = DeliveryAttempt._meta.get_field("error").max_length


class WebhookDisabled(ValueError):
    """Only test events go to a disabled webhook; enable it first."""


class UnknownEvent(ValueError):
    """An event name that is not in the catalogue (events.catalogue)."""


def check_events(names) -> list[str]:
    """The subscribed names without repeats; each must be in the catalogue or "*"."""
    names = list(dict.fromkeys(names))
    unknown = [name for name in names if name not in SUBSCRIBABLE]
    if unknown:
        raise UnknownEvent(f"Unknown event {', '.join(map(repr, unknown))}; the events are: {', '.join(SUBSCRIBABLE)}.")
    return names


# --- Endpoints -------------------------------------------------------------------------


def create_webhook(
    *, company, name: str, url: str, events: list[str], enabled: bool = True, created_by=None
) -> Webhook:
    """Register an endpoint; its signing secret is generated here (read it from the result)."""
    outbound.check_url(url)
    return Webhook.objects.create(
        company=company,
        name=name,
        url=url,
        events=check_events(events),
        enabled=enabled,
        secret=new_secret(),
        created_by=created_by,
    )


def start_new_streak(webhook: Webhook) -> None:
    """A webhook enabled again starts with a clean failure count (the caller saves)."""
    webhook.consecutive_failures, webhook.disabled_reason = 0, ""


def update_webhook(*, webhook: Webhook, **changes) -> Webhook:
    """Change name, url, events or enabled; enabling a webhook starts a new failure streak."""
    if "url" in changes and changes["url"] != webhook.url:
        outbound.check_url(changes["url"])
    if "events" in changes:
        changes["events"] = check_events(changes["events"])
    if changes.get("enabled") and not webhook.enabled:
        start_new_streak(webhook)
    for field, value in changes.items():
        setattr(webhook, field, value)
    webhook.save()
    return webhook


def rotate_secret(*, webhook: Webhook) -> Webhook:
    webhook.secret = new_secret()
    webhook.save(update_fields=["secret", "updated_at"])
    return webhook


# --- Events ----------------------------------------------------------------------------


def _event(*, company_id, event_type: str, data, source) -> dict:
    """The event document sent as the body; data is normalised to plain JSON once, here."""
    return {
        "id": uuid.uuid4().hex,
        "type": event_type,
        "created_at": timezone.now().isoformat(),
        "company_id": str(company_id),
        "source": source,
        "data": json.loads(json.dumps(data, cls=JSONEncoder)),
    }


def _new_delivery(*, webhook: Webhook, event: dict) -> WebhookDelivery:
    return WebhookDelivery.objects.create(
        company_id=webhook.company_id,
        webhook=webhook,
        event_id=event["id"],
        event_type=event["type"],
        payload=event,
        next_attempt_at=timezone.now(),
    )


def enqueue(deliveries: list[WebhookDelivery]) -> None:
    """Queue a delivery task for each. A broker outage loses nothing: the deliveries stay
    pending and `requeue_due()` (every minute) queues them again."""
    from ..tasks import deliver_webhook

    for delivery in deliveries:
        try:
            deliver_webhook.delay(str(delivery.pk))
        except BrokerError:
            logger.warning("webhook delivery %s not queued (broker unavailable); the retry sweep will", delivery.pk)


def subscribers(*, company, event_type: str):
    """Enabled webhooks of `company` subscribed to `event_type`, directly or with "*"."""
    return Webhook.objects.for_company(company).filter(enabled=True, events__overlap=[event_type, ALL_EVENTS])


def emit_event(*, company, event_type: str, data, source: str | None = None) -> list[WebhookDelivery]:
    """Send `event_type` (a name in events.catalogue) with `data` to every subscribed webhook of
    `company`, through Celery."""
    if event_type not in EVENTS:
        raise UnknownEvent(f"{event_type!r} is not in events.catalogue; add it there (and to the README).")
    company_id = getattr(company, "pk", company)
    event = _event(company_id=company_id, event_type=event_type, data=data, source=source)
    deliveries = [
        _new_delivery(webhook=hook, event=event) for hook in subscribers(company=company, event_type=event_type)
    ]
    enqueue(deliveries)
    return deliveries


def send_test_event(webhook: Webhook, *, source: str | None = None) -> WebhookDelivery:
    """A `webhook.test` event to this webhook alone, subscribed or not, enabled or not."""
    event = _event(
        company_id=webhook.company_id,
        event_type=TEST_EVENT,
        source=source,
        data={"webhook_id": str(webhook.pk), "message": "This is a test event from requestdesk."},
    )
    delivery = _new_delivery(webhook=webhook, event=event)
    enqueue([delivery])
    return delivery


def redeliver(delivery: WebhookDelivery) -> WebhookDelivery:
    """Send the same event again as a new delivery (the old one keeps its history)."""
    webhook = Webhook.objects.filter(pk=delivery.webhook_id).first()
    if webhook is None:
        raise WebhookDisabled("The webhook was deleted; restore it before redelivering.")
    if not webhook.enabled and delivery.event_type != TEST_EVENT:
        raise WebhookDisabled(f"The webhook “{webhook.name}” is disabled; enable it before redelivering.")
    copy = _new_delivery(webhook=webhook, event=delivery.payload)
    enqueue([copy])
    return copy


def requeue_due(*, now=None, limit: int = 500) -> int:
    """Queue again every unfinished delivery whose attempt is due: the safety net for tasks
    lost with a worker or a broker outage. Copies of live tasks are harmless (see claim).
    Stops at a broker outage (the next sweep tries again); returns how many were queued."""
    from ..tasks import deliver_webhook

    now = now or timezone.now()
    due = (
        WebhookDelivery.objects.filter(
            status__in=[WebhookDelivery.PENDING, WebhookDelivery.RETRYING],
            next_attempt_at__lte=now,
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    return len(leases.requeue(list(due), deliver_webhook.delay, "due webhook delivery"))


# --- Delivery --------------------------------------------------------------------------


def backoff_seconds(attempts: int) -> int:
    """Wait after the `attempts`-th failed attempt: base, 2 x base, 4 x base, ..."""
    return settings.WEBHOOK_RETRY_BASE_SECONDS * 2 ** (attempts - 1)


def _lease_seconds() -> float:
    """How long a claimed delivery is left alone: the worst case of one attempt."""
    return 4 * settings.WEBHOOK_TIMEOUT_SECONDS + 30


def _claim(delivery_id) -> WebhookDelivery | None:
    if not ObjectId.is_valid(str(delivery_id)):
        return None
    delivery = WebhookDelivery.objects.filter(pk=delivery_id).first()
    now = timezone.now()
    if delivery is None or delivery.status in FINISHED:
        return None
    if delivery.next_attempt_at and delivery.next_attempt_at > now + CLOCK_SLACK:
        return None  # not due yet, or another worker holds it
    held = leases.take(
        WebhookDelivery,
        delivery.pk,
        guard={"status": delivery.status, "next_attempt_at": delivery.next_attempt_at},
        holder={},
        until_field="next_attempt_at",
        seconds=_lease_seconds(),
        now=now,
    )
    return delivery if held else None


def _post(webhook: Webhook, delivery: WebhookDelivery) -> tuple[int | None, str]:
    """One signed POST; returns (status code, error). Only headers are awaited, not the body."""
    body = json.dumps(delivery.payload, separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/json",
        EVENT_HEADER: delivery.event_type,
        DELIVERY_HEADER: str(delivery.pk),
        **signature_headers(webhook.secret, delivery.event_id, body),
    }
    try:
        with outbound.http_client(timeout=settings.WEBHOOK_TIMEOUT_SECONDS) as client:
            with client.stream("POST", webhook.url, content=body, headers=headers) as response:
                code = response.status_code
    except httpx.TimeoutException as exc:
        return None, f"timeout after {settings.WEBHOOK_TIMEOUT_SECONDS:g}s ({exc.__class__.__name__})"
    except httpx.HTTPError as exc:
        return None, f"network error: {exc.__class__.__name__}: {exc}"
    if 200 <= code < 300:
        return code, ""
    if 300 <= code < 400:
        return code, "redirect not followed"
    return code, f"HTTP {code}"


# What one attempt came to.
SENT, RETRY, FAIL, SKIPPED = "sent", "retry", "fail", "skipped"


def _attempt(webhook: Webhook, delivery: WebhookDelivery) -> tuple[DeliveryAttempt, str]:
    """Make one attempt; returns it and its outcome (SENT, RETRY, FAIL or SKIPPED)."""
    started, at = time.perf_counter(), timezone.now()
    code, error, outcome = None, "", FAIL
    if not webhook.enabled and delivery.event_type != TEST_EVENT:
        error, outcome = "not sent: the webhook is disabled", SKIPPED
    else:
        try:
            outbound.check_url(webhook.url)  # again now: DNS answers change
        except outbound.UnresolvableHost as exc:
            error, outcome = f"network error: {exc}", RETRY
        except outbound.UnsafeURL as exc:
            error = f"not sent: {exc}"
        else:
            code, error = _post(webhook, delivery)
            outcome = SENT if not error else RETRY if code is None or code >= 500 or code == 429 else FAIL
    latency = round((time.perf_counter() - started) * 1000, 2)
    return DeliveryAttempt(at=at, status_code=code, latency_ms=latency, error=error[:ERROR_LENGTH]), outcome


def deliver(delivery_id) -> int | None:
    """Make one attempt at a delivery. Returns the countdown (seconds) to the next attempt
    when one is due later, else None (succeeded, failed, or nothing to do)."""
    delivery = _claim(delivery_id)
    if delivery is None:
        return None
    webhook = Webhook.objects.filter(pk=delivery.webhook_id).first()
    if webhook is None:  # deleted (soft): nothing more goes to it
        _finish(delivery, WebhookDelivery.FAILED, timezone.now())
        return None
    attempt, outcome = _attempt(webhook, delivery)
    delivery.attempts = [*delivery.attempts, attempt]
    now = timezone.now()
    if outcome == SENT:
        _finish(delivery, WebhookDelivery.SUCCEEDED, now)
        Webhook.objects.filter(pk=webhook.pk).update(consecutive_failures=0, last_success_at=now)
        return None
    if outcome == RETRY and len(delivery.attempts) < settings.WEBHOOK_MAX_ATTEMPTS:
        countdown = backoff_seconds(len(delivery.attempts))
        delivery.status, delivery.next_attempt_at = WebhookDelivery.RETRYING, now + timedelta(seconds=countdown)
        delivery.save(update_fields=["attempts", "status", "next_attempt_at", "updated_at"])
        return countdown
    _finish(delivery, WebhookDelivery.FAILED, now)
    if outcome != SKIPPED:
        _count_failure(webhook, now, attempt.error)
    return None


def _finish(delivery: WebhookDelivery, status: str, now) -> None:
    delivery.status, delivery.completed_at, delivery.next_attempt_at = status, now, None
    delivery.save(update_fields=["attempts", "status", "completed_at", "next_attempt_at", "updated_at"])


def _count_failure(webhook: Webhook, now, error: str) -> None:
    """One more failed delivery in a row; disable the webhook at the threshold (once)."""
    Webhook.objects.filter(pk=webhook.pk).update(
        consecutive_failures=F("consecutive_failures") + 1, last_failure_at=now
    )
    failures = Webhook.objects.filter(pk=webhook.pk).values_list("consecutive_failures", flat=True).first() or 0
    if failures < settings.WEBHOOK_DISABLE_AFTER:
        return
    reason = f"Disabled after {failures} failed deliveries in a row; last error: {error}"
    reason = reason[: Webhook._meta.get_field("disabled_reason").max_length]
    if Webhook.objects.filter(pk=webhook.pk, enabled=True).update(enabled=False, disabled_reason=reason):
        logger.warning("webhook %s disabled after %s consecutive failed deliveries", webhook.pk, failures)
        notify_company_admins(
            company=webhook.company_id,
            type="webhook.disabled",
            title=f"Webhook “{webhook.name}” was disabled",
            message=f"{reason}. Fix the endpoint, then enable the webhook again.",
            metadata={"webhook_id": str(webhook.pk)},
        )

"""Email for in-app notifications, as each user's NotificationPreferences ask.

* `email_enabled` off: nothing is emailed (pending notifications are marked skipped).
* `digest_frequency` "never": each notification is emailed on its own, right away
  (`events.tasks.send_notification_email`, queued by events.services.notifications).
* "daily" / "weekly" (a user without settings has the defaults: daily): one email lists the
  unread notifications not emailed yet (`events.tasks.send_email_digests`, run by beat).

Sending happens in Celery tasks through Django's email backend (EMAIL_* settings), never in
a request. The email state lives on the notification document, next to the model's fields,
written only here and only with guarded updates (no model field, so no migration: the API
never shows it):

    email_status   None (pending) | "sending" | "retry" | "sent" | "skipped" | "failed"
    email_until    while "sending": the claim's end; while "retry": when to try again
    email_claim    the id of the send that holds it
    email_attempts failed sends so far

A send first claims its notifications with one guarded update_many (pending, a "retry"
that is due, or a "sending" whose claim ran out): a document is updated atomically, so of
two sends each notification goes to one, and a task run twice finds nothing to send. So an
email is sent at most once per notification; the exception is a worker killed between the
SMTP answer and the "sent" write, whose claim runs out and is sent again. A failed send
gives the notifications back as "retry" with a backoff (NOTIFICATION_EMAIL_RETRY_SECONDS,
doubling), up to NOTIFICATION_EMAIL_MAX_ATTEMPTS, then "failed"; `requeue_due()` (beat)
queues due retries whose task was lost. Logs name notifications and users by id, never the
address, the body or the SMTP credentials.
"""

from __future__ import annotations

import logging
import smtplib
import uuid
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from requestdesk.db import leases
from requestdesk.db.collections import collection
from tenants.models import NotificationPreferences, User, UserSettings

from ..models import Notification

logger = logging.getLogger(__name__)

IMMEDIATE = "never"  # digest_frequency meaning "no digest: email each one"
DIGESTS = ("daily", "weekly")
PENDING, SENDING, RETRY, SENT, SKIPPED, FAILED = None, "sending", "retry", "sent", "skipped", "failed"
# The sweeps read recent notifications only, on the created_at (TTL) index, not the whole
# collection: retries end within hours, and a digest carries the last week and a day.
RETRY_WINDOW = timedelta(days=1)
DIGEST_WINDOW = timedelta(days=8)


def _notes():
    return collection(Notification)


def preferences(user_ids) -> dict:
    """Each user's NotificationPreferences (the defaults for a user without settings)."""
    stored = {
        s.user_id: s.notification_preferences
        for s in UserSettings.objects.filter(user_id__in=list(user_ids)).only("user", "notification_preferences")
    }
    return {uid: stored.get(uid) or NotificationPreferences() for uid in user_ids}


def wants_immediate(prefs: NotificationPreferences) -> bool:
    return prefs.email_enabled and prefs.digest_frequency == IMMEDIATE


# --- Queueing ------------------------------------------------------------------------


def queue_immediate(notes) -> int:
    """Queue an email task for each of `notes` whose user wants them one by one. A broker
    outage loses nothing: the notification stays pending and is marked "retry" so that
    `requeue_due()` queues it. Returns how many were queued."""
    from ..tasks import send_notification_email

    notes = list(notes)
    prefs = preferences({n.user_id for n in notes})
    queued = 0
    for note in notes:
        if not wants_immediate(prefs[note.user_id]):
            continue
        try:
            send_notification_email.delay(str(note.pk))
            queued += 1
        except BrokerError:
            logger.warning("notification email %s not queued (broker unavailable); the retry sweep will", note.pk)
            _notes().update_one(
                {"_id": note.pk, "email_status": PENDING},
                {"$set": {"email_status": RETRY, "email_until": timezone.now()}},
            )
    return queued


def requeue_due(*, now=None, limit: int = 500) -> int:
    """Queue again the immediate emails whose retry is due (their task was lost with a
    worker or the broker); returns how many were queued."""
    from ..tasks import send_notification_email

    now = now or timezone.now()
    due = (
        _notes()
        .find(
            {"created_at": {"$gte": now - RETRY_WINDOW}, "email_status": RETRY, "email_until": {"$lte": now}},
            {"_id": 1},
        )
        .limit(limit)
    )
    return len(leases.requeue([d["_id"] for d in due], send_notification_email.delay, "due notification email"))


def digest_users(frequency: str) -> list:
    """Ids of the users with unread notifications not emailed yet whose preferences ask for
    the `frequency` digest. Users who turned email off have theirs marked skipped."""
    since = timezone.now() - DIGEST_WINDOW
    user_ids = _notes().distinct("user_id", {"created_at": {"$gte": since}, "email_status": PENDING, "read": False})
    due = []
    for user_id, prefs in preferences(user_ids).items():
        if not prefs.email_enabled:
            _notes().update_many({"user_id": user_id, "email_status": PENDING}, {"$set": {"email_status": SKIPPED}})
        elif prefs.digest_frequency == frequency:
            due.append(user_id)
    return due


# --- Sending -------------------------------------------------------------------------


def _claimable(now) -> dict:
    return {
        "$or": [{"email_status": PENDING}, {"email_status": {"$in": [SENDING, RETRY]}, "email_until": {"$lte": now}}]
    }


def _claim_seconds() -> float:
    """How long claimed notifications are left alone: the worst case of one SMTP send."""
    return 4 * settings.EMAIL_TIMEOUT + 30


def _claim(match: dict) -> tuple[str, list[Notification]]:
    """Claim the notifications matching `match` that are claimable; (claim id, them)."""
    now, claim = timezone.now(), uuid.uuid4().hex
    until = leases.lease_end(now, _claim_seconds())
    _notes().update_many(
        {**match, **_claimable(now)}, {"$set": {"email_status": SENDING, "email_until": until, "email_claim": claim}}
    )
    ids = [d["_id"] for d in _notes().find({"email_claim": claim, "email_status": SENDING}, {"_id": 1})]
    return claim, list(Notification.objects.filter(pk__in=ids).order_by("created_at"))


def _finish(claim: str, status: str | None) -> None:
    _notes().update_many(
        {"email_claim": claim, "email_status": SENDING},
        {
            "$set": {
                "email_status": status,
                "email_until": None,
                **({"email_sent_at": timezone.now()} if status == SENT else {}),
            }
        },
    )


def backoff_seconds(attempts: int) -> int:
    return settings.NOTIFICATION_EMAIL_RETRY_SECONDS * 2 ** (attempts - 1)


def _failed(claim: str, notes: list[Notification], error: Exception) -> int | None:
    """Give the claimed notifications back for a later attempt (or fail them after the
    last); the countdown to the next attempt, or None."""
    attempts = 1 + max(d.get("email_attempts", 0) for d in _notes().find({"email_claim": claim}, {"email_attempts": 1}))
    ids = ", ".join(str(n.pk) for n in notes)
    if attempts >= settings.NOTIFICATION_EMAIL_MAX_ATTEMPTS:
        logger.error("notification email for %s failed after %d attempts: %s", ids, attempts, error.__class__.__name__)
        update, countdown = {"email_status": FAILED, "email_until": None}, None
    else:
        countdown = backoff_seconds(attempts)
        logger.warning(
            "notification email for %s not sent (attempt %d, retry in %ds): %s",
            ids,
            attempts,
            countdown,
            error.__class__.__name__,
        )
        update = {"email_status": RETRY, "email_until": timezone.now() + timedelta(seconds=countdown)}
    _notes().update_many(
        {"email_claim": claim, "email_status": SENDING}, {"$set": update, "$inc": {"email_attempts": 1}}
    )
    return countdown


def _send(claim: str, notes: list[Notification], user: User, subject: str, body: str) -> int | None:
    try:
        send_mail(subject, body, None, [user.email], fail_silently=False)
    except (smtplib.SMTPException, OSError) as exc:
        return _failed(claim, notes, exc)
    _finish(claim, SENT)
    return None


def _line(note: Notification) -> str:
    return f"- {note.title}" + (f": {note.message}" if note.message else "")


def send_immediate(notification_id) -> int | None:
    """Email one notification if it is still pending and its user wants it now. Returns
    the countdown to a retry after a failed send, else None."""
    note = Notification.objects.filter(pk=notification_id).first()
    if note is None:
        return None
    claim, notes = _claim({"_id": note.pk})
    if not notes:
        return None  # sent, skipped, or another send holds it
    user = User.objects.filter(pk=note.user_id).first()
    prefs = preferences([note.user_id])[note.user_id]
    if user is None or not user.is_active or not user.email or not prefs.email_enabled:
        _finish(claim, SKIPPED)
        return None
    if not wants_immediate(prefs):
        _finish(claim, PENDING)  # they switched to a digest since: it will carry this one
        return None
    return _send(claim, notes, user, note.title, f"{note.message}\n" if note.message else f"{note.title}\n")


def send_digest(user_id) -> int | None:
    """Email `user_id` one digest of their unread notifications not emailed yet. Returns
    the countdown to a retry after a failed send, else None."""
    user = User.objects.filter(pk=user_id).first()
    if user is None or not user.is_active or not user.email:
        return None
    prefs = preferences([user.pk])[user.pk]
    if not prefs.email_enabled or prefs.digest_frequency not in DIGESTS:
        return None  # changed since the digest was queued
    claim, notes = _claim({"user_id": user.pk, "read": False, "created_at": {"$gte": timezone.now() - DIGEST_WINDOW}})
    if not notes:
        return None
    subject = f"{len(notes)} new notification{'s' if len(notes) != 1 else ''}"
    body = "\n".join(_line(n) for n in notes) + "\n"
    return _send(claim, notes, user, subject, body)

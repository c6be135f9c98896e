"""Notification emails (as NotificationPreferences ask): sent by Celery tasks through
Django's SMTP backend to a real SMTP server (aiosmtpd) on a free loopback port, once per
notification, retried when the server is down or refuses."""

import logging
import os
import subprocess
import sys
import threading

import pytest
from kombu.exceptions import OperationalError as BrokerError

from events import tasks
from events.models import Notification
from events.services.notifications import mark_read, notify, notify_company_admins
from requestdesk.db.collections import collection
from requestdesk.embedded import free_port
from tenants.models import NotificationPreferences, UserSettings
from tests import flushing
from tests.paths import ROOT
from tests.support.celery_worker import wait_until

SMTP_PASSWORD = "smtp-Secret-4711"


@pytest.fixture(autouse=True)
def queued(request, monkeypatch):
    """The email tasks the services queue, recorded (the test runs them, as a worker would;
    the `slow` test sends them to a real worker)."""
    calls = {"now": [], "digest": [], "later": []}
    if request.node.get_closest_marker("slow"):
        return calls
    monkeypatch.setattr(tasks.send_notification_email, "delay", calls["now"].append)
    monkeypatch.setattr(tasks.send_email_digest, "delay", calls["digest"].append)
    monkeypatch.setattr(tasks.send_notification_email, "apply_async", lambda **kw: calls["later"].append(kw))
    monkeypatch.setattr(tasks.send_email_digest, "apply_async", lambda **kw: calls["later"].append(kw))
    return calls


def prefer(user, **prefs):
    UserSettings.objects.update_or_create(
        user=user, defaults={"company": user.company, "notification_preferences": NotificationPreferences(**prefs)}
    )
    return user


def state(note) -> dict:
    return collection(Notification).find_one({"_id": note.pk})


def test_immediate_email_is_sent_by_the_task(world, smtp, queued):
    me = prefer(world.user("a", "client"), digest_frequency="never")
    note = notify(user=me, type="ticket", title="Ticket answered", message="Your ticket #7 has an answer.")
    assert queued["now"] == [str(note.pk)] and smtp.messages == []  # queued, not sent in the caller

    assert tasks.send_notification_email(str(note.pk)) is None
    [(to, message)] = smtp.messages
    assert to == [me.email] and message["Subject"] == "Ticket answered"
    assert message["From"] == "requestdesk <noreply@requestdesk.test>"
    assert "Your ticket #7 has an answer." in message.get_payload()
    assert state(note)["email_status"] == "sent" and state(note)["email_sent_at"] is not None


def test_digest_users_get_no_immediate_email(world, smtp, queued):
    notify(user=world.user("a", "client"), type="ticket", title="For the digest")  # defaults: daily
    notify(user=prefer(world.user("a", "content_writer"), digest_frequency="weekly"), type="ticket", title="Weekly")
    assert queued["now"] == [] and smtp.messages == []


def test_daily_digest_lists_unread_notifications_once(world, smtp, queued):
    me, weekly = world.user("a", "client"), prefer(world.user("b", "client"), digest_frequency="weekly")
    notify(user=me, type="ticket", title="First", message="one")
    notify(user=me, type="sync", title="Second")
    mark_read(notification=notify(user=me, type="sync", title="Already seen"))
    notify(user=weekly, type="ticket", title="Not today")

    assert tasks.send_email_digests("daily") == 1
    assert queued["digest"] == [str(me.pk)]
    tasks.send_email_digest(str(me.pk))
    [(to, message)] = smtp.messages
    assert to == [me.email] and message["Subject"] == "2 new notifications"
    body = message.get_payload()
    assert "- First: one" in body and "- Second" in body and "Already seen" not in body

    tasks.send_email_digest(str(me.pk))  # run twice: nothing left to send
    queued["digest"].clear()
    assert tasks.send_email_digests("daily") == 0 and queued["digest"] == []
    assert len(smtp.messages) == 1

    assert tasks.send_email_digests("weekly") == 1
    tasks.send_email_digest(queued["digest"][-1])
    assert [m["Subject"] for _, m in smtp.messages] == ["2 new notifications", "1 new notification"]
    assert "- Not today" in smtp.messages[1][1].get_payload()


def test_email_off_sends_nothing(world, smtp, queued):
    off_now = prefer(world.user("a", "client"), email_enabled=False, digest_frequency="never")
    off_daily = prefer(world.user("a", "content_writer"), email_enabled=False, digest_frequency="daily")
    notes = [notify(user=off_now, type="ticket", title="Quiet"), notify(user=off_daily, type="ticket", title="Quiet")]
    assert queued["now"] == []
    assert tasks.send_email_digests("daily") == 0 and queued["digest"] == []
    assert [state(n)["email_status"] for n in notes] == ["skipped", "skipped"]

    prefer(off_daily, email_enabled=True, digest_frequency="daily")  # turned on later: no backlog
    assert tasks.send_email_digests("daily") == 0
    # Turned off after the task was queued: the task sends nothing.
    on = prefer(world.user("b", "client"), digest_frequency="never")
    note = notify(user=on, type="ticket", title="Changed my mind")
    prefer(on, email_enabled=False, digest_frequency="never")
    tasks.send_notification_email(str(note.pk))
    assert smtp.messages == [] and state(note)["email_status"] == "skipped"


def test_each_notification_is_emailed_once_even_by_racing_tasks(world, smtp, queued):
    admins = [prefer(u, digest_frequency="never") for u in (world.user("a", "company_admin"),)]
    notes = notify_company_admins(company=world.a, type="webhook", title="Webhook disabled")
    assert len(notes) == len(admins) and queued["now"] == [str(n.pk) for n in notes]

    pk = str(notes[0].pk)
    racers = [threading.Thread(target=tasks.send_notification_email, args=(pk,)) for _ in range(4)]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join()
    tasks.send_notification_email(pk)  # a late duplicate (redelivered task)
    assert len(smtp.messages) == 1
    assert tasks.send_email_digests("daily") == 0  # not carried again by a digest


def test_smtp_down_is_retried_and_not_lost(world, smtp, settings, queued, caplog):
    me = prefer(world.user("a", "client"), digest_frequency="never")
    note = notify(user=me, type="ticket", title="Will arrive")
    port = settings.EMAIL_PORT
    settings.EMAIL_PORT = free_port()  # nothing listens there: connection refused
    settings.EMAIL_HOST_USER, settings.EMAIL_HOST_PASSWORD = "mailer", SMTP_PASSWORD

    with caplog.at_level(logging.WARNING, logger="events.services.notification_email"):
        assert tasks.send_notification_email(str(note.pk)) == 0
    assert queued["later"] == [{"args": [str(note.pk)], "countdown": 0}]
    assert state(note)["email_status"] == "retry" and state(note)["email_attempts"] == 1
    assert str(note.pk) in caplog.text and "attempt 1" in caplog.text
    assert me.email not in caplog.text and SMTP_PASSWORD not in caplog.text

    settings.EMAIL_PORT = port  # the server answers, but refuses for now (451)
    settings.EMAIL_HOST_USER, settings.EMAIL_HOST_PASSWORD = "", ""
    smtp.refuse = True
    assert tasks.send_notification_email(str(note.pk)) == 0 and smtp.messages == []
    assert state(note)["email_attempts"] == 2

    smtp.refuse = False  # the retry task was lost with its worker: beat's sweep queues it again
    queued["now"].clear()
    assert tasks.retry_due_notification_emails() == 1 and queued["now"] == [str(note.pk)]
    assert tasks.send_notification_email(str(note.pk)) is None
    [(to, message)] = smtp.messages
    assert to == [me.email] and message["Subject"] == "Will arrive"
    assert state(note)["email_status"] == "sent"


def test_digest_retried_after_smtp_refusal(world, smtp, queued):
    me = world.user("a", "client")
    notify(user=me, type="ticket", title="Kept")
    smtp.refuse = True
    tasks.send_email_digests("daily")
    assert tasks.send_email_digest(queued["digest"][0]) == 0
    assert queued["later"] == [{"args": [str(me.pk)], "countdown": 0}]
    smtp.refuse = False
    tasks.send_email_digest(str(me.pk))
    [(_, message)] = smtp.messages
    assert "- Kept" in message.get_payload()


def test_gives_up_after_the_last_attempt(world, smtp, settings, queued):
    settings.NOTIFICATION_EMAIL_MAX_ATTEMPTS = 2
    note = notify(user=prefer(world.user("a", "client"), digest_frequency="never"), type="ticket", title="x")
    smtp.refuse = True
    assert tasks.send_notification_email(str(note.pk)) == 0
    assert tasks.send_notification_email(str(note.pk)) is None
    assert state(note)["email_status"] == "failed" and len(queued["later"]) == 1
    assert tasks.retry_due_notification_emails() == 0


def test_broker_down_when_queueing_loses_nothing(world, smtp, monkeypatch, queued):
    def down(_):
        raise BrokerError("broker unavailable")

    monkeypatch.setattr(tasks.send_notification_email, "delay", down)
    me = prefer(world.user("a", "client"), digest_frequency="never")
    note = notify(user=me, type="ticket", title="Queued later")  # the caller is not failed
    assert state(note)["email_status"] == "retry"

    monkeypatch.setattr(tasks.send_notification_email, "delay", queued["now"].append)
    assert tasks.retry_due_notification_emails() == 1
    tasks.send_notification_email(queued["now"][0])
    assert [m["Subject"] for _, m in smtp.messages] == ["Queued later"]


def _email_settings(**env) -> list[str]:
    """The email settings a process started with this environment reads (the settings module
    alone: django.setup()'s app imports read no setting)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("EMAIL_", "DEBUG", "SECRET_KEY"))}
    with flushing.elsewhere():  # reads settings, touches no database: no flush after the test
        result = subprocess.run(
            [
                sys.executable,
                "-c",
                "from django.conf import settings as s;"
                "print(s.EMAIL_BACKEND, s.EMAIL_HOST, s.EMAIL_PORT, s.EMAIL_USE_TLS, s.EMAIL_HOST_PASSWORD or '-')",
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            env={**clean, "DJANGO_SETTINGS_MODULE": "requestdesk.settings", "FIELD_ENCRYPTION_KEY": "k", **env},
        )
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_email_settings_come_from_the_environment():
    assert _email_settings(DEBUG="1")[0] == "django.core.mail.backends.console.EmailBackend"
    assert _email_settings(
        DEBUG="0",
        SECRET_KEY="s",
        EMAIL_HOST="smtp.example",
        EMAIL_PORT="587",
        EMAIL_USE_TLS="1",
        EMAIL_HOST_PASSWORD="pw",
    ) == ["django.core.mail.backends.smtp.EmailBackend", "smtp.example", "587", "True", "pw"]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_immediate_email_through_a_real_celery_worker(world, smtp, settings, celery_worker):
    worker = celery_worker(
        "mail",
        env={
            "EMAIL_BACKEND": settings.EMAIL_BACKEND,
            "EMAIL_HOST": settings.EMAIL_HOST,
            "EMAIL_PORT": settings.EMAIL_PORT,
        },
    )
    me = prefer(world.user("a", "client"), digest_frequency="never")
    note = notify(user=me, type="ticket", title="Via the worker")
    assert wait_until(lambda: smtp.messages or not worker.alive(), timeout=60), worker.log()
    assert [(to, m["Subject"]) for to, m in smtp.messages] == [([me.email], "Via the worker")], worker.log()
    assert wait_until(lambda: state(note)["email_status"] == "sent", timeout=30)

"""Sentiment alert rules (monitoring.services.alerts): each kind fires when its window crosses
the rule's limit and not otherwise, once per rule and window however many workers evaluate
it at once; a fired alert notifies the company admins, sends a signed `scraping.sentiment.alert`
webhook delivery to a real receiver on loopback, and opens a ticket linking the results that
fired it. A finished scrape job queues the evaluation of its project; beat's tick queues every
project with an enabled rule. The API answers bad input with field messages and shows a
company only its own rules and alerts."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from celery.app.task import Task
from django.conf import settings as django_settings
from django.db import IntegrityError, connections
from kombu.exceptions import OperationalError as BrokerError

from content.models import Ticket, TicketPriority
from events.models import Notification, WebhookDelivery
from events.services import webhooks
from monitoring.models import Alert, AlertKind, AlertRule
from monitoring.services import alerts
from scraping.models import Result, ScrapeJob
from scraping.services import ingest, jobs
from scraping.services.items import Item
from tests.conftest import SharedWorld
from tests.support.scraping import fast_scraping, make_project, make_target, system_presets  # noqa: F401

# A 6-hour rule's window holding NOW runs 12:00-18:00 UTC; the previous one 06:00-12:00.
NOW = datetime(2026, 11, 30, 14, 30, tzinfo=UTC)
IN_WINDOW = datetime(2026, 11, 30, 12, 15, tzinfo=UTC)
BEFORE = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
RULES = "/api/v1/monitoring/alert-rules/"
ALERTS = "/api/v1/monitoring/alerts/"

BAD = "Awful kettle. It broke after two days, terrible quality and I hate it."
GOOD = "Lovely kettle, it works great and I love it. Excellent value."
PLAIN = "The kettle arrived on Tuesday in a box."


@pytest.fixture
def sent(monkeypatch):
    """Every Celery task sent (webhook deliveries, emails, evaluations), recorded instead:
    [(task name, args)]."""
    calls = []

    def send(task, args=None, kwargs=None, **options):
        calls.append((task.name, tuple(args or ())))
        return SimpleNamespace(id="not-sent")

    monkeypatch.setattr(Task, "apply_async", send)
    return calls


@pytest.fixture
def project(world):
    return make_project(world.a, name="Kettle reviews")


@pytest.fixture
def target(project):
    return make_target(project, "http://127.0.0.1:9/products/kettle", platform="reviews")


def _add(target, texts, when=IN_WINDOW):
    """One result per text, published at `when` (a minute apart, in order); the new results."""
    before = set(Result.objects.filter(target=target).values_list("pk", flat=True))
    items = [
        Item(
            title=f"Review {len(before) + n}",
            text=f"{text} (review {len(before) + n})",
            date=when + timedelta(minutes=n),
        )
        for n, text in enumerate(texts)
    ]
    ingest.ingest(target=target, items=items, platform="reviews")
    return [r for r in Result.objects.filter(target=target).order_by("published_at") if r.pk not in before]


def _rule(project, kind=AlertKind.NEGATIVE_SHARE, **fields):
    defaults = {
        AlertKind.NEGATIVE_SHARE: {"threshold": 0.5, "min_results": 3},
        AlertKind.COMPOUND_DROP: {"drop": 0.5, "min_results": 2},
        AlertKind.WATCHED_WORD: {"word": "broke after"},
    }[kind]
    return AlertRule.objects.create(
        company_id=project.company_id,
        project=project,
        kind=kind,
        **{"name": f"{kind} rule", "window_hours": 6, **defaults, **fields},
    )


def test_the_test_texts_have_the_sentiment_they_stand_for(target):
    labels = [r.sentiment.label for r in _add(target, [BAD, GOOD, PLAIN])]
    assert labels == ["negative", "positive", "neutral"]


def test_windows_are_aligned_to_the_rule_from_the_epoch():
    window = alerts.window_at(6, NOW)
    assert (window.start, window.end) == (NOW.replace(hour=12, minute=0), NOW.replace(hour=18, minute=0))
    assert alerts.window_at(6, window.end).start == window.end
    assert alerts.window_at(24, NOW).start == NOW.replace(hour=0, minute=0)
    assert window.previous().start == NOW.replace(hour=6, minute=0)


# --- each kind ----------------------------------------------------------------------------------


def test_negative_share_fires_above_the_threshold_with_enough_results(target, project, sent):
    rule = _rule(project, threshold=0.5, min_results=3)
    _add(target, [BAD, BAD])
    assert alerts.evaluate(rule, now=NOW) is None  # 2 of 2 negative: fewer than min_results
    _add(target, [GOOD, GOOD])
    assert alerts.evaluate(rule, now=NOW) is None  # 2 of 4: not above 50%
    _add(target, [BAD, BAD, BAD, GOOD], when=BEFORE)  # the previous window's do not count
    assert alerts.evaluate(rule, now=NOW) is None
    negative = _add(target, [BAD])
    alert = alerts.evaluate(rule, now=NOW)
    assert alert is not None and alert.kind == AlertKind.NEGATIVE_SHARE
    assert (alert.value, alert.count, alert.limit) == (0.6, 5, 0.5)
    assert alert.window_start == NOW.replace(hour=12, minute=0) and alert.window_end == NOW.replace(hour=18, minute=0)
    assert set(alert.result_ids) == {r.pk for r in _window(target, NOW) if r.sentiment.label == "negative"}
    assert negative[0].pk in alert.result_ids and len(alert.result_ids) == 3
    assert "3 of 5 results negative (60%, above 50%)" in alert.title


def _window(target, moment):
    window = alerts.window_at(6, moment)
    return Result.objects.filter(target=target, published_at__gte=window.start, published_at__lt=window.end)


def test_compound_drop_fires_when_the_average_falls_by_more_than_the_drop(target, project, sent):
    rule = _rule(project, AlertKind.COMPOUND_DROP, drop=0.5, min_results=2)
    _add(target, [BAD, BAD])
    assert alerts.evaluate(rule, now=NOW) is None  # no previous window to compare with
    _add(target, [GOOD, GOOD], when=BEFORE)
    alert = alerts.evaluate(rule, now=NOW)
    assert alert is not None and alert.baseline > 0.5 and alert.value < -0.5 and alert.count == 2
    assert set(alert.result_ids) == {r.pk for r in _window(target, NOW)}
    assert "down from" in alert.title


def test_compound_drop_does_not_fire_for_a_smaller_drop_or_too_few_results(target, project, sent):
    small = _rule(project, AlertKind.COMPOUND_DROP, drop=0.5, min_results=2)
    large = _rule(project, AlertKind.COMPOUND_DROP, drop=1.0, min_results=2, name="large")
    _add(target, [GOOD, GOOD], when=BEFORE)  # about +0.85
    _add(target, [PLAIN])  # 0: a drop of about 0.85, from one result
    assert alerts.evaluate(small, now=NOW) is None
    _add(target, [PLAIN])
    assert alerts.evaluate(large, now=NOW) is None
    alert = alerts.evaluate(small, now=NOW)
    assert alert is not None and alert.value == 0 and 0.5 < alert.baseline < 1.0 and alert.limit == 0.5
    assert list(Alert.objects.values_list("rule_id", flat=True)) == [small.pk]


def test_a_watched_word_fires_on_a_phrase_of_the_window_case_and_plurals_folded(target, project, sent):
    rule = _rule(project, AlertKind.WATCHED_WORD, word="Broken Handles")
    _add(target, [GOOD, "Both broken handles!"], when=BEFORE)  # not this window
    _add(target, [GOOD, "The handle was broken."])  # the words, not the phrase
    assert alerts.evaluate(rule, now=NOW) is None
    [hit] = _add(target, ["Mine came with a BROKEN HANDLE, sadly."])
    alert = alerts.evaluate(rule, now=NOW)
    assert alert is not None and alert.result_ids == [hit.pk] and alert.value == 1 and alert.count == 3
    assert "“Broken Handles” in 1 of 3 results" in alert.title


def test_a_disabled_rule_or_a_deleted_project_is_not_evaluated(target, project, sent):
    rule = _rule(project, AlertKind.WATCHED_WORD, word="kettle", enabled=False)
    _add(target, [BAD])
    assert alerts.evaluate_project(company_id=project.company_id, project_id=project.pk, now=NOW) == []
    AlertRule.objects.filter(pk=rule.pk).update(enabled=True)
    project.delete()  # soft
    assert alerts.evaluate_project(company_id=project.company_id, project_id=project.pk, now=NOW) == []
    assert not Alert.objects.exists()


# --- once per window ----------------------------------------------------------------------------


def test_a_second_evaluation_in_the_same_window_does_not_fire_again(world, target, project, sent):
    rule = _rule(project, AlertKind.WATCHED_WORD, word="terrible")
    _add(target, [BAD])
    [first] = alerts.evaluate_project(company_id=project.company_id, project_id=project.pk, now=NOW)
    _add(target, [BAD, BAD])
    assert alerts.evaluate(rule, now=NOW + timedelta(hours=3)) is None  # 17:30, the same window
    assert Alert.objects.count() == 1 and Notification.objects.count() == 1
    later = alerts.evaluate(rule, now=NOW + timedelta(hours=4))  # 18:30: the next window, no result there
    assert later is None
    _add(target, [BAD], when=NOW + timedelta(hours=4))
    second = alerts.evaluate(rule, now=NOW + timedelta(hours=4))
    assert second is not None and second.window_start == first.window_end


@pytest.mark.django_db(transaction=True)
def test_two_workers_evaluating_at_once_fire_one_alert(world, target, project, sent):
    rule = _rule(project, threshold=0.5, min_results=2, open_ticket=True)
    hook = webhooks.create_webhook(
        company=world.a, name="alerts", url="http://127.0.0.1:9/hooks", events=[alerts.ALERT_EVENT]
    )
    _add(target, [BAD, BAD, GOOD])
    start = threading.Barrier(2)

    def worker(_):
        start.wait()
        try:
            return alerts.evaluate(AlertRule.objects.get(pk=rule.pk), now=NOW)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=2) as pool:
        fired = [alert for alert in pool.map(worker, range(2)) if alert is not None]
    assert len(fired) == 1
    [alert] = Alert.objects.all()
    assert alert.pk == fired[0].pk
    assert Notification.objects.filter(type=alerts.ALERT_EVENT).count() == 1
    assert WebhookDelivery.objects.filter(webhook_id=hook.pk).count() == 1
    assert [args for name, args in sent if name.endswith("deliver_webhook")] == [(str(alert.deliveries[0]),)]
    assert Ticket.objects.count() == 1 and alert.ticket_id == Ticket.objects.get().pk
    assert alert.notifications == 1
    with pytest.raises(IntegrityError):  # the index itself refuses a second alert of the window
        Alert.objects.create(
            company=world.a,
            rule=rule,
            project=project,
            kind=rule.kind,
            window_start=alert.window_start,
            window_end=alert.window_end,
            value=1,
            count=1,
            title="again",
        )


def test_a_firing_whose_worker_stopped_half_way_is_finished_once_by_the_next_evaluation(
    world, target, project, sent, monkeypatch
):
    """The worker that inserted the alert opened its ticket and died before notifying: while
    its lease runs the others leave the alert alone; after it, the next evaluation notifies
    and emits the event without a second ticket, and later ones do nothing."""
    rule = _rule(project, open_ticket=True)
    hook = webhooks.create_webhook(
        company=world.a, name="alerts", url="http://127.0.0.1:9/hooks", events=[alerts.ALERT_EVENT]
    )
    _add(target, [BAD, BAD, GOOD])

    def dies(**kwargs):
        raise SystemExit("worker killed")

    monkeypatch.setattr(alerts.notifications, "notify_company_admins", dies)
    with pytest.raises(SystemExit):
        alerts.evaluate(rule, now=NOW)
    monkeypatch.undo()
    [alert] = Alert.objects.all()
    assert alert.fired_at is None and alert.ticket_id == Ticket.objects.get().pk and alert.notifications == 0

    lease = django_settings.MONITORING_ALERT_FIRING_LEASE_SECONDS
    assert alerts.evaluate(rule, now=NOW + timedelta(seconds=lease / 2)) is None  # its lease still runs
    assert not Notification.objects.exists()
    taken = alerts.evaluate(rule, now=NOW + timedelta(seconds=lease + 1))
    assert taken is not None and taken.pk == alert.pk
    alert.refresh_from_db()
    assert alert.fired_at is not None and alert.notifications == 1 and len(alert.deliveries) == 1
    assert Ticket.objects.count() == 1 and alert.ticket_id == Ticket.objects.get().pk
    assert Notification.objects.get(type=alerts.ALERT_EVENT).metadata["ticket_id"] == str(alert.ticket_id)
    assert WebhookDelivery.objects.filter(webhook_id=hook.pk).count() == 1
    assert alerts.evaluate(rule, now=NOW + timedelta(seconds=3 * lease)) is None  # fired: nothing more
    assert Notification.objects.count() == 1 and WebhookDelivery.objects.count() == 1


# --- what firing does ---------------------------------------------------------------------------


def test_a_fired_rule_opens_a_ticket_with_its_assignee_priority_and_links(world, target, project, sent):
    writer = world.user("a", "content_writer")
    rule = _rule(project, open_ticket=True, ticket_assignee=writer, ticket_priority=TicketPriority.URGENT)
    results = _add(target, [BAD, BAD, GOOD])
    alert = alerts.evaluate(rule, now=NOW)
    ticket = Ticket.objects.get(pk=alert.ticket_id)
    assert ticket.company_id == world.a.pk and ticket.assigned_to_id == writer.pk
    assert ticket.priority == TicketPriority.URGENT and ticket.title == alert.title
    negative = [r for r in results if r.sentiment.label == "negative"]
    assert sorted(link["id"] for link in ticket.links) == sorted(str(r.pk) for r in negative)
    assert {link["kind"] for link in ticket.links} == {"scraping.result"}
    assert "Review 0" in ticket.description and "2 of 3 results negative" in ticket.description
    note = Notification.objects.get(type=alerts.ALERT_EVENT)
    assert note.user_id == world.user("a", "company_admin").pk and note.title == alert.title
    assert note.metadata["ticket_id"] == str(ticket.pk) and note.metadata["alert_id"] == str(alert.pk)


def test_a_rule_without_open_ticket_opens_none_and_an_inactive_assignee_is_dropped(world, target, project, sent):
    _add(target, [BAD, BAD, GOOD])
    quiet = _rule(project)
    assert alerts.evaluate(quiet, now=NOW).ticket_id is None and not Ticket.objects.exists()
    writer = world.user("a", "content_writer")
    writer.is_active = False
    writer.save()
    loud = _rule(project, name="loud", open_ticket=True, ticket_assignee=writer)
    ticket = Ticket.objects.get(pk=alerts.evaluate(loud, now=NOW).ticket_id)
    assert ticket.assigned_to_id is None


def test_the_webhook_delivery_carries_the_signed_event(world, target, project, sent, receiver):  # noqa: F811
    webhooks.create_webhook(company=world.a, name="alerts", url=receiver.url, events=[alerts.ALERT_EVENT])
    webhooks.create_webhook(company=world.a, name="scrapes", url=receiver.url, events=["scrape.completed"])
    rule = _rule(project, open_ticket=True)
    results = _add(target, [BAD, BAD, GOOD])
    alert = alerts.evaluate(rule, now=NOW)
    [delivery_id] = alert.deliveries
    assert webhooks.deliver(delivery_id) is None
    [request] = receiver.requests
    body = json.loads(request["body"])
    assert body["type"] == "scraping.sentiment.alert" and body["source"] == "monitoring"
    assert body["company_id"] == str(world.a.pk) and request["headers"]["webhook-id"] == body["id"]
    data = body["data"]
    assert data["alert_id"] == str(alert.pk) and data["rule_id"] == str(rule.pk) and data["kind"] == "negative_share"
    assert data["ticket_id"] == str(alert.ticket_id) and data["count"] == 3 and data["limit"] == 0.5
    assert data["window_start"].startswith("2026-11-30T12:00:00")
    negative = {str(r.pk) for r in results if r.sentiment.label == "negative"}
    assert {link["id"] for link in data["results"]} == negative
    assert WebhookDelivery.objects.get(pk=delivery_id).status == WebhookDelivery.SUCCEEDED


# --- when it runs -------------------------------------------------------------------------------


def test_a_finished_scrape_job_queues_the_evaluation_of_its_project(world, project, target, sent):
    job = jobs.create_job(project=project)
    jobs.finish(job)
    assert ("monitoring.tasks.evaluate_project", (str(world.a.pk), str(project.pk))) in sent
    failed = jobs.create_job(project=project)
    sent.clear()
    jobs.finish(failed, error="boom")
    assert not [name for name, _ in sent if name.startswith("monitoring.")]


def test_a_broker_outage_leaves_the_scrape_job_finished_and_the_evaluation_to_beat(
    world, project, target, sent, monkeypatch, caplog
):
    from monitoring import tasks

    def down(*args):
        raise BrokerError("connection refused")

    monkeypatch.setattr(tasks.evaluate_project, "delay", down)
    job = jobs.finish(jobs.create_job(project=project))
    assert job.status == ScrapeJob.COMPLETED and ScrapeJob.objects.get(pk=job.pk).status == ScrapeJob.COMPLETED
    assert f"alert evaluation of project {project.pk} not queued" in caplog.text


def test_the_queued_task_evaluates_the_project(world, project, target, sent):
    from monitoring import tasks

    _rule(project, AlertKind.WATCHED_WORD, word="terrible quality")
    _add(target, [BAD], when=datetime.now(UTC))
    assert tasks.evaluate_project(str(world.a.pk), str(project.pk)) == 1
    assert tasks.evaluate_project(str(world.a.pk), str(project.pk)) == 0
    assert Alert.objects.count() == 1


def test_beat_queues_every_project_with_an_enabled_rule(world, project, sent):
    from monitoring import tasks

    other = make_project(world.b, name="B's")
    idle = make_project(world.a, name="idle")
    _rule(project)
    _rule(project, name="second")
    _rule(other, AlertKind.WATCHED_WORD)
    _rule(idle, enabled=False)
    assert tasks.evaluate_rules() == 2
    queued = sorted(args for name, args in sent if name == "monitoring.tasks.evaluate_project")
    assert queued == sorted([(str(world.a.pk), str(project.pk)), (str(world.b.pk), str(other.pk))])
    entry = django_settings.CELERY_BEAT_SCHEDULE["monitoring-evaluate-alert-rules"]
    assert entry["task"] == "monitoring.tasks.evaluate_rules" and entry["schedule"] > 0


# --- API ----------------------------------------------------------------------------------------


def test_rules_are_managed_over_the_api_by_who_manages_projects(api, world, project):
    writer = world.user("a", "content_writer")
    api.as_user(writer)
    made = api.post(
        RULES,
        {
            "project": str(project.pk),
            "name": "Too negative",
            "kind": "negative_share",
            "threshold": 0.4,
            "window_hours": 12,
            "open_ticket": True,
            "ticket_assignee": str(writer.pk),
            "ticket_priority": "high",
        },
        format="json",
    )
    assert made.status_code == 201, made.json()
    body = made.json()
    assert body["company"] == str(world.a.pk) and body["created_by"] == str(writer.pk) and body["min_results"] == 5
    rule = AlertRule.objects.get(pk=body["id"])
    assert rule.ticket_assignee_id == writer.pk and rule.ticket_priority == "high"
    changed = api.patch(f"{RULES}{rule.pk}/", {"enabled": False}, format="json")
    assert changed.status_code == 200 and not AlertRule.objects.get(pk=rule.pk).enabled
    listed = api.get(RULES, {"project": str(project.pk)}).json()
    assert [r["id"] for r in listed["results"]] == [str(rule.pk)]
    api.as_user(world.user("a", "client"))
    assert api.get(f"{RULES}{rule.pk}/").status_code == 200
    assert api.post(RULES, {**body, "name": "x"}, format="json").status_code == 403
    assert api.delete(f"{RULES}{rule.pk}/").status_code == 403
    api.as_user(writer)
    assert api.delete(f"{RULES}{rule.pk}/").status_code == 204 and not AlertRule.objects.exists()


class TestBadRules(SharedWorld):
    """Refused rules write nothing: one world for them all."""

    @pytest.mark.parametrize(
        "change, field",
        [
            ({"kind": "negative_share", "threshold": None}, "threshold"),
            ({"kind": "negative_share", "threshold": 1.5}, "threshold"),
            ({"kind": "compound_drop"}, "drop"),
            ({"kind": "compound_drop", "drop": -0.2}, "drop"),
            ({"kind": "watched_word"}, "word"),
            ({"kind": "watched_word", "word": "  "}, "word"),
            ({"kind": "watched_word", "word": "?!"}, "word"),
            ({"kind": "sideways"}, "kind"),
            ({"window_hours": 0}, "window_hours"),
            ({"window_hours": "soon"}, "window_hours"),
            ({"min_results": 0}, "min_results"),
            ({"ticket_priority": "whenever"}, "ticket_priority"),
            ({"project": "nope"}, "project"),
            ({"project": None}, "project"),  # missing
        ],
    )
    def test_bad_rules_are_400s_with_the_field(self, api, world, project, change, field):
        api.as_user(world.user("a", "content_manager"))
        payload = {"project": str(project.pk), "name": "r", "kind": "negative_share", "threshold": 0.5, **change}
        answer = api.post(RULES, {k: v for k, v in payload.items() if v is not None}, format="json")
        assert answer.status_code == 400 and field in answer.json(), answer.json()
        assert not AlertRule.objects.exists()


def test_a_change_that_leaves_the_kind_without_its_field_is_a_400(api, world, project):
    rule = _rule(project)
    api.as_user(world.user("a", "content_manager"))
    answer = api.patch(f"{RULES}{rule.pk}/", {"kind": "watched_word"}, format="json")
    assert answer.status_code == 400 and "word" in answer.json()
    assert api.patch(f"{RULES}{rule.pk}/", {"kind": "watched_word", "word": "rust"}, format="json").status_code == 200


def test_another_companys_project_or_assignee_is_a_400(api, world, project):
    theirs = make_project(world.b, name="B's")
    api.as_user(world.user("a", "company_admin"))
    base = {"project": str(project.pk), "name": "r", "kind": "watched_word", "word": "rust"}
    answer = api.post(RULES, {**base, "project": str(theirs.pk)}, format="json")
    assert answer.status_code == 400 and "project" in answer.json()
    answer = api.post(RULES, {**base, "ticket_assignee": str(world.user("b", "content_writer").pk)}, format="json")
    assert answer.status_code == 400 and "ticket_assignee" in answer.json()
    answer = api.post(RULES, {**base, "ticket_assignee": str(world.user("a", "client").pk)}, format="json")
    assert answer.status_code == 400 and "ticket_assignee" in answer.json()
    assert not AlertRule.objects.exists()


def test_alerts_are_listed_in_cursor_pages_filtered_and_read_only(api, world, target, project, sent):
    first = _rule(project, AlertKind.WATCHED_WORD, word="terrible")
    second = _rule(project, AlertKind.WATCHED_WORD, word="hate", name="hate")
    _add(target, [BAD])
    fired = [alerts.evaluate(first, now=NOW), alerts.evaluate(second, now=NOW)]
    api.as_user(world.user("a", "client"))
    page = api.get(ALERTS, {"page_size": 1}).json()
    assert [a["id"] for a in page["results"]] == [str(fired[1].pk)] and "cursor=" in page["next"]
    rest = api.get(page["next"]).json()
    assert [a["id"] for a in rest["results"]] == [str(fired[0].pk)] and rest["next"] is None
    only = api.get(ALERTS, {"rule": str(first.pk)}).json()["results"]
    assert [a["id"] for a in only] == [str(fired[0].pk)] and only[0]["result_ids"] == [str(fired[0].result_ids[0])]
    assert api.get(ALERTS, {"project": str(project.pk)}).json()["results"] != []
    assert api.get(ALERTS, {"rule": "nope"}).status_code == 400
    detail = api.get(f"{ALERTS}{fired[0].pk}/")
    assert detail.status_code == 200 and detail.json()["window_start"].startswith("2026-11-30T12:00:00")
    api.as_user(world.user("a", "company_admin"))
    assert api.delete(f"{ALERTS}{fired[0].pk}/").status_code == 405
    assert api.post(ALERTS, {}, format="json").status_code == 405


def test_another_companys_rules_and_alerts_are_invisible(api, world, target, project, sent):
    rule = _rule(project, AlertKind.WATCHED_WORD, word="terrible")
    _add(target, [BAD])
    alert = alerts.evaluate(rule, now=NOW)
    api.as_user(world.user("b", "company_admin"))
    assert api.get(RULES).json()["results"] == [] and api.get(ALERTS).json()["results"] == []
    assert api.get(ALERTS, {"rule": str(rule.pk)}).json()["results"] == []
    assert api.get(f"{RULES}{rule.pk}/").status_code == 404 and api.get(f"{ALERTS}{alert.pk}/").status_code == 404
    assert api.patch(f"{RULES}{rule.pk}/", {"enabled": False}, format="json").status_code == 404
    assert api.delete(f"{RULES}{rule.pk}/").status_code == 404
    assert AlertRule.objects.get(pk=rule.pk).enabled


def test_the_admin_edits_rules_and_shows_alerts_read_only(client, world, target, project, sent):
    rule = _rule(project, AlertKind.WATCHED_WORD, word="terrible")
    _add(target, [BAD])
    alert = alerts.evaluate(rule, now=NOW)
    client.force_login(world.user("a", "company_admin"))
    assert rule.name in client.get("/admin/monitoring/alertrule/").content.decode()
    page = client.post(
        "/admin/monitoring/alertrule/add/",
        {
            "project": str(project.pk),
            "name": "admin rule",
            "kind": "compound_drop",
            "window_hours": 6,
            "min_results": 5,
            "ticket_priority": "medium",
            "enabled": "on",
        },
    )
    assert page.status_code == 200 and "A compound-drop rule needs a drop" in page.content.decode()
    page = client.post(
        "/admin/monitoring/alertrule/add/",
        {
            "project": str(project.pk),
            "name": "admin rule",
            "kind": "compound_drop",
            "drop": "0.4",
            "window_hours": 6,
            "min_results": 5,
            "ticket_priority": "medium",
            "enabled": "on",
        },
    )
    assert page.status_code == 302
    made = AlertRule.objects.get(name="admin rule")
    assert made.company_id == world.a.pk and made.created_by_id == world.user("a", "company_admin").pk
    assert alert.title in client.get("/admin/monitoring/alert/").content.decode()
    assert client.get(f"/admin/monitoring/alert/{alert.pk}/change/").status_code == 200
    assert client.get("/admin/monitoring/alert/add/").status_code == 403

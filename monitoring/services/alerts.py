"""Evaluating sentiment alert rules (monitoring.models.alerts) and firing their alerts.

A rule is evaluated after each scrape job of its project (`queue_project`, the receiver of
scraping's `results_ingested`) and on beat's tick (`queue_all`); both queue
`monitoring.tasks.evaluate_project`, which runs `evaluate_project`.

Each evaluation reads only the results of the rule's current window (the previous one too,
for a compound drop): a bounded range of `published_at` on the results' (company, project,
published_at) index. The window is the one holding `now`, aligned to the rule's
`window_hours` from the epoch, so every worker evaluating the rule at the same moment measures
the same window. A rule that fires inserts its Alert first: the unique index on (company,
rule, window_start) lets one insert through, and the worker whose insert is refused does
nothing else. The winner then opens the ticket (if the rule says so), notifies the company
admins and emits the `scraping.sentiment.alert` webhook event, recording each on the alert as
it goes, under a lease on the alert (requestdesk.db.leases). A worker that dies half-way
leaves the alert without `fired_at`; once its lease has run out, the next evaluation of the
rule (the next scrape, or beat's tick) takes the firing over and does what was left.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bson import ObjectId
from django.conf import settings
from django.db import IntegrityError
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from content.models import Ticket
from events.services import notifications, webhooks
from requestdesk import text
from requestdesk.db import leases
from requestdesk.db.collections import raw
from requestdesk.db.leases import Lease, LeaseLost
from scraping.models import Project, Result
from scraping.selectors.results import SENTIMENT_FIELDS, published_in, sentiment
from tenants.models import User

from ..models import Alert, AlertKind, AlertRule
from ..models.alerts import MAX_ALERT_RESULTS
from . import links

logger = logging.getLogger(__name__)

ALERT_EVENT = "scraping.sentiment.alert"  # the webhook event and the notification's type
SOURCE = "monitoring"
NEGATIVE = "negative"

Document = dict[str, Any]


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime

    def previous(self) -> Window:
        return Window(self.start - (self.end - self.start), self.start)


def window_at(hours: int, now: datetime) -> Window:
    """The window of `hours` holding `now`: its start is a multiple of `hours` from the epoch (UTC)."""
    span = hours * 3600
    start = datetime.fromtimestamp(int(now.timestamp()) // span * span, tz=UTC)
    return Window(start, start + timedelta(seconds=span))


@dataclass
class Measure:
    """What a rule measured in its window; `fires` when it crossed the rule's limit."""

    fires: bool
    value: float
    count: int
    summary: str = ""
    baseline: float | None = None
    limit: float | None = None
    result_ids: list[ObjectId] = field(default_factory=list)


# --- reading the window ---------------------------------------------------------------------------


def _window_results(rule: AlertRule, window: Window, fields: Sequence[str] = SENTIMENT_FIELDS) -> list[Document]:
    """The project's results published in `window` (the index's bounded range), newest first."""
    return published_in(rule.company_id, rule.project_id, since=window.start, before=window.end, fields=fields)


def _negative_share(rule: AlertRule, window: Window) -> Measure:
    rows = [row for row in _window_results(rule, window) if sentiment(row)]
    negative = [row["_id"] for row in rows if (sentiment(row) or {}).get("label") == NEGATIVE]
    share = len(negative) / len(rows) if rows else 0.0
    threshold = rule.threshold if rule.threshold is not None else 1.0
    return Measure(
        fires=len(rows) >= rule.min_results and share > threshold,
        value=round(share, 4),
        count=len(rows),
        limit=threshold,
        result_ids=negative[:MAX_ALERT_RESULTS],
        summary=f"{len(negative)} of {len(rows)} results negative ({share:.0%}, above {threshold:.0%})",
    )


def _compounds(rows: Iterable[Document]) -> list[tuple[float, Document]]:
    scored = []
    for row in rows:
        found = sentiment(row)
        if found is not None and found.get("compound") is not None:
            scored.append((float(found["compound"]), row))
    return scored


def _compound_drop(rule: AlertRule, window: Window) -> Measure:
    before = window.previous()
    rows = _window_results(rule, Window(before.start, window.end))
    now = _compounds(row for row in rows if _naive(row["published_at"]) >= _naive(window.start))
    then = _compounds(row for row in rows if _naive(row["published_at"]) < _naive(window.start))
    average = sum(score for score, _ in now) / len(now) if now else 0.0
    baseline = sum(score for score, _ in then) / len(then) if then else 0.0
    drop = rule.drop if rule.drop is not None else 2.0
    enough = len(now) >= rule.min_results and len(then) >= rule.min_results
    lowest = sorted(now, key=lambda scored: scored[0])  # the results that pulled it down first
    return Measure(
        fires=enough and baseline - average > drop,
        value=round(average, 4),
        baseline=round(baseline, 4),
        count=len(now),
        limit=drop,
        result_ids=[row["_id"] for _, row in lowest[:MAX_ALERT_RESULTS]],
        summary=f"average sentiment {average:+.2f} over {len(now)} results, down from {baseline:+.2f} "
        f"over {len(then)} (more than {drop:.2f})",
    )


def phrase(value: str) -> list[str]:
    """The words a watched word or phrase is compared by: casefolded, plurals folded (requestdesk.text)."""
    return [text.stem(word) for word in text.words(value)]


def contains(haystack: str, needle: Sequence[str]) -> bool:
    """Whether the words of `haystack` hold `needle` (a phrase()) in a row."""
    words = phrase(haystack)
    size = len(needle)
    return size > 0 and any(words[i : i + size] == list(needle) for i in range(len(words) - size + 1))


def _watched_word(rule: AlertRule, window: Window) -> Measure:
    rows = _window_results(rule, window, ("content.title", "content.text"))
    needle = phrase(rule.word)
    matched = [
        row["_id"]
        for row in rows
        if contains((row.get("content") or {}).get("title") or "", needle)
        or contains((row.get("content") or {}).get("text") or "", needle)
    ]
    return Measure(
        fires=bool(matched),
        value=float(len(matched)),
        count=len(rows),
        result_ids=matched[:MAX_ALERT_RESULTS],
        summary=f"“{rule.word.strip()}” in {len(matched)} of {len(rows)} results",
    )


def _naive(value: datetime) -> datetime:
    """A moment as naive UTC, the form stored dates come back in."""
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


MEASURES: dict[str, Callable[[AlertRule, Window], Measure]] = {
    AlertKind.NEGATIVE_SHARE: _negative_share,
    AlertKind.COMPOUND_DROP: _compound_drop,
    AlertKind.WATCHED_WORD: _watched_word,
}


def measure(rule: AlertRule, window: Window) -> Measure:
    return MEASURES[rule.kind](rule, window)


# --- evaluating -----------------------------------------------------------------------------------


def evaluate_project(*, company_id: ObjectId, project_id: ObjectId, now: datetime | None = None) -> list[Alert]:
    """Evaluate the enabled rules of a project (not deleted); the alerts this call fired."""
    if not Project.objects.for_company(company_id).filter(pk=project_id).exists():
        return []
    rules = AlertRule.objects.for_company(company_id).filter(project_id=project_id, enabled=True)
    moment = now or timezone.now()
    return [alert for rule in rules if (alert := evaluate(rule, now=moment)) is not None]


def evaluate(rule: AlertRule, *, now: datetime | None = None) -> Alert | None:
    """Evaluate one rule in the window holding `now`; the alert when this call fired it (or
    finished firing it), None when it did not fire or had fired in this window already (here
    or in another worker)."""
    moment = now or timezone.now()
    window = window_at(rule.window_hours, moment)
    fired = Alert.objects.for_company(rule.company_id).filter(rule=rule, window_start=window.start).first()
    if fired is not None:
        return _take_over(rule, fired, window, moment)
    found = measure(rule, window)
    if not found.fires:
        return None
    claimed = _claim(rule, window, found, moment)
    if claimed is None:
        return None
    alert, lease = claimed
    _fire(rule, alert, found.summary, lease, moment)
    return alert


def _lease_seconds() -> float:
    return float(settings.MONITORING_ALERT_FIRING_LEASE_SECONDS)


def _claim(rule: AlertRule, window: Window, found: Measure, now: datetime) -> tuple[Alert, Lease] | None:
    """The window's alert, inserted with the lease on its firing; None when another worker's
    insert came first."""
    firer, until = uuid.uuid4().hex, leases.lease_end(now, _lease_seconds())
    try:
        alert = Alert.objects.create(
            company_id=rule.company_id,
            rule=rule,
            project_id=rule.project_id,
            kind=rule.kind,
            window_start=window.start,
            window_end=window.end,
            value=found.value,
            baseline=found.baseline,
            limit=found.limit,
            count=found.count,
            result_ids=found.result_ids,
            title=f"{rule.name}: {found.summary}"[:300],
            firer=firer,
            lease_until=until,
        )
    except IntegrityError:
        return None
    return alert, Lease(Alert, alert.pk, {"firer": firer}, until, seconds=_lease_seconds())


def _take_over(rule: AlertRule, alert: Alert, window: Window, now: datetime) -> Alert | None:
    """Finish firing `alert` when the worker that inserted it stopped half-way (its lease ran
    out with `fired_at` still empty); None when it was fired or its firing is under way."""
    if alert.fired_at is not None or (alert.lease_until is not None and alert.lease_until > now):
        return None
    guard = {"fired_at": None, "firer": alert.firer, "lease_until": alert.lease_until}
    lease = leases.take(
        Alert, alert.pk, guard=guard, holder={"firer": uuid.uuid4().hex}, seconds=_lease_seconds(), now=now
    )
    if lease is None:
        return None
    logger.warning("alert %s: firing taken over from a worker that stopped half-way", alert.pk)
    _fire(rule, alert, measure(rule, window).summary, lease, now)
    return alert


def _fire(rule: AlertRule, alert: Alert, summary: str, lease: Lease, now: datetime) -> None:
    """The fired alert's ticket (if the rule opens one), notification and webhook event, each
    recorded on the alert under `lease` (renewed from `now`, the evaluation's moment) as soon as
    it is out, so that a worker taking the firing over does only what is left; then
    `fired_at`. Stops if the lease was taken over."""
    by_id = {r.pk: r for r in Result.objects.for_company(rule.company_id).filter(pk__in=alert.result_ids)}
    results = [by_id[pk] for pk in alert.result_ids if pk in by_id]
    try:
        if rule.open_ticket and alert.ticket_id is None:
            ticket = _open_ticket(rule, alert, summary, results)
            lease.renew(now=now, ticket_id=ticket.pk)
            alert.ticket_id = ticket.pk
        if not alert.notifications:
            notes = notifications.notify_company_admins(
                company=rule.company_id,
                type=ALERT_EVENT,
                title=alert.title,
                message=summary,
                metadata={
                    "alert_id": str(alert.pk),
                    "rule_id": str(rule.pk),
                    "project_id": str(rule.project_id),
                    "ticket_id": str(alert.ticket_id) if alert.ticket_id else None,
                },
            )
            lease.renew(now=now, notifications=len(notes))
            alert.notifications = len(notes)
        if not alert.deliveries:
            deliveries = webhooks.emit_event(
                company=rule.company_id, event_type=ALERT_EVENT, data=event_data(alert, rule, results), source=SOURCE
            )
            lease.renew(now=now, deliveries=[delivery.pk for delivery in deliveries])
            alert.deliveries = [delivery.pk for delivery in deliveries]
        alert.fired_at = timezone.now()
        lease.release(fired_at=alert.fired_at)
    except LeaseLost:
        logger.warning("alert %s: its firing was taken over by another worker", alert.pk)


def _open_ticket(rule: AlertRule, alert: Alert, summary: str, results: list[Result]) -> Ticket:
    assignee = _assignee(rule)
    window = f"{alert.window_start:%Y-%m-%d %H:%M} to {alert.window_end:%Y-%m-%d %H:%M} UTC"
    description = f"{summary}, {window}.\n\n{links.describe(results)}".strip()
    return links.open_ticket(
        company_id=rule.company_id,
        results=results,
        title=alert.title,
        description=description,
        assigned_to=assignee,
        priority=rule.ticket_priority,
    )


def _assignee(rule: AlertRule) -> User | None:
    """The rule's assignee while they are an active user of the rule's company."""
    if rule.ticket_assignee_id is None:
        return None
    user: User | None = (
        User.objects.for_company(rule.company_id).filter(pk=rule.ticket_assignee_id, is_active=True).first()
    )
    return user


def event_data(alert: Alert, rule: AlertRule, results: Iterable[Result]) -> dict[str, Any]:
    """The `data` of a `scraping.sentiment.alert` event (keys: events.catalogue)."""
    return {
        "alert_id": str(alert.pk),
        "rule_id": str(rule.pk),
        "rule_name": rule.name,
        "project_id": str(alert.project_id),
        "kind": alert.kind,
        "window_start": alert.window_start,
        "window_end": alert.window_end,
        "value": alert.value,
        "baseline": alert.baseline,
        "limit": alert.limit,
        "count": alert.count,
        "title": alert.title,
        "results": [links.result_link(result) for result in results],
        "ticket_id": str(alert.ticket_id) if alert.ticket_id else None,
    }


# --- queueing -------------------------------------------------------------------------------------


def queue_project(*, company_id: ObjectId, project_id: ObjectId, **_: Any) -> bool:
    """Queue the evaluation of a project's rules (the receiver of scraping's
    `results_ingested`); with the broker down, beat's tick evaluates them later."""
    from ..tasks import evaluate_project as task

    try:
        task.delay(str(company_id), str(project_id))
    except BrokerError:
        logger.warning("alert evaluation of project %s not queued (broker unavailable); beat's tick will", project_id)
        return False
    return True


def queue_all() -> int:
    """Queue the evaluation of every project with an enabled rule, whatever its company (beat's
    tick); how many were queued. Stops at a broker outage (the next tick tries again)."""
    found = raw(AlertRule, unscoped=True).find({"enabled": True}, ["company_id", "project_id"])
    projects = sorted({(row["company_id"], row["project_id"]) for row in found})
    queued = 0
    for company_id, project_id in projects:
        if not queue_project(company_id=company_id, project_id=project_id):
            break
        queued += 1
    return queued

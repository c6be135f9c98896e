"""The figures of the admin's dashboard: a company's state at a glance (or every company's,
for a superadmin), each figure linking to the changelist it summarises.

Every figure costs about a page of rows, however many the tenant has (the embedded server
counts by reading what it counts):

* a count is `bounded_count`: exact where the server counts cheaply, otherwise the rows of
  a keyset walk (requestdesk.db.pages) up to `COUNT_CAP`, shown as "more than N" past it;
* "the last day" figures walk that day's rows on the (company, created_at) indexes, up to
  `DAY_CAP`, and say "at least" when the day held more;
* the sentiment trend reads the company-wide daily rollups (two documents a month);
* the knowledge, audit and sync lists are the newest `LIST_SIZE` rows of their walk.

The whole dashboard is kept `DASHBOARD_CACHE_SECONDS` per company and process
(requestdesk.memo): a busy admin index reads the database once per that period.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlencode

from django.db.models import Model, QuerySet
from django.urls import reverse
from django.utils import timezone

from .charts import Chart, stacked_bars
from .db import pages
from .memo import Memo

if TYPE_CHECKING:
    from tenants.models import Company

M = TypeVar("M", bound=Model)

logger = logging.getLogger(__name__)

COUNT_CAP = 100  # rows read for one count on a server without cheap counts (a page)
DAY_CAP = 200  # rows of the last day read for the tallies by status (two pages)
LIST_SIZE = 8
DAY = timedelta(days=1)
TREND_DAYS = 14
BROKER_TIMEOUT_S = 0.5
SENTIMENT_CSS = {"positive": "ok", "neutral": "idle", "negative": "bad"}  # other labels: "busy"

_memo: Memo[Dashboard] = Memo("DASHBOARD_CACHE_SECONDS", max_entries=1_000)


# --- figures -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    """One number on the dashboard. Where `exact` is false, `count` is a lower bound: the
    figure reads "more than N" when a bounded count stopped at its cap (`capped`), "at least N"
    when it is a tally of the rows a capped walk saw."""

    label: str
    count: int
    exact: bool = True
    url: str = ""
    capped: bool = False
    css: str = ""

    @property
    def shown(self) -> str:
        if self.exact:
            return f"{self.count:,}"
        return f"more than {self.count:,}" if self.capped else f"at least {self.count:,}"


def bounded_count(queryset: QuerySet[Any], *, field: str = "created_at", cap: int | None = None) -> tuple[int, bool]:
    """(count, exact) of `queryset`, reading at most `cap` (COUNT_CAP) + 1 rows where counts are not cheap."""
    cap = COUNT_CAP if cap is None else cap
    if pages.cheap_counts(queryset):
        return queryset.count(), True
    rows, ended = pages.walk(
        queryset.only("pk", field), field=field, limit=cap, key=("dashboard", str(queryset.query.where))
    )
    return len(rows), ended


def last_day_rows(
    queryset: QuerySet[M], *, fields: tuple[str, ...], now: datetime, field: str = "created_at", cap: int | None = None
) -> tuple[list[M], bool]:
    """The rows of the last day, newest first, at most `cap` (DAY_CAP); and whether that was all of them."""
    cap = DAY_CAP if cap is None else cap
    recent = queryset.filter(**{f"{field}__gte": now - DAY}).only("pk", field, *fields)
    return pages.walk(recent, field=field, limit=cap, key=("dashboard-day", str(recent.query.where)))


def tally(rows: Iterable[Model], attribute: str) -> Counter[Any]:
    return Counter(getattr(row, attribute) for row in rows)


# --- the sections ------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """A line of a list on the dashboard: its cells and the page it links to."""

    cells: tuple[object, ...]
    url: str = ""
    css: str = ""


@dataclass(frozen=True)
class Dashboard:
    company: str  # the company's name, or "" for every company
    tickets: tuple[Figure, ...]
    jobs: tuple[Figure, ...]
    pipeline: tuple[Figure, ...]
    pipeline_chart: Chart
    sentiment: tuple[Figure, ...]
    sentiment_chart: Chart
    collections: tuple[Row, ...]
    collection_count: Figure
    syncs: tuple[Row, ...]
    audit: tuple[Row, ...]
    queue: tuple[Figure, ...]
    workers: tuple[str, ...]
    computed_at: datetime


class Scope:
    """Where the figures come from: one company, or every company (a superadmin's "all")."""

    def __init__(self, company: Company | None) -> None:
        self.company = company

    def rows(self, queryset: QuerySet[M]) -> QuerySet[M]:
        from tenants.scoping import scope

        if self.company is None:
            return queryset
        scoped: QuerySet[M] = scope(queryset, self.company)
        return scoped

    def url(self, admin_name: str, pk: object = None, **params: object) -> str:
        if pk is not None:
            return reverse(f"admin:{admin_name}_change", args=[pk])
        if self.company is not None:
            params["company__id__exact"] = self.company.pk
        query = urlencode(params)
        return reverse(f"admin:{admin_name}_changelist") + (f"?{query}" if query else "")


def _tickets(scope: Scope) -> tuple[Figure, ...]:
    from content.models import Ticket, TicketStatus

    figures = []
    for status in TicketStatus:
        count, exact = bounded_count(scope.rows(Ticket.objects.filter(status=status)))
        figures.append(
            Figure(
                status.label,
                count,
                exact,
                scope.url("content_ticket", status__exact=status.value),
                capped=True,
                css=f"status-{status.value}",
            )
        )
    return tuple(figures)


def _by_status(
    rows: list[M],
    ended: bool,
    statuses: Iterable[tuple[str, object]],
    admin_name: str,
    scope: Scope,
    since: datetime,
    problems: tuple[str, ...] = (),
) -> tuple[Figure, ...]:
    counts = tally(rows, "status")
    return tuple(
        Figure(
            str(label),
            counts.get(value, 0),
            ended,
            scope.url(admin_name, status__exact=value, created_at__gte=since.isoformat()),
            css="problem" if value in problems and counts.get(value) else f"status-{value}",
        )
        for value, label in statuses
    )


def _jobs(scope: Scope, now: datetime) -> tuple[Figure, ...]:
    from scraping.models import ScrapeJob

    rows, ended = last_day_rows(scope.rows(ScrapeJob.objects.all()), fields=("status",), now=now)
    return _by_status(
        rows, ended, ScrapeJob.STATUSES, "scraping_scrapejob", scope, now - DAY, problems=(ScrapeJob.FAILED,)
    )


def _pipeline(scope: Scope, now: datetime) -> tuple[tuple[Figure, ...], Chart]:
    from content.models import Context, ContextStatus

    rows, ended = last_day_rows(scope.rows(Context.objects.all()), fields=("status",), now=now)
    figures = _by_status(
        rows, ended, ContextStatus.choices, "content_context", scope, now - DAY, problems=(ContextStatus.FAILED,)
    )
    hours = [(now - timedelta(hours=h)).replace(minute=0, second=0, microsecond=0) for h in range(23, -1, -1)]
    per_hour: dict[datetime, Counter[str]] = {hour: Counter() for hour in hours}
    for row in rows:
        hour = row.created_at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        if hour in per_hour:
            per_hour[hour][row.status] += 1
    chart = stacked_bars(
        [(hour.strftime("%H:00"), per_hour[hour]) for hour in hours],
        (("completed", "ok"), ("failed", "bad"), ("running", "busy"), ("pending", "idle")),
        tick_every=6,
    )
    return figures, chart


def _sentiment(scope: Scope, now: datetime) -> tuple[tuple[Figure, ...], Chart]:
    from scraping.services import rollups

    today = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=None)
    days = [today - timedelta(days=d) for d in range(TREND_DAYS - 1, -1, -1)]
    months = sorted({rollups.month_of(day) for day in days})
    docs = rollups.everyone(months) if scope.company is None else rollups.company_months(scope.company, months)
    per_day: dict[datetime, Counter[str]] = {day: Counter() for day in days}
    for doc in docs:
        for day, cell in rollups.days_of(doc):
            if day in per_day:
                for label in (*rollups.LABELS, rollups.UNSCORED):
                    per_day[day][label] += rollups.cell_count(cell, label)
    totals = sum(per_day.values(), Counter())
    since = datetime.combine(days[0], datetime.min.time(), UTC).isoformat()
    figures = tuple(
        Figure(
            label,
            totals.get(label, 0),
            url=scope.url("scraping_result", sentiment=label, published_at__gte=since),
            css=f"sentiment-{label}",
        )
        for label in rollups.LABELS
    )
    chart = stacked_bars(
        [(day.strftime("%b %d"), per_day[day]) for day in days],
        tuple((label, SENTIMENT_CSS.get(label, "busy")) for label in rollups.LABELS),
        tick_every=7,
    )
    return figures, chart


def _knowledge(scope: Scope) -> tuple[tuple[Row, ...], Figure, tuple[Row, ...]]:
    """The collections synced last (from the newest syncs) and the newest syncs themselves."""
    from knowledge.models import KnowledgeCollection, SyncHistory

    syncs, _ = pages.walk(
        scope.rows(SyncHistory.objects.all()),
        field="created_at",
        limit=LIST_SIZE * 3,
        key=("dashboard-syncs", scope.company and scope.company.pk),
    )
    ids = list(dict.fromkeys(s.collection_id for s in syncs if s.collection_id))[:LIST_SIZE]
    found = KnowledgeCollection.objects.in_bulk(ids) if ids else {}
    last: dict[Hashable, SyncHistory] = {}
    for sync in syncs:
        last.setdefault(sync.collection_id, sync)
    collections = tuple(
        Row(
            (found[pk].name, f"{found[pk].chunk_count:,} chunks", last[pk].created_at, last[pk].get_status_display()),
            scope.url("knowledge_knowledgecollection", pk=pk),
            css="problem" if last[pk].status == "failed" else "",
        )
        for pk in ids
        if pk in found
    )
    count = Figure(
        "collections",
        *bounded_count(scope.rows(KnowledgeCollection.objects.all())),
        scope.url("knowledge_knowledgecollection"),
        capped=True,
    )
    names = {pk: c.name for pk, c in found.items()}
    rows = tuple(
        Row(
            (
                s.created_at,
                names.get(s.collection_id, "–"),
                s.sync_type,
                s.get_status_display(),
                f"{s.items_synced} items",
            ),
            scope.url("knowledge_synchistory", pk=s.pk),
            css="problem" if s.status == "failed" else "",
        )
        for s in syncs[:LIST_SIZE]
    )
    return collections, count, rows


def _audit(scope: Scope) -> tuple[Row, ...]:
    from events.models import AuditLog

    entries, _ = pages.walk(
        scope.rows(AuditLog.objects.all()),
        field="created_at",
        limit=LIST_SIZE,
        key=("dashboard-audit", scope.company and scope.company.pk),
    )
    return tuple(
        Row(
            (e.created_at, e.event_type, e.actor_repr or "system", e.object_repr),
            scope.url("events_auditlog", pk=e.pk),
        )
        for e in entries
    )


def queue_state() -> tuple[tuple[Figure, ...], tuple[str, ...]]:
    """(figures of the broker's queue depth, the worker processes heartbeating: the live,
    not stale, entries of the worker registry, content.services.workers)."""
    from kombu.exceptions import ChannelError, OperationalError
    from redis import RedisError

    from content.services import workers as registry

    from .celery import app

    queue = app.conf.task_default_queue or "celery"
    try:
        with app.connection_for_read() as connection:
            # kombu takes seconds as a float here; its stub says int.
            connection.ensure_connection(max_retries=1, timeout=BROKER_TIMEOUT_S)  # type: ignore[arg-type]
            try:
                # The broker's channel (Redis: kombu's virtual channel) declares queues; the stub's
                # StdChannel does not say so.
                declared = connection.default_channel.queue_declare(queue=queue, passive=True)  # type: ignore[attr-defined]
                depth: int = declared.message_count
            except ChannelError:  # never declared, or drained and removed: nothing waits
                depth = 0
        workers = tuple(sorted(w["worker_id"] for w in registry.live() if w["status"] != registry.STALE))
    except (OperationalError, OSError, RedisError) as exc:
        logger.warning("dashboard: broker unavailable: %s", exc)
        return (Figure("tasks waiting (broker unavailable)", 0, css="problem"),), ()
    return (Figure(f"tasks waiting in “{queue}”", depth, css="problem" if depth and not workers else ""),), workers


def compute(company: Company | None) -> Dashboard:
    """Every figure of `company` (None: every company), read now."""
    scope, now = Scope(company), timezone.now()
    pipeline, pipeline_chart = _pipeline(scope, now)
    sentiment, sentiment_chart = _sentiment(scope, now)
    collections, collection_count, syncs = _knowledge(scope)
    queue, workers = queue_state()
    return Dashboard(
        company=company.name if company else "",
        tickets=_tickets(scope),
        jobs=_jobs(scope, now),
        pipeline=pipeline,
        pipeline_chart=pipeline_chart,
        sentiment=sentiment,
        sentiment_chart=sentiment_chart,
        collections=collections,
        collection_count=collection_count,
        syncs=syncs,
        audit=_audit(scope),
        queue=queue,
        workers=workers,
        computed_at=now,
    )


def of_company(company: Company | None) -> Dashboard:
    """`compute(company)`, kept DASHBOARD_CACHE_SECONDS."""
    return _memo.fetch(("dashboard", company.pk if company else None), lambda: compute(company))

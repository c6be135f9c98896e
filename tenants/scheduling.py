"""The schedule dispatcher: beat ticks, due Schedule documents are claimed atomically and
their task enqueued exactly once, however many dispatchers run at the same time.

A claim is a compare-and-set on `next_run`: the update only matches while the document
still has the `next_run` this dispatcher read, so of two dispatchers reading the same due
schedule, one update matches and the other finds nothing (MongoDB updates one document
atomically). Missed runs are not replayed: `next_run` moves to the first slot after now.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import F
from django.utils import timezone

from .models import Schedule


def next_slot(previous: datetime, interval_seconds: int, now: datetime) -> datetime:
    interval = timedelta(seconds=max(1, interval_seconds))
    missed = max(0, int((now - previous) / interval))
    following = previous + (missed + 1) * interval
    return following.replace(microsecond=following.microsecond // 1000 * 1000)  # MongoDB keeps ms


def claim(schedule: Schedule, now: datetime) -> bool:
    following = next_slot(schedule.next_run, schedule.interval_seconds, now)
    claimed = Schedule.objects.filter(pk=schedule.pk, enabled=True, next_run=schedule.next_run).update(
        next_run=following, last_run_at=now, run_count=F("run_count") + 1,
    )
    if claimed:
        schedule.next_run, schedule.last_run_at = following, now
    return bool(claimed)


def release(schedule: Schedule, previous_next_run: datetime) -> None:
    """Give a claim back (the task could not be enqueued), so the next tick retries it."""
    Schedule.objects.filter(pk=schedule.pk, next_run=schedule.next_run).update(
        next_run=previous_next_run, run_count=F("run_count") - 1,
    )


def dispatch_due(*, now: datetime | None = None, limit: int = 500, send=None) -> list[Schedule]:
    """Claim every due schedule and enqueue its task; returns the schedules this call ran."""
    from requestdesk.celery import app

    now = now or timezone.now()
    send = send or (lambda s: app.send_task(s.task, kwargs=s.kwargs or {}))
    ran = []
    due = Schedule.objects.filter(enabled=True, next_run__lte=now).order_by("next_run")[:limit]
    for schedule in due:
        previous = schedule.next_run
        if not claim(schedule, now):
            continue
        try:
            send(schedule)
        except Exception:
            release(schedule, previous)
            raise
        ran.append(schedule)
    return ran


def known_task(name: str) -> bool:
    from requestdesk.celery import app

    app.loader.import_default_modules()
    return name in app.tasks

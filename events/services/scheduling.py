"""The schedule dispatcher: beat ticks, due Schedule documents are claimed atomically and
their task enqueued exactly once, however many dispatchers run at the same time.

A claim is a lease (requestdesk.db.leases) whose `until` is `next_run`: the take only
matches while the document still has the `next_run` this dispatcher read, so of two
dispatchers reading the same due schedule, one update matches and the other finds nothing
(MongoDB updates one document atomically). The claim holds until the next slot: missed runs
are not replayed, `next_run` moves to the first slot after now.

A schedule runs `task` for one subject (a scraping project, a knowledge collection): the apps
keep theirs with `subject_schedule`, `set_subject_schedule` and `remove_subject_schedule`,
one schedule per (task, subject).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import IntegrityError
from django.utils import timezone

from requestdesk.db import leases
from requestdesk.db.leases import Lease

from ..models import Schedule


def subject_schedule(company_id, task: str, subject_id) -> Schedule | None:
    """The schedule of `task` for this subject of the company, if it has one."""
    return Schedule.objects.for_company(company_id).filter(task=task, subject_id=str(subject_id)).first()


def set_subject_schedule(
    *,
    company_id,
    task: str,
    subject_id,
    name: str,
    kwargs: dict,
    interval_seconds: int,
    enabled: bool | None = None,
) -> tuple[Schedule, bool]:
    """Create or change the subject's schedule; returns (schedule, created). A new schedule
    first runs one interval from now; one (re-)enabled, or given a new interval, next runs one
    interval from now at most. `enabled` None leaves it as it is (a new one: enabled)."""
    first_run = timezone.now() + timedelta(seconds=interval_seconds)
    schedule = subject_schedule(company_id, task, subject_id)
    if schedule is None:
        try:
            schedule = Schedule.objects.create(
                company_id=company_id,
                name=name[:100],
                task=task,
                subject_id=str(subject_id),
                kwargs=kwargs,
                interval_seconds=interval_seconds,
                enabled=True if enabled is None else enabled,
                next_run=first_run,
            )
            return schedule, True
        except IntegrityError:  # created meanwhile by another request: change that one
            schedule = subject_schedule(company_id, task, subject_id)
            assert schedule is not None
    if enabled and not schedule.enabled:
        schedule.next_run = first_run
    if interval_seconds != schedule.interval_seconds:
        schedule.next_run = min(schedule.next_run, first_run)
    schedule.name, schedule.kwargs, schedule.interval_seconds = name[:100], kwargs, interval_seconds
    if enabled is not None:
        schedule.enabled = enabled
    schedule.save()
    return schedule, False


def remove_subject_schedule(company_id, task: str, subject_id) -> bool:
    """Delete the subject's schedule (its subject was deleted, or its owner stops it)."""
    deleted, _ = Schedule.objects.for_company(company_id).filter(task=task, subject_id=str(subject_id)).delete()
    return bool(deleted)


def next_slot(previous: datetime, interval_seconds: int, now: datetime) -> datetime:
    interval = timedelta(seconds=max(1, interval_seconds))
    missed = max(0, int((now - previous) / interval))
    following = previous + (missed + 1) * interval
    return following.replace(microsecond=following.microsecond // 1000 * 1000)  # MongoDB keeps ms


def claim(schedule: Schedule, now: datetime) -> Lease | None:
    """Take this run of `schedule` (still enabled, `next_run` as read): next_run moves to the
    next slot, run_count + 1."""
    following = next_slot(schedule.next_run, schedule.interval_seconds, now)
    held = leases.take(
        Schedule,
        schedule.pk,
        guard={"enabled": True, "next_run": schedule.next_run},
        holder={},
        until_field="next_run",
        until=following,
        write={"last_run_at": now},
        inc={"run_count": 1},
    )
    if held:
        schedule.next_run, schedule.last_run_at = following, now
    return held


def release(held: Lease, previous_next_run: datetime) -> None:
    """Give a claim back (the task could not be enqueued), so the next tick retries it."""
    held.release(next_run=previous_next_run, inc={"run_count": -1})


def dispatch_due(*, now: datetime | None = None, limit: int = 500, send=None) -> list[Schedule]:
    """Claim every due schedule and enqueue its task; returns the schedules this call ran."""
    from requestdesk.celery import app

    now = now or timezone.now()
    send = send or (lambda s: app.send_task(s.task, kwargs=s.kwargs or {}))
    ran = []
    due = Schedule.objects.filter(enabled=True, next_run__lte=now).order_by("next_run")[:limit]
    for schedule in due:
        previous = schedule.next_run
        held = claim(schedule, now)
        if held is None:
            continue
        try:
            send(schedule)
        except Exception:
            release(held, previous)
            raise
        ran.append(schedule)
    return ran


def known_task(name: str) -> bool:
    from requestdesk.celery import app

    app.loader.import_default_modules()
    return name in app.tasks

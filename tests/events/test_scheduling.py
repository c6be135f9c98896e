"""The beat dispatcher enqueues due schedules exactly once, even with two dispatchers."""

import json
import os
import subprocess
import sys
from datetime import timedelta

import pytest
import redis
from django.conf import settings
from django.utils import timezone

from events.models import Schedule
from events.services import scheduling
from tests.paths import ROOT

TASK = "tenants.tasks.dispatch_schedules"


def _queue_length():
    return redis.Redis.from_url(settings.CELERY_BROKER_URL).llen("celery")


def _make(company, count, *, due=True, **fields):
    now = timezone.now().replace(microsecond=0)
    offset = -timedelta(minutes=5) if due else timedelta(minutes=5)
    return [
        Schedule.objects.create(
            company=company,
            name=f"s{i}",
            task=TASK,
            subject_id=f"{company.name}-{i}-{due}",
            interval_seconds=60,
            next_run=now + offset,
            **fields,
        )
        for i in range(count)
    ]


def test_next_slot_skips_missed_runs():
    start = timezone.now().replace(microsecond=0)
    assert scheduling.next_slot(start, 60, start + timedelta(seconds=10)) == start + timedelta(seconds=60)
    assert scheduling.next_slot(start, 60, start + timedelta(seconds=150)) == start + timedelta(seconds=180)


@pytest.mark.django_db(transaction=True)
def test_due_schedules_are_enqueued_once_and_rescheduled(world):
    redis.Redis.from_url(settings.CELERY_BROKER_URL).delete("celery")
    due = _make(world.a, 3)
    _make(world.a, 2, due=False)
    _make(world.b, 1, enabled=False)
    ran = scheduling.dispatch_due()
    assert sorted(s.pk for s in ran) == sorted(s.pk for s in due)
    assert _queue_length() == 3
    assert scheduling.dispatch_due() == []  # nothing is due twice
    for schedule in Schedule.objects.filter(pk__in=[s.pk for s in due]):
        assert schedule.run_count == 1 and schedule.next_run > timezone.now()


@pytest.mark.django_db(transaction=True)
def test_a_failed_enqueue_gives_the_claim_back(world):
    (schedule,) = _make(world.a, 1)
    before = Schedule.objects.get(pk=schedule.pk).next_run

    def broker_down(_):
        raise ConnectionError("broker down")

    with pytest.raises(ConnectionError):
        scheduling.dispatch_due(send=broker_down)
    after = Schedule.objects.get(pk=schedule.pk)
    assert after.next_run == before and after.run_count == 0


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_dispatchers_run_each_schedule_exactly_once(world):
    redis.Redis.from_url(settings.CELERY_BROKER_URL).delete("celery")
    schedules = _make(world.a, 30) + _make(world.b, 30)
    env = {**os.environ, "MONGODB_NAME": settings.DATABASES["default"]["NAME"]}
    command = [sys.executable, "manage.py", "dispatch_schedules", "--json"]
    procs = [
        subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    first, second = (set(json.loads(out.strip().splitlines()[-1])) for out, _ in outputs)
    assert not first & second
    assert first | second == {str(s.pk) for s in schedules}
    assert _queue_length() == 60
    assert set(Schedule.objects.values_list("run_count", flat=True)) == {1}


def test_known_task():
    assert scheduling.known_task(TASK)
    assert not scheduling.known_task("os.system")


def test_a_subjects_schedule_is_kept_one_way(world, monkeypatch):
    def keep(**changes):
        fields = {"interval_seconds": 3600, "name": "Sync docs", "kwargs": {"collection_id": "c1"}, **changes}
        return scheduling.set_subject_schedule(company_id=world.a.pk, task=TASK, subject_id="c1", **fields)

    schedule, created = keep()
    soon = timezone.now() + timedelta(seconds=3600)
    assert created and schedule.enabled and abs((schedule.next_run - soon).total_seconds()) < 5
    # Another company's subject of the same id is not this one (the tenant scope).
    assert scheduling.subject_schedule(world.b.pk, TASK, "c1") is None

    far, near = timezone.now() + timedelta(days=3), timezone.now() + timedelta(seconds=60)
    Schedule.objects.filter(pk=schedule.pk).update(next_run=far, enabled=False)
    schedule, created = keep(interval_seconds=7200, name="Sync manuals")
    # A new interval brings a later run forward to one interval from now; enabled=None leaves
    # it disabled; the name follows the subject's.
    assert not created and not schedule.enabled and schedule.name == "Sync manuals"
    assert abs((schedule.next_run - (timezone.now() + timedelta(seconds=7200))).total_seconds()) < 5
    Schedule.objects.filter(pk=schedule.pk).update(next_run=near)
    schedule, _ = keep(interval_seconds=10800)
    assert abs((schedule.next_run - near).total_seconds()) < 1  # a sooner run stays

    Schedule.objects.filter(pk=schedule.pk).update(next_run=far)
    schedule, _ = keep(interval_seconds=10800, enabled=True)  # re-enabled: one interval from now
    assert (
        schedule.enabled and abs((schedule.next_run - (timezone.now() + timedelta(seconds=10800))).total_seconds()) < 5
    )

    # Created meanwhile by another request (not found, then the unique index refuses the insert):
    # that one is changed, not a second one made.
    found = scheduling.subject_schedule
    calls = []

    def missed_once(*args):
        calls.append(args)
        return found(*args) if len(calls) > 1 else None

    monkeypatch.setattr(scheduling, "subject_schedule", missed_once)
    schedule, created = keep(interval_seconds=600)
    assert not created and schedule.interval_seconds == 600 and Schedule.objects.filter(subject_id="c1").count() == 1

    assert scheduling.remove_subject_schedule(world.b.pk, TASK, "c1") is False
    assert scheduling.remove_subject_schedule(world.a.pk, TASK, "c1") is True
    assert not Schedule.objects.filter(subject_id="c1").exists()

"""Celery tasks of the tenants app: thin wrappers around services."""

from celery import shared_task

from . import scheduling


@shared_task(acks_late=True, ignore_result=True)
def dispatch_schedules() -> int:
    """Run by beat every tick: enqueue the work of every due schedule, exactly once."""
    return len(scheduling.dispatch_due())

"""Celery tasks of the scraping app: thin wrappers around scraping.services.jobs.

Both are safe to run twice (acks_late redelivery, a copy from the schedule dispatcher): a
finished job is not run again and a live one is left to the worker holding its lease.
"""

from celery import shared_task

from .services import jobs


@shared_task(acks_late=True, ignore_result=True)
def run_job(job_id: str) -> str | None:
    """Run one scrape job (queued by run-now)."""
    job = jobs.run_job(job_id=job_id)
    return job.status if job else None


@shared_task(acks_late=True, ignore_result=True)
def run_project(project_id: str) -> str | None:
    """A project's schedule: one job over its active targets (see jobs.run_project)."""
    job = jobs.run_project(project_id=project_id)
    return str(job.pk) if job else None

"""Celery tasks of the scraping app: thin wrappers around scraping.services.jobs.

All are safe to run twice (acks_late redelivery, a copy from the schedule dispatcher): a
finished job is not run again and a live one is left to the worker holding its lease.
"""

from bson import ObjectId
from celery import shared_task

from requestdesk.db.errors import connection_lost

from .services import jobs, search_index

STORAGE_RETRIES = 10  # backoff 1, 2, 4 ... 60 s: about 5 minutes of database outage


@shared_task(bind=True, acks_late=True, ignore_result=True, max_retries=STORAGE_RETRIES)
def run_job(self, job_id: str, resume_lease: str | None = None) -> str | None:
    """Run one scrape job (queued by run-now). When the database goes away it retries with
    backoff (1, 2, 4 ... 60 s), taking back its own job; past the retries the job's lease
    runs out and `recover_lost_jobs` queues it again."""
    try:
        job = jobs.run_job(job_id=job_id, resume_lease=resume_lease)
    except Exception as exc:
        if not connection_lost(exc):
            raise
        lease = exc.lease if isinstance(exc, jobs.StorageDown) else resume_lease
        raise self.retry(
            args=(),
            kwargs={"job_id": job_id, "resume_lease": lease},
            countdown=min(2**self.request.retries, 60),
            exc=exc,
        ) from exc
    return job.status if job else None


@shared_task(acks_late=True, ignore_result=True)
def run_project(project_id: str) -> str | None:
    """A project's schedule: one job over its active targets (see jobs.run_project)."""
    job = jobs.run_project(project_id=project_id)
    return str(job.pk) if job else None


@shared_task(acks_late=True, ignore_result=True)
def recover_lost_jobs() -> int:
    """Run by beat: queue again the jobs whose worker died (see jobs.recover_lost)."""
    return len(jobs.recover_lost())


@shared_task(ignore_result=True)
def keep_search_index() -> dict[str, int]:
    """Beat: rebuild stale search indexes and merge their segments (services.search_index.keep)."""
    return search_index.keep()


@shared_task(acks_late=True, ignore_result=True)
def fold_search_index(company_id: str) -> int | None:
    """Fold a company's postings batches into segments now (queued by the ingest that found
    them piling up; services.search_index.fold): the batches folded, None if another process
    holds the company's index."""
    return search_index.fold(ObjectId(company_id))

"""Scrape jobs: creating, queueing and running them.

A job covers one target (run-now on a target) or a project's active targets, at most
`max_pages` of them (run-now on a project, and each scheduled run: one job per project).

Running a job (`run_job`, the Celery task's body) is safe to repeat and to race:

* the job is claimed with a lease (requestdesk.db.leases: queued -> running, `lease_until`);
  a finished job, or one whose lease another worker holds, is left alone. A lease that ran
  out (a lost worker) may be taken over; targets listed in `done_targets` are not fetched
  again. The lease is renewed with each page's progress: a run that finds it taken over
  stops writing (LeaseLost). `recover_lost` (beat, every SCRAPING_RECOVER_SECONDS) queues
  again the jobs whose lease ran out, and queued jobs whose task was lost;
* each target is leased the same way (`lease_job`, `lease_until` on the target) before it
  is fetched, so a target is never scraped by two jobs at once: the second job counts it as
  skipped. A lease that ran out is recoverable;
* pages are fetched and parsed on `concurrency` threads; results are stored, and the job's
  counters saved, on the job's own thread after each page, so a job shows its progress.

When it ends the job is `completed` (even with some failed pages, listed in `errors`) or
`failed` (it could not run, or every page it tried failed); the event `scrape.completed` or
`scrape.failed` goes to the company's webhooks, and a failure notifies its admins.
"""

from __future__ import annotations

import logging
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from events.services.notifications import notify_company_admins
from events.services.webhooks import emit_event
from requestdesk import queueing
from requestdesk.db import leases
from requestdesk.db.errors import connection_lost
from requestdesk.db.leases import Lease, LeaseLost

from ..models import JobError, Project, ScrapeJob, Target
from ..signals import results_ingested
from . import extraction, ingest
from .fetching import Fetcher, FetchPolicy, Page

logger = logging.getLogger(__name__)

COMPLETED_EVENT, FAILED_EVENT = "scrape.completed", "scrape.failed"
QUEUE_DOWN = "The task queue is unavailable; the job was not started. Try again shortly."
ERROR_LENGTH = JobError._meta.get_field("message").max_length


class QueueUnavailable(queueing.QueueUnavailable):
    """The broker did not take the job; the job (`record`) is marked failed with the reason."""


class StorageDown(RuntimeError):
    """The database went away mid-run; nothing more could be written. The task retries with
    `lease` (ISO time), so that it takes back its own job unless another worker has."""

    def __init__(self, lease):
        super().__init__("the database is unavailable")
        self.lease = lease.isoformat() if lease else None


def lease() -> timedelta:
    return timedelta(seconds=settings.SCRAPING_LEASE_SECONDS)


# --- creating and queueing ------------------------------------------------------------------


def create_job(*, project: Project, target: Target | None = None, trigger: str = "api", created_by=None) -> ScrapeJob:
    return ScrapeJob.objects.create(
        company_id=project.company_id, project=project, target=target, trigger=trigger, created_by=created_by
    )


def enqueue(job: ScrapeJob) -> ScrapeJob:
    """Queue `job` for a worker; a broker outage fails the job (with the reason) and raises."""
    from ..tasks import run_job

    try:
        run_job.delay(str(job.pk))
    except BrokerError as exc:
        logger.warning("scrape job %s not queued: broker unavailable (%s)", job.pk, exc)
        finish(job, error=QUEUE_DOWN)
        raise QueueUnavailable(QUEUE_DOWN, job) from exc
    return job


def start(*, project: Project, target: Target | None = None, trigger: str = "api", created_by=None) -> ScrapeJob:
    """Run now: create the job and queue it (raises QueueUnavailable)."""
    return enqueue(create_job(project=project, target=target, trigger=trigger, created_by=created_by))


# --- claims -------------------------------------------------------------------------------------


def claim_job(job_id, resume_lease: str | None = None) -> tuple[ScrapeJob, Lease] | None:
    """Take the job (queued, or running with its lease run out); `resume_lease` (the lease a
    run held when the database went away) takes back a live lease that is still that one.
    The job, as taken, and its lease."""
    job = ScrapeJob.objects.filter(pk=job_id).first()
    now = timezone.now()
    if job is None or job.status in ScrapeJob.FINISHED:
        return None
    if job.status == ScrapeJob.RUNNING and job.lease_until and job.lease_until > now:
        if not (resume_lease and job.lease_until == datetime.fromisoformat(resume_lease)):
            return None  # another worker is on it
    held = leases.take(
        ScrapeJob,
        job.pk,
        guard={"status": job.status, "lease_until": job.lease_until},
        holder={"status": ScrapeJob.RUNNING},
        write={"started_at": job.started_at or now},
        seconds=settings.SCRAPING_LEASE_SECONDS,
        now=now,
    )
    if held is None:
        return None
    return ScrapeJob.objects.get(pk=job.pk), held


def claim_target(target: Target, job: ScrapeJob) -> Lease | None:
    """Lease `target` to `job` unless another job holds an unexpired lease on it."""
    now = timezone.now()
    free = {"$or": [{"lease_job": None}, {"lease_job": job.pk}, {"lease_until": {"$lt": now}}]}
    return leases.take(
        Target, target.pk, guard=free, holder={"lease_job": job.pk}, seconds=settings.SCRAPING_LEASE_SECONDS, now=now
    )


# --- running ------------------------------------------------------------------------------------


@dataclass
class Fetched:
    page: Page
    platform: str = ""
    items: list = field(default_factory=list)
    error: str = ""


def fetch_and_extract(fetcher: Fetcher, target: Target) -> Fetched:
    """Runs on a worker thread: network and parsing only, no database."""
    page = fetcher.fetch(target.url, etag=target.etag, last_modified=target.last_modified)
    if not page.ok:
        return Fetched(page=page)
    try:
        platform, items = extraction.extract(
            body=page.body,
            content_type=page.content_type,
            url=page.final_url,
            platform=target.platform,
            options=target.options,
        )
    except extraction.ExtractionError as exc:
        return Fetched(page=page, error=str(exc))
    items = items[: target.options.max_items]
    if platform == extraction.FEED and target.options.follow_links:
        items = extraction.follow_links(items, fetcher.fetch)
    return Fetched(page=page, platform=platform, items=items)


def run_job(*, job_id, resume_lease: str | None = None) -> ScrapeJob | None:
    """Run a job to its end; None when there is nothing to do (finished, or running elsewhere).
    StorageDown when the database went away (the job keeps its lease and progress)."""
    claimed = claim_job(job_id, resume_lease)
    if claimed is None:
        return None
    job, held = claimed
    try:
        error = _run(job, held)
    except LeaseLost:
        logger.warning("scrape job %s was taken over by another worker; this run stops", job.pk)
        return None
    except Exception as exc:  # a bug or an outage: the job must not stay "running", nor its targets taken
        if connection_lost(exc):  # nothing can be written now: the job keeps its lease for the retry
            logger.warning("scrape job %s interrupted: database unavailable", job.pk)
            raise StorageDown(job.lease_until) from exc
        logger.exception("scrape job %s failed", job.pk)
        Target.objects.filter(lease_job=job.pk).update(lease_job=None, lease_until=None)
        finish(job, error=f"Unexpected error: {exc.__class__.__name__}: {exc}"[:500])
        raise
    return finish(job, error=error or "")


def _targets(job: ScrapeJob, project: Project) -> list[Target]:
    if job.target_id:
        return list(Target.objects.filter(pk=job.target_id))
    active = Target.objects.filter(project=project, status=Target.ACTIVE).order_by("created_at")
    return list(active[: project.config.max_pages])


def _run(job: ScrapeJob, held: Lease) -> str | None:
    """Scrape the job's targets; the error that ends the job without scraping, if any."""
    project = Project.objects.filter(pk=job.project_id).first()
    if project is None:  # deleted (soft) since the job was queued: its targets are not scraped
        return "The project was deleted."
    targets = _targets(job, project)
    job.targets_total = max(job.targets_total, len(targets))
    done = set(job.done_targets)
    queue = iter([t for t in targets if t.pk not in done])
    fetcher = Fetcher(FetchPolicy.from_config(project.config))
    with_sentiment = project.config.sentiment != "none"
    _save_progress(job, held)
    with ThreadPoolExecutor(max_workers=project.config.concurrency, thread_name_prefix="scrape") as pool:
        pending = {}

        def submit_next() -> bool:
            for target in queue:
                if target_lease := claim_target(target, job):
                    pending[pool.submit(fetch_and_extract, fetcher, target)] = target, target_lease
                    return True
                job.targets_skipped += 1
                _target_done(
                    job, held, target, error=f"Skipped {target.url}: another job is scraping it.", failed=False
                )
            return False

        for _ in range(project.config.concurrency):
            if not submit_next():
                break
        while pending:
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                target, target_lease = pending.pop(future)
                _apply(job, held, target, target_lease, future.result(), with_sentiment)
                submit_next()


def _apply(
    job: ScrapeJob, held: Lease, target: Target, target_lease: Lease, fetched: Fetched, with_sentiment: bool
) -> None:
    """Store what one page gave, release its target and save the job's progress."""
    page, now = fetched.page, timezone.now()
    outcome = {"last_fetched_at": now, "last_status_code": page.status_code, "last_error": "", "last_outcome": "ok"}
    error = page.error or fetched.error
    if not error and page.not_modified:
        job.pages_not_modified += 1
        outcome["last_outcome"] = "not_modified"
    elif not error:
        job.pages_fetched += 1
        job.items_found += len(fetched.items)
        try:
            stats = ingest.ingest(
                target=target, items=fetched.items, platform=fetched.platform, job=job, with_sentiment=with_sentiment
            )
        except Exception as exc:  # storage failed: keep the old validators so the page is read again
            if connection_lost(exc):
                raise  # the database is away: the run stops, the page is done again on resume
            logger.exception("storing results of %s failed", target.url)
            error = f"Could not store results: {exc.__class__.__name__}: {exc}"
        else:
            job.results_created += stats.created
            job.results_updated += stats.updated
            job.duplicates += stats.duplicates
            outcome.update(etag=page.etag, last_modified=page.last_modified)
    if error:
        outcome.update(last_outcome="blocked" if page.blocked else "error", last_error=error[:500])
    target_lease.release(lease_job=None, **outcome)
    _target_done(job, held, target, error=error, failed=bool(error), status_code=page.status_code)


def _target_done(
    job: ScrapeJob, held: Lease, target: Target, *, error: str = "", failed: bool, status_code=None
) -> None:
    if failed:
        job.pages_failed += 1
    if error and len(job.errors) < ScrapeJob.MAX_ERRORS:
        job.errors = [
            *job.errors,
            JobError(at=timezone.now(), url=target.url[:2000], status_code=status_code, message=error[:ERROR_LENGTH]),
        ]
    job.targets_done += 1
    job.done_targets = [*job.done_targets, target.pk]
    _save_progress(job, held)


def _save_progress(job: ScrapeJob, held: Lease) -> None:
    """Renew the lease (LeaseLost if another worker took the job), then save."""
    held.renew()
    job.lease_until = held.until
    job.save(update_fields=[*ScrapeJob.COUNTERS, "errors", "done_targets", "lease_until", "updated_at"])


# --- finishing ----------------------------------------------------------------------------------


def finish(job: ScrapeJob, *, error: str = "") -> ScrapeJob:
    """Close the job (once): status, timings, the event, and a notification on failure."""
    attempted = job.pages_fetched + job.pages_not_modified + job.pages_failed
    if not error and attempted > 0 and job.pages_fetched + job.pages_not_modified == 0:
        error = f"Every page failed; first error: {job.errors[0].message}" if job.errors else "Every page failed."
    now = timezone.now()
    job.status = ScrapeJob.FAILED if error else ScrapeJob.COMPLETED
    job.error = error[:500]
    job.finished_at, job.lease_until = now, None
    job.duration_ms = round((now - job.started_at).total_seconds() * 1000, 2) if job.started_at else None
    closed = (
        ScrapeJob.objects.filter(pk=job.pk)
        .exclude(status__in=ScrapeJob.FINISHED)
        .update(status=job.status, error=job.error, finished_at=now, lease_until=None, duration_ms=job.duration_ms)
    )
    if closed:
        _announce(job)
        if job.status == ScrapeJob.COMPLETED:
            _tell_listeners(job)
    return job


def _tell_listeners(job: ScrapeJob) -> None:
    """Send `results_ingested`; a receiver that fails is logged and leaves the job finished."""
    answers = results_ingested.send_robust(
        sender=ScrapeJob, company_id=job.company_id, project_id=job.project_id, job_id=job.pk
    )
    for receiver, answer in answers:
        if isinstance(answer, Exception):
            logger.error("results_ingested receiver %r failed for job %s: %r", receiver, job.pk, answer)


def event_data(job: ScrapeJob) -> dict:
    return {
        "job_id": str(job.pk),
        "project_id": str(job.project_id),
        "target_id": str(job.target_id) if job.target_id else None,
        "status": job.status,
        "trigger": job.trigger,
        "error": job.error,
        "counts": job.counts(),
        "errors": [{"url": e.url, "status_code": e.status_code, "message": e.message} for e in job.errors[:5]],
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        "duration_ms": job.duration_ms,
    }


def _announce(job: ScrapeJob) -> None:
    failed = job.status == ScrapeJob.FAILED
    emit_event(
        company=job.company_id,
        event_type=FAILED_EVENT if failed else COMPLETED_EVENT,
        data=event_data(job),
        source="scraping",
    )
    if failed:
        name = Project.objects.filter(pk=job.project_id).values_list("name", flat=True).first() or "a project"
        notify_company_admins(
            company=job.company_id,
            type=FAILED_EVENT,
            title=f"Scrape of “{name}” failed",
            message=job.error,
            metadata={"job_id": str(job.pk), "project_id": str(job.project_id)},
        )


# --- scheduled runs ---------------------------------------------------------------------------


def run_project(*, project_id) -> ScrapeJob | None:
    """What a project's schedule runs: one job over its active targets. Nothing when the
    project is gone or not active, or a run of it is still going; a run whose worker was
    lost (its lease ran out) or that is still queued is taken over instead of adding one."""
    project = Project.objects.filter(pk=project_id).first()
    if project is None or project.status != Project.ACTIVE:
        return None
    now = timezone.now()
    active = (
        ScrapeJob.objects.filter(project=project, target=None, status__in=[ScrapeJob.QUEUED, ScrapeJob.RUNNING])
        .order_by("-created_at")
        .first()
    )
    if active and active.status == ScrapeJob.RUNNING and active.lease_until and active.lease_until > now:
        return None
    job = active or create_job(project=project, trigger="schedule")
    return run_job(job_id=job.pk)


# --- recovery ---------------------------------------------------------------------------------


def recover_lost(*, now=None) -> list[str]:
    """Queue again the jobs whose worker was lost: running with their lease run out, or still
    queued a lease's length after they were created (their task never ran). The task claims
    the job first, so one that is in fact alive is left alone. Returns the ids queued."""
    from ..tasks import run_job as run_job_task

    now = now or timezone.now()
    lost = ScrapeJob.objects.filter(
        Q(status=ScrapeJob.RUNNING, lease_until__lt=now) | Q(status=ScrapeJob.QUEUED, created_at__lt=now - lease())
    )
    return leases.requeue(lost.values_list("pk", flat=True), run_job_task.delay, "lost scrape job")

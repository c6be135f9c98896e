"""Celery tasks of the content app: thin wrappers around services."""

from celery import shared_task

from .services import batches, retention, runner


@shared_task(acks_late=True, ignore_result=True)
def process_context(context_id: str) -> str | None:
    """Run one context if it can be claimed (pending and due, or its worker's lease expired)."""
    return runner.process_context(context_id=context_id)


@shared_task(acks_late=True, ignore_result=True)
def process_pending(limit: int | None = None) -> int:
    """Run by beat: claim and run due contexts by priority (the safety net for lost tasks and
    workers), then close batches whose counting was interrupted."""
    done = runner.process_pending(limit=limit)
    batches.reconcile()
    return len(done)


@shared_task(acks_late=True, ignore_result=True)
def archive_old_content() -> dict:
    """Run by beat daily: archive and remove contexts and batches past CONTENT_RETENTION_DAYS."""
    return retention.archive_old().as_dict()

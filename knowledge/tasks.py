"""Celery tasks of the knowledge app: thin wrappers around services."""

from celery import shared_task

from .services import sync


@shared_task(name=sync.TASK, acks_late=True, ignore_result=True)
def sync_collection(collection_id: str, history_id: str | None = None, trigger: str = "schedule") -> str | None:
    """Sync one collection from its source (on demand with a history id, or from a schedule)."""
    history = sync.run_sync(collection_id=collection_id, history_id=history_id, trigger=trigger)
    return str(history.pk) if history else None


@shared_task(acks_late=True, ignore_result=True)
def recover_lost_syncs() -> int:
    """Run by beat: queue again the syncs whose worker died (see sync.recover_lost)."""
    return len(sync.recover_lost())

"""Project-wide Celery tasks (not of one app)."""

from celery import shared_task

from requestdesk import soft_delete


# Named as when it lived in tenants.tasks: messages and beat entries under that name still run.
@shared_task(name="tenants.tasks.purge_soft_deleted", acks_late=True, ignore_result=True)
def purge_soft_deleted() -> dict[str, int]:
    """Run by beat daily: remove for good the rows soft-deleted more than
    SOFT_DELETE_RETENTION_DAYS ago, with their children."""
    return soft_delete.purge()

"""Celery tasks of the tenants app: thin wrappers around services."""

from celery import shared_task

from . import scheduling, webhooks


@shared_task(acks_late=True, ignore_result=True)
def dispatch_schedules() -> int:
    """Run by beat every tick: enqueue the work of every due schedule, exactly once."""
    return len(scheduling.dispatch_due())


@shared_task(acks_late=True, ignore_result=True)
def deliver_webhook(delivery_id: str) -> int | None:
    """One attempt at a webhook delivery; when it asks for another, queue it after the backoff."""
    countdown = webhooks.deliver(delivery_id)
    if countdown:
        deliver_webhook.apply_async(args=[delivery_id], countdown=countdown)
    return countdown


@shared_task(acks_late=True, ignore_result=True)
def retry_due_webhook_deliveries() -> int:
    """Run by beat every minute: queue again the deliveries whose task was lost."""
    return webhooks.requeue_due()

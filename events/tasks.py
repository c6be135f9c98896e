"""Celery tasks of the events app: thin wrappers around its services.

Each keeps the name it had when it lived in tenants.tasks (`name=`), so messages queued
before an upgrade, beat's entries and the schedule documents naming them still run."""

from celery import shared_task

from requestdesk.db import leases

from .services import notification_email, scheduling, webhooks


@shared_task(name="tenants.tasks.dispatch_schedules", acks_late=True, ignore_result=True)
def dispatch_schedules() -> int:
    """Run by beat every tick: enqueue the work of every due schedule, exactly once."""
    return len(scheduling.dispatch_due())


@shared_task(name="tenants.tasks.deliver_webhook", acks_late=True, ignore_result=True)
def deliver_webhook(delivery_id: str) -> int | None:
    """One attempt at a webhook delivery; when it asks for another, queue it after the backoff."""
    countdown = webhooks.deliver(delivery_id)
    if countdown:
        deliver_webhook.apply_async(args=[delivery_id], countdown=countdown)
    return countdown


@shared_task(name="tenants.tasks.retry_due_webhook_deliveries", acks_late=True, ignore_result=True)
def retry_due_webhook_deliveries() -> int:
    """Run by beat every minute: queue again the deliveries whose task was lost."""
    return webhooks.requeue_due()


@shared_task(name="tenants.tasks.send_notification_email", acks_late=True, ignore_result=True)
def send_notification_email(notification_id: str) -> int | None:
    """Email one notification now; after a failed send, queue another try after the backoff."""
    countdown = notification_email.send_immediate(notification_id)
    if countdown is not None:
        send_notification_email.apply_async(args=[notification_id], countdown=countdown)
    return countdown


@shared_task(name="tenants.tasks.send_email_digest", acks_late=True, ignore_result=True)
def send_email_digest(user_id: str) -> int | None:
    """Email one user their digest; after a failed send, queue another try after the backoff."""
    countdown = notification_email.send_digest(user_id)
    if countdown is not None:
        send_email_digest.apply_async(args=[user_id], countdown=countdown)
    return countdown


@shared_task(name="tenants.tasks.send_email_digests", acks_late=True, ignore_result=True)
def send_email_digests(frequency: str) -> int:
    """Run by beat (daily, weekly): queue a digest for each user who asked for this one."""
    users = notification_email.digest_users(frequency)
    return len(leases.requeue(users, send_email_digest.delay, f"{frequency} email digest"))


@shared_task(name="tenants.tasks.retry_due_notification_emails", acks_late=True, ignore_result=True)
def retry_due_notification_emails() -> int:
    """Run by beat every minute: queue again the notification emails whose task was lost."""
    return notification_email.requeue_due()

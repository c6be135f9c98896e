"""Writing in-app notifications: creating them, marking them read. Reading them
is events.api.views' job; emailing them, events.services.notification_email's (queued from
here for the users who want each one at once)."""

from django.utils import timezone

from tenants.models import User
from tenants.roles import Role

from ..models import Notification
from . import notification_email


def notify(
    *, user: User, type: str, title: str, message: str = "", metadata: dict | None = None, company=None
) -> Notification:
    note = Notification.objects.create(
        user=user,
        company_id=getattr(company, "pk", company) or user.company_id,
        type=type,
        title=title,
        message=message,
        metadata=metadata or {},
    )
    notification_email.queue_immediate([note])
    return note


def notify_company_admins(
    *, company, type: str, title: str, message: str = "", metadata: dict | None = None
) -> list[Notification]:
    """One notification for each active company admin of `company`."""
    admins = User.objects.for_company(company).filter(role=Role.COMPANY_ADMIN, is_active=True)
    notes = [
        Notification(
            user=admin,
            company_id=company.pk if hasattr(company, "pk") else company,
            type=type,
            title=title,
            message=message,
            metadata=metadata or {},
        )
        for admin in admins
    ]
    if not notes:
        return []
    created = Notification.objects.bulk_create(notes)
    notification_email.queue_immediate(created)
    return created


def mark_read(*, notification: Notification) -> Notification:
    """Mark one notification read; marking it again changes nothing (read_at stays the first time)."""
    if not notification.read:
        now = timezone.now()
        Notification.objects.filter(pk=notification.pk, read=False).update(read=True, read_at=now)
        notification.refresh_from_db(fields=["read", "read_at"])
    return notification


def mark_all_read(*, user: User, company) -> int:
    """Mark every unread notification of `user` in `company` read; returns how many changed."""
    return (
        Notification.objects.for_company(company)
        .filter(user=user, read=False)
        .update(read=True, read_at=timezone.now())
    )

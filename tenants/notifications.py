"""Writing in-app notifications (seed 004). Reading them is tenants.api's job."""

from .models import Notification, User
from .roles import Role


def notify(*, user: User, type: str, title: str, message: str = "", metadata: dict | None = None,
           company=None) -> Notification:
    return Notification.objects.create(
        user=user, company_id=getattr(company, "pk", company) or user.company_id, type=type, title=title,
        message=message, metadata=metadata or {},
    )


def notify_company_admins(*, company, type: str, title: str, message: str = "",
                          metadata: dict | None = None) -> list[Notification]:
    """One notification for each active company admin of `company`."""
    admins = User.objects.for_company(company).filter(role=Role.COMPANY_ADMIN, is_active=True)
    notes = [
        Notification(user=admin, company_id=company.pk if hasattr(company, "pk") else company, type=type,
                     title=title, message=message, metadata=metadata or {})
        for admin in admins
    ]
    return Notification.objects.bulk_create(notes) if notes else []

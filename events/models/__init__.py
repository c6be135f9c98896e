"""The events app's models, one module per aggregate; `from events.models import X` works for each."""

from .audit import AuditLog
from .notifications import Notification
from .schedules import Schedule
from .webhooks import DeliveryAttempt, Webhook, WebhookDelivery

__all__ = ["AuditLog", "DeliveryAttempt", "Notification", "Schedule", "Webhook", "WebhookDelivery"]

"""The events app's models, one module per aggregate; `from events.models import X` works for each."""

from .webhooks import AuditLog, DeliveryAttempt, Notification, Schedule, Webhook, WebhookDelivery

__all__ = ["AuditLog", "DeliveryAttempt", "Notification", "Schedule", "Webhook", "WebhookDelivery"]

"""The events app's routes on the one router (requestdesk.api.urls)."""

from .views import AuditLogViewSet, NotificationViewSet
from .webhooks import WebhookDeliveryViewSet, WebhookViewSet


def register(router):
    router.register("webhooks", WebhookViewSet, basename="webhook")
    router.register("webhook-deliveries", WebhookDeliveryViewSet, basename="webhookdelivery")
    router.register("audit-logs", AuditLogViewSet, basename="auditlog")
    router.register("notifications", NotificationViewSet, basename="notification")

"""Webhooks and their deliveries, each with every attempt (events.services.webhooks)."""

from django.db import models
from django_mongodb_backend.fields import ArrayField, EmbeddedModelArrayField
from django_mongodb_backend.models import EmbeddedModel

from requestdesk.crypto import EncryptedTextField
from requestdesk.soft_delete import SoftDeletable
from tenants.scoping import TenantScoped


class Webhook(SoftDeletable, TenantScoped):
    """An endpoint a company registers for events ("*" subscribes to all)."""

    name = models.CharField(max_length=100)
    url = models.URLField(max_length=2000)
    events = ArrayField(models.CharField(max_length=100), default=list)
    secret = EncryptedTextField(editable=False)  # the signing secret (events.services.webhooks), encrypted at rest
    enabled = models.BooleanField(default=True)
    consecutive_failures = models.PositiveIntegerField(default=0, editable=False)
    disabled_reason = models.CharField(max_length=200, blank=True, editable=False)
    last_success_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_failure_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_by = models.ForeignKey("tenants.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        db_table = "webhooks"
        ordering = ["name"]
        indexes = [
            models.Index(fields=["enabled", "events"], name="webhook_enabled_events"),
            models.Index(fields=["company", "name"], name="webhook_company_name"),
        ]

    def __str__(self):
        return self.name


class DeliveryAttempt(EmbeddedModel):
    at = models.DateTimeField()
    status_code = models.IntegerField(null=True, blank=True)
    latency_ms = models.FloatField(default=0)
    error = models.CharField(max_length=300, blank=True)


class WebhookDelivery(TenantScoped):
    """One event sent to one webhook, with every attempt; removed after 7 days (TTL)."""

    PENDING, RETRYING, SUCCEEDED, FAILED = "pending", "retrying", "succeeded", "failed"
    STATUSES = [(s, s) for s in (PENDING, RETRYING, SUCCEEDED, FAILED)]

    created_at = models.DateTimeField(auto_now_add=True)
    # Indexed as the lead of (webhook, -created_at), which also serves its cascade.
    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries", db_index=False)
    event_id = models.CharField(max_length=32, db_index=True)
    event_type = models.CharField(max_length=100)
    payload = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=STATUSES, default=PENDING, db_index=True)
    attempts = EmbeddedModelArrayField(DeliveryAttempt, default=list, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "webhook_deliveries"
        verbose_name_plural = "webhook deliveries"
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["webhook", "-created_at"], name="delivery_webhook_created"),
            models.Index(fields=["company", "-created_at"], name="delivery_company_created"),
            models.Index(fields=["company", "webhook", "-created_at"], name="delivery_company_webhook"),
        ]

    def __str__(self):
        return f"{self.event_type} -> {self.webhook_id} ({self.status})"

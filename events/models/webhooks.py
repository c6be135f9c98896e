"""Event plumbing models (seeds 002, 004): audit log, notifications, webhooks and their
deliveries, and the schedule documents the beat dispatcher runs. Imported by tenants.models."""

from django.db import models
from django_mongodb_backend.fields import ArrayField, EmbeddedModelArrayField
from django_mongodb_backend.models import EmbeddedModel

from requestdesk.crypto import EncryptedTextField
from requestdesk.soft_delete import SoftDeletable
from tenants.scoping import TenantScoped


class AuditLog(TenantScoped):
    """Who did what to which object, in which company; kept one year (TTL on created_at)."""

    SOURCES = [("api", "API"), ("admin", "Admin"), ("task", "Task"), ("system", "System")]

    created_at = models.DateTimeField(auto_now_add=True)  # TTL-indexed by migration, no plain index
    actor = models.ForeignKey("tenants.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    actor_repr = models.CharField(max_length=150, blank=True)
    source = models.CharField(max_length=10, choices=SOURCES)
    event_type = models.CharField(max_length=100, db_index=True)
    object_type = models.CharField(max_length=100, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=200, blank=True)
    changes = models.JSONField(default=dict, blank=True)
    metadata = models.JSONField(default=dict, blank=True)

    class Meta:
        db_table = "audit_logs"
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["actor", "-created_at"], name="audit_actor_created"),
            models.Index(fields=["company", "-created_at"], name="audit_company_created"),
        ]

    def __str__(self):
        return f"{self.event_type} {self.object_repr} by {self.actor_repr or 'system'}"


class Notification(TenantScoped):
    """An in-app notification for one user; kept 30 days (TTL on created_at)."""

    created_at = models.DateTimeField(auto_now_add=True)
    user = models.ForeignKey("tenants.User", on_delete=models.CASCADE, related_name="notifications")
    type = models.CharField(max_length=50)
    title = models.CharField(max_length=200)
    message = models.TextField(blank=True)
    read = models.BooleanField(default=False)
    read_at = models.DateTimeField(null=True, blank=True)
    metadata = models.JSONField(default=dict, blank=True)

    class Meta:
        db_table = "notifications"
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="notif_user_created"),
            models.Index(fields=["user", "read"], name="notif_user_read"),
            models.Index(fields=["company", "user", "-created_at"], name="notif_company_user_created"),
        ]

    def __str__(self):
        return self.title


class Webhook(SoftDeletable, TenantScoped):
    """An endpoint a company registers for events ("*" subscribes to all)."""

    name = models.CharField(max_length=100)
    url = models.URLField(max_length=2000)
    events = ArrayField(models.CharField(max_length=100), default=list)
    secret = EncryptedTextField(editable=False)  # the signing secret (tenants.webhooks), encrypted at rest
    enabled = models.BooleanField(default=True)
    consecutive_failures = models.PositiveIntegerField(default=0, editable=False)
    disabled_reason = models.CharField(max_length=200, blank=True, editable=False)
    last_success_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_failure_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_by = models.ForeignKey("tenants.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        db_table = "webhooks"
        ordering = ["name"]
        indexes = [models.Index(fields=["enabled", "events"], name="webhook_enabled_events")]

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
    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
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


class Schedule(TenantScoped):
    """A recurring piece of work of any app: `task` (a registered Celery task name) runs
    with `kwargs` every `interval_seconds`. The beat dispatcher claims due schedules
    atomically, so each run is enqueued exactly once. One schedule per (task, target_id)."""

    name = models.CharField(max_length=100)
    task = models.CharField(max_length=100)
    target_id = models.CharField(max_length=64, blank=True)
    kwargs = models.JSONField(default=dict, blank=True)
    interval_seconds = models.PositiveIntegerField(default=3600)
    enabled = models.BooleanField(default=True)
    next_run = models.DateTimeField()
    last_run_at = models.DateTimeField(null=True, blank=True)
    run_count = models.PositiveIntegerField(default=0)

    class Meta:
        db_table = "schedules"
        ordering = ["next_run"]
        indexes = [models.Index(fields=["enabled", "next_run"], name="schedule_enabled_next")]
        constraints = [models.UniqueConstraint(fields=["task", "target_id"], name="schedule_task_target_uniq")]

    def __str__(self):
        return f"{self.name} every {self.interval_seconds}s"

"""The audit log: who did what to which object, in which company (written by events.services.audit)."""

from django.db import models

from tenants.scoping import TenantScoped


class AuditLog(TenantScoped):
    """Who did what to which object, in which company; kept one year (TTL on created_at)."""

    SOURCES = [("api", "API"), ("admin", "Admin"), ("task", "Task"), ("system", "System")]

    created_at = models.DateTimeField(auto_now_add=True)  # TTL-indexed by migration, no plain index
    # Indexed as the lead of (actor, -created_at), which also serves its SET_NULL.
    actor = models.ForeignKey(
        "tenants.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
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

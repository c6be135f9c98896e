"""In-app notifications for one user (written by events.services.notifications, emailed by
events.services.notification_email)."""

from django.db import models

from tenants.scoping import TenantScoped


class Notification(TenantScoped):
    """An in-app notification for one user; kept 30 days (TTL on created_at)."""

    created_at = models.DateTimeField(auto_now_add=True)
    # Indexed as the lead of (user, -created_at) and (user, read), which serve its cascade too.
    user = models.ForeignKey("tenants.User", on_delete=models.CASCADE, related_name="notifications", db_index=False)
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

"""Per-user settings: plugin settings and notification preferences."""

from __future__ import annotations

from django.db import models
from django_mongodb_backend.fields import EmbeddedModelField
from django_mongodb_backend.models import EmbeddedModel

from tenants.scoping import TenantScoped

from .users import User


class NotificationPreferences(EmbeddedModel):  # type: ignore[misc]  # untyped base (see UserPreferences)
    email_enabled: models.BooleanField[bool, bool] = models.BooleanField(default=True)
    push_enabled: models.BooleanField[bool, bool] = models.BooleanField(default=False)
    digest_frequency: models.CharField[str, str] = models.CharField(
        max_length=10,
        choices=[("never", "Never"), ("daily", "Daily"), ("weekly", "Weekly")],
        default="daily",
    )


class UserSettings(TenantScoped):
    """Per-user settings: plugin settings and notification preferences."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="user_settings")
    plugin_settings = models.JSONField(default=dict, blank=True)
    notification_preferences = EmbeddedModelField(NotificationPreferences, null=True, blank=True)

    class Meta:
        db_table = "settings"
        verbose_name_plural = "user settings"
        indexes = [models.Index(fields=["company"], name="settings_company")]

    def __str__(self) -> str:
        return f"settings of {self.user}"

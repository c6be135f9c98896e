"""Presets: shared (system) and per-company scraping configurations."""

from django.db import models

from tenants.scoping import TenantQuerySet, Timestamped, scope


class PresetQuerySet(TenantQuerySet):
    def visible_to(self, company):
        """The system presets and the presets of `company` (the tenant scope plus the shared rows)."""
        return self.filter(is_system=True, company=None) | scope(self, company)


class Preset(Timestamped):
    """A scraping configuration. System presets (no company, no user) are shared by every
    tenant and read-only; user presets are unique per (user, name)."""

    TENANT_FIELD = "company"

    name = models.CharField(max_length=100)
    description = models.CharField(max_length=300, blank=True)
    is_system = models.BooleanField(default=False)
    company = models.ForeignKey("tenants.Company", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey("tenants.User", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    config = models.JSONField(default=dict)

    objects = PresetQuerySet.as_manager()

    class Meta:
        db_table = "presets"
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["user", "name"], name="preset_user_name_uniq"),
        ]

    def __str__(self):
        return self.name

"""Scraping (seed 002). Presets: named scraping configurations; the system presets are
reference data created by migration, user presets belong to a user of a company."""

from django.db import models

from tenants.scoping import Timestamped


class Preset(Timestamped):
    """A scraping configuration. System presets (no company, no user) are shared by every
    tenant and read-only; user presets are unique per (user, name)."""

    name = models.CharField(max_length=100)
    description = models.CharField(max_length=300, blank=True)
    is_system = models.BooleanField(default=False)
    company = models.ForeignKey("tenants.Company", null=True, blank=True, on_delete=models.CASCADE,
                                related_name="+")
    user = models.ForeignKey("tenants.User", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    config = models.JSONField(default=dict)

    class Meta:
        db_table = "presets"
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["user", "name"], name="preset_user_name_uniq"),
        ]

    def __str__(self):
        return self.name

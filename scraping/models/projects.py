"""Projects: a company's scraping configuration over its targets, run on demand or on a
schedule (the generic tenants.Schedule, task RUN_PROJECT_TASK)."""

from django.db import models
from django_mongodb_backend.fields import EmbeddedModelField

from requestdesk.soft_delete import SoftDeletable
from tenants.scoping import TenantScoped

from .config import ScrapeConfig, default_config
from .presets import Preset

RUN_PROJECT_TASK = "scraping.tasks.run_project"


class Project(SoftDeletable, TenantScoped):
    """Deleting a project (soft) deletes its targets with it (requestdesk.soft_delete)."""

    SOFT_DELETE_CHILDREN = (("scraping.Target", "project"),)
    ACTIVE, PAUSED, ARCHIVED = "active", "paused", "archived"
    STATUSES = [(ACTIVE, "Active"), (PAUSED, "Paused"), (ARCHIVED, "Archived")]

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=STATUSES, default=ACTIVE)
    preset = models.ForeignKey(Preset, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    config = EmbeddedModelField(ScrapeConfig, default=default_config)
    created_by = models.ForeignKey("tenants.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        db_table = "projects"
        ordering = ["name"]
        indexes = [models.Index(fields=["company", "status"], name="project_company_status")]

    def __str__(self):
        return self.name

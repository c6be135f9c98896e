"""Targets: the pages a project scrapes, with their extraction options and last fetch."""

from django.db import models
from django_mongodb_backend.fields import EmbeddedModelField, ObjectIdField

from requestdesk.soft_delete import LIVE, SoftDeletable
from tenants.scoping import TenantScoped

from .config import TargetOptions, default_options
from .projects import Project


class Target(SoftDeletable, TenantScoped):
    """A page to scrape. `platform` says how to read it (`auto` detects feeds, JSON-LD
    reviews and articles). The lease (`lease_job`, `lease_until`) is held by the one job
    scraping it right now; the conditional-GET validators come from its last fetch."""

    AUTO, ARTICLE, REVIEWS, FEED, CUSTOM = "auto", "article", "reviews", "feed", "custom"
    PLATFORMS = [
        (AUTO, "Detect"),
        (ARTICLE, "Article / blog"),
        (REVIEWS, "JSON-LD reviews"),
        (FEED, "RSS / Atom feed"),
        (CUSTOM, "CSS selectors"),
    ]
    ACTIVE, PAUSED = "active", "paused"
    STATUSES = [(ACTIVE, "Active"), (PAUSED, "Paused")]
    OUTCOMES = [(o, o) for o in ("ok", "not_modified", "error", "blocked")]

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="targets", db_index=False)
    url = models.URLField(max_length=2000)
    platform = models.CharField(max_length=10, choices=PLATFORMS, default=AUTO)
    status = models.CharField(max_length=10, choices=STATUSES, default=ACTIVE)
    options = EmbeddedModelField(TargetOptions, default=default_options)
    etag = models.CharField(max_length=300, blank=True, editable=False)
    last_modified = models.CharField(max_length=100, blank=True, editable=False)
    last_fetched_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_outcome = models.CharField(max_length=15, choices=OUTCOMES, blank=True, editable=False)
    last_status_code = models.IntegerField(null=True, blank=True, editable=False)
    last_error = models.CharField(max_length=500, blank=True, editable=False)
    lease_job = ObjectIdField(null=True, blank=True, editable=False)
    lease_until = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        db_table = "targets"
        ordering = ["url"]
        indexes = [
            models.Index(fields=["project", "status"], name="target_project_status"),
            models.Index(fields=["project", "platform"], name="target_project_platform"),
            models.Index(fields=["company", "url"], name="target_company_url"),
        ]
        # Live targets only: a deleted target's URL can be added again (requestdesk.soft_delete).
        constraints = [
            models.UniqueConstraint(fields=["project", "url"], condition=LIVE, name="target_project_url_live_uniq")
        ]

    def __str__(self):
        return self.url

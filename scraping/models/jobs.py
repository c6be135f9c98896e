"""Scrape jobs: one run over a project's targets, with its counters and errors."""

from django.db import models
from django_mongodb_backend.fields import ArrayField, EmbeddedModelArrayField, ObjectIdField
from django_mongodb_backend.models import EmbeddedModel

from tenants.scoping import TenantScoped

from .projects import Project
from .targets import Target


class JobError(EmbeddedModel):
    at = models.DateTimeField()
    url = models.CharField(max_length=2000, blank=True)
    status_code = models.IntegerField(null=True, blank=True)
    message = models.CharField(max_length=500)


class ScrapeJob(TenantScoped):
    """One run over a project's active targets (or one target). Counters are written as the
    run goes, so a job shows its progress; `done_targets` lets a run taken over after a
    lost worker skip what is done. `lease_until` keeps a second worker off a live run."""

    QUEUED, RUNNING, COMPLETED, FAILED = "queued", "running", "completed", "failed"
    STATUSES = [(s, s) for s in (QUEUED, RUNNING, COMPLETED, FAILED)]
    FINISHED = (COMPLETED, FAILED)
    TRIGGERS = [(t, t) for t in ("api", "admin", "schedule", "system")]
    MAX_ERRORS = 50

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="jobs", db_index=False)
    target = models.ForeignKey(
        Target, null=True, blank=True, on_delete=models.CASCADE, related_name="jobs", db_index=False
    )
    status = models.CharField(max_length=10, choices=STATUSES, default=QUEUED, db_index=True)
    trigger = models.CharField(max_length=10, choices=TRIGGERS, default="api")
    created_by = models.ForeignKey("tenants.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    targets_total = models.PositiveIntegerField(default=0)
    targets_done = models.PositiveIntegerField(default=0)
    targets_skipped = models.PositiveIntegerField(default=0)
    pages_fetched = models.PositiveIntegerField(default=0)
    pages_not_modified = models.PositiveIntegerField(default=0)
    pages_failed = models.PositiveIntegerField(default=0)
    items_found = models.PositiveIntegerField(default=0)
    results_created = models.PositiveIntegerField(default=0)
    results_updated = models.PositiveIntegerField(default=0, help_text="Stored items found with changed content.")
    duplicates = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.FloatField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    errors = EmbeddedModelArrayField(JobError, default=list, blank=True)
    done_targets = ArrayField(ObjectIdField(), default=list, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)

    COUNTERS = (
        "targets_total",
        "targets_done",
        "targets_skipped",
        "pages_fetched",
        "pages_not_modified",
        "pages_failed",
        "items_found",
        "results_created",
        "results_updated",
        "duplicates",
    )

    class Meta:
        db_table = "scrape_jobs"
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["company", "-created_at"], name="job_company_created"),
            models.Index(fields=["company", "project", "-created_at"], name="job_company_project_created"),
            models.Index(fields=["project", "-created_at"], name="job_project_created"),
            models.Index(fields=["target", "-created_at"], name="job_target_created"),
        ]

    def __str__(self):
        return f"job {self.pk} ({self.status})"

    @property
    def progress(self) -> float:
        """Share of targets handled, 0..1 (1 once finished)."""
        if self.status in self.FINISHED:
            return 1.0
        return round(self.targets_done / self.targets_total, 4) if self.targets_total else 0.0

    def counts(self) -> dict:
        return {name: getattr(self, name) for name in self.COUNTERS}

"""The schedule documents the beat dispatcher runs (events.services.scheduling)."""

from django.db import models

from tenants.scoping import TenantScoped


class Schedule(TenantScoped):
    """A recurring piece of work of any app: `task` (a registered Celery task name) runs
    with `kwargs` every `interval_seconds`. The beat dispatcher claims due schedules
    atomically, so each run is enqueued exactly once. `subject_id` is the id of what it runs
    for (a scraping project, a knowledge collection): one schedule per (task, subject)."""

    # Unique by a plain index (events 0003): the embedded server plans each lookup on it.
    UNIQUE_INDEXES = {"schedule_task_subject_uniq": ("task", "subject_id")}

    name = models.CharField(max_length=100)
    task = models.CharField(max_length=100)
    subject_id = models.CharField(max_length=64, blank=True)
    kwargs = models.JSONField(default=dict, blank=True)
    interval_seconds = models.PositiveIntegerField(default=3600)
    enabled = models.BooleanField(default=True)
    next_run = models.DateTimeField()
    last_run_at = models.DateTimeField(null=True, blank=True)
    run_count = models.PositiveIntegerField(default=0)

    class Meta:
        db_table = "schedules"
        ordering = ["next_run"]
        indexes = [
            models.Index(fields=["enabled", "next_run"], name="schedule_enabled_next"),
            models.Index(fields=["company", "next_run"], name="schedule_company_next"),
        ]

    def __str__(self):
        return f"{self.name} every {self.interval_seconds}s"

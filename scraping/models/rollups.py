"""Sentiment rollups: per-day sentiment counts and sums, per target, platform and month."""

from django.db import models

from tenants.scoping import TenantScoped

from .projects import Project
from .targets import Target


class SentimentRollup(TenantScoped):
    """Per target, platform and month (and per company and month: no project, target or
    platform): per day, the results' count per sentiment label and the sum of their compound
    scores. scraping.services.rollups writes them with $inc; the sentiment analytics and the
    search's window planning read them. Deleted with their target."""

    # Unique by a plain index (migration 0013): the embedded server plans each upsert on it.
    UNIQUE_INDEXES = {"rollup_target_month_uniq": ("company", "target", "platform", "month")}

    company = models.ForeignKey("tenants.Company", on_delete=models.CASCADE, related_name="+", db_index=False)
    project = models.ForeignKey(Project, null=True, on_delete=models.CASCADE, related_name="+", db_index=False)
    target = models.ForeignKey(Target, null=True, on_delete=models.CASCADE, related_name="+", db_index=False)
    platform = models.CharField(max_length=10, null=True)  # noqa: DJ001 (null: a company-wide document)
    month = models.DateTimeField()
    days = models.JSONField(default=dict)

    class Meta:
        db_table = "scraping_sentiment_rollups"
        indexes = [
            models.Index(fields=["company", "project", "month"], name="rollup_company_project"),
        ]

    def __str__(self):
        return f"{self.target_id} {self.platform} {self.month:%Y-%m}"

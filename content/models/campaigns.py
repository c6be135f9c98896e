"""Campaigns, tenant-scoped, with a status workflow (CAMPAIGN_FLOW)."""

from django.db import models

from requestdesk.soft_delete import SoftDeletable
from tenants.scoping import TenantScoped

from .workflow import Workflow


class CampaignStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    ACTIVE = "active", "Active"
    PAUSED = "paused", "Paused"
    COMPLETED = "completed", "Completed"


C = CampaignStatus
CAMPAIGN_FLOW = Workflow(
    {
        C.DRAFT: (C.ACTIVE,),
        C.ACTIVE: (C.PAUSED, C.COMPLETED),
        C.PAUSED: (C.ACTIVE, C.COMPLETED),
        C.COMPLETED: (),
    }
)


class Campaign(SoftDeletable, TenantScoped):
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    created_by = models.ForeignKey(
        "tenants.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    status = models.CharField(max_length=20, choices=CampaignStatus.choices, default=CampaignStatus.DRAFT)
    start_date = models.DateTimeField(null=True, blank=True)
    end_date = models.DateTimeField(null=True, blank=True)
    agent = models.ForeignKey(
        "knowledge.Agent", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    settings = models.JSONField(default=dict, blank=True)

    class Meta:
        db_table = "campaigns"
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["company", "status"], name="campaign_company_status")]

    def __str__(self):
        return self.name

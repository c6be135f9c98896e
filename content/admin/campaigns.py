"""Admin for campaigns (soft-deleted ones too, with soft delete and restore actions; dates
checked as the API checks them)."""

from django.contrib import admin

from requestdesk.soft_delete_admin import SoftDeleteAdminMixin
from tenants.admin.base import TenantAdmin

from ..models import CAMPAIGN_FLOW, Campaign
from ..services import campaigns
from .workflow import WorkflowForm


class CampaignForm(WorkflowForm):
    flow = CAMPAIGN_FLOW

    class Meta:
        model = Campaign
        fields = ["name", "description", "status", "start_date", "end_date", "agent", "settings", "company"]

    def clean(self):
        cleaned = super().clean()
        try:
            campaigns.check_dates(cleaned.get("start_date"), cleaned.get("end_date"))
        except campaigns.InvalidDates as exc:
            self.add_error(exc.field, str(exc))
        return cleaned


@admin.register(Campaign)
class CampaignAdmin(SoftDeleteAdminMixin, TenantAdmin):
    form = CampaignForm
    list_display = ["name", "status", "start_date", "end_date", "agent", "created_at"]
    list_filter = ["status"]
    search_fields = ["name", "description"]
    readonly_fields = ["created_by", "created_at", "updated_at"]

"""Admin for tickets (soft-deleted ones too, with soft delete and restore actions)."""

from django.contrib import admin

from requestdesk.soft_delete_admin import SoftDeleteAdminMixin
from tenants.admin.base import TenantAdmin

from ..models import TICKET_FLOW, Ticket
from .links import links_html
from .workflow import WorkflowForm


class TicketForm(WorkflowForm):
    flow = TICKET_FLOW

    class Meta:
        model = Ticket
        fields = ["title", "description", "status", "priority", "assigned_to", "agent", "due_date", "tags", "company"]


@admin.register(Ticket)
class TicketAdmin(SoftDeleteAdminMixin, TenantAdmin):
    form = TicketForm
    list_display = ["title", "status", "priority", "assigned_to", "due_date", "is_deleted", "created_at"]
    list_filter = ["status", "priority"]
    search_fields = ["title", "description"]
    readonly_fields = ["created_by", "opened_from", "is_deleted", "deleted_at", "created_at", "updated_at"]

    @admin.display(description="opened from")
    def opened_from(self, obj):
        return links_html(obj.links)

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

"""Admin pages for events (seeds 002, 004): the audit log (read-only) and notifications.
Imported at the end of tenants.admin."""

from django.contrib import admin

from .admin_base import TenantAdmin
from .models import AuditLog, Notification


@admin.register(AuditLog)
class AuditLogAdmin(TenantAdmin):
    """Read-only: entries are written by tenants.audit, never by hand."""

    list_display = ["created_at", "event_type", "actor_repr", "object_repr", "source"]
    list_filter = ["source", "event_type"]
    search_fields = ["object_repr", "actor_repr", "event_type"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Notification)
class NotificationAdmin(TenantAdmin):
    list_display = ["user", "type", "title", "read", "created_at"]
    list_filter = ["read", "type"]
    search_fields = ["title"]
    readonly_fields = ["created_at", "read_at"]

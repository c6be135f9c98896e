"""The admin base of the rows scrape jobs write (jobs, results): viewed and deleted, never
added or changed by hand."""

from tenants.admin.base import TenantAdmin


class ReadOnlyAdmin(TenantAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

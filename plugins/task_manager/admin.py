from django.contrib import admin

from tenants.admin.base import TenantAdmin

from .models import Task


@admin.register(Task)
class TaskAdmin(TenantAdmin):
    list_display = ["title", "user", "status", "priority", "due_date", "created_at"]
    list_filter = ["status", "priority"]
    search_fields = ["title"]
    readonly_fields = ["created_at", "updated_at"]

"""The monitoring app's admin: alert rules (edited like scraping projects) and their alerts
(written by the evaluation, read-only)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from tenants.admin.base import ReadOnlyTenantAdmin, TenantAdmin

from ..models import Alert, AlertRule


@admin.register(AlertRule)
class AlertRuleAdmin(TenantAdmin):
    list_display = ["name", "project", "kind", "window_hours", "open_ticket", "enabled", "created_at"]
    list_filter = ["kind", "enabled", "open_ticket"]
    search_fields = ["name", "word"]
    readonly_fields = ["created_by", "created_at", "updated_at"]

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: Any) -> None:
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(Alert)
class AlertAdmin(ReadOnlyTenantAdmin):
    list_display = ["title", "rule", "project", "kind", "window_start", "count", "ticket", "created_at"]
    list_filter = ["kind"]
    search_fields = ["title"]

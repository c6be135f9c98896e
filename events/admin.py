"""Admin pages for events (seeds 002, 004): the audit log (read-only), notifications and the
schedules of every app's recurring work. Imported at the end of tenants.admin."""

from datetime import timedelta

from django.contrib import admin
from django.utils import timezone

from requestdesk.admin_lists import recent_values_filter
from tenants.admin_base import TenantAdmin, audited_update, relative_time

from .models import AuditLog, Notification, Schedule


@admin.register(AuditLog)
class AuditLogAdmin(TenantAdmin):
    """Read-only: entries are written by tenants.audit, never by hand."""

    list_display = ["created_at", "event_type", "actor", "object", "source"]
    list_filter = ["source", recent_values_filter("event_type")]
    search_fields = ["object_repr", "actor_repr", "event_type"]

    @admin.display(description="actor", ordering="actor_repr")
    def actor(self, obj):
        return obj.actor_repr or "system"

    @admin.display(description="object", ordering="object_repr")
    def object(self, obj):
        return obj.object_repr

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Notification)
class NotificationAdmin(TenantAdmin):
    list_display = ["user", "type", "title", "read", "created_at"]
    list_filter = ["read", recent_values_filter("type")]
    search_fields = ["title"]
    readonly_fields = ["created_at", "read_at"]


@admin.register(Schedule)
class ScheduleAdmin(TenantAdmin):
    """Schedules are created by the feature they run (a project's or a collection's schedule
    settings); here staff see when each runs next, pause it, change its interval, or have it
    run at the dispatcher's next tick."""

    list_display = ["name", "task", "enabled", "every", "next", "last", "run_count", "company"]
    list_filter = ["enabled", "task"]
    search_fields = ["name", "target_id"]
    fields = [
        "name",
        "task",
        "target_id",
        "kwargs",
        "enabled",
        "interval_seconds",
        "next",
        "last",
        "run_count",
        "company",
        "created_at",
        "updated_at",
    ]
    readonly_fields = ["task", "target_id", "kwargs", "next", "last", "run_count", "created_at", "updated_at"]
    actions = ["run_soon", "pause", "resume"]

    def has_add_permission(self, request):
        return False

    def save_model(self, request, obj, form, change):
        if "interval_seconds" in form.changed_data:  # a shorter interval applies from now
            obj.next_run = min(obj.next_run, timezone.now() + timedelta(seconds=obj.interval_seconds))
        super().save_model(request, obj, form, change)

    @admin.display(description="every", ordering="interval_seconds")
    def every(self, obj):
        seconds = obj.interval_seconds
        for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
            if seconds >= size and seconds % size == 0:
                count = seconds // size
                return f"{count} {unit}{'' if count == 1 else 's'}"
        return f"{seconds} seconds"

    @admin.display(description="next run", ordering="next_run")
    def next(self, obj):
        return relative_time(obj.next_run) if obj.enabled else "paused"

    @admin.display(description="last run", ordering="last_run_at")
    def last(self, obj):
        return relative_time(obj.last_run_at, empty="never")

    @admin.action(description="Run selected schedules at the next tick")
    def run_soon(self, request, queryset):
        count = audited_update(request, queryset.filter(enabled=True), action="updated", next_run=timezone.now())
        self.message_user(request, f"{count} schedule(s) will run at the dispatcher's next tick.")

    @admin.action(description="Pause selected schedules")
    def pause(self, request, queryset):
        count = audited_update(request, queryset, action="updated", enabled=False)
        self.message_user(request, f"Paused {count} schedule(s).")

    @admin.action(description="Resume selected schedules")
    def resume(self, request, queryset):
        count = audited_update(request, queryset, action="updated", enabled=True)
        self.message_user(request, f"Resumed {count} schedule(s).")

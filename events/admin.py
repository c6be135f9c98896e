"""Admin pages of the events app: the audit log (read-only), notifications, the schedules of
every app's recurring work, and webhooks with their deliveries.

A new webhook's signing secret is shown once, in the message after saving; afterwards only
its masked form ("whsec_…abcd"). Event names are checked against the catalogue
(`events.catalogue`). Deliveries are read-only, with every attempt listed; "Send test event"
and "Redeliver" queue new ones.
"""

import json
from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from requestdesk import crypto, outbound
from requestdesk.admin_lists import recent_values_filter
from requestdesk.soft_delete_admin import SoftDeleteAdminMixin
from tenants.admin.base import TenantAdmin, audited_update, relative_time

from . import catalogue
from .models import AuditLog, Notification, Schedule, Webhook, WebhookDelivery
from .services import webhook_signing, webhooks


@admin.register(AuditLog)
class AuditLogAdmin(TenantAdmin):
    """Read-only: entries are written by events.services.audit, never by hand."""

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
    search_fields = ["name", "subject_id"]
    fields = [
        "name",
        "task",
        "subject_id",
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
    readonly_fields = ["task", "subject_id", "kwargs", "next", "last", "run_count", "created_at", "updated_at"]
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


class WebhookForm(forms.ModelForm):
    url = forms.URLField(max_length=2000, assume_scheme="https")

    class Meta:
        model = Webhook
        fields = ["name", "url", "events", "enabled", "company"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["events"].help_text = f"Comma-separated, from: {', '.join(catalogue.SUBSCRIBABLE)}."

    def clean_events(self):
        try:
            return webhooks.check_events(self.cleaned_data["events"])
        except webhooks.UnknownEvent as exc:
            raise forms.ValidationError(str(exc))

    def clean_url(self):
        return outbound.validate_url(self.cleaned_data["url"])


@admin.register(Webhook)
class WebhookAdmin(SoftDeleteAdminMixin, TenantAdmin):
    form = WebhookForm
    list_display = [
        "name",
        "url",
        "events",
        "enabled",
        "consecutive_failures",
        "last_success_at",
        "last_failure_at",
        "company",
    ]
    list_filter = ["enabled"]
    search_fields = ["name", "url"]
    readonly_fields = [
        "signing_secret",
        "consecutive_failures",
        "disabled_reason",
        "last_success_at",
        "last_failure_at",
        "created_by",
        "created_at",
        "updated_at",
    ]
    actions = ["send_test_event"]

    @admin.display(description="signing secret")
    def signing_secret(self, obj):
        return crypto.hint(obj.secret) if obj.pk else "generated when saved, shown once"

    def save_model(self, request, obj, form, change):
        if not change:
            obj.secret, obj.created_by = webhook_signing.new_secret(), request.user
        elif "enabled" in form.changed_data and obj.enabled:
            webhooks.start_new_streak(obj)
        super().save_model(request, obj, form, change)
        if not change:
            messages.warning(
                request, f"Webhook created. Copy its signing secret now, it is not shown again: {obj.secret}"
            )

    @admin.action(description="Send test event")
    def send_test_event(self, request, queryset):
        sent = [webhooks.send_test_event(webhook, source="admin") for webhook in queryset]
        self.message_user(request, f"Queued a test event to {len(sent)} webhook(s).")


class EventFilter(admin.SimpleListFilter):
    """The catalogue's event names (Django's own filter for the field reads the distinct event
    of every delivery)."""

    title = "event type"
    parameter_name = "event_type"

    def lookups(self, request, model_admin):
        return [(name, name) for name in sorted(catalogue.EVENTS)]

    def queryset(self, request, queryset):
        return queryset.filter(event_type=self.value()) if self.value() else queryset


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(TenantAdmin):
    list_display = ["event_type", "webhook", "status", "attempt_count", "created_at", "completed_at", "company"]
    list_filter = ["status", EventFilter]
    search_fields = ["event_type", "event_id"]
    fields = [
        "webhook",
        "company",
        "event_id",
        "event_type",
        "status",
        "next_attempt_at",
        "completed_at",
        "created_at",
        "attempts_table",
        "payload_json",
    ]
    readonly_fields = fields
    actions = ["redeliver"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="attempts")
    def attempt_count(self, obj):
        return len(obj.attempts or [])

    @admin.display(description="attempts")
    def attempts_table(self, obj):
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{} ms</td><td>{}</td></tr>",
            (
                (a.at, a.status_code if a.status_code is not None else "—", a.latency_ms, a.error or "")
                for a in obj.attempts or []
            ),
        )
        return format_html(
            '<table class="webhook-attempts"><thead><tr><th>at</th><th>status</th>'
            "<th>latency</th><th>error</th></tr></thead><tbody>{}</tbody></table>",
            rows,
        )

    @admin.display(description="payload")
    def payload_json(self, obj):
        return format_html("<pre>{}</pre>", json.dumps(obj.payload, indent=2, sort_keys=True))

    @admin.action(description="Redeliver")
    def redeliver(self, request, queryset):
        queued = 0
        for delivery in queryset:
            try:
                webhooks.redeliver(delivery)
                queued += 1
            except webhooks.WebhookDisabled as exc:
                self.message_user(request, str(exc), level=messages.ERROR)
        self.message_user(request, f"Queued {queued} redelivery(ies).")

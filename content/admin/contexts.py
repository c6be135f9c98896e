"""Admin for contexts (read-only, with cancel/retry actions and a processing timeline page),
batches (read-only, with the status summary) and, for superadmins, the live workers page
(admin/content/context/workers/)."""

from datetime import UTC, datetime

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from redis import RedisError

from requestdesk.admin_lists import recent_values_filter
from tenants.admin.base import ReadOnlyTenantAdmin, is_superadmin, record_audit

from ..models import Batch, Context
from ..selectors.batches import batch_summary
from ..selectors.contexts import timeline
from ..services import contexts, workers
from .links import links_html


def _act(model_admin, request, queryset, action, verb):
    done, refused = 0, []
    for obj in queryset:
        try:
            action(obj)
        except contexts.WrongStatus as exc:
            refused.append(f"{obj}: {exc}")
            continue
        record_audit(request, obj, verb)
        done += 1
    model_admin.message_user(request, f"{verb.capitalize()} {done}.")
    for message in refused:
        model_admin.message_user(request, message, messages.WARNING)


@admin.register(Context)
class ContextAdmin(ReadOnlyTenantAdmin):
    list_display = [
        "__str__",
        "status",
        "priority",
        "pipeline",
        "batch",
        "retry_count",
        "duration",
        "created_at",
        "timeline_link",
    ]
    list_filter = ["status", recent_values_filter("type")]
    fields = [
        "type",
        "status",
        "priority",
        "pipeline",
        "agent",
        "batch",
        "user",
        "opened_from",
        "company",
        "error",
        "retry_count",
        "next_retry_at",
        "attempt",
        "worker",
        "lease_until",
        "timings",
        "data",
        "metadata",
        "created_at",
        "updated_at",
    ]
    readonly_fields = fields
    actions = ["cancel", "retry"]

    @admin.display(description="opened from")
    def opened_from(self, obj):
        return links_html(obj.links)

    @admin.display(description="duration (ms)")
    def duration(self, obj):
        return obj.processing.duration_ms if obj.processing else None

    @admin.display(description="timeline")
    def timeline_link(self, obj):
        return format_html('<a href="{}">timeline</a>', reverse("admin:content_context_timeline", args=[obj.pk]))

    @admin.display(description="component timings (ms)")
    def timings(self, obj):
        rows = (obj.processing.component_timings or {}).items() if obj.processing else []
        if not rows:
            return "-"
        table = format_html_join("", "<tr><td>{}</td><td>{}</td></tr>", rows)
        link = reverse("admin:content_context_timeline", args=[obj.pk])
        return format_html('<table>{}</table><a href="{}">Processing timeline</a>', table, link)

    @admin.action(description="Cancel")
    def cancel(self, request, queryset):
        _act(self, request, queryset, contexts.cancel, "cancelled")

    @admin.action(description="Retry")
    def retry(self, request, queryset):
        _act(self, request, queryset, contexts.retry, "retried")

    def get_urls(self):
        view = path(
            "<path:object_id>/timeline/",
            self.admin_site.admin_view(self.timeline_view),
            name="content_context_timeline",
        )
        live = path("workers/", self.admin_site.admin_view(self.workers_view), name="content_workers")
        return [live, view, *super().get_urls()]

    def workers_view(self, request):
        """The live Celery worker processes (read-only; superadmins: it is platform data)."""
        if not is_superadmin(request):
            raise PermissionDenied
        try:
            found, problem = workers.live(), ""
        except RedisError as exc:
            found, problem = [], f"The worker registry (Redis) is unavailable: {exc}"
        for worker in found:
            for name in ("started_at", "last_heartbeat"):
                worker[f"{name}_dt"] = datetime.fromtimestamp(worker[name], tz=UTC)
        page = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Workers",
            "workers": found,
            "problem": problem,
            "has_view_permission": True,
        }
        return TemplateResponse(request, "admin/content/workers.html", page)

    def timeline_view(self, request, object_id):
        """Each attempt's components on one time axis, with retries, recoveries and errors."""
        context = self.get_object(request, object_id)
        if context is None or not self.has_view_permission(request, context):
            raise Http404("No such context.")
        page = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": context,
            "title": f"Processing timeline of {context}",
            "timeline": timeline(context),
            "has_view_permission": True,
        }
        return TemplateResponse(request, "admin/content/context/timeline.html", page)


@admin.register(Batch)
class BatchAdmin(ReadOnlyTenantAdmin):
    list_display = [
        "__str__",
        "status",
        "context_count",
        "completed_count",
        "failed_count",
        "cancelled_count",
        "total_duration_ms",
        "created_at",
    ]
    list_filter = ["status"]
    fields = [
        "name",
        "description",
        "status",
        "pipeline",
        "priority",
        "company",
        *Batch.COUNTERS,
        "processing_started_at",
        "processing_completed_at",
        "total_duration_ms",
        "summary",
        "metadata",
        "created_by",
        "created_at",
    ]
    readonly_fields = fields

    @admin.display(description="contexts by status")
    def summary(self, obj):
        rows = batch_summary(obj)["by_status"].items()
        return format_html("<table>{}</table>", format_html_join("", "<tr><td>{}</td><td>{}</td></tr>", rows))

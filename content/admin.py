"""Admin for content: tickets, campaigns, templates, components and pipelines (soft-deleted
ones too, with soft delete and restore actions; validated as the API validates them; their versions listed, and
one restored by choosing it in "Restore version"; a pipeline's run statistics), contexts
(read-only, with cancel/retry actions and a processing timeline page), batches (read-only,
with the status summary) and, for superadmins, the live workers page
(admin/content/context/workers/). Rows are limited to the staff member's company by
TenantAdmin."""

import json
from datetime import UTC, datetime

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from redis import RedisError

from requestdesk.admin_lists import recent_values_filter
from requestdesk.soft_delete_admin import SoftDeleteAdminMixin
from tenants.admin.base import TenantAdmin, is_superadmin, record_audit

from . import selectors
from .models import CAMPAIGN_FLOW, TICKET_FLOW, Batch, Campaign, Component, Context, Pipeline, Template, Ticket
from .services import campaigns, contexts, pipelines, stats, versions, workers
from .services import components as registry
from .workflow import InvalidTransition


class _FlowForm(forms.ModelForm):
    """Status changes follow the model's workflow."""

    flow = None

    def clean_status(self):
        status = self.cleaned_data["status"]
        if self.instance.pk:
            try:
                self.flow.check(self.instance.status, status)
            except InvalidTransition as exc:
                raise forms.ValidationError(str(exc)) from None
        return status


class TicketForm(_FlowForm):
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
    readonly_fields = ["created_by", "is_deleted", "deleted_at", "created_at", "updated_at"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


class CampaignForm(_FlowForm):
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


class RestoreVersionForm(forms.ModelForm):
    """ "Restore version": a previous version whose definition replaces the one in the form
    (then validated as any edit; saving records it as a new version)."""

    restore_version = forms.ChoiceField(
        required=False, label="Restore version", help_text="Saving makes this version's definition current again."
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        older = [entry.get("version") for entry in reversed(self.instance.history or []) if entry.get("version")]
        self.fields["restore_version"].choices = [("", "—"), *((v, v) for v in dict.fromkeys(older))]

    def clean(self):
        cleaned = super().clean()
        if chosen := cleaned.get("restore_version"):
            restored = type(self.instance)()
            versions.apply_definition(restored, versions.find(self.instance, chosen))
            for name in versions.DEFINITION[type(self.instance)]:
                cleaned[name] = getattr(restored, name)
        return cleaned


class _VersionedAdminMixin:
    """A saved change of the definition records a version (content.services.versions)."""

    @admin.display(description="versions")
    def version_list(self, obj):
        rows = (
            [
                (
                    v["version"],
                    "current" if v["current"] else v["replaced_at"],
                    json.dumps({k: v[k] for k in versions.DEFINITION[type(obj)]})[:300],
                )
                for v in versions.versions(obj)
            ]
            if obj and obj.pk
            else []
        )
        if not rows:
            return "-"
        return format_html(
            "<table><tr><th>version</th><th>replaced</th><th>definition</th></tr>{}</table>",
            format_html_join("", "<tr><td>{}</td><td>{}</td><td><code>{}</code></td></tr>", rows),
        )

    def save_model(self, request, obj, form, change):
        if change:
            previous, previous_version = versions.stored_state(obj)
            versions.record(
                obj,
                previous=previous,
                previous_version=previous_version,
                version=obj.version if obj.version != previous_version else None,
            )
        else:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


class TemplateForm(RestoreVersionForm):
    class Meta:
        model = Template
        fields = ["name", "description", "version", "structure", "metadata", "is_active", "company"]


@admin.register(Template)
class TemplateAdmin(SoftDeleteAdminMixin, _VersionedAdminMixin, TenantAdmin):
    form = TemplateForm
    list_display = ["name", "version", "is_active", "updated_at"]
    list_filter = ["is_active"]
    search_fields = ["name", "description"]
    readonly_fields = ["version_list", "created_by", "created_at", "updated_at"]


class ComponentForm(RestoreVersionForm):
    class Meta:
        model = Component
        fields = ["name", "type", "description", "config", "metadata", "is_active", "company"]

    def clean(self):
        cleaned = super().clean()
        company = cleaned.get("company") or getattr(self.instance, "company_id", None) or self.company
        if cleaned.get("type") and isinstance(cleaned.get("config"), dict):
            errors = registry.validate_config(
                kind=cleaned["type"], config=cleaned["config"], company=company, complete=False
            )
            for message in (m for found in errors.values() for m in found):
                self.add_error("config", message)
        return cleaned


class PipelineForm(RestoreVersionForm):
    class Meta:
        model = Pipeline
        fields = ["name", "description", "components", "default_context_type", "metadata", "is_active", "company"]

    def clean(self):
        cleaned = super().clean()
        company = cleaned.get("company") or getattr(self.instance, "company_id", None) or self.company
        steps = pipelines.normalise_steps(list(cleaned.get("components") or []))
        for message in pipelines.validate_steps(company=company, steps=steps):
            self.add_error("components" if "components" in self.fields else None, message)
        cleaned["components"] = steps
        return cleaned


STATS_DAYS = 7  # the window of the pipeline page's run statistics


class _CompanyFormMixin:
    """Give the form the staff member's company (what the new row will be stamped with)."""

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        form.company = None if is_superadmin(request) else request.user.company_id
        return form


@admin.register(Component)
class ComponentAdmin(SoftDeleteAdminMixin, _VersionedAdminMixin, _CompanyFormMixin, TenantAdmin):
    form = ComponentForm
    list_display = ["name", "type", "version", "is_active", "updated_at"]
    list_filter = ["type", "is_active"]
    search_fields = ["name", "description"]
    readonly_fields = ["version", "version_list", "created_by", "created_at", "updated_at"]


@admin.register(Pipeline)
class PipelineAdmin(SoftDeleteAdminMixin, _VersionedAdminMixin, _CompanyFormMixin, TenantAdmin):
    form = PipelineForm
    list_display = ["name", "default_context_type", "steps", "version", "is_active", "updated_at"]
    list_filter = ["is_active"]
    search_fields = ["name", "description"]
    readonly_fields = ["version", "run_stats", "version_list", "created_by", "created_at", "updated_at"]

    @admin.display(description=f"runs (last {STATS_DAYS} days)")
    def run_stats(self, obj):
        if obj is None or obj.pk is None:
            return "-"
        found = stats.summary(obj, days=STATS_DAYS)
        if not found["runs"]:
            return f"No finished runs since {found['since']}."
        duration, tokens = found["duration_ms"], found["tokens"]
        rows = [
            ("runs", found["runs"]),
            ("completed", found["completed"]),
            ("failed", found["failed"]),
            ("success rate", f"{found['success_rate']:.1%}"),
            ("duration p50 (ms)", duration["p50"]),
            ("duration p95 (ms)", duration["p95"]),
            ("duration mean (ms)", duration["mean"]),
            ("tokens in / out", f"{tokens['in']} / {tokens['out']}"),
        ]
        return format_html("<table>{}</table>", format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", rows))

    @admin.display(description="steps")
    def steps(self, obj):
        return len(obj.components or [])


class _ReadOnly(TenantAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


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
class ContextAdmin(_ReadOnly):
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
            "timeline": selectors.timeline(context),
            "has_view_permission": True,
        }
        return TemplateResponse(request, "admin/content/context/timeline.html", page)


@admin.register(Batch)
class BatchAdmin(_ReadOnly):
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
        rows = selectors.batch_summary(obj)["by_status"].items()
        return format_html("<table>{}</table>", format_html_join("", "<tr><td>{}</td><td>{}</td></tr>", rows))

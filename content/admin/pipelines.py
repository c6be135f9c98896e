"""Admin for templates, components and pipelines (soft-deleted ones too, with soft delete
and restore actions): validated as the API validates them, their versions listed and one
restored by choosing it in "Restore version", and a pipeline's run statistics."""

import json

from django import forms
from django.contrib import admin
from django.utils.html import format_html, format_html_join

from requestdesk.soft_delete_admin import SoftDeleteAdminMixin
from tenants.admin.base import TenantAdmin, staff_company_id

from ..models import Component, Pipeline, Template
from ..services import components as registry
from ..services import pipelines, stats, versions


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
        form.company = staff_company_id(request)
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

"""Admin of targets, with a "Run now" action."""

from django import forms
from django.contrib import admin

from requestdesk import outbound
from requestdesk.soft_delete_admin import SoftDeleteAdminMixin
from tenants.admin.base import TenantAdmin

from ..models import Project, Target
from ..services import extraction, projects
from .jobs import queue_runs


class TargetForm(forms.ModelForm):
    url = forms.URLField(max_length=2000, assume_scheme="https", widget=forms.URLInput(attrs={"class": "vURLField"}))

    class Meta:
        model = Target
        fields = ["project", "url", "platform", "status", "options", "company"]

    def clean_url(self):
        return outbound.validate_url(self.cleaned_data["url"])

    def clean(self):
        cleaned = super().clean()
        options = cleaned.get("options")
        for name, selector in (options.selectors() if options else {}).items():
            try:
                extraction.check_selector(selector)
            except ValueError as exc:
                self.add_error("options", f"{name}: {exc}")
        problem = projects.platform_problem(cleaned.get("platform"), options)
        if problem:
            self.add_error("options", problem)
        return cleaned


@admin.register(Target)
class TargetAdmin(SoftDeleteAdminMixin, TenantAdmin):
    form = TargetForm
    list_display = ["url", "project", "platform", "status", "last_outcome", "last_status_code", "last_fetched_at"]
    list_filter = ["platform", "status", "last_outcome"]
    search_fields = ["url"]
    readonly_fields = [
        "etag",
        "last_modified",
        "last_fetched_at",
        "last_outcome",
        "last_status_code",
        "last_error",
        "lease_job",
        "lease_until",
        "created_at",
        "updated_at",
    ]
    actions = ["run_now"]

    @admin.action(description="Run now")
    def run_now(self, request, queryset):
        targets = list(queryset)
        projects = Project.objects.in_bulk([t.project_id for t in targets])
        queue_runs(self, request, [(projects[t.project_id], t) for t in targets])

"""Admin of projects: their targets inline, a "Run now" action, the schedule switch and a
sentiment chart page."""

from datetime import UTC, datetime, time

from django import forms
from django.contrib import admin
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from requestdesk.soft_delete_admin import SoftDeleteAdminMixin
from tenants.admin.base import TenantAdmin, is_superadmin, relative_time, staff_company_id

from ..models import Preset, Project, Target
from ..selectors import analytics
from ..selectors.results import ResultFilters
from ..services import llm_sentiment, projects
from .jobs import queue_runs
from .targets import TargetForm


class SentimentRangeForm(forms.Form):
    """The admin sentiment page's range and interval (GET): empty fields take the defaults."""

    date_from = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    interval = forms.ChoiceField(required=False, choices=[(i, i) for i in analytics.INTERVALS])

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_to", "The last day must not be before the first.")
        return data


def _day_start(day):
    return datetime.combine(day, time.min, tzinfo=UTC) if day else None


def _day_end(day):
    return datetime.combine(day, time(23, 59, 59, 999000), tzinfo=UTC) if day else None


class ProjectForm(forms.ModelForm):
    schedule_enabled = forms.BooleanField(
        required=False,
        label="Scheduled",
        help_text="Run the project every config.schedule_interval_seconds (a schedule of the beat dispatcher).",
    )

    class Meta:
        model = Project
        fields = ["name", "description", "status", "preset", "config", "company"]

    staff_company_id = None  # the staff member's company (ProjectAdmin.get_form), for a new project

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        schedule = projects.schedule_of(self.instance) if self.instance.pk else None
        self.fields["schedule_enabled"].initial = bool(schedule and schedule.enabled)

    def clean(self):
        """The sentiment engine "llm" needs a usable LLM provider in the project's company."""
        cleaned = super().clean()
        config, company = cleaned.get("config"), cleaned.get("company")
        company_id = company.pk if company is not None else self.instance.company_id or self.staff_company_id
        if config is not None:
            current = self.instance.config.sentiment if self.instance.pk else None
            problem = llm_sentiment.setting_problem(company_id, config.sentiment, current)
            if problem:
                self.add_error("config", f"Sentiment: {problem}")
        return cleaned


class TargetInline(admin.TabularInline):
    model = Target
    form = TargetForm
    fields = ["url", "platform", "status", "last_outcome", "last_fetched_at"]
    readonly_fields = ["last_outcome", "last_fetched_at"]
    extra = 0


@admin.register(Project)
class ProjectAdmin(SoftDeleteAdminMixin, TenantAdmin):
    form = ProjectForm
    list_display = ["name", "status", "preset", "company", "created_at", "chart_link"]
    list_filter = ["status"]
    search_fields = ["name", "description"]
    readonly_fields = ["next_run", "created_by", "created_at", "updated_at"]
    inlines = [TargetInline]
    actions = ["run_now"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.staff_company_id = staff_company_id(request)
        return form

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "preset" and not is_superadmin(request):
            kwargs["queryset"] = Preset.objects.visible_to(request.user.company)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
        enabled = form.cleaned_data.get("schedule_enabled", False)
        if enabled or projects.schedule_of(obj):
            projects.set_schedule(project=obj, enabled=enabled, interval_seconds=obj.config.schedule_interval_seconds)

    @admin.display(description="next scheduled run")
    def next_run(self, obj):
        schedule = projects.schedule_of(obj) if obj.pk else None
        return relative_time(schedule.next_run) if schedule and schedule.enabled else "not scheduled"

    def save_formset(self, request, form, formset, change):
        for target in formset.save(commit=False):
            target.company_id = form.instance.company_id
            target.save()
        for target in formset.deleted_objects:
            target.delete()

    @admin.action(description="Run now")
    def run_now(self, request, queryset):
        queue_runs(self, request, [(project, None) for project in queryset])

    @admin.display(description="sentiment")
    def chart_link(self, obj):
        return format_html('<a href="{}">chart</a>', reverse("admin:scraping_project_sentiment", args=[obj.pk]))

    def get_urls(self):
        chart = path(
            "<path:object_id>/sentiment/",
            self.admin_site.admin_view(self.sentiment_view),
            name="scraping_project_sentiment",
        )
        return [chart, *super().get_urls()]

    def sentiment_view(self, request, object_id):
        """Sentiment of one project over a date range (by default the 90 days up to its last
        result), per day, week or month: a Chart.js chart and the same numbers as tables."""
        project = self.get_object(request, object_id)
        if project is None or not self.has_view_permission(request, project):
            raise Http404("No such project.")
        form = SentimentRangeForm(request.GET or None)
        report = None
        if form.is_valid() or not form.is_bound:
            data = form.cleaned_data if form.is_bound else {}
            try:
                report = analytics.sentiment_analytics(
                    company=project.company_id,
                    interval=data.get("interval") or "auto",
                    filters=ResultFilters(
                        project=project.pk,
                        date_from=_day_start(data.get("date_from")),
                        date_to=_day_end(data.get("date_to")),
                    ),
                )
            except analytics.RangeTooLong as exc:
                form.add_error("interval", str(exc))
        if report is None:
            report = {"interval": "", "series": [], "totals": {"count": 0}, "targets": []}
        elif not form.is_bound:  # show the range the page chose
            form = SentimentRangeForm(
                initial={"date_from": report["date_from"], "date_to": report["date_to"], "interval": "auto"}
            )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": project,
            "title": f"Sentiment of “{project}”",
            "report": report,
            "interval": report["interval"],
            "form": form,
            "has_view_permission": True,
        }
        return TemplateResponse(request, "admin/scraping/project/sentiment.html", context)

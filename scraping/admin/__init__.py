"""Admin for scraping: presets, projects (with their targets inline, a "Run now" action and a
sentiment chart page), targets, jobs and results. Rows are limited to the staff member's
company by TenantAdmin; system presets are shown to everyone and changed by no one (they are
reference data, written by migration)."""

from datetime import UTC, datetime, time

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import display_for_value
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from rest_framework.exceptions import ValidationError as DRFValidationError

from requestdesk import outbound
from requestdesk.soft_delete_admin import SoftDeleteAdminMixin
from tenants.admin_base import TenantAdmin, is_superadmin, record_audit, relative_time

from ..api.serializers import ConfigField
from ..models import Preset, Project, Result, ScrapeJob, Sentiment, Target
from ..selectors import analytics
from ..selectors import search as selectors
from ..services import extraction, jobs, llm_sentiment, projects


class PresetForm(forms.ModelForm):
    class Meta:
        model = Preset
        fields = ["name", "description", "config", "company", "user"]

    def clean_config(self):
        try:
            return ConfigField(complete=True).run_validation(self.cleaned_data.get("config") or {})
        except DRFValidationError as exc:
            raise forms.ValidationError(str(exc.detail)) from exc


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


@admin.register(Preset)
class PresetAdmin(TenantAdmin):
    form = PresetForm
    list_display = ["name", "is_system", "user", "company", "updated_at"]
    list_filter = ["is_system"]
    search_fields = ["name", "description"]
    readonly_fields = ["is_system", "created_at", "updated_at"]

    def get_queryset(self, request):
        queryset = Preset.objects.all() if is_superadmin(request) else Preset.objects.visible_to(request.user.company)
        return queryset.order_by("-is_system", "name")

    def has_change_permission(self, request, obj=None):
        return not (obj and obj.is_system) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return not (obj and obj.is_system) and super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        if not change and obj.user_id is None:
            obj.user = request.user
        super().save_model(request, obj, form, change)


class TargetForm(forms.ModelForm):
    url = forms.URLField(max_length=2000, assume_scheme="https", widget=forms.URLInput(attrs={"class": "vURLField"}))

    class Meta:
        model = Target
        fields = ["project", "url", "platform", "status", "options", "company"]

    def clean_url(self):
        url = self.cleaned_data["url"]
        try:
            outbound.check_url(url)
        except outbound.UnsafeURL as exc:
            raise forms.ValidationError(str(exc)) from exc
        return url

    def clean(self):
        cleaned = super().clean()
        options = cleaned.get("options")
        for name, selector in (options.selectors() if options else {}).items():
            try:
                extraction.check_selector(selector)
            except ValueError as exc:
                self.add_error("options", f"{name}: {exc}")
        if cleaned.get("platform") == Target.CUSTOM and not (
            options and (options.item_selector or options.text_selector)
        ):
            self.add_error("options", "The custom platform needs an item_selector or a text_selector.")
        return cleaned


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


def _run_now(model_admin, request, pairs):
    """Queue a job per (project, target); report what was queued and what was not."""
    queued, refused = 0, []
    for project, target in pairs:
        if project.status != Project.ACTIVE or (target is not None and target.status != Target.ACTIVE):
            refused.append(str(target or project))
            continue
        try:
            job = jobs.start(project=project, target=target, trigger="admin", created_by=request.user)
        except jobs.QueueUnavailable as exc:
            model_admin.message_user(request, str(exc), messages.ERROR)
            return
        record_audit(request, target or project, "run", changes={"job": {"old": None, "new": str(job.pk)}})
        queued += 1
    model_admin.message_user(request, f"Queued {queued} scrape job(s).")
    if refused:
        model_admin.message_user(request, f"Not run (paused or archived): {', '.join(refused)}", messages.WARNING)


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
        form.staff_company_id = None if is_superadmin(request) else request.user.company_id
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
        _run_now(self, request, [(project, None) for project in queryset])

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
                    filters=selectors.ResultFilters(
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
        _run_now(self, request, [(projects[t.project_id], t) for t in targets])


class _ReadOnly(TenantAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ScrapeJob)
class ScrapeJobAdmin(_ReadOnly):
    list_display = [
        "__str__",
        "project",
        "target",
        "trigger",
        "status",
        "percent",
        "results_created",
        "duplicates",
        "pages_failed",
        "created_at",
        "duration_ms",
    ]
    list_filter = ["status", "trigger"]
    fields = [
        "project",
        "target",
        "company",
        "status",
        "trigger",
        "created_by",
        "percent",
        *ScrapeJob.COUNTERS,
        "started_at",
        "finished_at",
        "duration_ms",
        "error",
        "errors_table",
    ]
    readonly_fields = fields

    @admin.display(description="progress")
    def percent(self, obj):
        return f"{obj.progress:.0%}"

    @admin.display(description="errors")
    def errors_table(self, obj):
        if not obj.errors:
            return "-"
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((e.at, e.url, e.status_code or "", e.message) for e in obj.errors),
        )
        return format_html(
            '<table class="job-errors"><tr><th>at</th><th>url</th><th>status</th><th>message</th></tr>{}</table>', rows
        )


class SentimentFilter(admin.SimpleListFilter):
    title = "sentiment"
    parameter_name = "sentiment"

    def lookups(self, request, model_admin):
        return Sentiment.LABELS

    def queryset(self, request, queryset):
        return queryset.filter(analysis__sentiment__label=self.value()) if self.value() else queryset


class PlatformFilter(admin.SimpleListFilter):
    """The platforms a result can have, from the model (Django's own filter for a field reads
    the distinct values of every result)."""

    title = "platform"
    parameter_name = "platform"

    def lookups(self, request, model_admin):
        return [(value, label) for value, label in Target.PLATFORMS if value != Target.AUTO]

    def queryset(self, request, queryset):
        return queryset.filter(platform=self.value()) if self.value() else queryset


@admin.register(Result)
class ResultAdmin(_ReadOnly):
    list_display = ["__str__", "platform", "label", "compound", "published_at", "project", "target"]
    list_filter = [PlatformFilter, SentimentFilter]
    fields = [
        "project",
        "target",
        "job",
        "company",
        "platform",
        "published_at",
        "content_table",
        "sentiment_scores",
        "content_hash",
        "created_at",
        "changed_at",
        "change_count",
    ]
    readonly_fields = fields

    search_fields = ["content__title"]  # shows the search box; get_search_results does the search
    search_help_text = "Words of the title or text, as the API's search finds them (the best 100, newest first)."
    SEARCH_LIMIT = 100

    def get_queryset(self, request):
        return super().get_queryset(request).defer("terms", "search")

    def get_search_results(self, request, queryset, search_term):
        """The weighted word search (scraping.selectors.search) of the staff member's company,
        or of the company chosen in the filter (a superadmin): its best results, by id."""
        if not search_term.strip():
            return queryset, False
        company = request.GET.get("company__id__exact") if is_superadmin(request) else request.user.company_id
        if not company:
            messages.info(request, "Choose a company in the filter to search its results.")
            return queryset.none(), False
        try:
            found = selectors.search(company=company, query=search_term)
        except ValueError as exc:
            messages.warning(request, str(exc))
            return queryset.none(), False
        return queryset.filter(pk__in=[result.pk for result in found[: self.SEARCH_LIMIT]]), False

    @admin.display(description="sentiment")
    def label(self, obj):
        return obj.sentiment.label if obj.sentiment else "-"

    @admin.display(description="compound")
    def compound(self, obj):
        return obj.sentiment.compound if obj.sentiment else "-"

    @admin.display(description="content")
    def content_table(self, obj):
        """What was extracted (an embedded document: the admin alone would print its repr)."""
        content = obj.content
        rows = [(name, getattr(content, name)) for name in ("title", "text", "author", "date", "url", "rating")]
        return format_html(
            '<table class="result-content">{}</table>',
            format_html_join(
                "",
                "<tr><th>{}</th><td>{}</td></tr>",
                ((name, display_for_value(value, "-")) for name, value in rows if value not in ("", None)),
            ),
        )

    @admin.display(description="sentiment")
    def sentiment_scores(self, obj):
        sentiment = obj.sentiment
        if not sentiment:
            return "-"
        return (
            f"{sentiment.label} (compound {sentiment.compound}; positive {sentiment.positive}, "
            f"neutral {sentiment.neutral}, negative {sentiment.negative})"
        )

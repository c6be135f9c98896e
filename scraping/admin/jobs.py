"""Admin of scrape jobs (read-only, with their progress and errors), and queue_runs: the
"Run now" of the project and target admins."""

from django.contrib import admin, messages
from django.utils.html import format_html, format_html_join

from tenants.admin.base import ReadOnlyTenantAdmin, record_audit

from ..models import Project, ScrapeJob, Target
from ..services import jobs


def queue_runs(model_admin, request, pairs):
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


@admin.register(ScrapeJob)
class ScrapeJobAdmin(ReadOnlyTenantAdmin):
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

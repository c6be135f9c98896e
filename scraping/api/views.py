"""REST endpoints of the scraping app under /api/v1/scraping/ (routed by scraping.api.urls).

projects   CRUD; POST {id}/run/ (202 + the job), GET|PUT|PATCH|DELETE {id}/schedule/,
           GET {id}/analytics/?interval=auto|day|week|month&date_from=&date_to=
targets    CRUD (filter by project); POST {id}/run/, GET {id}/analytics/
presets    the system presets (read-only) and the company's own; CRUD on your own
schedules  the scraping schedules of the company (one per project)
jobs       list and detail, with progress
results    list (filters), GET search/?q=..., GET export/?as=csv|jsonl (streamed)

All of it is scoped by the tenant viewset base: another company's ids are 404.
"""

from __future__ import annotations

from django.http import StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response

from events.models import Schedule
from requestdesk.api.pagination import CursorPagination, Pagination
from requestdesk.api.queueing import accepted_or_503
from requestdesk.api.soft_delete import SoftDeleteViewSetMixin
from tenants.api.viewsets import TenantReadOnlyViewSet, TenantViewSet
from tenants.roles import Role, at_least

from ..models import RUN_PROJECT_TASK, Preset, Project, Result, ScrapeJob, Sentiment, Target
from ..selectors import analytics, search
from ..services import jobs, projects
from .export import EXPORT_FORMATS, stream_export
from .filters import ResultFilter, result_filters
from .serializers import (
    PresetSerializer,
    ProjectSerializer,
    ResultSerializer,
    ScrapeJobSerializer,
    ScrapeScheduleSerializer,
    SearchResultSerializer,
    TargetSerializer,
)

ANALYTICS_PARAMETERS = [
    OpenApiParameter(
        "interval",
        str,
        enum=list(analytics.INTERVALS),
        description=(
            f"auto (default): per day up to {analytics.DAILY_MAX_DAYS} days, per week up to "
            f"{analytics.WEEKLY_MAX_DAYS}, else per month; a chosen interval may give at most "
            f"{analytics.MAX_PERIODS} rows"
        ),
    ),
    OpenApiParameter(
        "date_from",
        OpenApiTypes.DATETIME,
        description=(f"first day (a date or an ISO date-time); default {analytics.DEFAULT_DAYS} days before date_to"),
    ),
    OpenApiParameter(
        "date_to",
        OpenApiTypes.DATETIME,
        description=("last day (a date: to its end); default the last day with results, or today"),
    ),
    OpenApiParameter("platform", str, enum=[c[0] for c in Target.PLATFORMS if c[0] != Target.AUTO]),
    OpenApiParameter("sentiment", str, enum=[c[0] for c in Sentiment.LABELS]),
]


def _analytics(request, company, **fixed) -> Response:
    """The sentiment analytics of the request's filters, over a bounded range (400 with the
    field when the interval, a date or the range is wrong)."""
    interval = request.query_params.get("interval", "auto")
    if interval not in analytics.INTERVALS:
        raise ValidationError({"interval": [f"Choose one of: {', '.join(analytics.INTERVALS)}."]})
    filters = result_filters(request, **fixed)
    if filters.date_from and filters.date_to and filters.date_from > filters.date_to:
        raise ValidationError({"date_to": ["date_to must not be before date_from."]})
    try:
        return Response(analytics.sentiment_analytics(company=company, filters=filters, interval=interval))
    except analytics.RangeTooLong as exc:
        raise ValidationError({"interval": [str(exc)]}) from exc


def _run(view, *, project, target=None) -> Response:
    if project.status != Project.ACTIVE:
        raise ValidationError({"detail": f"The project is {project.status}; make it active to run it."})
    if target is not None and target.status != Target.ACTIVE:
        raise ValidationError({"detail": "The target is paused; make it active to run it."})
    if target is None and not project.targets.filter(status=Target.ACTIVE).exists():
        raise ValidationError({"detail": "The project has no active targets to run."})
    job = jobs.create_job(project=project, target=target, trigger="api", created_by=view.request.user)
    view.record_audit("run", target or project, changes={"job": {"old": None, "new": str(job.pk)}})
    return accepted_or_503(lambda: jobs.enqueue(job), serialize=lambda j: ScrapeJobSerializer(j).data, record_key="job")


class PresetViewSet(TenantViewSet):
    """The system presets (read-only) and the presets of the request's company. A preset
    is created for the caller; its owner or a company admin may change it."""

    queryset = Preset.objects.all()
    serializer_class = PresetSerializer
    filterset_fields = ["is_system"]
    search_fields = ["name", "description"]
    ordering_fields = ["name", "created_at"]

    def get_queryset(self):
        return Preset.objects.visible_to(self.company).order_by("-is_system", "name")

    def perform_create(self, serializer):
        super().perform_create(serializer, user=self.request.user)

    def _check_owner(self, preset):
        if preset.is_system:
            raise PermissionDenied("System presets are read-only; create a preset of your own instead.")
        if preset.user_id != self.request.user.pk and not at_least(self.tenant.role, Role.COMPANY_ADMIN):
            raise PermissionDenied("Only the preset's owner or a company admin may change it.")

    def perform_update(self, serializer):
        self._check_owner(serializer.instance)
        super().perform_update(serializer)

    def perform_destroy(self, instance):
        self._check_owner(instance)
        super().perform_destroy(instance)


class ProjectViewSet(SoftDeleteViewSetMixin, TenantViewSet):
    queryset = Project.objects.all()
    serializer_class = ProjectSerializer
    filterset_fields = ["status"]
    search_fields = ["name", "description"]
    ordering_fields = ["name", "created_at", "updated_at"]

    def perform_create(self, serializer):
        super().perform_create(serializer, created_by=self.request.user)

    @extend_schema(request=None, responses={202: ScrapeJobSerializer})
    @action(detail=True, methods=["post"])
    def run(self, request, pk=None):
        """Run now: a job over the project's active targets; 202 with the job (503 if the queue is down)."""
        return _run(self, project=self.get_object())

    @extend_schema(methods=["GET"], responses=ScrapeScheduleSerializer)
    @extend_schema(
        methods=["PUT", "PATCH"],
        request=ScrapeScheduleSerializer,
        responses={200: ScrapeScheduleSerializer, 201: ScrapeScheduleSerializer},
    )
    @extend_schema(methods=["DELETE"], responses={204: None})
    @action(detail=True, methods=["get", "put", "patch", "delete"])
    def schedule(self, request, pk=None):
        """The project's schedule: GET it, PUT/PATCH to create or change it, DELETE to remove it."""
        project = self.get_object()
        current = projects.schedule_of(project)
        if request.method == "GET" or (request.method == "DELETE" and current is None):
            if current is None:
                return Response({"detail": "This project has no schedule."}, status=status.HTTP_404_NOT_FOUND)
            return Response(ScrapeScheduleSerializer(current).data)
        if request.method == "DELETE":
            self.record_audit("deleted", current)
            projects.delete_schedule(schedule=current)
            return Response(status=status.HTTP_204_NO_CONTENT)
        serializer = ScrapeScheduleSerializer(
            current,
            data=request.data,
            partial=request.method == "PATCH",
            context={**self.get_serializer_context(), "project": project},
        )
        serializer.is_valid(raise_exception=True)
        schedule = serializer.save()
        self.record_audit("updated" if current else "created", schedule)
        return Response(ScrapeScheduleSerializer(schedule).data, status=status.HTTP_200_OK if current else 201)

    @extend_schema(parameters=ANALYTICS_PARAMETERS, responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["get"])
    def analytics(self, request, pk=None):
        """Sentiment per day, week or month (counts per label, average compound) and per
        target, over a date range (by default the 90 days up to the last result)."""
        return _analytics(request, self.company, project=self.get_object().pk)


class TargetViewSet(SoftDeleteViewSetMixin, TenantViewSet):
    queryset = Target.objects.all()
    serializer_class = TargetSerializer
    filterset_fields = ["project", "platform", "status"]
    search_fields = ["url"]
    ordering_fields = ["url", "created_at", "last_fetched_at"]

    @extend_schema(request=None, responses={202: ScrapeJobSerializer})
    @action(detail=True, methods=["post"])
    def run(self, request, pk=None):
        """Run now: a job over this target; 202 with the job (503 if the queue is down)."""
        target = self.get_object()
        return _run(self, project=Project.objects.get(pk=target.project_id), target=target)

    @extend_schema(parameters=ANALYTICS_PARAMETERS, responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["get"])
    def analytics(self, request, pk=None):
        return _analytics(request, self.company, target=self.get_object().pk)


class ScheduleViewSet(TenantViewSet):
    """The scraping schedules of the request's company (one per project)."""

    queryset = Schedule.objects.filter(task=RUN_PROJECT_TASK)
    serializer_class = ScrapeScheduleSerializer
    write_role = Role.CONTENT_MANAGER
    filterset_fields = ["enabled"]
    ordering_fields = ["next_run", "created_at"]


class ScrapeJobViewSet(TenantReadOnlyViewSet):
    queryset = ScrapeJob.objects.all()
    pagination_class = CursorPagination
    cursor_fields = ("created_at",)
    serializer_class = ScrapeJobSerializer
    filterset_fields = ["project", "target", "status", "trigger"]
    ordering_fields = ["created_at"]


class ResultViewSet(TenantReadOnlyViewSet):
    queryset = Result.objects.defer("terms", "search")
    pagination_class = CursorPagination
    cursor_fields = ("published_at", "created_at")
    serializer_class = ResultSerializer
    filterset_class = ResultFilter
    ordering_fields = ["published_at", "created_at"]

    @extend_schema(
        parameters=[OpenApiParameter("q", str, required=True, description="words to search for")],
        responses=SearchResultSerializer(many=True),
    )
    @action(detail=False, methods=["get"], pagination_class=Pagination)  # numbered pages, in the schema too
    def search(self, request):
        """Ranked search: 10 points per query word in the title, 5 in the text; then newest first.
        `count_exact` false: `count` is a lower bound (see the response schema)."""
        query = request.query_params.get("q", "").strip()
        if not query:
            raise ValidationError({"q": ["Enter words to search for."]})
        try:
            found = search.search(company=self.company, query=query, filters=result_filters(request))
        except ValueError as exc:
            raise ValidationError({"q": [str(exc)]}) from exc
        page = self.paginate_queryset(found)
        return self.get_paginated_response(SearchResultSerializer(page, many=True).data)

    @extend_schema(
        parameters=[OpenApiParameter("as", str, enum=list(EXPORT_FORMATS))],
        responses={(200, "text/csv"): OpenApiTypes.STR, (200, "application/x-ndjson"): OpenApiTypes.STR},
    )
    @action(detail=False, methods=["get"])
    def export(self, request):
        """Every result matching the filters, streamed as CSV or JSON lines (`as=csv|jsonl`)."""
        kind = request.query_params.get("as", "csv")
        if kind not in EXPORT_FORMATS:
            raise ValidationError({"as": [f"Choose one of: {', '.join(EXPORT_FORMATS)}."]})
        queryset = self.filter_queryset(self.get_queryset()).order_by("-published_at", "-pk")
        response = StreamingHttpResponse(stream_export(queryset, kind), content_type=EXPORT_FORMATS[kind])
        stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
        response["Content-Disposition"] = f'attachment; filename="results-{stamp}.{kind}"'
        return response

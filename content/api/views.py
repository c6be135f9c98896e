"""REST endpoints of the content app, under /api/v1/content/ (registered on the one router
by `urls.register`).

* tickets: writers see the tickets assigned to them, clients the tickets they created,
  managers and up all of the company's; DELETE is a soft delete (managers and up);
* campaigns, templates, components, pipelines: CRUD (managers and up write); templates,
  components and pipelines list their `versions` and `restore-version` one (managers and up);
  a pipeline's run `stats` over `?days=` (default 7);
* tickets, campaigns, templates, components, pipelines: DELETE is a soft delete and
  `POST {id}/restore/` brings the row back (requestdesk.api.soft_delete);
* workers: the live Celery worker processes (superadmins only; platform data);
* contexts (`?user=<id>` or `?user=me`): POST one object or a list (202 with the ids; queued for the workers; 503 and
  nothing stored while the task queue is down), status
  and result (GET), `cancel`, `retry`;
* batches: POST a batch of contexts (202), status, `summary` (contexts per status, counters, timings),
  `cancel`, `retry` (its failed contexts).
"""

from django.conf import settings
from drf_spectacular.utils import extend_schema
from redis import RedisError
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from events.services import audit
from requestdesk.api.pagination import CursorPagination
from requestdesk.api.queueing import accepted_or_503
from requestdesk.api.soft_delete import SoftDeleteViewSetMixin
from tenants.api.viewsets import TenantViewSet, TenantViewSetMixin
from tenants.models import ApiKey
from tenants.roles import Role

from ..models import Batch, Campaign, Component, Context, Pipeline, Template, Ticket
from ..selectors.batches import batch_summary
from ..selectors.tickets import visible_tickets
from ..services import batches, contexts, stats, versions, workers
from .errors import ContentErrorsMixin
from .filters import CampaignFilter, ComponentFilter, ContextFilter, PipelineFilter, TemplateFilter, TicketFilter
from .serializers.campaigns import CampaignSerializer
from .serializers.contexts import (
    BatchInputSerializer,
    BatchSerializer,
    ContextInputSerializer,
    ContextListSerializer,
    ContextSerializer,
)
from .serializers.pipelines import (
    ComponentSerializer,
    PipelineSerializer,
    PipelineStatsQuerySerializer,
    RestoreSerializer,
    TemplateSerializer,
    definition_errors,
)
from .serializers.tickets import TicketSerializer
from .serializers.workers import WorkerSerializer

MANAGER = Role.CONTENT_MANAGER


class CreatedByMixin:
    def perform_create(self, serializer, **fields):
        super().perform_create(serializer, created_by=self.request.user, **fields)


class TicketViewSet(SoftDeleteViewSetMixin, ContentErrorsMixin, CreatedByMixin, TenantViewSet):
    queryset = Ticket.objects.all()
    serializer_class = TicketSerializer
    read_role = write_role = Role.CLIENT
    action_roles = {"destroy": MANAGER}
    filterset_class = TicketFilter
    search_fields = ["title", "description"]
    ordering_fields = ["created_at", "updated_at", "due_date", "status"]

    def get_queryset(self):
        return visible_tickets(super().get_queryset(), user=self.request.user, role=self.tenant.role)


class CampaignViewSet(SoftDeleteViewSetMixin, ContentErrorsMixin, CreatedByMixin, TenantViewSet):
    queryset = Campaign.objects.all()
    serializer_class = CampaignSerializer
    read_role, write_role = Role.CONTENT_WRITER, MANAGER
    filterset_class = CampaignFilter
    search_fields = ["name", "description"]
    ordering_fields = ["created_at", "start_date", "end_date", "name"]


class VersionsMixin:
    """`versions` (GET: every version, newest first) and `restore-version` (POST {"version":
    ...}: its definition becomes current as a new version; 400 when unknown or no longer
    valid). `restore` alone is the soft delete's undelete."""

    @extend_schema(responses={200: None})
    @action(detail=True, methods=["get"])
    def versions(self, request, pk=None):
        return Response(versions.versions(self.get_object()))

    @extend_schema(request=RestoreSerializer, responses={200: None})
    @action(detail=True, methods=["post"], url_path="restore-version")
    def restore_version(self, request, pk=None):
        obj = self.get_object()
        body = RestoreSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        before = audit.snapshot(obj)

        def check(restored):
            if errors := definition_errors(restored, company=self.company):
                raise ValidationError(errors)

        try:
            versions.restore(obj, version=body.validated_data["version"], check=check)
        except versions.UnknownVersion as exc:
            raise ValidationError({"version": [str(exc)]}) from None
        self.record_audit("restored", obj, changes=audit.field_changes(before, obj))
        return Response(self.get_serializer(obj).data)


class TemplateViewSet(SoftDeleteViewSetMixin, VersionsMixin, CreatedByMixin, TenantViewSet):
    queryset = Template.objects.all()
    serializer_class = TemplateSerializer
    read_role, write_role = Role.CLIENT, MANAGER
    filterset_class = TemplateFilter
    search_fields = ["name", "description"]
    ordering_fields = ["name", "created_at", "updated_at"]


class ComponentViewSet(SoftDeleteViewSetMixin, VersionsMixin, CreatedByMixin, TenantViewSet):
    queryset = Component.objects.all()
    serializer_class = ComponentSerializer
    read_role, write_role = Role.CLIENT, MANAGER
    filterset_class = ComponentFilter
    search_fields = ["name", "description"]
    ordering_fields = ["name", "created_at"]


class PipelineViewSet(SoftDeleteViewSetMixin, VersionsMixin, CreatedByMixin, TenantViewSet):
    queryset = Pipeline.objects.all()
    serializer_class = PipelineSerializer
    read_role, write_role = Role.CLIENT, MANAGER
    filterset_class = PipelineFilter
    search_fields = ["name", "description"]
    ordering_fields = ["name", "created_at"]

    @extend_schema(parameters=[PipelineStatsQuerySerializer], responses={200: None})
    @action(detail=True, methods=["get"])
    def stats(self, request, pk=None):
        """Runs, completed, failed, success rate, duration p50/p95/mean and tokens over the
        last `days` UTC days (today included; 1 to 90, default 7), with each day's figures."""
        query = PipelineStatsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        return Response(stats.summary(self.get_object(), days=query.validated_data["days"]))


class IsSuperadmin(BasePermission):
    """Signed in as a superadmin (not with an API key: keys act for one company)."""

    message = "Only superadmins may see this."

    def has_permission(self, request, view):
        user = request.user
        return bool(
            user
            and user.is_authenticated
            and getattr(user, "is_superadmin", False)
            and not isinstance(request.auth, ApiKey)
        )


class WorkerListView(APIView):
    """The live Celery worker processes, from their heartbeats: platform data, for
    superadmins only. A worker silent for CONTENT_WORKER_STALE_SECONDS is `stale`; one
    silent for CONTENT_WORKER_EXPIRE_SECONDS is gone from the list."""

    permission_classes = [IsSuperadmin]

    @extend_schema(responses=WorkerSerializer(many=True))
    def get(self, request):
        try:
            found = workers.live()
        except RedisError:
            return Response({"detail": "The worker registry (Redis) is unavailable."}, status=503)
        return Response(WorkerSerializer(found, many=True).data)


class _RunViewSet(
    ContentErrorsMixin, TenantViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Read, create (202, queued), cancel and retry; no edits or deletes (retention removes)."""

    read_role = write_role = Role.CLIENT

    def _accepted(self, body) -> Response:
        return Response(body, status=status.HTTP_202_ACCEPTED)


class ContextViewSet(_RunViewSet):
    queryset = Context.objects.all()
    pagination_class = CursorPagination
    filterset_class = ContextFilter
    ordering_fields = ["created_at"]

    def get_queryset(self):
        queryset = super().get_queryset()
        return queryset.defer("data") if self.action == "list" else queryset

    def get_serializer_class(self):
        return {"list": ContextListSerializer, "create": ContextInputSerializer}.get(self.action, ContextSerializer)

    @extend_schema(request=ContextInputSerializer, responses={202: None})
    def create(self, request, *args, **kwargs):
        """One context (an object) or several (a list): 202 with the ids; workers run them."""
        many = isinstance(request.data, list)
        limit = settings.CONTENT_MAX_BATCH_SIZE
        if many and not 1 <= len(request.data) <= limit:
            raise ValidationError({"non_field_errors": [f"Send 1 to {limit} contexts; {len(request.data)} given."]})
        serializer = ContextInputSerializer(data=request.data, many=many, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        items = serializer.validated_data if many else [serializer.validated_data]
        groups: dict = {}
        for item in items:
            item = dict(item)
            pipeline = item.pop("pipeline")
            groups.setdefault(pipeline.pk, (pipeline, []))[1].append(item)
        for pipeline, _ in groups.values():  # every pipeline checked before anything is stored
            contexts.check_pipeline(pipeline)

        def start():  # each group checks the broker first: nothing is stored while the queue is down
            return [
                context
                for pipeline, group in groups.values()
                for context in contexts.create_contexts(pipeline=pipeline, items=group, user=request.user)
            ]

        def accepted(created):
            for context in created:
                self.record_audit("created", context)
            ids = [str(c.pk) for c in created]
            return {"ids": ids, "status": "pending"} if many else {"id": ids[0], "status": "pending"}

        return accepted_or_503(start, serialize=accepted)

    @extend_schema(request=None, responses=ContextSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        context = contexts.cancel(self.get_object())
        self.record_audit("cancelled", context)
        return Response(ContextSerializer(context).data)

    @extend_schema(request=None, responses={202: ContextSerializer})
    @action(detail=True, methods=["post"])
    def retry(self, request, pk=None):
        context = contexts.retry(self.get_object())
        self.record_audit("retried", context)
        return self._accepted(ContextSerializer(context).data)


class BatchViewSet(_RunViewSet):
    queryset = Batch.objects.all()
    filterset_fields = ["status"]
    ordering_fields = ["created_at", "updated_at"]

    def get_serializer_class(self):
        return BatchInputSerializer if self.action == "create" else BatchSerializer

    @extend_schema(request=BatchInputSerializer, responses={202: None})
    def create(self, request, *args, **kwargs):
        """A batch of contexts on one pipeline: 202 with the batch id and its context ids."""
        serializer = BatchInputSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        options = dict(serializer.validated_data)

        def accepted(batch):
            self.record_audit("created", batch)
            return {"id": str(batch.pk), "status": batch.status, "context_ids": [str(pk) for pk in batch.context_ids]}

        return accepted_or_503(
            lambda: batches.create_batch(
                items=[dict(item) for item in options.pop("contexts")], user=request.user, **options
            ),
            serialize=accepted,
        )

    @extend_schema(responses={200: None})
    @action(detail=True, methods=["get"])
    def summary(self, request, pk=None):
        """Contexts by status (aggregation), the batch's counters and timings."""
        return Response(batch_summary(self.get_object()))

    @extend_schema(request=None, responses=BatchSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        batch = self.get_object()
        count = batches.cancel_batch(batch)
        batch.refresh_from_db()
        self.record_audit("cancelled", batch, changes={"cancelled_contexts": {"old": None, "new": count}})
        return Response(BatchSerializer(batch).data)

    @extend_schema(request=None, responses={202: BatchSerializer})
    @action(detail=True, methods=["post"])
    def retry(self, request, pk=None):
        batch = self.get_object()
        count = batches.retry_batch(batch)
        batch.refresh_from_db()
        self.record_audit("retried", batch, changes={"retried_contexts": {"old": None, "new": count}})
        return self._accepted(BatchSerializer(batch).data)

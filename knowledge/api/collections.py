"""REST endpoints of knowledge collections, under /api/v1/knowledge/: the collections (texts,
uploads, syncs, sources, schedule and search of one), the search of all of them, chunks and
sync history."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from requestdesk.api.pagination import CursorPagination
from requestdesk.api.queueing import accepted_or_503
from requestdesk.api.soft_delete import SoftDeleteViewSetMixin
from tenants.api.viewsets import TenantReadOnlyViewSet, TenantViewSet, TenantViewSetMixin
from tenants.roles import Role

from ..models import KnowledgeChunk, KnowledgeCollection, SourceType, SyncHistory
from ..selectors.collections import collections_for, without_deleted_collections
from ..selectors.collections import sources as collection_sources
from ..services import ingest, retrieval, sync
from . import filters
from .errors import KnowledgeErrorsMixin
from .serializers.collections import (
    HitSerializer,
    KnowledgeChunkSerializer,
    KnowledgeCollectionSerializer,
    KnowledgeSearchResultSerializer,
    ScheduleSerializer,
    SearchSerializer,
    SourceRemovedSerializer,
    SourceSerializer,
    SyncHistorySerializer,
    TextSerializer,
    UploadSerializer,
)


def _added(collection, item, source_type) -> Response:
    try:
        history = ingest.add_item(collection=collection, item=item, source_type=source_type)
    except ingest.NotAddable as exc:
        raise ValidationError({"detail": str(exc)}) from exc
    return Response(SyncHistorySerializer(history).data, status=status.HTTP_201_CREATED)


class KnowledgeCollectionViewSet(SoftDeleteViewSetMixin, KnowledgeErrorsMixin, TenantViewSet):
    """Knowledge collections: add text and files (manual/upload collections), sync from
    their source (WordPress, Shopify, a scraping project; through Celery), search, and the
    sync schedule."""

    queryset = KnowledgeCollection.objects.all()
    serializer_class = KnowledgeCollectionSerializer
    read_role, write_role = Role.CLIENT, Role.CONTENT_MANAGER
    action_roles = {"search": Role.CLIENT}
    filterset_class = filters.CollectionFilter
    search_fields = ["name", "description"]
    ordering_fields = ["name", "created_at", "last_synced_at"]

    def perform_create(self, serializer, **fields):
        super().perform_create(serializer, user=self.request.user, **fields)

    @extend_schema(request=TextSerializer, responses={201: SyncHistorySerializer})
    @action(detail=True, methods=["post"])
    def texts(self, request, pk=None):
        """Add (or, with the same source_id, replace) one text; embedded now."""
        collection = self.get_object()
        data = TextSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return _added(collection, ingest.text_item(**data.validated_data), SourceType.MANUAL)

    @extend_schema(request={"multipart/form-data": UploadSerializer}, responses={202: SyncHistorySerializer})
    @action(detail=True, methods=["post"], parser_classes=[MultiPartParser, FormParser])
    def upload(self, request, pk=None):
        """Upload a .txt, .md, .html or .pdf file; the same file name replaces its earlier
        upload. Read, chunked and embedded by a Celery worker: 202 with the sync history,
        whose status and counts show the progress (as a sync's do)."""
        collection = self.get_object()
        data = UploadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        try:
            return accepted_or_503(
                lambda: sync.request_upload(
                    collection=collection,
                    name=upload.name,
                    data=upload.read(),
                    title=data.validated_data["title"],
                    source_id=data.validated_data["source_id"],
                ),
                serialize=lambda history: SyncHistorySerializer(history).data,
                record_key="sync_history",
            )
        except ingest.NotAddable as exc:
            raise ValidationError({"detail": str(exc)}) from exc

    @extend_schema(methods=["GET"], request=None, responses=SourceSerializer(many=True))
    @extend_schema(
        methods=["DELETE"],
        request=None,
        responses=SourceRemovedSerializer,
        parameters=[OpenApiParameter("source_id", str, required=True, description="The source item to remove.")],
    )
    @action(detail=True, methods=["get", "delete"], pagination_class=None)  # one list, not paginated
    def sources(self, request, pk=None):
        """GET: one row per source item. DELETE ?source_id=...: remove that item's chunks."""
        collection = self.get_object()
        if request.method == "GET":
            return Response(collection_sources(collection))
        source_id = request.query_params.get("source_id", "")
        if not source_id:
            raise ValidationError({"source_id": ["This parameter is required."]})
        removed = ingest.remove_source(collection=collection, source_id=source_id)
        if not removed:
            return Response({"detail": "No such source item."}, status=status.HTTP_404_NOT_FOUND)
        self.record_audit("source_removed", collection, changes={"source_id": {"old": source_id, "new": None}})
        return Response({"chunks_removed": removed})

    @extend_schema(request=None, responses={202: SyncHistorySerializer})
    @action(detail=True, methods=["post"], url_path="sync")
    def sync_now(self, request, pk=None):
        """Sync from the collection's source now, in a Celery worker: 202 with the sync history."""
        collection = self.get_object()
        response = accepted_or_503(
            lambda: sync.request_sync(collection=collection, trigger="api"),
            serialize=lambda history: SyncHistorySerializer(history).data,
            record_key="sync_history",
        )
        if response.status_code == status.HTTP_202_ACCEPTED:
            self.record_audit("sync_requested", collection)
        return response

    @extend_schema(responses=SyncHistorySerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=CursorPagination)
    def history(self, request, pk=None):
        queryset = SyncHistory.objects.for_company(self.company).filter(collection=self.get_object())
        page = self.paginate_queryset(queryset.order_by("-created_at"))
        return self.get_paginated_response(SyncHistorySerializer(page, many=True).data)

    @extend_schema(request=ScheduleSerializer, responses=ScheduleSerializer)
    @action(detail=True, methods=["get", "put", "delete"])
    def schedule(self, request, pk=None):
        """The collection's sync schedule (run by the beat dispatcher)."""
        collection = self.get_object()
        if request.method == "GET":
            schedule = sync.schedule_of(collection)
            if schedule is None:
                return Response({"detail": "This collection has no sync schedule."}, status=status.HTTP_404_NOT_FOUND)
            return Response(ScheduleSerializer(schedule).data)
        if request.method == "DELETE":
            sync.remove_schedule(collection=collection)
            return Response(status=status.HTTP_204_NO_CONTENT)
        sync.source_of(collection)  # NotSyncable for a collection filled by hand
        data = ScheduleSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        schedule = sync.set_schedule(collection=collection, **data.validated_data)
        self.record_audit(
            "schedule_set", collection, changes={"interval_seconds": {"old": None, "new": schedule.interval_seconds}}
        )
        return Response(ScheduleSerializer(schedule).data)

    @extend_schema(request=SearchSerializer, responses=KnowledgeSearchResultSerializer)
    @action(detail=True, methods=["post"])
    def search(self, request, pk=None):
        collection = self.get_object()
        return search_response(request, self.company, collection_ids=[collection.pk])


def search_response(request, company, collection_ids=None) -> Response:
    data = SearchSerializer(data=request.data)
    data.is_valid(raise_exception=True)
    options = dict(data.validated_data)
    requested = options.pop("collection_ids", None)
    if requested is not None:
        found = set(collections_for(company, requested).values_list("pk", flat=True))
        unknown = [str(pk) for pk in requested if pk not in found]
        if unknown:
            raise ValidationError({"collection_ids": [f"Unknown collections: {', '.join(unknown)}."]})
    hits = retrieval.search(company=company, collection_ids=collection_ids or requested, **options)
    return Response(
        {"query": options["query"], "mode": options["mode"], "results": HitSerializer(hits, many=True).data}
    )


class SearchView(KnowledgeErrorsMixin, TenantViewSetMixin, GenericAPIView):
    """Search the company's collections (all, or `collection_ids`): ranked chunks with
    scores and citations."""

    queryset = KnowledgeCollection.objects.all()
    serializer_class = SearchSerializer
    read_role = write_role = Role.CLIENT

    @extend_schema(request=SearchSerializer, responses=KnowledgeSearchResultSerializer)
    def post(self, request):
        return search_response(request, self.company)


class KnowledgeChunkViewSet(KnowledgeErrorsMixin, TenantReadOnlyViewSet):
    queryset = KnowledgeChunk.objects.defer("terms")
    pagination_class = CursorPagination
    serializer_class = KnowledgeChunkSerializer
    read_role = Role.CLIENT
    filterset_class = filters.ChunkFilter
    search_fields = ["content"]
    ordering_fields = ["created_at"]

    def get_queryset(self):
        """Chunks of deleted collections are hidden with them."""
        return without_deleted_collections(super().get_queryset(), self.company)


class SyncHistoryViewSet(TenantReadOnlyViewSet):
    queryset = SyncHistory.objects.all()
    pagination_class = CursorPagination
    serializer_class = SyncHistorySerializer
    read_role = Role.CLIENT
    filterset_class = filters.SyncHistoryFilter
    ordering_fields = ["created_at"]

"""Serializers of knowledge collections: their settings, chunks, sync history and schedule,
the texts and files added to them, and searches of them."""

from __future__ import annotations

from django.conf import settings
from rest_framework import serializers

from requestdesk.api.serializers import MongoModelSerializer, ObjectIdField

from ...models import KnowledgeChunk, KnowledgeCollection, SourceType, SyncHistory
from ...models.collections import LOCAL_EMBEDDING_MODEL
from ...services import retrieval, sources
from ...services.chunking import DEFAULT_OVERLAP, DEFAULT_SIZE, MIN_SIZE
from ...services.extract import MAX_TEXT_CHARS, SUPPORTED

DEFAULT_REMOTE_EMBEDDING_MODEL = "text-embedding-3-small"


class CollectionSettingsSerializer(serializers.Serializer):
    """Chunking, and the settings of every registered sync source (knowledge.services.sources)."""

    chunk_size = serializers.IntegerField(min_value=MIN_SIZE, max_value=8000, default=DEFAULT_SIZE)
    chunk_overlap = serializers.IntegerField(min_value=0, max_value=2000, default=DEFAULT_OVERLAP)

    def get_fields(self):
        return {**super().get_fields(), **sources.settings_fields()}


class KnowledgeCollectionSerializer(MongoModelSerializer):
    settings = CollectionSettingsSerializer(required=False)

    class Meta:
        model = KnowledgeCollection
        fields = [
            "id",
            "name",
            "description",
            "agent",
            "source_type",
            "settings",
            "embedding_provider",
            "embedding_model",
            "embedding_dimensions",
            "chunk_count",
            "last_synced_at",
            "user",
            "company",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["embedding_dimensions", "chunk_count", "last_synced_at", "user", "created_at", "updated_at"]
        extra_kwargs = {"embedding_model": {"required": False}}

    def validate(self, attrs):
        instance = self.instance
        provider = attrs.get("embedding_provider", getattr(instance, "embedding_provider", None))
        model = attrs.get("embedding_model") or (
            getattr(instance, "embedding_model", None) if "embedding_provider" not in attrs else None
        )
        attrs["embedding_model"] = (
            LOCAL_EMBEDDING_MODEL
            if provider is None
            else (model if model and model != LOCAL_EMBEDDING_MODEL else DEFAULT_REMOTE_EMBEDDING_MODEL)
        )
        if (
            instance is not None
            and instance.chunk_count
            and ((getattr(provider, "pk", None), attrs["embedding_model"]) != instance.embedder_key)
        ):
            raise serializers.ValidationError(
                {
                    "embedding_model": [
                        "This collection holds vectors of its current model; mixing models is refused. Create a new "
                        "collection for another embedding model."
                    ]
                }
            )
        if "settings" in attrs:
            # A PATCH may send one of chunk_size/chunk_overlap: check the pair as it will be stored.
            merged = attrs["settings"] = {**(getattr(instance, "settings", None) or {}), **attrs["settings"]}
            if merged.get("chunk_overlap", DEFAULT_OVERLAP) > merged.get("chunk_size", DEFAULT_SIZE) // 2:
                raise serializers.ValidationError({"settings": {"chunk_overlap": ["At most half the chunk size."]}})
        if instance is None or "settings" in attrs or "source_type" in attrs:
            source_type = attrs.get("source_type", getattr(instance, "source_type", SourceType.MANUAL))
            stored = attrs.get("settings", getattr(instance, "settings", None) or {})
            company_id = instance.company_id if instance is not None else self.context["view"].company.pk
            errors = sources.settings_errors(source_type, stored, company_id=company_id)
            if errors:
                raise serializers.ValidationError({"settings": errors})
        return attrs


class KnowledgeChunkSerializer(MongoModelSerializer):
    dimensions = serializers.SerializerMethodField()

    class Meta:
        model = KnowledgeChunk
        fields = [
            "id",
            "collection",
            "content",
            "metadata",
            "source_type",
            "source_id",
            "content_hash",
            "chunk_index",
            "dimensions",
            "company",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_dimensions(self, chunk) -> int:
        return 0 if chunk.embedding is None else len(chunk.embedding)


class SyncHistorySerializer(MongoModelSerializer):
    class Meta:
        model = SyncHistory
        fields = [
            "id",
            "collection",
            "agent",
            "sync_type",
            "trigger",
            "status",
            "items_synced",
            "items_unchanged",
            "items_removed",
            "chunks_added",
            "chunks_removed",
            "errors",
            "error_message",
            "started_at",
            "completed_at",
            "company",
            "created_at",
        ]
        read_only_fields = fields


class ScheduleSerializer(serializers.Serializer):
    interval_seconds = serializers.IntegerField(min_value=300, max_value=30 * 24 * 3600)
    enabled = serializers.BooleanField(default=True)
    next_run = serializers.DateTimeField(read_only=True)
    last_run_at = serializers.DateTimeField(read_only=True, allow_null=True)
    run_count = serializers.IntegerField(read_only=True)


class SourceSerializer(serializers.Serializer):
    """One source item of a collection, with how many chunks it has."""

    source_id = serializers.CharField()
    title = serializers.CharField()
    url = serializers.CharField()
    chunks = serializers.IntegerField()


class SourceRemovedSerializer(serializers.Serializer):
    chunks_removed = serializers.IntegerField()


class TextSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    text = serializers.CharField(max_length=MAX_TEXT_CHARS)
    source_id = serializers.CharField(
        max_length=200,
        required=False,
        allow_blank=True,
        default="",
        help_text="The same source_id replaces what was stored under it.",
    )
    url = serializers.URLField(max_length=2000, required=False, allow_blank=True, default="")


class UploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text=f"One of {', '.join(SUPPORTED)}.")
    title = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    source_id = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")

    def validate_file(self, value):
        if value.size > settings.KNOWLEDGE_UPLOAD_MAX_BYTES:
            raise serializers.ValidationError(f"The file is larger than {settings.KNOWLEDGE_UPLOAD_MAX_BYTES} bytes.")
        return value


class SearchSerializer(serializers.Serializer):
    query = serializers.CharField(max_length=2000)
    mode = serializers.ChoiceField(retrieval.MODES, default="hybrid")
    limit = serializers.IntegerField(min_value=1, max_value=retrieval.MAX_LIMIT, default=5)
    collection_ids = serializers.ListField(child=ObjectIdField(), required=False, allow_empty=False)


class HitSerializer(serializers.Serializer):
    chunk_id = serializers.CharField()
    collection_id = serializers.CharField()
    score = serializers.FloatField()
    scores = serializers.DictField(child=serializers.FloatField())
    content = serializers.CharField()
    source_type = serializers.CharField()
    source_id = serializers.CharField()
    title = serializers.CharField()
    url = serializers.CharField()
    metadata = serializers.DictField()
    citation = serializers.SerializerMethodField()

    def get_citation(self, hit) -> dict:
        return hit.citation()


class KnowledgeSearchResultSerializer(serializers.Serializer):
    """What a search answers: the query and mode it ran with, and the ranked hits."""

    query = serializers.CharField()
    mode = serializers.ChoiceField(retrieval.MODES)
    results = HitSerializer(many=True)

"""Serializers of the knowledge API. Secrets are write-only (`api_key`, `shopify_api_key`,
`wordpress_api_key`): stored encrypted, shown only as a masked hint."""

from __future__ import annotations

from django.conf import settings
from rest_framework import serializers

from requestdesk import outbound
from requestdesk.api.serializers import EmbeddedField, MongoModelSerializer, ObjectIdField
from tenants.scoping import resolve_tenant

from ...models import (
    Agent,
    Attachment,
    Conversation,
    KnowledgeChunk,
    KnowledgeCollection,
    LLMProvider,
    Message,
    SyncHistory,
)
from ...models.collections import LOCAL_EMBEDDING_MODEL
from ...selectors.collections import collections_for
from ...services import crypto, retrieval
from ...services.chunking import DEFAULT_OVERLAP, DEFAULT_SIZE, MIN_SIZE
from ...services.extract import MAX_TEXT_CHARS, SUPPORTED

SECRET_STYLE = {"input_type": "password"}
DEFAULT_REMOTE_EMBEDDING_MODEL = "text-embedding-3-small"


def secret_field(help_text: str):
    return serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        trim_whitespace=True,
        max_length=2000,
        style=SECRET_STYLE,
        help_text=help_text,
    )


def checked_url(value: str) -> str:
    """Refuse URLs the server may never call (private, loopback, metadata). A host that
    does not resolve now is accepted: DNS may be down; it is checked again on every call."""
    if value:
        try:
            outbound.check_url(value)
        except outbound.UnresolvableHost:
            pass
        except outbound.UnsafeURL as exc:
            raise serializers.ValidationError(str(exc))
    return value


class SecretsMixin:
    """Write-only secret fields stored encrypted through crypto.set_secret."""

    secret_fields: tuple = ()

    def _pop_secrets(self, validated_data) -> dict:
        return {name: validated_data.pop(name) for name in self.secret_fields if name in validated_data}

    def create(self, validated_data):
        secrets = self._pop_secrets(validated_data)
        instance = self.Meta.model(**validated_data)
        for name, value in secrets.items():
            crypto.set_secret(instance, name, value)
        instance.save()
        return instance

    def update(self, instance, validated_data):
        for name, value in self._pop_secrets(validated_data).items():
            crypto.set_secret(instance, name, value)
        return super().update(instance, validated_data)


class LLMProviderSerializer(SecretsMixin, MongoModelSerializer):
    secret_fields = ("api_key",)
    api_key = secret_field('The provider\'s API key; write-only, stored encrypted. Send "" to remove it.')

    class Meta:
        model = LLMProvider
        fields = [
            "id",
            "name",
            "provider",
            "base_url",
            "models",
            "is_active",
            "api_key",
            "api_key_hint",
            "company",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["api_key_hint", "created_at", "updated_at"]

    def validate_base_url(self, value):
        return checked_url(value)


class AgentSerializer(SecretsMixin, MongoModelSerializer):
    secret_fields = ("shopify_api_key", "wordpress_api_key")
    shopify_api_key = secret_field("Shopify Admin API access token; write-only, stored encrypted.")
    wordpress_api_key = secret_field(
        "WordPress “user:application-password” or bearer token; write-only, stored encrypted."
    )
    knowledge_collection_ids = serializers.ListField(child=ObjectIdField(), required=False)

    class Meta:
        model = Agent
        fields = [
            "id",
            "name",
            "description",
            "system_prompt",
            "model",
            "provider",
            "temperature",
            "max_tokens",
            "knowledge_collection_ids",
            "rerank",
            "rerank_model",
            "shopify_enabled",
            "shopify_store_url",
            "shopify_api_key",
            "shopify_api_key_hint",
            "wordpress_enabled",
            "wordpress_site_url",
            "wordpress_api_key",
            "wordpress_api_key_hint",
            "created_by",
            "company",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["shopify_api_key_hint", "wordpress_api_key_hint", "created_by", "created_at", "updated_at"]

    def validate_knowledge_collection_ids(self, value):
        value = list(dict.fromkeys(value))
        company = resolve_tenant(self.context["request"]).company
        found = set(collections_for(company, value).values_list("pk", flat=True))
        unknown = [str(pk) for pk in value if pk not in found]
        if unknown:
            raise serializers.ValidationError(f"Unknown collections: {', '.join(unknown)}.")
        return value

    def validate_shopify_store_url(self, value):
        return checked_url(value)

    def validate_wordpress_site_url(self, value):
        return checked_url(value)

    def _provider_problem(self, attrs) -> str | None:
        """Why the agent would have no provider to call (chat.provider_for), or None. Checked
        on create and whenever `provider` is changed: a named provider must be active and
        have an endpoint; with none named, the company must have such a provider."""
        if self.instance is not None and "provider" not in attrs:
            return None
        provider = attrs.get("provider")
        if provider is not None:
            if not provider.is_active:
                return f"The provider “{provider}” is not active."
            return None if provider.endpoint else f"The provider “{provider}” has no base URL."
        company = resolve_tenant(self.context["request"]).company
        if any(p.endpoint for p in LLMProvider.objects.for_company(company).filter(is_active=True)):
            return None
        return (
            "This company has no active LLM provider with a base URL to call: add one under "
            "/api/v1/knowledge/providers/ first, or name one here."
        )

    def validate(self, attrs):
        errors = {}
        problem = self._provider_problem(attrs)
        if problem:
            errors["provider"] = [problem]
        for name in ("shopify", "wordpress"):
            url_field = f"{name}_store_url" if name == "shopify" else f"{name}_site_url"
            enabled = attrs.get(f"{name}_enabled", getattr(self.instance, f"{name}_enabled", False))
            url = attrs.get(url_field, getattr(self.instance, url_field, ""))
            if enabled and not url:
                errors[url_field] = [f"Required when {name}_enabled is true."]
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class CollectionSettingsSerializer(serializers.Serializer):
    chunk_size = serializers.IntegerField(min_value=MIN_SIZE, max_value=8000, default=DEFAULT_SIZE)
    chunk_overlap = serializers.IntegerField(min_value=0, max_value=2000, default=DEFAULT_OVERLAP)
    wordpress_types = serializers.ListField(
        child=serializers.ChoiceField(["posts", "pages"]), required=False, allow_empty=False
    )
    shopify_resources = serializers.ListField(
        child=serializers.ChoiceField(["products", "articles", "collections"]), required=False, allow_empty=False
    )


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


class ConversationSerializer(MongoModelSerializer):
    score = serializers.SerializerMethodField(help_text="The search score of a ?q= search (null otherwise).")

    class Meta:
        model = Conversation
        fields = [
            "id",
            "agent",
            "contact_id",
            "user",
            "channel",
            "status",
            "started_at",
            "ended_at",
            "tags",
            "metadata",
            "score",
            "company",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["user", "status", "started_at", "ended_at", "created_at", "updated_at"]
        extra_kwargs = {"agent": {"required": True, "allow_null": False}}

    def get_score(self, conversation) -> int | None:
        return getattr(conversation, "score", None)

    def validate_agent(self, value):
        if self.instance is not None and value != self.instance.agent:
            raise serializers.ValidationError("A conversation keeps its agent; start a new conversation.")
        return value


class MessageSerializer(MongoModelSerializer):
    class Meta:
        model = Message
        fields = [
            "id",
            "conversation",
            "sender_type",
            "role",
            "content",
            "message_type",
            "status",
            "attachments",
            "ai_metadata",
            "metadata",
            "company",
            "created_at",
        ]
        read_only_fields = fields

    def to_representation(self, instance):
        """An uploaded file's `url` is stored as the API path that serves it; the answer gives
        it absolute, as the schema's `uri` says (an attachment sent as a link keeps its own)."""
        data = super().to_representation(instance)
        request = self.context.get("request")
        for attachment in data.get("attachments") or ():
            url = attachment.get("url") or ""
            if request is not None and url.startswith("/"):
                attachment["url"] = request.build_absolute_uri(url)
        return data


class PostMessageSerializer(serializers.Serializer):
    content = serializers.CharField(max_length=20_000)
    attachments = serializers.ListField(child=EmbeddedField(Attachment), required=False, max_length=20)
    stream = serializers.BooleanField(default=False, help_text="Answer as server-sent events.")


class MessageEditSerializer(serializers.Serializer):
    content = serializers.CharField(max_length=20_000)


class AttachmentUploadSerializer(serializers.Serializer):
    file = serializers.FileField(
        help_text="At most KNOWLEDGE_ATTACHMENT_MAX_BYTES; an image, PDF, audio, MP4 "
        "video or UTF-8 text file (the type is read from the content)."
    )


class ReactionSerializer(serializers.Serializer):
    emoji = serializers.CharField(max_length=32)

"""Contexts and batches: what to run (one context, a list of them, or a batch) and how runs
read back."""

from __future__ import annotations

from bson import ObjectId
from django.conf import settings
from rest_framework import serializers

from knowledge.models import Agent
from requestdesk.api.serializers import MongoModelSerializer, RelatedField
from tenants.models import Company
from tenants.services import plans

from ...models import DEFAULT_PRIORITY, Batch, Context, Pipeline
from .base import TenantContextMixin, require_object


class ContextItemSerializer(serializers.Serializer):
    """One context to create: its input `data` and how to run it."""

    type = serializers.CharField(max_length=50, required=False, allow_blank=True)
    data = serializers.JSONField()
    priority = serializers.IntegerField(min_value=0, max_value=100, required=False)
    metadata = serializers.JSONField(required=False)

    def validate_data(self, value):
        return require_object(value, "data")

    def validate_metadata(self, value):
        return require_object(value, "metadata")


class ContextInputSerializer(TenantContextMixin, ContextItemSerializer):
    """A context to create (POST /content/contexts/, one object or a list of them). Without a
    pipeline, the company's `default_pipeline_id` (its plan settings) is used."""

    pipeline = RelatedField(queryset=Pipeline.objects.all(), required=False)
    agent = RelatedField(queryset=Agent.objects.all(), required=False, allow_null=True)

    def validate(self, attrs):
        attrs = super().validate(attrs)
        if attrs.get("pipeline") is None:
            attrs["pipeline"] = self._default_pipeline()
        return attrs

    def _default_pipeline(self) -> Pipeline:
        company = self.tenant.company
        if company is not None and not isinstance(company, Company):
            company = Company.objects.filter(pk=getattr(company, "pk", company)).first()
        default = plans.quotas(company).default_pipeline_id if company is not None else None
        pipeline = (
            Pipeline.objects.for_company(company).filter(pk=ObjectId(default)).first()
            if default and ObjectId.is_valid(default)
            else None
        )
        if pipeline is None:
            message = (
                "This field is required: the company has no default_pipeline_id."
                if not default
                else f"This field is required: the company's default_pipeline_id “{default}” is not one of "
                f"its pipelines."
            )
            raise serializers.ValidationError({"pipeline": [message]})
        return pipeline


class BatchInputSerializer(ContextInputSerializer):
    """A batch: its contexts share the pipeline, agent and default priority."""

    data = None
    type = None
    name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    description = serializers.CharField(required=False, allow_blank=True)
    priority = serializers.IntegerField(min_value=0, max_value=100, default=DEFAULT_PRIORITY)
    contexts = serializers.ListField(child=ContextItemSerializer(), min_length=1)

    def validate_contexts(self, value):
        limit = settings.CONTENT_MAX_BATCH_SIZE
        if len(value) > limit:
            raise serializers.ValidationError(f"A batch holds at most {limit} contexts; {len(value)} given.")
        return value


class ContextSerializer(MongoModelSerializer):
    result = serializers.SerializerMethodField()

    class Meta:
        model = Context
        fields = [
            "id",
            "type",
            "status",
            "priority",
            "pipeline",
            "agent",
            "batch",
            "user",
            "data",
            "result",
            "links",
            "processing",
            "error",
            "retry_count",
            "next_retry_at",
            "attempt",
            "worker",
            "lease_until",
            "metadata",
            "company",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_result(self, context) -> dict | None:
        if context.status != "completed":
            return None
        data = context.data or {}
        return {"generated_content": data.get("generated_content"), "formatted_content": data.get("formatted_content")}


class ContextListSerializer(MongoModelSerializer):
    duration_ms = serializers.FloatField(source="processing.duration_ms", read_only=True, allow_null=True)

    class Meta:
        model = Context
        fields = [
            "id",
            "type",
            "status",
            "priority",
            "pipeline",
            "batch",
            "error",
            "retry_count",
            "next_retry_at",
            "attempt",
            "duration_ms",
            "company",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class BatchSerializer(MongoModelSerializer):
    class Meta:
        model = Batch
        fields = [
            "id",
            "name",
            "description",
            "status",
            "pipeline",
            "priority",
            "context_ids",
            *Batch.COUNTERS,
            "processing_started_at",
            "processing_completed_at",
            "total_duration_ms",
            "metadata",
            "created_by",
            "company",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

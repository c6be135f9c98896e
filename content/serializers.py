"""Serializers of the content API. Bad input is a 400 with field messages and stores nothing:
status changes are checked against the workflows, template structures, component configs
and pipeline steps against content.services (the same checks the admin and runner use)."""

from __future__ import annotations

from bson import ObjectId
from django.conf import settings
from rest_framework import serializers

from knowledge.models import Agent
from requestdesk.api.serializers import MongoModelSerializer, RelatedField
from tenants.models import Company
from tenants.roles import Role, at_least
from tenants.scoping import resolve_tenant
from tenants.services import plans

from .models import (
    CAMPAIGN_FLOW,
    DEFAULT_PRIORITY,
    TICKET_FLOW,
    Batch,
    Campaign,
    Component,
    Context,
    Pipeline,
    Template,
    Ticket,
    TicketStatus,
)
from .services import campaigns, pipelines, tickets, versions
from .services import components as registry
from .services.components.template import validate_structure
from .workflow import InvalidTransition

ASSIGNABLE_ROLES = {Role.CONTENT_WRITER, Role.CONTENT_MANAGER, Role.COMPANY_ADMIN}
CLIENT_STATUSES = {TicketStatus.OPEN, TicketStatus.CLOSED}  # a client may withdraw or reopen a request


class TenantContextMixin:
    @property
    def tenant(self):
        return resolve_tenant(self.context["request"])


def _checked(flow, old, new):
    try:
        flow.check(old, new)
    except InvalidTransition as exc:
        raise serializers.ValidationError(str(exc)) from None
    return new


def _tags(value: list[str]) -> list[str]:
    return list(dict.fromkeys(tag.strip() for tag in value if tag.strip()))


# --- tickets and campaigns --------------------------------------------------------------


class TicketSerializer(TenantContextMixin, MongoModelSerializer):
    class Meta:
        model = Ticket
        fields = [
            "id",
            "title",
            "description",
            "status",
            "priority",
            "created_by",
            "assigned_to",
            "agent",
            "due_date",
            "tags",
            "company",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_by", "created_at", "updated_at"]

    def validate_status(self, value):
        role = self.tenant.role
        if (
            not at_least(role, Role.CONTENT_WRITER)
            and value not in CLIENT_STATUSES
            and value != getattr(self.instance, "status", TicketStatus.OPEN)
        ):
            raise serializers.ValidationError("A client may only close or reopen a ticket.")
        if self.instance is None:
            if value != TicketStatus.OPEN:
                raise serializers.ValidationError("A new ticket is open.")
            return value
        return _checked(TICKET_FLOW, self.instance.status, value)

    def validate_assigned_to(self, user):
        current = getattr(self.instance, "assigned_to_id", None)
        if (user.pk if user else None) != current and not at_least(self.tenant.role, Role.CONTENT_MANAGER):
            raise serializers.ValidationError("Only content managers and admins assign tickets.")
        if user is not None and (user.role not in ASSIGNABLE_ROLES or not user.is_active):
            raise serializers.ValidationError("Assign an active writer, manager or admin of this company.")
        return user

    def validate_tags(self, value):
        return _tags(value)

    def update(self, instance, validated_data):
        return tickets.update_ticket(ticket=instance, **validated_data)


class CampaignSerializer(MongoModelSerializer):
    class Meta:
        model = Campaign
        fields = [
            "id",
            "name",
            "description",
            "status",
            "start_date",
            "end_date",
            "agent",
            "settings",
            "created_by",
            "company",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_by", "created_at", "updated_at"]

    def validate_status(self, value):
        if self.instance is None:
            return value
        return _checked(CAMPAIGN_FLOW, self.instance.status, value)

    def validate_settings(self, value):
        if not isinstance(value, dict):
            raise serializers.ValidationError("Must be an object.")
        return value

    def validate(self, attrs):
        start = attrs.get("start_date", getattr(self.instance, "start_date", None))
        end = attrs.get("end_date", getattr(self.instance, "end_date", None))
        try:
            campaigns.check_dates(start, end)
        except campaigns.InvalidDates as exc:
            raise serializers.ValidationError({exc.field: [str(exc)]}) from None
        return attrs

    def update(self, instance, validated_data):
        return campaigns.update_campaign(campaign=instance, **validated_data)


# --- templates, components, pipelines -----------------------------------------------------


def _object(value, name: str):
    if not isinstance(value, dict):
        raise serializers.ValidationError(f"{name} must be an object.")
    return value


class TemplateSerializer(MongoModelSerializer):
    class Meta:
        model = Template
        fields = [
            "id",
            "name",
            "description",
            "version",
            "structure",
            "metadata",
            "is_active",
            "history",
            "created_by",
            "company",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["history", "created_by", "created_at", "updated_at"]
        extra_kwargs = {"version": {"required": False}}

    def validate_structure(self, value):
        errors = validate_structure(value)
        if errors:
            raise serializers.ValidationError(errors)
        return value

    def validate_metadata(self, value):
        tags = _object(value, "metadata").get("tags", [])
        if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
            raise serializers.ValidationError("metadata.tags must be a list of strings.")
        return {**value, "tags": _tags(tags)} if "tags" in value else value

    def validate_version(self, value):
        old = getattr(self.instance, "version", None)
        if value != old and (error := versions.version_error(old=old, new=value)):
            raise serializers.ValidationError(error)
        return value

    def update(self, instance, validated_data):
        return pipelines.update_template(template=instance, **validated_data)


class VersionedUpdateMixin:
    """A change of the definition records a version (content.services.versions)."""

    def update(self, instance, validated_data):
        return versions.update(instance, **validated_data)


class ComponentSerializer(VersionedUpdateMixin, TenantContextMixin, MongoModelSerializer):
    class Meta:
        model = Component
        fields = [
            "id",
            "name",
            "type",
            "description",
            "version",
            "config",
            "metadata",
            "is_active",
            "history",
            "created_by",
            "company",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["version", "history", "created_by", "created_at", "updated_at"]

    def validate(self, attrs):
        kind = attrs.get("type", getattr(self.instance, "type", None))
        config = _object(attrs.get("config", getattr(self.instance, "config", {})), "config")
        errors = registry.validate_config(kind=kind, config=config, company=self.tenant.company, complete=False)
        if errors:
            raise serializers.ValidationError({"config": [m for messages in errors.values() for m in messages]})
        return attrs


class PipelineSerializer(VersionedUpdateMixin, TenantContextMixin, MongoModelSerializer):
    class Meta:
        model = Pipeline
        fields = [
            "id",
            "name",
            "description",
            "version",
            "components",
            "default_context_type",
            "metadata",
            "is_active",
            "history",
            "created_by",
            "company",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["version", "history", "created_by", "created_at", "updated_at"]

    def validate_components(self, steps):
        for step in steps:
            _object(step.config_overrides, "config_overrides")
        steps = pipelines.normalise_steps(steps)
        errors = pipelines.validate_steps(company=self.tenant.company, steps=steps)
        if errors:
            raise serializers.ValidationError(errors)
        return steps


class RestoreSerializer(serializers.Serializer):
    version = serializers.CharField(max_length=20, help_text="A version listed by `versions`, like 1.2.0.")


def definition_errors(obj, *, company) -> dict:
    """What is wrong with `obj`'s definition now (a restored one may name a component since
    deleted, or a config its type no longer accepts): {field: [messages]}, {} when valid."""
    if isinstance(obj, Template):
        errors = validate_structure(obj.structure)
        return {"structure": errors} if errors else {}
    if isinstance(obj, Component):
        found = registry.validate_config(kind=obj.type, config=obj.config or {}, company=company, complete=False)
        messages = [m for found_messages in found.values() for m in found_messages]
        return {"config": messages} if messages else {}
    errors = pipelines.validate_steps(company=company, steps=pipelines.normalise_steps(list(obj.components)))
    return {"components": errors} if errors else {}


class PipelineStatsQuerySerializer(serializers.Serializer):
    days = serializers.IntegerField(
        min_value=1, max_value=90, default=7, help_text="The window: today and the days before it (UTC), 1 to 90."
    )


# --- contexts and batches -------------------------------------------------------------------


class ContextItemSerializer(serializers.Serializer):
    """One context to create: its input `data` and how to run it."""

    type = serializers.CharField(max_length=50, required=False, allow_blank=True)
    data = serializers.JSONField()
    priority = serializers.IntegerField(min_value=0, max_value=100, required=False)
    metadata = serializers.JSONField(required=False)

    def validate_data(self, value):
        return _object(value, "data")

    def validate_metadata(self, value):
        return _object(value, "metadata")


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

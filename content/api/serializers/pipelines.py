"""Templates, components and pipelines: their definitions checked by content.services (the
same checks the admin and runner use), their versions, and a pipeline's run statistics query."""

from __future__ import annotations

from rest_framework import serializers

from requestdesk.api.serializers import MongoModelSerializer

from ...models import Component, Pipeline, Template
from ...services import components as registry
from ...services import pipelines, versions
from ...services.components.template import validate_structure
from .base import TenantContextMixin, require_object, unique_tags


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
        tags = require_object(value, "metadata").get("tags", [])
        if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
            raise serializers.ValidationError("metadata.tags must be a list of strings.")
        return {**value, "tags": unique_tags(tags)} if "tags" in value else value

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
        config = require_object(attrs.get("config", getattr(self.instance, "config", {})), "config")
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
            require_object(step.config_overrides, "config_overrides")
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

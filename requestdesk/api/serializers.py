"""The project base serializer: ModelSerializer that speaks MongoDB.

DRF maps ObjectIdAutoField to IntegerField, renders ArrayField and embedded models as
strings and cannot encode ObjectId. Here ids are strings both ways, arrays are lists of
their base field, embedded models are nested objects, and related fields only accept ids
of objects the request's company may see.
"""

from __future__ import annotations

import functools
from typing import Any, cast

from bson import ObjectId
from bson.errors import InvalidId
from django.db import models
from django.db.models import QuerySet
from django_mongodb_backend.fields import (
    ArrayField,
    EmbeddedModelArrayField,
    EmbeddedModelField,
    ObjectIdAutoField,
)
from django_mongodb_backend.fields import (
    ObjectIdField as ModelObjectIdField,
)
from rest_framework import serializers

from .parsers import MAX_DEPTH, bson_problem


class ObjectIdField(serializers.CharField):
    default_error_messages = {"invalid": "“{value}” is not a valid id."}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.pop("max_length", None)
        kwargs.pop("allow_blank", None)
        super().__init__(**kwargs)

    def to_representation(self, value: object) -> str:
        return str(value)

    def to_internal_value(self, data: object) -> ObjectId:  # type: ignore[override]  # an id in, an ObjectId out
        try:
            return ObjectId(str(data))
        except (InvalidId, TypeError):
            self.fail("invalid", value=data)


class JSONField(serializers.JSONField):
    """DRF's JSON field, refusing with the field's message what MongoDB cannot store (too
    deep, 64-bit overflow, NUL or unpaired surrogates in keys; see requestdesk.api.parsers):
    form posts bring JSON fields as text that the JSON parser never saw."""

    def to_internal_value(self, data: Any) -> Any:
        try:
            value = super().to_internal_value(data)
        except RecursionError:
            raise serializers.ValidationError(f"Nested deeper than {MAX_DEPTH} levels.") from None
        problem = bson_problem(value)
        if problem:
            raise serializers.ValidationError(problem)
        return value


class RelatedField(serializers.PrimaryKeyRelatedField[models.Model]):
    """A foreign key given and shown as an id string, limited to the request's tenant."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("pk_field", ObjectIdField())
        super().__init__(**kwargs)

    def get_queryset(self) -> QuerySet[models.Model]:
        from tenants.scoping import scope_for_request

        queryset = cast("QuerySet[models.Model]", super().get_queryset())  # writable: DRF requires one
        scoped: QuerySet[models.Model] = scope_for_request(queryset, self.context.get("request"))
        return scoped

    def to_internal_value(self, data: Any) -> models.Model:
        if not ObjectId.is_valid(str(data)):
            self.fail("does_not_exist", pk_value=data)
        return super().to_internal_value(data)


class EmbeddedField(serializers.Field[models.Model, dict[str, Any], dict[str, Any], Any]):
    """An EmbeddedModelField as a nested object, validated field by field."""

    def __init__(self, model: type[models.Model], **kwargs: Any) -> None:
        for key in ("max_length", "allow_blank", "encoder", "decoder"):
            kwargs.pop(key, None)
        self.model = model
        super().__init__(**kwargs)
        self.child = embedded_serializer(model)()

    def to_representation(self, value: models.Model) -> dict[str, Any]:
        return self.child.to_representation(value)

    def to_internal_value(self, data: dict[str, Any]) -> models.Model:
        return self.model(**self.child.run_validation(data))


@functools.cache
def embedded_serializer(model: type[models.Model]) -> type[serializers.Serializer[Any]]:
    builder = MongoModelSerializer()
    fields: dict[str, serializers.Field[Any, Any, Any, Any]] = {}
    for field in model._meta.concrete_fields:
        if field.primary_key:
            continue
        field_class, field_kwargs = builder.build_standard_field(field.name, field)
        fields[field.name] = field_class(**field_kwargs)
    return type(f"{model.__name__}Serializer", (serializers.Serializer,), fields)


class MongoModelSerializer(serializers.ModelSerializer[Any]):
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        ObjectIdAutoField: ObjectIdField,
        ModelObjectIdField: ObjectIdField,
        models.JSONField: JSONField,
    }
    serializer_related_field = RelatedField

    def get_extra_kwargs(self) -> dict[str, Any]:
        """The tenant field is stamped by the view, never taken from input."""
        from tenants.scoping import stamped_field

        extra = super().get_extra_kwargs()
        tenant_field = stamped_field(self.Meta.model)
        if tenant_field:
            extra.setdefault(tenant_field, {})["read_only"] = True
        return extra

    def build_standard_field(
        self, field_name: str, model_field: models.Field[Any, Any]
    ) -> tuple[type[serializers.Field[Any, Any, Any, Any]], dict[str, Any]]:
        if isinstance(model_field, EmbeddedModelArrayField):
            child = EmbeddedField(model_field.embedded_model)
            return serializers.ListField, {
                "child": child,
                "required": not (model_field.blank or model_field.has_default()),
                "allow_null": model_field.null,
            }
        if isinstance(model_field, EmbeddedModelField):
            return EmbeddedField, {
                "model": model_field.embedded_model,
                "required": not (model_field.blank or model_field.null or model_field.has_default()),
                "allow_null": model_field.null,
            }
        field_class, field_kwargs = super().build_standard_field(field_name, model_field)
        if field_kwargs.get("read_only"):
            # DRF stops before allow_null/allow_blank for non-editable fields; the schema needs them.
            if model_field.null:
                field_kwargs["allow_null"] = True
            if model_field.blank and issubclass(field_class, serializers.ChoiceField):
                field_kwargs["allow_blank"] = True
        if isinstance(model_field, ArrayField):
            child_class, child_kwargs = self.build_standard_field("child", model_field.base_field)
            child_kwargs.pop("required", None)
            field_class = serializers.ListField
            field_kwargs = {
                key: value
                for key, value in field_kwargs.items()
                if key in {"required", "read_only", "default", "allow_null", "label", "help_text", "validators"}
            }
            field_kwargs["child"] = child_class(**child_kwargs)
            if model_field.max_size:
                field_kwargs["max_length"] = model_field.max_size
        return field_class, field_kwargs

"""django-filter filters that speak MongoDB (ids are 24-hex ObjectId strings), and the search filter."""

from collections.abc import Iterable
from typing import Any

from bson import ObjectId
from django import forms
from django.db import models
from django.db.models import QuerySet
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema_field
from rest_framework import filters as drf_filters
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.views import APIView


class ObjectIdFormField(forms.CharField):
    default_error_messages = {"invalid": "“%(value)s” is not a valid id."}

    def to_python(self, value: Any) -> ObjectId | None:  # type: ignore[override]  # an id, not a string
        value = super().to_python(value)
        if value in self.empty_values:
            return None
        if not ObjectId.is_valid(value):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid", params={"value": value})
        return ObjectId(value)


@extend_schema_field({"type": "string", "pattern": "^[0-9a-f]{24}$"})
class ObjectIdFilter(filters.Filter):
    """Filter by an id without looking it up: a malformed id is a 400, an unknown one matches nothing."""

    field_class = ObjectIdFormField


class FilterSet(filters.FilterSet):
    """The base of the filtersets built from a view's `filterset_fields`: a foreign key is
    filtered by id without looking it up, so another tenant's id answers as an unknown one
    does (nothing), never "valid choice" against a 400 that would tell which ids exist."""

    FILTER_DEFAULTS = {
        **filters.FilterSet.FILTER_DEFAULTS,
        models.ForeignKey: {"filter_class": ObjectIdFilter},
        models.OneToOneField: {"filter_class": ObjectIdFilter},
    }


class FilterBackend(filters.DjangoFilterBackend):
    filterset_base = FilterSet


class SearchFilter(drf_filters.SearchFilter):
    """DRF's search, with a bad `search=` (a null character) answered as that field's message."""

    def get_search_terms(self, request: Request) -> list[str]:
        try:
            return super().get_search_terms(request)
        except ValidationError as exc:
            raise ValidationError({self.search_param: exc.detail}) from exc


class OrderingFilter(drf_filters.OrderingFilter):
    """DRF's ordering, except that a field the list cannot be ordered by is a 400 naming the
    fields it can be ordered by (DRF drops it silently and orders the default way)."""

    def remove_invalid_fields(
        self, queryset: QuerySet[Any], fields: Iterable[str], view: APIView, request: Request
    ) -> list[str]:
        fields = [term for term in fields if term]
        valid = [name for name, _label in self.get_valid_fields(queryset, view, {"request": request})]
        unknown = [term for term in fields if term != "?" and term.lstrip("-+") not in valid]
        if unknown:
            message = (
                f"Cannot order by {', '.join(unknown)}; use one of: {', '.join(valid) or 'none'} "
                "(prefix - for descending)."
            )
            raise ValidationError({self.ordering_param: [message]})
        return super().remove_invalid_fields(queryset, fields, view, request)

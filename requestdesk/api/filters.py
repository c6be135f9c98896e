"""django-filter filters that speak MongoDB: ids are 24-hex ObjectId strings."""

from bson import ObjectId
from django import forms
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema_field


class ObjectIdFormField(forms.CharField):
    default_error_messages = {"invalid": "“%(value)s” is not a valid id."}

    def to_python(self, value):
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

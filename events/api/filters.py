"""Filters of the events API."""

from django_filters import rest_framework as filters

from requestdesk.api.filters import ObjectIdFilter

from ..models import AuditLog


class AuditLogFilter(filters.FilterSet):
    actor = ObjectIdFilter(field_name="actor")
    created_after = filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = AuditLog
        fields = ["event_type", "actor", "source", "object_type", "object_id"]

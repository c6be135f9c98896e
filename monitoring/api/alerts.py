"""REST endpoints of the monitoring app under /api/v1/monitoring/ (routed by monitoring.api.urls).

alert-rules  CRUD; who manages scraping projects manages their rules (the same roles)
alerts       list (cursor pages, newest first; filter by rule, project, kind) and detail

Both are scoped by the tenant viewset base: another company's ids are 404.
"""

from __future__ import annotations

from typing import Any

from rest_framework.serializers import BaseSerializer

from requestdesk.api.pagination import CursorPagination
from tenants.api.viewsets import TenantReadOnlyViewSet, TenantViewSet

from ..models import Alert, AlertRule
from .serializers.alerts import AlertRuleSerializer, AlertSerializer


class AlertRuleViewSet(TenantViewSet):
    queryset = AlertRule.objects.all()
    serializer_class = AlertRuleSerializer
    filterset_fields = ["project", "kind", "enabled"]
    search_fields = ["name", "word"]
    ordering_fields = ["name", "created_at", "updated_at"]

    def perform_create(self, serializer: BaseSerializer[Any], **fields: Any) -> None:
        super().perform_create(serializer, created_by=self.request.user, **fields)


class AlertViewSet(TenantReadOnlyViewSet):
    queryset = Alert.objects.all()
    serializer_class = AlertSerializer
    pagination_class = CursorPagination
    cursor_fields = ("created_at",)
    filterset_fields = ["rule", "project", "kind"]
    ordering_fields = ["created_at"]

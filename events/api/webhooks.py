"""REST endpoints for webhooks and their deliveries (company admins only).

The signing secret is shown in the create and rotate-secret responses, never in list or
detail (it is stored encrypted). Event names come from the one catalogue,
`events.catalogue`; any other name is a 400. Sending goes through Celery: test and
redeliver answer 202 with the new delivery.
"""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from requestdesk.api.pagination import CursorPagination
from requestdesk.api.soft_delete import SoftDeleteViewSetMixin
from tenants.api.viewsets import TenantReadOnlyViewSet, TenantViewSet
from tenants.roles import Role

from ..models import Webhook, WebhookDelivery
from ..services import webhooks
from .serializers import WebhookDeliverySerializer, WebhookSecretSerializer, WebhookSerializer


class _CompanyAdminOnly:
    read_role = Role.COMPANY_ADMIN
    write_role = Role.COMPANY_ADMIN


def _accepted(delivery) -> Response:
    return Response(WebhookDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)


class WebhookViewSet(SoftDeleteViewSetMixin, _CompanyAdminOnly, TenantViewSet):
    """Webhook endpoints of the request's company."""

    queryset = Webhook.objects.all()
    serializer_class = WebhookSerializer
    filterset_fields = ["enabled"]
    search_fields = ["name", "url"]
    ordering_fields = ["name", "created_at", "last_success_at", "last_failure_at"]

    @extend_schema(responses={201: WebhookSecretSerializer})
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        self.perform_create(serializer)
        return Response(WebhookSecretSerializer(serializer.instance).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={202: WebhookDeliverySerializer})
    @action(detail=True, methods=["post"])
    def test(self, request, pk=None):
        return _accepted(webhooks.send_test_event(self.get_object(), source="api"))

    @extend_schema(request=None, responses=WebhookSecretSerializer)
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request, pk=None):
        webhook = webhooks.rotate_secret(webhook=self.get_object())
        self.record_audit("secret_rotated", webhook)
        return Response(WebhookSecretSerializer(webhook).data)

    @extend_schema(responses=WebhookDeliverySerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=CursorPagination)
    def deliveries(self, request, pk=None):
        queryset = WebhookDelivery.objects.for_company(self.company).filter(webhook=self.get_object())
        page = self.paginate_queryset(queryset.order_by("-created_at"))
        return self.get_paginated_response(WebhookDeliverySerializer(page, many=True).data)


class WebhookDeliveryViewSet(_CompanyAdminOnly, TenantReadOnlyViewSet):
    """Deliveries of the request's company's webhooks (kept 7 days), with every attempt."""

    queryset = WebhookDelivery.objects.all()
    serializer_class = WebhookDeliverySerializer
    pagination_class = CursorPagination
    filterset_fields = ["status", "event_type", "event_id", "webhook"]
    ordering_fields = ["created_at"]

    @extend_schema(request=None, responses={202: WebhookDeliverySerializer})
    @action(detail=True, methods=["post"])
    def redeliver(self, request, pk=None):
        try:
            return _accepted(webhooks.redeliver(self.get_object()))
        except webhooks.WebhookDisabled as exc:
            raise serializers.ValidationError({"detail": str(exc)})

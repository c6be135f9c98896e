"""REST endpoints for webhooks and their deliveries (company admins only).

The signing secret is shown in the create and rotate-secret responses, never in list or
detail (it is stored encrypted). Event names come from the one catalogue,
`tenants.webhooks.EVENTS`; any other name is a 400. Sending goes through Celery: test and
redeliver answer 202 with the new delivery.
"""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from requestdesk import outbound
from requestdesk.api.pagination import CursorPagination
from requestdesk.api.serializers import MongoModelSerializer
from requestdesk.api.soft_delete import SoftDeleteViewSetMixin
from tenants.roles import Role
from tenants.viewsets import TenantReadOnlyViewSet, TenantViewSet

from ..models import Webhook, WebhookDelivery
from ..services import webhooks


class WebhookSerializer(MongoModelSerializer):
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=webhooks.SUBSCRIBABLE),
        allow_empty=False,
        help_text=f"Event types to receive; “{webhooks.ALL_EVENTS}” receives every event.",
    )

    class Meta:
        model = Webhook
        fields = [
            "id",
            "name",
            "url",
            "events",
            "enabled",
            "consecutive_failures",
            "disabled_reason",
            "last_success_at",
            "last_failure_at",
            "created_by",
            "company",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_by", "created_at", "updated_at"]

    def validate_url(self, value):
        try:
            outbound.check_url(value)
        except outbound.UnsafeURL as exc:
            raise serializers.ValidationError(str(exc))
        return value

    def validate_events(self, value):
        return webhooks.check_events(value)

    def create(self, validated_data):
        request = self.context.get("request")
        return webhooks.create_webhook(created_by=getattr(request, "user", None), **validated_data)

    def update(self, instance, validated_data):
        return webhooks.update_webhook(webhook=instance, **validated_data)


class WebhookSecretSerializer(WebhookSerializer):
    secret = serializers.CharField(
        read_only=True,
        help_text=(
            "The signing secret (`whsec_` + base64, the Standard Webhooks format); shown only in this response."
        ),
    )

    class Meta(WebhookSerializer.Meta):
        fields = WebhookSerializer.Meta.fields + ["secret"]


class WebhookDeliverySerializer(MongoModelSerializer):
    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "webhook",
            "event_id",
            "event_type",
            "payload",
            "status",
            "attempts",
            "next_attempt_at",
            "completed_at",
            "company",
            "created_at",
        ]
        read_only_fields = fields


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

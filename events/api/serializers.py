"""Serializers of the events API: audit log entries, notifications, webhooks (with the
signing secret only where it is shown once) and deliveries."""

from rest_framework import serializers

from requestdesk import outbound
from requestdesk.api.serializers import MongoModelSerializer

from .. import catalogue
from ..models import AuditLog, Notification, Webhook, WebhookDelivery
from ..services import webhooks


class AuditLogSerializer(MongoModelSerializer):
    class Meta:
        model = AuditLog
        fields = [
            "id",
            "created_at",
            "company",
            "actor",
            "actor_repr",
            "source",
            "event_type",
            "object_type",
            "object_id",
            "object_repr",
            "changes",
            "metadata",
        ]
        read_only_fields = fields


class NotificationSerializer(MongoModelSerializer):
    class Meta:
        model = Notification
        fields = ["id", "type", "title", "message", "read", "read_at", "metadata", "created_at"]
        read_only_fields = fields


class WebhookSerializer(MongoModelSerializer):
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=catalogue.SUBSCRIBABLE),
        allow_empty=False,
        help_text=f"Event types to receive; “{catalogue.ALL_EVENTS}” receives every event.",
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
        return outbound.validate_url(value)

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

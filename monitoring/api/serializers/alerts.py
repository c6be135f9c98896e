"""Serializers of the monitoring API (on the project's MongoModelSerializer): every id given
must be visible to the caller's company (a project or an assignee of another one is a 400)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from content.api.serializers.tickets import ASSIGNABLE_ROLES
from requestdesk.api.serializers import MongoModelSerializer
from tenants.models import User

from ...models import Alert, AlertRule
from ...models.alerts import rule_errors
from ...services.alerts import phrase

KIND_FIELDS = ("kind", "threshold", "drop", "word")


class AlertRuleSerializer(MongoModelSerializer):
    class Meta:
        model = AlertRule
        fields = [
            "id",
            "project",
            "name",
            "kind",
            "window_hours",
            "threshold",
            "min_results",
            "drop",
            "word",
            "open_ticket",
            "ticket_assignee",
            "ticket_priority",
            "enabled",
            "created_by",
            "company",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_by", "created_at", "updated_at"]

    def validate_word(self, value: str) -> str:
        value = value.strip()
        if value and not phrase(value):
            raise serializers.ValidationError("Give a word or phrase with letters or digits.")
        return value

    def validate_ticket_assignee(self, user: User | None) -> User | None:
        if user is not None and (user.role not in ASSIGNABLE_ROLES or not user.is_active):
            raise serializers.ValidationError("Assign an active writer, manager or admin of this company.")
        return user

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """What the rule's kind needs, from the input or (on a change) the stored rule."""
        attrs = super().validate(attrs)
        current = {name: getattr(self.instance, name, None) for name in KIND_FIELDS}
        merged = {**current, **{name: attrs[name] for name in KIND_FIELDS if name in attrs}}
        errors = rule_errors(
            kind=merged["kind"] or "", threshold=merged["threshold"], drop=merged["drop"], word=merged["word"] or ""
        )
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class AlertSerializer(MongoModelSerializer):
    class Meta:
        model = Alert
        fields = [
            "id",
            "rule",
            "project",
            "kind",
            "window_start",
            "window_end",
            "value",
            "baseline",
            "limit",
            "count",
            "result_ids",
            "title",
            "ticket",
            "notifications",
            "deliveries",
            "fired_at",
            "company",
            "created_at",
        ]
        read_only_fields = fields

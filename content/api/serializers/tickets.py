"""Tickets: who may set which status, who may assign them, and to whom."""

from __future__ import annotations

from rest_framework import serializers

from requestdesk.api.serializers import MongoModelSerializer
from tenants.roles import Role, at_least

from ...models import TICKET_FLOW, Ticket, TicketStatus
from ...services import tickets
from .base import TenantContextMixin, checked_status, unique_tags

ASSIGNABLE_ROLES = {Role.CONTENT_WRITER, Role.CONTENT_MANAGER, Role.COMPANY_ADMIN}
CLIENT_STATUSES = {TicketStatus.OPEN, TicketStatus.CLOSED}  # a client may withdraw or reopen a request


class TicketSerializer(TenantContextMixin, MongoModelSerializer):
    class Meta:
        model = Ticket
        fields = [
            "id",
            "title",
            "description",
            "status",
            "priority",
            "created_by",
            "assigned_to",
            "agent",
            "due_date",
            "tags",
            "links",
            "company",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_by", "links", "created_at", "updated_at"]

    def validate_status(self, value):
        role = self.tenant.role
        if (
            not at_least(role, Role.CONTENT_WRITER)
            and value not in CLIENT_STATUSES
            and value != getattr(self.instance, "status", TicketStatus.OPEN)
        ):
            raise serializers.ValidationError("A client may only close or reopen a ticket.")
        if self.instance is None:
            if value != TicketStatus.OPEN:
                raise serializers.ValidationError("A new ticket is open.")
            return value
        return checked_status(TICKET_FLOW, self.instance.status, value)

    def validate_assigned_to(self, user):
        current = getattr(self.instance, "assigned_to_id", None)
        if (user.pk if user else None) != current and not at_least(self.tenant.role, Role.CONTENT_MANAGER):
            raise serializers.ValidationError("Only content managers and admins assign tickets.")
        if user is not None and (user.role not in ASSIGNABLE_ROLES or not user.is_active):
            raise serializers.ValidationError("Assign an active writer, manager or admin of this company.")
        return user

    def validate_tags(self, value):
        return unique_tags(value)

    def update(self, instance, validated_data):
        return tickets.update_ticket(ticket=instance, **validated_data)

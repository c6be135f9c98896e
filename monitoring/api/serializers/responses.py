"""What `POST /api/v1/scraping/results/{id}/respond/` takes: an `action` ("ticket" or
"pipeline"), then that action's fields. A ticket's fields are validated by content's ticket
serializer (who may assign, to whom), a run's by the same tenant-scoped fields as a context's.
And what `GET /api/v1/scraping/results/{id}/responses/` answers: the tickets and runs opened
from the result."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from content.api.serializers.contexts import ContextListSerializer
from content.api.serializers.tickets import TicketSerializer
from content.models import Pipeline
from knowledge.models import Agent
from requestdesk.api.serializers import RelatedField

from ...selectors.responses import LIMIT

TICKET, PIPELINE = "ticket", "pipeline"
ACTIONS = (TICKET, PIPELINE)


class RespondActionSerializer(serializers.Serializer[dict[str, Any]]):
    """Which response: a ticket about the result, or a pipeline run drafting a response."""

    action = serializers.ChoiceField(choices=ACTIONS)


class RespondTicketSerializer(TicketSerializer):
    """A ticket about the result: 201 with the ticket. The title defaults to "Respond to:
    <the result's title>"; assigning takes a content manager or more, as on the tickets API."""

    action = serializers.ChoiceField(choices=[TICKET])

    class Meta(TicketSerializer.Meta):
        fields = ["action", "title", "priority", "assigned_to"]
        read_only_fields: list[str] = []
        extra_kwargs = {"title": {"required": False, "allow_blank": True}}


class RespondPipelineSerializer(serializers.Serializer[dict[str, Any]]):
    """A run of one of the company's active pipelines whose context carries the result: 202
    with the context; 503 and nothing stored while the task queue is down."""

    action = serializers.ChoiceField(choices=[PIPELINE])
    pipeline = RelatedField(queryset=Pipeline.objects.all())
    agent = RelatedField(queryset=Agent.objects.all(), required=False, allow_null=True)
    priority = serializers.IntegerField(min_value=0, max_value=100, required=False)
    instructions = serializers.CharField(required=False, allow_blank=True, max_length=4000)


INPUTS: dict[str, type[serializers.BaseSerializer[Any]]] = {
    TICKET: RespondTicketSerializer,
    PIPELINE: RespondPipelineSerializer,
}


class ResultResponsesSerializer(serializers.Serializer[Any]):
    """The tickets (those you see) and pipeline runs opened from a result, newest first."""

    tickets = TicketSerializer(many=True, read_only=True)
    contexts = ContextListSerializer(many=True, read_only=True)
    more = serializers.BooleanField(
        read_only=True, help_text=f"More than {LIMIT} tickets or runs link the result; the newest are not guaranteed."
    )

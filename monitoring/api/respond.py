"""Responding to one scraped result: `POST /api/v1/scraping/results/{id}/respond/` in one step,
and `GET .../responses/`, what was opened from it.

* `{"action": "ticket", "title"?, "assigned_to"?, "priority"?}`: 201 with a ticket about the
  result, linking it (who may create and assign as on the tickets API);
* `{"action": "pipeline", "pipeline": id, "agent"?, "priority"?, "instructions"?}`: 202 with
  a context of the pipeline carrying the result and linking it, queued for the workers as on
  the contexts API (503 and nothing stored while the task queue is down).

`GET /api/v1/scraping/results/{id}/responses/`: the tickets (those the caller sees, as on the
tickets API) and the contexts linking the result, newest first.

The result is read through the tenant viewset base: another company's result is a 404, and so
are its pipelines, agents and users in the body (a 400 naming the field).
"""

from __future__ import annotations

from typing import Any, cast

from drf_spectacular.utils import OpenApiResponse, PolymorphicProxySerializer, extend_schema, inline_serializer
from rest_framework import serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from content.api.errors import ContentErrorsMixin
from content.api.serializers.contexts import ContextSerializer
from content.api.serializers.tickets import TicketSerializer
from events.services import audit
from requestdesk.api.queueing import accepted_or_503
from scraping.models import Result
from tenants.api.viewsets import TenantViewSetMixin
from tenants.models import User
from tenants.roles import Role

from ..selectors.responses import responses_to
from ..services import responding
from .serializers.responses import (
    INPUTS,
    PIPELINE,
    RespondActionSerializer,
    RespondPipelineSerializer,
    RespondTicketSerializer,
    ResultResponsesSerializer,
)

RESPOND_REQUEST = PolymorphicProxySerializer(
    component_name="ResultRespond",
    serializers={"ticket": RespondTicketSerializer, "pipeline": RespondPipelineSerializer},
    resource_type_field_name="action",
)
QUEUE_DOWN = OpenApiResponse(
    inline_serializer("QueueUnavailable", {"detail": serializers.CharField(), "code": serializers.CharField()}),
    description="The task queue is down (action pipeline): `code` is queue_unavailable; nothing was stored.",
)


class ResultRespondViewSet(ContentErrorsMixin, TenantViewSetMixin, viewsets.GenericViewSet[Result]):
    """Responding to a result. The least role is the one that creates a ticket or runs a
    pipeline through their own APIs (a client); assigning is for content managers and up."""

    queryset = Result.objects.defer("terms", "search")
    serializer_class = RespondActionSerializer
    read_role = write_role = Role.CLIENT

    @extend_schema(
        request=RESPOND_REQUEST,
        responses={
            201: OpenApiResponse(TicketSerializer, description="The ticket (action ticket)."),
            202: OpenApiResponse(ContextSerializer, description="The queued context (action pipeline)."),
            503: QUEUE_DOWN,
        },
    )
    def respond(self, request: Request, pk: str | None = None) -> Response:
        """Open a ticket about the result, or start a pipeline run whose context carries it."""
        result = self.get_object()
        chosen = RespondActionSerializer(data=request.data)
        chosen.is_valid(raise_exception=True)
        action = chosen.validated_data["action"]
        body = INPUTS[action](data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        values: dict[str, Any] = dict(body.validated_data)
        if action == PIPELINE:
            return self._run(result, values)
        ticket = responding.open_ticket_for(
            result,
            user=cast(User, request.user),  # RolePermission: signed in
            title=values.get("title") or None,
            assigned_to=values.get("assigned_to"),
            priority=values.get("priority"),
        )
        self.record_audit("created", ticket, changes=audit.field_changes(None, ticket))
        data = TicketSerializer(ticket, context=self.get_serializer_context()).data
        return Response(data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=ResultResponsesSerializer)
    def responses(self, request: Request, pk: str | None = None) -> Response:
        """The tickets and pipeline runs opened from the result (their `links` name it)."""
        result = self.get_object()
        found = responses_to(result, user=cast(User, request.user), role=cast(str, self.tenant.role))
        return Response(ResultResponsesSerializer(found, context=self.get_serializer_context()).data)

    def _run(self, result: Result, values: dict[str, Any]) -> Response:
        def start() -> object:
            return responding.start_run_for(
                result,
                user=cast(User, self.request.user),  # RolePermission: signed in
                pipeline=values["pipeline"],
                agent=values.get("agent"),
                priority=values.get("priority"),
                instructions=values.get("instructions", ""),
            )

        def accepted(context: Any) -> Any:
            self.record_audit("created", context)
            return ContextSerializer(context).data

        return accepted_or_503(start, serialize=accepted)

"""REST endpoints for conversations and messages, with the chat itself:
POST /knowledge/conversations/{id}/messages/ answers as JSON, or as server-sent events
with `"stream": true` (or `Accept: text/event-stream`)."""

from __future__ import annotations

import json

from django.http import FileResponse, StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import parsers, renderers, serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response

from requestdesk.api.pagination import CursorPagination
from requestdesk.api.renderers import JSONEncoder, JSONRenderer
from requestdesk.api.soft_delete import SoftDeleteViewSetMixin
from tenants.api.viewsets import TenantReadOnlyViewSet, TenantViewSet
from tenants.roles import Role, at_least

from ..models import Conversation, Message
from ..selectors import conversation_search
from ..selectors.conversations import conversation_messages, without_deleted_conversations
from ..services import attachments, chat, conversations
from . import filters
from .errors import KnowledgeErrorsMixin, provider_status
from .serializers.chat import (
    AttachmentUploadSerializer,
    ConversationSerializer,
    MessageEditSerializer,
    MessageSerializer,
    PostMessageSerializer,
    ReactionSerializer,
)

EVENT_STREAM = "text/event-stream"
CUSTOM_PREFIX = "custom."
MAX_TAGS, MAX_CUSTOM = 10, 5
SEARCH_PARAMETERS = [
    OpenApiParameter(
        "q",
        str,
        description=(
            "Words to search for in the tags (10 points a word) and the custom field values (5 points); any word may "
            "match. Ranked by score, then newest started_at; each row carries its `score`. Messages are not searched."
        ),
    ),
    OpenApiParameter(
        "tags",
        str,
        description=(
            f"Comma-separated tags (at most {MAX_TAGS}): only conversations carrying ALL of them (case-insensitive)."
        ),
    ),
    OpenApiParameter(
        "custom.{key}",
        str,
        description=(
            "Any parameter named custom.<key>: only conversations whose metadata.custom_fields[<key>] equals the value "
            f"(case-insensitive; string, number or boolean fields; at most {MAX_CUSTOM})."
        ),
    ),
]


class EventStreamRenderer(renderers.BaseRenderer):
    """Lets a client ask for `Accept: text/event-stream`; errors before the stream opens
    are rendered as one event."""

    media_type = EVENT_STREAM
    format = "sse"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return sse({"type": "error", **(data if isinstance(data, dict) else {"detail": data})})


def sse(data: dict) -> str:
    return f"data: {json.dumps(data, cls=JSONEncoder)}\n\n"


class MessagePagination(CursorPagination):
    """A conversation's messages, oldest first, by cursor (stable while new messages arrive)."""

    page_size = 50


def _message(message, request) -> dict:
    return MessageSerializer(message, context={"request": request}).data


class _OwnConversationsMixin:
    """Below content manager, a caller sees only the conversations they started."""

    def own_only(self) -> bool:
        return not at_least(self.tenant.role, Role.CONTENT_MANAGER)


class ConversationViewSet(SoftDeleteViewSetMixin, _OwnConversationsMixin, KnowledgeErrorsMixin, TenantViewSet):
    queryset = Conversation.objects.all()
    serializer_class = ConversationSerializer
    read_role = write_role = Role.CLIENT
    action_roles = {"destroy": Role.CONTENT_MANAGER}
    filterset_class = filters.ConversationFilter
    ordering_fields = ["started_at", "updated_at"]

    def get_queryset(self):
        queryset = super().get_queryset()
        return queryset.filter(user=self.request.user) if self.own_only() else queryset

    @extend_schema(parameters=SEARCH_PARAMETERS)
    def list(self, request, *args, **kwargs):
        """The conversations, newest first; with ?q= ranked by search score (see the parameters)."""
        queryset = self.filter_queryset(self.get_queryset())
        required = required_postings(request.query_params)
        query = request.query_params.get("q", "")
        if query.strip():
            if len(query) > 500:
                raise ValidationError({"q": ["At most 500 characters."]})
            try:
                queryset = conversation_search.search(queryset, company=self.company, query=query, required=required)
            except ValueError as exc:
                raise ValidationError({"q": [str(exc)]})
        elif required:
            queryset = conversation_search.filtered(queryset, company=self.company, required=required)
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def perform_create(self, serializer, **fields):
        super().perform_create(serializer, user=self.request.user, started_at=timezone.now(), **fields)

    @extend_schema(methods=["GET"], responses=MessageSerializer(many=True))
    @extend_schema(
        methods=["POST"],
        request=PostMessageSerializer,
        responses={
            201: inline_serializer("ChatReply", {"user_message": MessageSerializer(), "message": MessageSerializer()})
        },
    )
    @action(
        detail=True,
        methods=["get", "post"],
        pagination_class=MessagePagination,  # by cursor, in the schema too
        renderer_classes=[JSONRenderer, renderers.BrowsableAPIRenderer, EventStreamRenderer],
    )
    def messages(self, request, pk=None):
        """GET: the messages, oldest first, by cursor. POST: send a message; the agent answers."""
        conversation = self.get_object()
        if request.method == "GET":
            paginator = MessagePagination()
            page = paginator.paginate_queryset(conversation_messages(conversation), request, view=self)
            return paginator.get_paginated_response(
                MessageSerializer(page, many=True, context={"request": request}).data
            )
        data = PostMessageSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        options = dict(
            content=data.validated_data["content"],
            attachments=data.validated_data.get("attachments", ()),
            conversation=conversation,
            user=request.user,
        )
        streamed = data.validated_data["stream"] or EVENT_STREAM in request.META.get("HTTP_ACCEPT", "")
        try:
            if streamed:
                return self._stream(chat.open_stream(**options))
            user_message, message = chat.reply(**options)
        except chat.ConversationClosed as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        except chat.ChatFailed as failed:
            return Response(
                {
                    "detail": str(failed.error),
                    "error": failed.error.kind,
                    "user_message": _message(failed.user_message, request),
                    "message": _message(failed.message, request),
                },
                status=provider_status(failed.error),
            )
        return Response(
            {"user_message": _message(user_message, request), "message": _message(message, request)},
            status=status.HTTP_201_CREATED,
        )

    def _stream(self, opened) -> StreamingHttpResponse:
        request = self.request

        def events():
            yield sse({"type": "start", "user_message": _message(opened.user_message, request)})
            stream = chat.stream_events(opened)
            try:
                for kind, value in stream:
                    if kind == "delta":
                        yield sse({"type": "delta", "content": value})
                    elif kind == "done":
                        yield sse({"type": "done", "message_id": str(value.pk), "message": _message(value, request)})
                    else:
                        yield sse(
                            {
                                "type": "error",
                                "detail": str(value.error),
                                "error": value.error.kind,
                                "message_id": str(value.message.pk),
                                "message": _message(value.message, request),
                            }
                        )
            finally:
                stream.close()  # a client that went away: its partial answer is stored now

        response = StreamingHttpResponse(events(), content_type=EVENT_STREAM)
        response["Cache-Control"] = "no-cache"
        response["X-Accel-Buffering"] = "no"
        return response

    def _transition(self, change):
        conversation = change(conversation=self.get_object())
        self.record_audit(conversation.status, conversation)
        return Response(self.get_serializer(conversation).data)

    @extend_schema(request=None, responses=ConversationSerializer)
    @action(detail=True, methods=["post"])
    def end(self, request, pk=None):
        return self._transition(conversations.end_conversation)

    @extend_schema(request=None, responses=ConversationSerializer)
    @action(detail=True, methods=["post"])
    def archive(self, request, pk=None):
        return self._transition(conversations.archive_conversation)

    @extend_schema(request=None, responses=inline_serializer("MessagesRead", {"updated": serializers.IntegerField()}))
    @action(detail=True, methods=["post"])
    def read(self, request, pk=None):
        """Read receipts: every message the caller did not send, read now."""
        count = conversations.mark_conversation_read(conversation=self.get_object(), user=request.user)
        return Response({"updated": count})


def required_postings(params) -> list[str]:
    """The postings ?tags= and ?custom.<key>= ask every match to hold (400 on bad values)."""
    errors, required = {}, []
    tags = [tag.strip() for tag in params.get("tags", "").split(",") if tag.strip()]
    if len(tags) > MAX_TAGS or any(len(tag) > 50 for tag in tags):
        errors["tags"] = [f"At most {MAX_TAGS} tags of at most 50 characters each."]
    required += [conversation_search.tag_posting(tag) for tag in tags]
    custom = [(name[len(CUSTOM_PREFIX) :], value) for name, value in params.items() if name.startswith(CUSTOM_PREFIX)]
    for key, value in custom:
        if not key.strip() or len(key) > 50 or not value.strip() or len(value) > 200:
            errors[f"{CUSTOM_PREFIX}{key}"] = ["Give a field name (at most 50 characters) and a value (1-200)."]
    if len(custom) > MAX_CUSTOM:
        errors["custom"] = [f"At most {MAX_CUSTOM} custom field filters."]
    if errors:
        raise ValidationError(errors)
    return list(dict.fromkeys(required + [conversation_search.field_posting(key, value) for key, value in custom]))


class MessageViewSet(_OwnConversationsMixin, KnowledgeErrorsMixin, TenantReadOnlyViewSet):
    """Messages (sent through a conversation; a user edits their own text by PATCH), their
    attachments, reactions and receipts."""

    queryset = Message.objects.all()
    serializer_class = MessageSerializer
    pagination_class = CursorPagination
    read_role = write_role = Role.CLIENT
    filterset_class = filters.MessageFilter
    ordering_fields = ["created_at"]

    def get_queryset(self):
        queryset = without_deleted_conversations(super().get_queryset(), self.company)
        if self.own_only():
            own = Conversation.objects.for_company(self.company).filter(user=self.request.user)
            queryset = queryset.filter(conversation__in=list(own.values_list("pk", flat=True)))
        return queryset

    @extend_schema(request=ReactionSerializer, responses=MessageSerializer)
    @action(detail=True, methods=["post", "delete"])
    def reactions(self, request, pk=None):
        """POST {"emoji"}: react (once per emoji); DELETE {"emoji"} or ?emoji=: take it back."""
        message = self.get_object()
        data = ReactionSerializer(data=request.data or request.query_params)
        data.is_valid(raise_exception=True)
        change = conversations.add_reaction if request.method == "POST" else conversations.remove_reaction
        return Response(
            _message(change(message=message, user=request.user, emoji=data.validated_data["emoji"]), request)
        )

    @extend_schema(request=MessageEditSerializer, responses=MessageSerializer)
    def partial_update(self, request, *args, **kwargs):
        """Edit the text of a message you sent: sets metadata.edited_at."""
        message = self.get_object()
        data = MessageEditSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        before = message.content
        try:
            conversations.edit_message(message=message, user=request.user, content=data.validated_data["content"])
        except conversations.NotEditable as exc:
            raise PermissionDenied(str(exc))
        self.record_audit("updated", message, changes={"content": {"old": before, "new": message.content}})
        return Response(_message(message, request))

    @extend_schema(
        methods=["GET"],
        parameters=[
            OpenApiParameter("key", str, required=True, description=("The attachment's key (its `url` carries it)."))
        ],
        responses={(200, "application/octet-stream"): OpenApiResponse(OpenApiTypes.BINARY, description="The file.")},
    )
    @extend_schema(
        methods=["POST"],
        request={"multipart/form-data": AttachmentUploadSerializer},
        responses={201: MessageSerializer},
    )
    @action(detail=True, methods=["get", "post"], parser_classes=[parsers.MultiPartParser, parsers.FormParser])
    def attachments(self, request, pk=None):
        """POST (multipart, `file`): attach a file to the message; GET ?key=: download it."""
        message = self.get_object()
        if request.method == "GET":
            key = request.query_params.get("key", "")
            found = attachments.find(message, key) if key else None
            if found is None:
                raise ValidationError({"key": ["Give the key of one of this message's uploaded attachments."]})
            response = FileResponse(
                attachments.open_file(found), as_attachment=True, filename=found.name, content_type=found.type
            )
            response["X-Content-Type-Options"] = "nosniff"
            return response
        data = AttachmentUploadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            stored = attachments.attach(message=message, upload=data.validated_data["file"])
        except attachments.AttachmentRefused as exc:
            raise ValidationError({exc.field: [str(exc)]})
        self.record_audit("updated", message, changes={"attachments": {"old": None, "new": stored.name}})
        return Response(_message(message, request), status=status.HTTP_201_CREATED)

    def _receipt(self, receipt):
        message = self.get_object()
        conversations.mark(message_ids=[message.pk], receipt=receipt)
        message.refresh_from_db()
        return Response(_message(message, self.request))

    @extend_schema(request=None, responses=MessageSerializer)
    @action(detail=True, methods=["post"])
    def read(self, request, pk=None):
        return self._receipt("read_at")

    @extend_schema(request=None, responses=MessageSerializer)
    @action(detail=True, methods=["post"])
    def delivered(self, request, pk=None):
        return self._receipt("delivered_at")

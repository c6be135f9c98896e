"""REST endpoints for conversations and messages, with the chat itself:
POST /knowledge/conversations/{id}/messages/ answers as JSON, or as server-sent events
with `"stream": true` (or `Accept: text/event-stream`)."""

from __future__ import annotations

import json

from django.http import StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import renderers, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from requestdesk.api.pagination import CursorPagination
from requestdesk.api.renderers import JSONEncoder, JSONRenderer
from requestdesk.api.soft_delete import SoftDeleteViewSetMixin
from tenants.roles import Role, at_least
from tenants.viewsets import TenantReadOnlyViewSet, TenantViewSet

from . import filters, selectors
from .api_errors import KnowledgeErrorsMixin, provider_status
from .models import Conversation, Message
from .serializers import ConversationSerializer, MessageSerializer, PostMessageSerializer, ReactionSerializer
from .services import chat, conversations

EVENT_STREAM = "text/event-stream"


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


def _message(message) -> dict:
    return MessageSerializer(message).data


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

    def perform_create(self, serializer, **fields):
        super().perform_create(serializer, user=self.request.user, started_at=timezone.now(), **fields)

    @extend_schema(methods=["GET"], responses=MessageSerializer(many=True))
    @extend_schema(methods=["POST"], request=PostMessageSerializer, responses={201: inline_serializer(
        "ChatReply", {"user_message": MessageSerializer(), "message": MessageSerializer()})})
    @action(detail=True, methods=["get", "post"], pagination_class=MessagePagination,  # by cursor, in the schema too
            renderer_classes=[JSONRenderer, renderers.BrowsableAPIRenderer, EventStreamRenderer])
    def messages(self, request, pk=None):
        """GET: the messages, oldest first, by cursor. POST: send a message; the agent answers."""
        conversation = self.get_object()
        if request.method == "GET":
            paginator = MessagePagination()
            page = paginator.paginate_queryset(selectors.conversation_messages(conversation), request, view=self)
            return paginator.get_paginated_response(MessageSerializer(page, many=True).data)
        data = PostMessageSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        options = dict(content=data.validated_data["content"], attachments=data.validated_data.get("attachments", ()),
                       conversation=conversation, user=request.user)
        streamed = data.validated_data["stream"] or EVENT_STREAM in request.META.get("HTTP_ACCEPT", "")
        try:
            if streamed:
                return self._stream(chat.open_stream(**options))
            user_message, message = chat.reply(**options)
        except chat.ConversationClosed as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        except chat.ChatFailed as failed:
            return Response({"detail": str(failed.error), "error": failed.error.kind,
                             "user_message": _message(failed.user_message), "message": _message(failed.message)},
                            status=provider_status(failed.error))
        return Response({"user_message": _message(user_message), "message": _message(message)},
                        status=status.HTTP_201_CREATED)

    def _stream(self, opened) -> StreamingHttpResponse:
        def events():
            yield sse({"type": "start", "user_message": _message(opened.user_message)})
            stream = chat.stream_events(opened)
            try:
                for kind, value in stream:
                    if kind == "delta":
                        yield sse({"type": "delta", "content": value})
                    elif kind == "done":
                        yield sse({"type": "done", "message_id": str(value.pk), "message": _message(value)})
                    else:
                        yield sse({"type": "error", "detail": str(value.error), "error": value.error.kind,
                                   "message_id": str(value.message.pk), "message": _message(value.message)})
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


class MessageViewSet(_OwnConversationsMixin, KnowledgeErrorsMixin, TenantReadOnlyViewSet):
    """Messages (read-only; they are sent through a conversation), their reactions and receipts."""

    queryset = Message.objects.all()
    serializer_class = MessageSerializer
    pagination_class = CursorPagination
    read_role = write_role = Role.CLIENT
    filterset_class = filters.MessageFilter
    ordering_fields = ["created_at"]

    def get_queryset(self):
        queryset = selectors.without_deleted_conversations(super().get_queryset(), self.company)
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
        return Response(_message(change(message=message, user=request.user, emoji=data.validated_data["emoji"])))

    def _receipt(self, receipt):
        message = self.get_object()
        conversations.mark(message_ids=[message.pk], receipt=receipt)
        message.refresh_from_db()
        return Response(_message(message))

    @extend_schema(request=None, responses=MessageSerializer)
    @action(detail=True, methods=["post"])
    def read(self, request, pk=None):
        return self._receipt("read_at")

    @extend_schema(request=None, responses=MessageSerializer)
    @action(detail=True, methods=["post"])
    def delivered(self, request, pk=None):
        return self._receipt("delivered_at")

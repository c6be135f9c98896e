"""Serializers of conversations and messages, and of what the chat's actions take."""

from __future__ import annotations

from rest_framework import serializers

from requestdesk.api.serializers import EmbeddedField, MongoModelSerializer

from ...models import Attachment, Conversation, Message


class ConversationSerializer(MongoModelSerializer):
    score = serializers.SerializerMethodField(help_text="The search score of a ?q= search (null otherwise).")

    class Meta:
        model = Conversation
        fields = [
            "id",
            "agent",
            "contact_id",
            "user",
            "channel",
            "status",
            "started_at",
            "ended_at",
            "tags",
            "metadata",
            "score",
            "company",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["user", "status", "started_at", "ended_at", "created_at", "updated_at"]
        extra_kwargs = {"agent": {"required": True, "allow_null": False}}

    def get_score(self, conversation) -> int | None:
        return getattr(conversation, "score", None)

    def validate_agent(self, value):
        if self.instance is not None and value != self.instance.agent:
            raise serializers.ValidationError("A conversation keeps its agent; start a new conversation.")
        return value


class MessageSerializer(MongoModelSerializer):
    class Meta:
        model = Message
        fields = [
            "id",
            "conversation",
            "sender_type",
            "role",
            "content",
            "message_type",
            "status",
            "attachments",
            "ai_metadata",
            "metadata",
            "company",
            "created_at",
        ]
        read_only_fields = fields

    def to_representation(self, instance):
        """An uploaded file's `url` is stored as the API path that serves it; the answer gives
        it absolute, as the schema's `uri` says (an attachment sent as a link keeps its own)."""
        data = super().to_representation(instance)
        request = self.context.get("request")
        for attachment in data.get("attachments") or ():
            url = attachment.get("url") or ""
            if request is not None and url.startswith("/"):
                attachment["url"] = request.build_absolute_uri(url)
        return data


class PostMessageSerializer(serializers.Serializer):
    content = serializers.CharField(max_length=20_000)
    attachments = serializers.ListField(child=EmbeddedField(Attachment), required=False, max_length=20)
    stream = serializers.BooleanField(default=False, help_text="Answer as server-sent events.")


class MessageEditSerializer(serializers.Serializer):
    content = serializers.CharField(max_length=20_000)


class AttachmentUploadSerializer(serializers.Serializer):
    file = serializers.FileField(
        help_text="At most KNOWLEDGE_ATTACHMENT_MAX_BYTES; an image, PDF, audio, MP4 "
        "video or UTF-8 text file (the type is read from the content)."
    )


class ReactionSerializer(serializers.Serializer):
    emoji = serializers.CharField(max_length=32)

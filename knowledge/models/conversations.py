"""Conversations and their messages, with their indexes.

The indexes on optional fields (contact_id, user_id) are partial indexes here: the backend
stores a missing value as null, which a sparse index would still index. The indexes the
model Meta cannot express (user_id where it is an ObjectId, a path into ai_metadata, the
text index on metadata.custom_fields) are created by migration 0002.

Search (knowledge.selectors.conversation_search): a conversation keeps `search_terms`, weighted postings
of its words ("15:refund": 10 for a word of its tags, 5 for a word of its custom field values),
rebuilt on every save (a queryset update() of tags or metadata bypasses it). Attachments keep their file in the attachments storage
(knowledge.services.attachments) under `path`; `url` is where the API serves it."""

from django.db import models
from django.db.models import Q
from django_mongodb_backend.fields import ArrayField, EmbeddedModelArrayField, EmbeddedModelField
from django_mongodb_backend.models import EmbeddedModel

from requestdesk.soft_delete import SoftDeletable
from tenants.scoping import TenantScoped


class ConversationMetadata(EmbeddedModel):
    source = models.CharField(max_length=100, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=500, blank=True)
    custom_fields = models.JSONField(default=dict, blank=True)


class Conversation(SoftDeletable, TenantScoped):
    CHANNELS = [(c, c) for c in ("chat", "voice", "video", "email", "sms")]
    ACTIVE, ENDED, ARCHIVED = "active", "ended", "archived"
    STATUSES = [(s, s) for s in (ACTIVE, ENDED, ARCHIVED)]

    # Indexed as the lead of (agent, status, started_at), which also serves its SET_NULL.
    agent = models.ForeignKey(
        "knowledge.Agent", null=True, on_delete=models.SET_NULL, related_name="conversations", db_index=False
    )
    contact_id = models.CharField(max_length=100, blank=True, help_text="The CRM contact, if any.")
    user = models.ForeignKey(
        "tenants.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    # Filtered within a company only: (company, status | channel, started_at) serve them. An index
    # of their few values alone would cost every write and, for a tenant's filter, read every
    # tenant's rows of that value.
    channel = models.CharField(max_length=10, choices=CHANNELS, default="chat")
    status = models.CharField(max_length=10, choices=STATUSES, default=ACTIVE)
    started_at = models.DateTimeField(db_index=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    tags = ArrayField(models.CharField(max_length=50), default=list, blank=True)
    metadata = EmbeddedModelField(ConversationMetadata, null=True, blank=True)
    search_terms = ArrayField(models.CharField(max_length=80), default=list, blank=True, editable=False)

    class Meta:
        db_table = "conversations"
        ordering = ["-started_at"]
        indexes = [
            models.Index(fields=["contact_id"], condition=Q(contact_id__gt=""), name="conv_contact_partial"),
            models.Index(fields=["company", "status", "started_at"], name="conv_company_status_started"),
            models.Index(fields=["company", "channel", "started_at"], name="conv_company_channel_started"),
            models.Index(fields=["agent", "status", "started_at"], name="conv_agent_status_started"),
            models.Index(fields=["contact_id", "started_at"], name="conv_contact_started"),
            models.Index(fields=["user", "started_at"], name="conv_user_started"),
            models.Index(fields=["company", "search_terms", "started_at"], name="conv_company_terms_started"),
        ]

    def __str__(self):
        return f"{self.channel} conversation {self.pk}"

    def save(self, *args, **kwargs):
        from ..selectors.conversation_search import postings  # the postings are the search's own format

        self.search_terms = postings(self)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and {"tags", "metadata"} & set(update_fields):
            kwargs["update_fields"] = {*update_fields, "search_terms"}
        super().save(*args, **kwargs)


class Attachment(EmbeddedModel):
    """A file sent with a message: where to get it (`url`), and, for a file uploaded here,
    its storage name (`path`), sha256 and when it was stored."""

    url = models.URLField(max_length=2000)
    type = models.CharField(max_length=100)
    name = models.CharField(max_length=255)
    size = models.PositiveIntegerField(null=True, blank=True)
    key = models.CharField(max_length=32, blank=True, help_text="Names an uploaded file in its download URL.")
    path = models.CharField(max_length=500, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    uploaded_at = models.DateTimeField(null=True, blank=True)


class AIMetadata(EmbeddedModel):
    model = models.CharField(max_length=100, blank=True)
    tokens_used = models.PositiveIntegerField(null=True, blank=True)
    prompt_tokens = models.PositiveIntegerField(null=True, blank=True)
    completion_tokens = models.PositiveIntegerField(null=True, blank=True)
    response_time_ms = models.FloatField(null=True, blank=True)
    temperature = models.FloatField(null=True, blank=True)
    finish_reason = models.CharField(max_length=30, blank=True)
    error = models.CharField(max_length=500, blank=True)


class Reaction(EmbeddedModel):
    emoji = models.CharField(max_length=32)
    user_id = models.CharField(max_length=24)
    created_at = models.DateTimeField()


class Citation(EmbeddedModel):
    """Where an answer's context came from: the chunk and its source item."""

    chunk_id = models.CharField(max_length=24)
    collection_id = models.CharField(max_length=24)
    source_type = models.CharField(max_length=20)
    source_id = models.CharField(max_length=200)
    title = models.CharField(max_length=500, blank=True)
    url = models.CharField(max_length=2000, blank=True)
    score = models.FloatField(default=0)


class MessageMetadata(EmbeddedModel):
    read_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    edited_at = models.DateTimeField(null=True, blank=True)
    reactions = EmbeddedModelArrayField(Reaction, default=list, blank=True)
    citations = EmbeddedModelArrayField(Citation, default=list, blank=True)


class Message(TenantScoped):
    SENDERS = [(s, s) for s in ("user", "agent", "system")]
    ROLES = [(r, r) for r in ("user", "assistant", "system")]
    TYPES = [(t, t) for t in ("text", "audio", "video", "file", "image", "system")]
    SENT, FAILED = "sent", "failed"
    STATUSES = [(SENT, "sent"), (FAILED, "failed")]

    # Indexed as the lead of (conversation, created_at) and its siblings, which serve its cascade too.
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages", db_index=False)
    # Filtered within a company or a conversation only (its list, the API's filters): the indexes
    # below serve them, not one of their few values alone.
    sender_type = models.CharField(max_length=10, choices=SENDERS)
    role = models.CharField(max_length=10, choices=ROLES)
    content = models.TextField(blank=True)
    message_type = models.CharField(max_length=10, choices=TYPES, default="text")
    status = models.CharField(max_length=10, choices=STATUSES, default=SENT)
    attachments = EmbeddedModelArrayField(Attachment, default=list, blank=True)
    ai_metadata = EmbeddedModelField(AIMetadata, null=True, blank=True)
    metadata = EmbeddedModelField(MessageMetadata, default=MessageMetadata, blank=True)

    class Meta:
        db_table = "messages"
        ordering = ["created_at"]
        indexes = [
            models.Index(fields=["conversation", "created_at"], name="msg_conv_created"),
            models.Index(fields=["company", "-created_at"], name="msg_company_created"),
            models.Index(fields=["company", "conversation", "created_at"], name="msg_company_conv_created"),
            models.Index(fields=["conversation", "sender_type", "created_at"], name="msg_conv_sender_created"),
            models.Index(fields=["conversation", "message_type"], name="msg_conv_type"),
        ]

    def __str__(self):
        return f"{self.role}: {self.content[:40]}"

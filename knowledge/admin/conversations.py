"""Admin for conversations (with their messages inline) and messages, read-only but for a
conversation's own fields."""

from django.contrib import admin

from requestdesk.soft_delete_admin import SoftDeleteAdminMixin
from tenants.admin.base import ReadOnlyTenantAdmin, TenantAdmin

from ..models import Conversation, Message


class MessageInline(admin.TabularInline):
    model = Message
    fields = ["created_at", "role", "status", "content"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Conversation)
class ConversationAdmin(SoftDeleteAdminMixin, TenantAdmin):
    list_display = ["__str__", "agent", "channel", "status", "user", "started_at"]
    list_filter = ["status", "channel"]
    search_fields = ["contact_id", "tags"]
    readonly_fields = ["started_at", "ended_at", "created_at", "updated_at"]
    exclude = ["metadata"]
    inlines = [MessageInline]


@admin.register(Message)
class MessageAdmin(ReadOnlyTenantAdmin):
    list_display = ["created_at", "conversation", "role", "status", "short_content", "model"]
    list_filter = ["role", "status", "sender_type"]
    search_fields = ["content"]
    exclude = ["attachments", "ai_metadata", "metadata"]
    readonly_fields = ["ai", "citations", "receipts"]

    @admin.display(description="AI metadata")
    def ai(self, obj):
        meta = obj.ai_metadata
        if meta is None:
            return "–"
        return (
            f"{meta.model} · {meta.tokens_used or 0} tokens · {meta.response_time_ms or 0:.0f} ms · "
            f"finish: {meta.finish_reason or '–'}{' · error: ' + meta.error if meta.error else ''}"
        )

    @admin.display(description="citations")
    def citations(self, obj):
        cited = obj.metadata.citations if obj.metadata else []
        return "; ".join(f"{c.title or c.source_id} ({c.url or c.source_type})" for c in cited) or "–"

    @admin.display(description="read / delivered")
    def receipts(self, obj):
        meta = obj.metadata
        return f"{meta.read_at or '–'} / {meta.delivered_at or '–'}" if meta else "–"

    @admin.display(description="content")
    def short_content(self, obj):
        return obj.content[:80]

    @admin.display(description="model")
    def model(self, obj):
        return obj.ai_metadata.model if obj.ai_metadata else ""

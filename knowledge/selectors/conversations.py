"""Reads of conversations and their messages that are more than a filter (the conversations'
search is knowledge.selectors.conversation_search). Every read starts from a tenant-scoped
queryset (`for_company`)."""

from __future__ import annotations

from ..models import Conversation, Message

HISTORY_MESSAGES = 20


def without_deleted_conversations(messages, company):
    """`messages` less those of the company's deleted conversations."""
    deleted = list(Conversation.all_objects.for_company(company).deleted().values_list("pk", flat=True))
    return messages.exclude(conversation__in=deleted) if deleted else messages


def conversation_messages(conversation):
    return Message.objects.for_company(conversation.company_id).filter(conversation=conversation)


def recent_history(conversation, *, before, limit: int = HISTORY_MESSAGES) -> list[Message]:
    """The last `limit` sent user/assistant messages before `before`, oldest first."""
    queryset = (
        conversation_messages(conversation)
        .filter(
            status=Message.SENT,
            role__in=["user", "assistant"],
            created_at__lte=before.created_at,
        )
        .exclude(pk=before.pk)
        .order_by("-created_at")
    )
    return list(reversed(queryset[:limit]))

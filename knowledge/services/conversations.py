"""Conversations: start, end, archive; message reactions and read/delivered receipts.

Receipts and reactions change one path inside a message's embedded metadata with atomic
updates (`$set` / `$push` / `$pull`), so concurrent readers and reactors never overwrite
each other's changes. The ids updated always come from tenant-scoped querysets, and each
update goes through raw(Message, company=...) with the message's own company.
"""

from __future__ import annotations

from django.utils import timezone

from requestdesk.db.collections import raw

from ..models import Conversation, Message
from ..selectors.conversations import conversation_messages

RECEIPTS = ("read_at", "delivered_at")


def start_conversation(
    *, company, agent, user=None, channel: str = "chat", contact_id: str = "", tags=(), metadata=None
) -> Conversation:
    return Conversation.objects.create(
        company_id=getattr(company, "pk", company),
        agent=agent,
        user=user,
        channel=channel,
        contact_id=contact_id,
        tags=list(tags),
        metadata=metadata,
        started_at=timezone.now(),
    )


def end_conversation(*, conversation: Conversation) -> Conversation:
    if conversation.status == Conversation.ACTIVE:
        conversation.status, conversation.ended_at = Conversation.ENDED, timezone.now()
        conversation.save(update_fields=["status", "ended_at", "updated_at"])
    return conversation


def archive_conversation(*, conversation: Conversation) -> Conversation:
    conversation.ended_at = conversation.ended_at or timezone.now()
    conversation.status = Conversation.ARCHIVED
    conversation.save(update_fields=["status", "ended_at", "updated_at"])
    return conversation


def _messages(company):
    """The messages collection of `company` (raw(), tenant-scoped)."""
    return raw(Message, company=company)


def _column(name: str) -> str:
    return f"{Message._meta.get_field('metadata').column}.{name}"


def mark(*, message_ids, receipt: str, at=None) -> int:
    """Set `receipt` (read_at or delivered_at) on those of the messages that have none;
    reading a message also delivers it. Returns how many messages changed."""
    if receipt not in RECEIPTS:
        raise ValueError(f"receipt must be one of {RECEIPTS}")
    at = at or timezone.now()
    rows = list(Message.objects.filter(pk__in=list(message_ids)).values_list("pk", "company_id", "metadata"))
    metadata = {pk: meta for pk, _, meta in rows}
    company_of = {pk: company_id for pk, company_id, _ in rows}
    changed = set()
    for name in [receipt, "delivered_at"] if receipt == "read_at" else [receipt]:
        unset: dict = {}  # company -> ids of its messages without `name`
        for pk, meta in metadata.items():
            if meta is None or getattr(meta, name) is None:
                unset.setdefault(company_of[pk], []).append(pk)
        # two readers at the same moment: the later "now" may win; both are the read time
        for company_id, ids in unset.items():
            _messages(company_id).update_many({"_id": {"$in": ids}}, {"$set": {_column(name): at}})
            changed.update(ids)
    return len(changed)


def mark_conversation_read(*, conversation: Conversation, user) -> int:
    """Everything in the conversation that the caller did not send, read now."""
    others = conversation_messages(conversation).exclude(sender_type="user", role="user")
    return mark(message_ids=others.values_list("pk", flat=True), receipt="read_at")


def add_reaction(*, message: Message, user, emoji: str) -> Message:
    """One reaction per (user, emoji): any earlier one is pulled, then this one pushed (two
    concurrent adds by the same user may leave two; removing takes all of them)."""
    reaction = {"emoji": emoji, "user_id": str(user.pk), "created_at": timezone.now()}
    remove_reaction(message=message, user=user, emoji=emoji, refresh=False)
    _messages(message.company_id).update_one({"_id": message.pk}, {"$push": {_column("reactions"): reaction}})
    message.refresh_from_db(fields=["metadata"])
    return message


def remove_reaction(*, message: Message, user, emoji: str, refresh: bool = True) -> Message:
    _messages(message.company_id).update_one(
        {"_id": message.pk}, {"$pull": {_column("reactions"): {"emoji": emoji, "user_id": str(user.pk)}}}
    )
    if refresh:
        message.refresh_from_db(fields=["metadata"])
    return message


class NotEditable(PermissionError):
    """Only the sender may edit a message, and only a user's message."""


def edit_message(*, message: Message, user, content: str) -> Message:
    """Replace a user's message text and set metadata.edited_at (one atomic $set); the
    previous text is not kept. NotEditable unless `user` sent it: a user message in a
    conversation `user` started."""
    if message.sender_type != "user" or message.role != "user":
        raise NotEditable("Only a user's message can be edited.")
    if message.conversation.user_id != user.pk:
        raise NotEditable("Only the user who sent a message can edit it.")
    _messages(message.company_id).update_one(
        {"_id": message.pk}, {"$set": {"content": content, _column("edited_at"): timezone.now()}}
    )
    message.refresh_from_db(fields=["content", "metadata"])
    return message

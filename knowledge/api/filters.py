"""FilterSets of the knowledge API: ids are filtered as ObjectIds without looking them up
(an unknown or another tenant's id matches nothing; a malformed one is a 400)."""

from django_filters import rest_framework as filters

from requestdesk.api.filters import ObjectIdFilter

from ..models import Agent, Conversation, KnowledgeChunk, KnowledgeCollection, Message, SyncHistory


def filterset(model, *, ids=(), fields=()):
    """A FilterSet for `model`: ObjectIdFilter for each of `ids`, exact filters for `fields`."""
    meta = type("Meta", (), {"model": model, "fields": [*ids, *fields]})
    attrs = {name: ObjectIdFilter(field_name=name) for name in ids}
    return type(f"{model.__name__}Filter", (filters.FilterSet,), {**attrs, "Meta": meta})


AgentFilter = filterset(Agent, ids=["provider"], fields=["model", "shopify_enabled", "wordpress_enabled"])
CollectionFilter = filterset(KnowledgeCollection, ids=["agent"], fields=["source_type"])
ChunkFilter = filterset(KnowledgeChunk, ids=["collection"], fields=["source_type", "source_id"])
SyncHistoryFilter = filterset(SyncHistory, ids=["collection"], fields=["status", "sync_type", "trigger"])
ConversationFilter = filterset(Conversation, ids=["agent", "user"], fields=["status", "channel", "contact_id"])
MessageFilter = filterset(Message, ids=["conversation"], fields=["sender_type", "role", "message_type", "status"])

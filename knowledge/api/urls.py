"""The knowledge app's routes under /api/v1/: its viewsets, registered on the one router
(`register`), and the search of every collection (`urlpatterns`)."""

from django.urls import path

from .agents import AgentViewSet, LLMProviderViewSet
from .chat import ConversationViewSet, MessageViewSet
from .collections import KnowledgeChunkViewSet, KnowledgeCollectionViewSet, SearchView, SyncHistoryViewSet


def register(router):
    router.register("knowledge/providers", LLMProviderViewSet, basename="llmprovider")
    router.register("knowledge/agents", AgentViewSet, basename="agent")
    router.register("knowledge/collections", KnowledgeCollectionViewSet, basename="knowledgecollection")
    router.register("knowledge/chunks", KnowledgeChunkViewSet, basename="knowledgechunk")
    router.register("knowledge/sync-history", SyncHistoryViewSet, basename="synchistory")
    router.register("knowledge/conversations", ConversationViewSet, basename="conversation")
    router.register("knowledge/messages", MessageViewSet, basename="message")


def urlpatterns():
    return [path("knowledge/search/", SearchView.as_view(), name="knowledge-search")]

"""Models of the knowledge app, one module per topic."""

from .agents import Agent, LLMProvider  # noqa: F401
from .collections import KnowledgeChunk, KnowledgeCollection, SourceType, SyncHistory  # noqa: F401
from .conversations import (  # noqa: F401
    AIMetadata,
    Attachment,
    Citation,
    Conversation,
    ConversationMetadata,
    Message,
    MessageMetadata,
    Reaction,
)
from .uploads import PendingUpload  # noqa: F401

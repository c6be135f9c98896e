"""Chat: a user message in, the agent's answer out, grounded in its collections.

The user's message is stored first, whatever happens next. The agent retrieves from its
collections (hybrid search), then calls its provider's chat completion (OpenAI-compatible)
with its system prompt, the sources, and the recent history. The answer is stored with
ai_metadata (model, tokens, response time, finish reason) and citations of the chunks it
was given. A provider failure (401, 429, timeout, ...) stores a failed assistant message
with the reason (ai_metadata.finish_reason "error") and raises ChatFailed.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.utils import timezone

from ..models import Agent, AIMetadata, Citation, Conversation, LLMProvider, Message, MessageMetadata
from ..selectors.conversations import recent_history
from . import llm, rerank, retrieval
from .crypto import EncryptionKeyError
from .embeddings import DimensionMismatch
from .llm import ProviderError

DEFAULT_SYSTEM_PROMPT = "You are a helpful assistant."
SOURCES_INTRO = (
    "Answer from the sources below when they are relevant, and cite them by number like [1]. "
    "If they do not contain the answer, say so."
)
CONTEXT_CHUNKS = 5


class ConversationClosed(ValueError):
    """Only an active conversation takes new messages."""


class ChatFailed(Exception):
    def __init__(self, error: ProviderError, *, user_message: Message, message: Message):
        super().__init__(str(error))
        self.error, self.user_message, self.message = error, user_message, message


@dataclass
class Turn:
    conversation: Conversation
    user_message: Message
    agent: Agent | None = None
    provider: LLMProvider | None = None
    hits: list = field(default_factory=list)
    prompt: list = field(default_factory=list)
    started: float = 0.0


def provider_for(agent: Agent) -> LLMProvider | None:
    """The agent's own provider, else the company's active provider listing its model, else
    the company's first active provider."""
    providers = LLMProvider.objects.for_company(agent.company_id)
    if agent.provider_id:
        return providers.filter(pk=agent.provider_id).first()
    active = providers.filter(is_active=True)
    return active.filter(models__contains=[agent.model]).first() or active.first()


def build_prompt(agent: Agent, history: list[Message], content: str, hits: list) -> list[dict]:
    system = agent.system_prompt or DEFAULT_SYSTEM_PROMPT
    if hits:
        sources = "\n\n".join(
            f"[{n}] {hit.title or hit.source_id}{f' ({hit.url})' if hit.url else ''}\n{hit.content}"
            for n, hit in enumerate(hits, start=1)
        )
        system = f"{system}\n\n{SOURCES_INTRO}\n\n{sources}"
    return [
        {"role": "system", "content": system},
        *({"role": m.role, "content": m.content} for m in history),
        {"role": "user", "content": content},
    ]


def post_user_message(*, conversation: Conversation, user, content: str, attachments=()) -> Message:
    if conversation.status != Conversation.ACTIVE:
        raise ConversationClosed(f"This conversation is {conversation.status}; start a new one.")
    message = Message.objects.create(
        company_id=conversation.company_id,
        conversation=conversation,
        sender_type="user",
        role="user",
        content=content,
        attachments=list(attachments),
        metadata=MessageMetadata(delivered_at=timezone.now()),
    )
    _touch(conversation)
    return message


def _touch(conversation) -> None:
    Conversation.objects.filter(pk=conversation.pk).update(updated_at=timezone.now())


def _prepare(conversation: Conversation, user_message: Message) -> Turn:
    turn = Turn(conversation=conversation, user_message=user_message)
    turn.agent = Agent.objects.for_company(conversation.company_id).filter(pk=conversation.agent_id).first()
    if turn.agent is None:
        raise ProviderError("This conversation's agent no longer exists.", kind="configuration")
    turn.provider = provider_for(turn.agent)
    if turn.agent.knowledge_collection_ids:
        turn.hits = retrieval.search(
            company=conversation.company_id,
            query=user_message.content,
            collection_ids=turn.agent.knowledge_collection_ids,
            limit=CONTEXT_CHUNKS,
            reranker=rerank.for_agent(turn.agent, turn.provider),
        )
    history = recent_history(conversation, before=user_message)
    turn.prompt = build_prompt(turn.agent, history, user_message.content, turn.hits)
    return turn


def _store(turn: Turn, *, content: str, status: str, finish_reason: str, usage=None, error: str = "") -> Message:
    elapsed = round((time.perf_counter() - turn.started) * 1000, 1) if turn.started else None
    agent = turn.agent
    message = Message.objects.create(
        company_id=turn.conversation.company_id,
        conversation=turn.conversation,
        sender_type="agent",
        role="assistant",
        content=content,
        status=status,
        ai_metadata=AIMetadata(
            model=agent.model if agent else "",
            temperature=agent.temperature if agent else None,
            tokens_used=getattr(usage, "total_tokens", None),
            prompt_tokens=getattr(usage, "prompt_tokens", None),
            completion_tokens=getattr(usage, "completion_tokens", None),
            response_time_ms=elapsed,
            finish_reason=finish_reason,
            error=error[:500],
        ),
        metadata=MessageMetadata(
            delivered_at=timezone.now(), citations=[Citation(**hit.citation()) for hit in turn.hits]
        ),
    )
    _touch(turn.conversation)
    return message


def _failed(turn: Turn, error: ProviderError, content: str = "") -> ChatFailed:
    message = _store(turn, content=content, status=Message.FAILED, finish_reason="error", error=str(error))
    return ChatFailed(error, user_message=turn.user_message, message=message)


def _as_provider_error(exc: Exception, provider) -> ProviderError:
    if isinstance(exc, EncryptionKeyError):
        return ProviderError(str(exc), kind="encryption")
    if isinstance(exc, DimensionMismatch):
        return ProviderError(str(exc), kind="configuration")
    return llm.translate(exc, provider)


def _open(turn: Turn, *, stream: bool):
    turn.started = time.perf_counter()
    client = llm.client_for(turn.provider)
    options = {"stream_options": {"include_usage": True}} if stream else {}
    try:
        return client, client.chat.completions.create(
            model=turn.agent.model,
            messages=turn.prompt,
            temperature=turn.agent.temperature,
            max_tokens=turn.agent.max_tokens,
            stream=stream,
            **options,
        )
    except Exception:
        client.close()
        raise


def _begin(*, conversation, user, content, attachments, stream: bool):
    user_message = post_user_message(conversation=conversation, user=user, content=content, attachments=attachments)
    turn = Turn(conversation=conversation, user_message=user_message)
    try:
        turn = _prepare(conversation, user_message)
        client, response = _open(turn, stream=stream)
    except Exception as exc:
        raise _failed(turn, _as_provider_error(exc, turn.provider)) from exc
    return turn, client, response


def reply(*, conversation, user, content: str, attachments=()) -> tuple[Message, Message]:
    """The user's message and the agent's stored answer; ChatFailed on a provider failure."""
    turn, client, completion = _begin(
        conversation=conversation, user=user, content=content, attachments=attachments, stream=False
    )
    client.close()
    if not completion.choices:
        raise _failed(turn, ProviderError(f"“{turn.provider}” answered without a choice.", kind="bad_request"))
    choice = completion.choices[0]
    message = _store(
        turn,
        content=choice.message.content or "",
        status=Message.SENT,
        finish_reason=choice.finish_reason or "",
        usage=completion.usage,
    )
    return turn.user_message, message


@dataclass
class OpenStream:
    turn: Turn
    client: object
    chunks: object

    @property
    def user_message(self) -> Message:
        return self.turn.user_message


def open_stream(*, conversation, user, content: str, attachments=()) -> OpenStream:
    """Store the user's message and open the provider's stream; ChatFailed if it cannot be
    opened (an HTTP error arrives before the first token)."""
    return OpenStream(
        *_begin(conversation=conversation, user=user, content=content, attachments=attachments, stream=True)
    )


def stream_events(opened: OpenStream) -> Iterator[tuple[str, object]]:
    """("delta", text)... then ("done", stored message), or ("error", ChatFailed) when the
    stream breaks (what arrived so far is kept in the failed message). Closed early (the
    client disconnected), it stores what arrived as a failed message too."""
    turn, parts, finish_reason, usage = opened.turn, [], "", None
    try:
        for chunk in opened.chunks:
            usage = chunk.usage or usage
            for choice in chunk.choices or []:
                if choice.delta and choice.delta.content:
                    parts.append(choice.delta.content)
                    yield "delta", choice.delta.content
                finish_reason = choice.finish_reason or finish_reason
    except GeneratorExit:  # the client went away: keep what arrived, marked unfinished
        _store(
            turn,
            content="".join(parts),
            status=Message.FAILED,
            finish_reason="client_disconnected",
            error="The client disconnected before the answer was complete.",
        )
        raise
    except Exception as exc:
        yield "error", _failed(turn, _as_provider_error(exc, turn.provider), content="".join(parts))
        return
    finally:
        opened.client.close()
    yield "done", _store(turn, content="".join(parts), status=Message.SENT, finish_reason=finish_reason, usage=usage)

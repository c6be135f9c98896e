"""Contexts: creating and queueing them, cancelling, retrying, and their events.

Contexts are created pending and queued (`content.tasks.process_context`, one task per
context); a broker outage loses nothing: they stay pending and the `process_pending`
beat task claims them. Every status change here is a conditional update, so a cancel
racing a worker's completion ends one way only (see content.services.claiming).
"""

from __future__ import annotations

import logging

from bson import ObjectId
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from events.services import webhooks
from events.services.webhooks import emit_event
from requestdesk import queueing
from tenants.models import Company
from tenants.services import plans

from ..models import DEFAULT_PRIORITY, ComponentType, Context, ContextStatus, Pipeline
from . import pipelines
from .components.base import ConfigCache

logger = logging.getLogger(__name__)

COMPLETED_EVENT, FAILED_EVENT = "content.context.completed", "content.context.failed"
CANCELLABLE = (ContextStatus.PENDING, ContextStatus.RUNNING)
RETRYABLE = (ContextStatus.FAILED, ContextStatus.CANCELLED)


class InvalidPipeline(ValueError):
    """The pipeline cannot run: inactive, or its steps do not validate (see `messages`)."""

    def __init__(self, messages: list[str]):
        super().__init__(" ".join(messages))
        self.messages = messages


class WrongStatus(ValueError):
    """Cancel or retry asked of a context (or batch) in a status that does not allow it."""


def check_pipeline(pipeline: Pipeline) -> None:
    if not pipeline.is_active:
        raise InvalidPipeline([f"The pipeline “{pipeline.name}” is not active."])
    errors = pipelines.validate_steps(company=pipeline.company_id, steps=pipeline.steps())
    if errors:
        raise InvalidPipeline(errors)


def new_context(
    *,
    pipeline: Pipeline,
    data: dict,
    type: str = "",
    priority: int | None = None,
    agent=None,
    user=None,
    batch=None,
    metadata: dict | None = None,
    links: list[dict] | None = None,
) -> Context:
    """An unsaved context with its id already assigned (so a batch can list it); `links`
    name what it was opened from ([{"kind", "id", "url", "title"}])."""
    return Context(
        pk=ObjectId(),
        company_id=pipeline.company_id,
        pipeline=pipeline,
        data=dict(data or {}),
        type=type or pipeline.default_context_type,
        priority=DEFAULT_PRIORITY if priority is None else priority,
        agent=agent,
        user=user,
        batch=batch,
        metadata=dict(metadata or {}),
        links=list(links or []),
    )


def models_used(pipeline: Pipeline, agents) -> dict[str, list[str]]:
    """The models a run would call, by the request field that chose them: each AI generator
    step's configured model (`pipeline`) and the agents' (`agent`)."""
    used: dict[str, list[str]] = {}
    for _, step, component in pipelines.resolve_steps(pipeline):
        if component.type == ComponentType.AI_GENERATOR:
            model = {**(component.config or {}), **(step.config_overrides or {})}.get("model")
            if model:
                used.setdefault("pipeline", []).append(model)
    for agent in agents:
        if agent is not None and agent.model:
            used.setdefault("agent", []).append(agent.model)
    return used


def admit(*, pipeline: Pipeline, items: list[dict], batch_size: int | None = None, agent=None) -> Company:
    """Check the request against the company's plan (plans.NotAllowed: a 400) and count its
    contexts against today's quota (plans.QuotaExceeded: a 429, nothing counted). The caller
    gives the count back (plans.release) if it then stores nothing."""
    company = Company.objects.get(pk=pipeline.company_id)
    quota = plans.quotas(company)
    if batch_size is not None:
        plans.check_batch_size(quota, batch_size)
    if quota.allowed_models:
        agents = {a.pk: a for a in [agent, *(item.get("agent") for item in items)] if a is not None}
        for field, models in models_used(pipeline, agents.values()).items():
            for model in dict.fromkeys(models):
                plans.check_models(quota, {field: model})
    plans.reserve(company, len(items))
    return company


def create_contexts(*, pipeline: Pipeline, items: list[dict], user=None, queue: bool = True) -> list[Context]:
    """Create one context per item ({data, type, priority, agent, metadata, links}) and queue them;
    with `queue`, QueueUnavailable (nothing stored) when the broker does not answer. The
    company's plan is checked and its daily quota counted first (see `admit`)."""
    check_pipeline(pipeline)
    if queue:
        queueing.check_broker()
    company = admit(pipeline=pipeline, items=items)
    contexts = [new_context(pipeline=pipeline, user=user, **item) for item in items]
    try:
        Context.objects.bulk_create(contexts)
    except Exception:
        plans.release(company, len(items))
        raise
    if queue:
        enqueue([c.pk for c in contexts])
    return contexts


def enqueue(context_ids, *, countdown: float | None = None) -> int:
    """Queue `process_context` for each id; returns how many the broker took."""
    from ..tasks import process_context

    queued = 0
    for context_id in context_ids:
        try:
            process_context.apply_async(args=[str(context_id)], countdown=countdown)
            queued += 1
        except BrokerError:
            logger.warning("context %s not queued (broker unavailable); process_pending will run it", context_id)
            break
    return queued


def cancel(context: Context) -> Context:
    """Stop a pending or running context; its worker's later writes are refused."""
    from . import batches

    previous = context.status
    if previous not in CANCELLABLE:
        raise WrongStatus(f"Only pending or running contexts can be cancelled; this one is {previous}.")
    now = timezone.now()
    changed = Context.objects.filter(pk=context.pk, status=previous, attempt=context.attempt).update(
        status=ContextStatus.CANCELLED, error="Cancelled.", lease_until=None, next_retry_at=None, updated_at=now
    )
    if not changed:  # it moved on meanwhile (claimed, finished): decide again on what it is now
        context.refresh_from_db()
        return cancel(context)
    if context.batch_id:
        batches.context_finished(batch_id=context.batch_id, outcome="cancelled", now=now)
    context.refresh_from_db()
    return context


def retry(context: Context) -> Context:
    """Run a failed or cancelled context again (components already done are kept)."""
    from . import batches

    previous = context.status
    if previous not in RETRYABLE:
        raise WrongStatus(f"Only failed or cancelled contexts can be retried; this one is {previous}.")
    changed = Context.objects.filter(pk=context.pk, status=previous).update(
        status=ContextStatus.PENDING, retry_count=0, next_retry_at=None, error="", updated_at=timezone.now()
    )
    context.refresh_from_db()
    if not changed:  # retried by someone else meanwhile
        return retry(context)
    if context.batch_id:
        batches.context_reopened(batch_id=context.batch_id, outcome=previous, count=1)
    enqueue([context.pk])
    return context


def event_data(context: Context) -> dict:
    processing = context.processing
    return {
        "context_id": str(context.pk),
        "type": context.type,
        "status": context.status,
        "pipeline_id": str(context.pipeline_id),
        "batch_id": str(context.batch_id) if context.batch_id else None,
        "error": context.error or None,
        "retry_count": context.retry_count,
        "attempt": context.attempt,
        "started_at": processing.started_at,
        "completed_at": processing.completed_at,
        "duration_ms": processing.duration_ms,
        "component_timings": processing.component_timings,
    }


# Whether a company has a webhook subscribed to an event, per process (see ConfigCache; a
# webhook saved or deleted here is seen at once, elsewhere within CONTENT_CONFIG_CACHE_SECONDS):
# a batch's contexts whose company has no subscriber emit nothing and read nothing.
_subscribed = ConfigCache("webhooks", "events.Webhook")


def announce(context: Context) -> None:
    event = COMPLETED_EVENT if context.status == ContextStatus.COMPLETED else FAILED_EVENT
    company = context.company_id
    if _subscribed.get((company, event), lambda: webhooks.subscribers(company=company, event_type=event).exists()):
        emit_event(company=company, event_type=event, data=event_data(context), source="content")

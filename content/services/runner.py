"""Running contexts through their pipeline: what the Celery tasks do.

`process_context(context_id=...)` claims that context (or does nothing: finished, not
due, or held by a live worker); `process_pending(limit=...)` claims and runs the most
urgent ones, one after another. A claimed context runs its pipeline's components in
order. Progress (its `data`, timings and timeline, with the lease renewed) is checkpointed
before each component that calls out and by the ai_generator after each section but the
last, once CONTENT_CHECKPOINT_SECONDS passed since the run last wrote: a worker that dies
loses at most that much work, and quick steps (an LLM that answers at once) cost no write
each. Every write is conditional on the claim; the final write carries the last component's
output. A component already completed by an earlier attempt is not run again.

Outcomes:
* completed: status completed, processing.completed_at/duration_ms, event
  `content.context.completed`, the batch's completed_count + 1;
* a failure that may pass (provider rate limited, timeout, unavailable; an unexpected
  error): retry_count + 1, status back to pending, next_retry_at = now +
  CONTENT_RETRY_BASE_SECONDS * 2 ** retry_count, re-queued with that countdown;
* a failure that will not pass (provider authentication, bad request, configuration; a
  missing pipeline, component or template), or retries exhausted (CONTENT_MAX_RETRIES):
  status failed with the reason in `error`, event `content.context.failed`, the batch's
  failed_count + 1;
* lost: the claim was taken over (lease expired) or the context cancelled; nothing of
  this run is written and nothing is counted. Completion is therefore exactly once.

Database round trips per context (a Celery task, `process_context`): the context read once
(the document the run works on) and claimed on the fields read (claiming.claim_read); the
pipeline and its components read through a short per-process cache (`config`); the
progress checkpoints that are due (none when the whole run takes less than
CONTENT_CHECKPOINT_SECONDS); the final write; the event; the pipeline's day counted (one $inc upsert,
content.services.stats); the batch counted ($inc, then a read of its counters), its start
marked once per process.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from knowledge.services.llm import ProviderError

from ..models import Context, ContextStatus, Pipeline, Processing
from . import batches, claiming, components, contexts, pipelines, stats
from .claiming import Claim
from .components import ComponentError, RunState
from .components.base import PERMANENT_KINDS, ConfigCache

logger = logging.getLogger(__name__)

# Component types that call out (an LLM, an embedding provider) and may take long: progress
# is checkpointed before one runs, so that what was done is kept if the worker dies while it
# waits. The others run in memory.
CALLS_OUT = {"ai_generator", "retrieval"}
ERROR_LENGTH = 2000
COMPLETED, RETRY, FAILED, LOST = "completed", "retry", "failed", "lost"


class ClaimLost(Exception):
    """This worker no longer holds the context: stop, write nothing more."""


def retry_delay(retry_count: int) -> float:
    return settings.CONTENT_RETRY_BASE_SECONDS * 2**retry_count


def _processing_doc(processing: Processing) -> dict:
    return {
        name: getattr(processing, name)
        for name in (
            "started_at",
            "completed_at",
            "duration_ms",
            "completed_components",
            "component_timings",
            "timeline",
        )
    }


@dataclass
class Run:
    claim: Claim
    context: Context
    written: float = field(default_factory=time.monotonic)  # when this run last wrote (first: its claim)

    @property
    def processing(self) -> Processing:
        return self.context.processing

    def note(self, event: str, *, at=None, **fields) -> None:
        self.processing.timeline = [
            *(self.processing.timeline or []),
            {
                "attempt": self.claim.attempt,
                "worker": self.claim.worker,
                "event": event,
                "at": (at or timezone.now()).isoformat(),
                **fields,
            },
        ]

    def write(self, fields: dict | None = None, *, final: bool = False) -> bool:
        update = {"data": self.context.data, "processing": _processing_doc(self.processing), **(fields or {})}
        if final:
            update.update(lease_until=None)
        held = claiming.write(self.claim, update, renew=not final)
        self.written = time.monotonic()
        return held

    def checkpoint(self) -> None:
        """Progress (data, timings, timeline, and the lease renewed), once
        CONTENT_CHECKPOINT_SECONDS passed since this run last wrote; ClaimLost when refused."""
        if time.monotonic() - self.written >= settings.CONTENT_CHECKPOINT_SECONDS and not self.write():
            raise ClaimLost()


# --- the pipeline's steps, cached per process (see components.base.ConfigCache) -----------

_steps = ConfigCache("steps", "content.Pipeline", "content.Component")


def pipeline_steps(company_id, pipeline_id) -> list:
    """(timing key, step, component) of the pipeline, in order; ComponentError (not cached)
    when the pipeline or a component is gone or inactive."""

    def load():
        pipeline = Pipeline.objects.for_company(company_id).filter(pk=pipeline_id).first()
        if pipeline is None:
            raise ComponentError("The pipeline no longer exists.")
        return pipelines.resolve_steps(pipeline)

    return _steps.get((company_id, pipeline_id), load)


# --- entry points -------------------------------------------------------------------------


def process_context(*, context_id, worker: str | None = None) -> str | None:
    claimed = claiming.claim_read(context_id=context_id, worker=worker)
    return run(*claimed) if claimed else None


def process_pending(*, limit: int | None = None, worker: str | None = None, company=None) -> list[str]:
    """Claim and run contexts by priority until none is claimable or `limit` ran; their ids."""
    limit = settings.CONTENT_PENDING_LIMIT if limit is None else limit
    claimer = claiming.Claimer(worker=worker, company=company)
    done = []
    while len(done) < limit:
        claim = claimer.next()
        if claim is None:
            break
        run(claim)
        done.append(str(claim.context_id))
    return done


def run(claim: Claim, context: Context | None = None) -> str:
    """Run the claimed context (`context`: the document as claimed, when the claim read it)."""
    if context is None:
        context = Context.objects.get(pk=claim.context_id)
    current = Run(claim, context)
    if current.processing is None:
        context.processing = Processing()
    if current.processing.started_at is None:
        current.processing.started_at = timezone.now()
    if claim.recovered:
        current.note("recovered", message=f"the lease of attempt {claim.attempt - 1} expired; taken over")
    if context.batch_id:
        batches.mark_started(batch_id=context.batch_id, company=context.company_id)
    try:
        _run_pipeline(current)
    except ClaimLost:
        logger.info("context %s: claim lost (taken over or cancelled); result discarded", context.pk)
        return LOST
    except ProviderError as exc:
        return _failed(current, str(exc), permanent=exc.kind in PERMANENT_KINDS)
    except ComponentError as exc:
        return _failed(current, str(exc), permanent=exc.permanent)
    except Exception as exc:  # a bug or an outage: retried, never left running
        logger.exception("context %s failed unexpectedly", context.pk)
        return _failed(current, f"Unexpected error: {exc.__class__.__name__}: {exc}", permanent=False)
    return _completed(current)


def _run_pipeline(current: Run) -> None:
    context = current.context
    steps = pipeline_steps(context.company_id, context.pipeline_id)
    state = RunState(
        context=context, data=context.data if isinstance(context.data, dict) else {}, heartbeat=current.checkpoint
    )
    context.data = state.data
    done = set(current.processing.completed_components)
    todo = [step for step in steps if step[0] not in done]
    for n, (key, step, component) in enumerate(todo, start=1):
        following = todo[n][2] if n < len(todo) else None
        _run_component(current, state, key, step, component, save=following is not None and following.type in CALLS_OUT)


def _run_component(current: Run, state: RunState, key: str, step, component, *, save: bool) -> None:
    implementation = components.implementation(component.type)
    config = {**(component.config or {}), **(step.config_overrides or {})}
    started, clock = timezone.now(), time.perf_counter()
    facts = {"component": key, "type": component.type, "name": step.name or component.name}
    try:
        implementation.run(state, config)
    except ClaimLost:
        raise
    except Exception as exc:
        current.note(
            "component",
            at=started,
            status="error",
            error=str(exc)[:500],
            duration_ms=round((time.perf_counter() - clock) * 1000, 2),
            **facts,
        )
        raise
    elapsed = round((time.perf_counter() - clock) * 1000, 2)
    processing = current.processing
    processing.component_timings = {**(processing.component_timings or {}), key: elapsed}
    processing.completed_components = [*processing.completed_components, key]
    current.note("component", at=started, status="ok", duration_ms=elapsed, **facts)
    if save:  # before a component that calls out; after an in-memory one the final write follows soon
        current.checkpoint()


def _completed(current: Run) -> str:
    context, processing, now = current.context, current.processing, timezone.now()
    processing.completed_at = now
    processing.duration_ms = round((now - processing.started_at).total_seconds() * 1000, 2)
    current.note("completed", at=now)
    fields = {"status": ContextStatus.COMPLETED.value, "error": "", "next_retry_at": None}
    if not current.write(fields, final=True):
        return LOST
    context.status, context.error = ContextStatus.COMPLETED, ""
    _finished(context, "completed")
    return COMPLETED


def _failed(current: Run, reason: str, *, permanent: bool) -> str:
    context, now = current.context, timezone.now()
    reason = reason[:ERROR_LENGTH]
    if not permanent and context.retry_count < settings.CONTENT_MAX_RETRIES:
        retries = context.retry_count + 1
        delay = retry_delay(retries)
        current.note("retry", at=now, error=reason, retry_count=retries, retry_in_seconds=delay)
        fields = {
            "status": ContextStatus.PENDING.value,
            "error": reason,
            "retry_count": retries,
            "next_retry_at": now + timedelta(seconds=delay),
        }
        if not current.write(fields, final=True):
            return LOST
        contexts.enqueue([context.pk], countdown=delay)
        return RETRY
    if not permanent:
        reason = f"{reason} (gave up after {context.retry_count} retries)"[:ERROR_LENGTH]
    processing = current.processing
    processing.completed_at = now
    processing.duration_ms = round((now - processing.started_at).total_seconds() * 1000, 2)
    current.note("failed", at=now, error=reason)
    if not current.write({"status": ContextStatus.FAILED.value, "error": reason, "next_retry_at": None}, final=True):
        return LOST
    context.status, context.error = ContextStatus.FAILED, reason
    _finished(context, "failed")
    return FAILED


def _finished(context: Context, outcome: str) -> None:
    """Events, the pipeline's statistics and batch counters, once the final write is in
    (exactly once per run)."""
    try:
        contexts.announce(context)
    except Exception:  # the result is stored; a lost event must not turn it into a retry
        logger.exception("context %s: event not emitted", context.pk)
    try:
        stats.add(context, outcome)
    except Exception:  # the same: counters are mended by stats.rebuild
        logger.exception("context %s: not counted in the pipeline's statistics", context.pk)
    if context.batch_id:
        batches.context_finished(batch_id=context.batch_id, outcome=outcome, company=context.company_id)

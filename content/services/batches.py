"""Batches: creating them with their contexts, counting outcomes, completing once.

Counters move by `$inc` as each context finishes (completed, failed or cancelled), and
`remaining_count` down with them; the batch completes when they add up to `context_count`,
by a conditional update, so `content.batch.completed` is emitted once however many workers
finish at the same time.
A context retried after it failed takes its count back and reopens the batch.

Safety net (`reconcile`, run by the process_pending beat task): a batch still processing
long after its last update whose contexts are all finished gets its counters from the
contexts themselves (the status aggregation: contexts counted per status) and completes: a worker that died
between finishing a context and counting it cannot leave a batch open forever.

A finished batch is `completed`, `failed` (no context completed, some failed) or
`cancelled` (every context was); the `content.batch.completed` event carries which.
"""

from __future__ import annotations

from datetime import timedelta

from bson import ObjectId
from django.conf import settings
from django.utils import timezone

from events.services.webhooks import emit_event
from requestdesk import queueing
from requestdesk.db.collections import raw
from tenants.services import plans

from ..models import DEFAULT_PRIORITY, Batch, BatchStatus, Context, ContextStatus, Pipeline
from ..selectors.batches import status_counts
from . import claiming, contexts

COMPLETED_EVENT = "content.batch.completed"
OPEN = [BatchStatus.PENDING.value, BatchStatus.PROCESSING.value]
COUNTER = {"completed": "completed_count", "failed": "failed_count", "cancelled": "cancelled_count"}


class BatchTooLarge(ValueError):
    pass


def _company(batch_id, company=None):
    """The batch's company: `company` when the caller knows it, else read from the batch (None:
    no such batch). Every raw write below goes through raw(Batch, company=...)."""
    if company is not None:
        return company
    return Batch.objects.filter(pk=batch_id).values_list("company_id", flat=True).first()


def create_batch(
    *,
    pipeline: Pipeline,
    items: list[dict],
    name: str = "",
    description: str = "",
    priority: int = DEFAULT_PRIORITY,
    agent=None,
    user=None,
    metadata: dict | None = None,
    queue: bool = True,
) -> Batch:
    """A batch and its contexts (each item: {data, type, priority, agent, metadata}), queued; with
    `queue`, QueueUnavailable (nothing stored) when the broker does not answer."""
    limit = settings.CONTENT_MAX_BATCH_SIZE
    if not items or len(items) > limit:
        raise BatchTooLarge(f"A batch holds 1 to {limit} contexts; {len(items)} given.")
    contexts.check_pipeline(pipeline)
    if queue:
        queueing.check_broker()  # QueueUnavailable: nothing is stored
    company = contexts.admit(pipeline=pipeline, items=items, batch_size=len(items), agent=agent)
    batch = Batch(
        pk=ObjectId(),
        company_id=pipeline.company_id,
        pipeline=pipeline,
        name=name,
        description=description,
        priority=priority,
        created_by=user,
        metadata=dict(metadata or {}),
    )
    members = [
        contexts.new_context(
            pipeline=pipeline, user=user, batch=batch, **{"priority": priority, "agent": agent, **item}
        )
        for item in items
    ]
    batch.context_ids = [c.pk for c in members]
    batch.context_count = batch.remaining_count = len(members)
    try:
        batch.save(force_insert=True)
        Context.objects.bulk_create(members)
    except Exception:
        Batch.objects.filter(pk=batch.pk).delete()
        plans.release(company, len(members))
        raise
    if queue:
        contexts.enqueue(batch.context_ids)
    return batch


_started: set = set()  # batches this process saw started (the clock is never reset: no write needed again)


def mark_started(*, batch_id, company=None, now=None) -> None:
    """The first claim of one of its contexts starts the batch's clock (once). A process
    writes it once per batch: later contexts of a batch it saw started cost nothing."""
    if batch_id in _started:
        return
    now = now or timezone.now()
    company = _company(batch_id, company)
    if company is not None:
        raw(Batch, company=company).update_one(
            {"_id": batch_id, "processing_started_at": None},
            {"$set": {"processing_started_at": now, "status": BatchStatus.PROCESSING.value, "updated_at": now}},
        )
        if len(_started) > 10_000:
            _started.clear()
        _started.add(batch_id)


def context_finished(*, batch_id, outcome: str, count: int = 1, company=None, now=None) -> bool:
    """Count `count` contexts ending as `outcome`; True when this completed the batch.

    While more than `count` contexts remain, the count is one update guarded on that, and the
    batch cannot be complete; the last ones count unguarded, then read the counters."""
    now = now or timezone.now()
    company = _company(batch_id, company)
    if company is None:
        return False
    collection = raw(Batch, company=company)
    update = {"$inc": {COUNTER[outcome]: count, "remaining_count": -count}, "$set": {"updated_at": now}}
    if collection.update_one({"_id": batch_id, "remaining_count": {"$gt": count}}, update).matched_count:
        return False
    collection.update_one({"_id": batch_id}, update)
    return complete_if_done(batch_id=batch_id, company=company, now=now)


def context_reopened(*, batch_id, outcome: str, count: int = 1, company=None) -> None:
    """`count` contexts that had ended as `outcome` run again: uncount them, reopen the batch."""
    now = timezone.now()
    company = _company(batch_id, company)
    if company is None:
        return
    collection = raw(Batch, company=company)
    collection.update_one(
        {"_id": batch_id}, {"$inc": {COUNTER[outcome]: -count, "remaining_count": count}, "$set": {"updated_at": now}}
    )
    collection.update_one(
        {"_id": batch_id, "status": {"$nin": OPEN}},
        {"$set": {"status": BatchStatus.PROCESSING.value, "processing_completed_at": None, "total_duration_ms": None}},
    )


def complete_if_done(*, batch_id, company=None, now=None) -> bool:
    company = _company(batch_id, company)
    if company is None:
        return False
    collection = raw(Batch, company=company)
    doc = collection.find_one({"_id": batch_id})
    if doc is None:
        return False
    finished = sum(doc.get(COUNTER[name], 0) for name in COUNTER)
    if finished < doc.get("context_count", 0):
        return False
    now = now or timezone.now()
    started = doc.get("processing_started_at") or doc["created_at"]
    duration = round((now - claiming.aware(started)).total_seconds() * 1000, 2)
    status = outcome(doc)
    closed = collection.update_one(
        {"_id": batch_id, "status": {"$in": OPEN}},
        {
            "$set": {
                "status": status.value,
                "processing_completed_at": now,
                "total_duration_ms": duration,
                "updated_at": now,
            }
        },
    )
    if closed.modified_count != 1:
        return False
    batch = Batch.objects.get(pk=batch_id)
    emit_event(company=batch.company_id, event_type=COMPLETED_EVENT, data=event_data(batch), source="content")
    return True


def outcome(counters: dict) -> BatchStatus:
    """How a finished batch ended: cancelled when every context was, failed when none
    completed and some failed (a batch of failures is not "completed"), else completed."""
    if counters.get("cancelled_count", 0) == counters.get("context_count", 0):
        return BatchStatus.CANCELLED
    if not counters.get("completed_count", 0) and counters.get("failed_count", 0):
        return BatchStatus.FAILED
    return BatchStatus.COMPLETED


def cancel_batch(batch: Batch) -> int:
    """Cancel every pending or running context of the batch; returns how many."""
    ids = list(
        Context.objects.filter(pk__in=batch.context_ids, status__in=contexts.CANCELLABLE).values_list("pk", flat=True)
    )
    cancelled = sum(1 for pk in ids if _cancel_one(pk))
    complete_if_done(batch_id=batch.pk, company=batch.company_id)
    return cancelled


def _cancel_one(pk) -> bool:
    context = Context.objects.filter(pk=pk).first()
    if context is None or context.status not in contexts.CANCELLABLE:
        return False
    return contexts.cancel(context).status == ContextStatus.CANCELLED


def retry_batch(batch: Batch) -> int:
    """Run the batch's failed contexts again; returns how many."""
    failed = Context.objects.filter(pk__in=batch.context_ids, status=ContextStatus.FAILED)
    ids = list(failed.values_list("pk", flat=True))
    if not ids:
        raise contexts.WrongStatus("This batch has no failed contexts to retry.")
    changed = Context.objects.filter(pk__in=ids, status=ContextStatus.FAILED).update(
        status=ContextStatus.PENDING, retry_count=0, next_retry_at=None, error="", updated_at=timezone.now()
    )
    context_reopened(batch_id=batch.pk, outcome="failed", count=changed, company=batch.company_id)
    contexts.enqueue(ids)
    return changed


def reconcile(*, older_than: timedelta | None = None, now=None) -> int:
    """Set the counters of stale open batches from their contexts; returns how many completed."""
    now = now or timezone.now()
    cutoff = now - (older_than or claiming.lease())
    completed = 0
    for batch in Batch.objects.filter(status=BatchStatus.PROCESSING, updated_at__lt=cutoff)[:100]:
        counts = status_counts(batch_id=batch.pk, company_id=batch.company_id)
        if counts.get(ContextStatus.PENDING, 0) or counts.get(ContextStatus.RUNNING, 0):
            continue
        counters = {COUNTER[name]: counts.get(name, 0) for name in COUNTER}
        remaining = batch.context_count - sum(counters.values())
        raw(Batch, company=batch.company_id).update_one(
            {"_id": batch.pk}, {"$set": {**counters, "remaining_count": remaining}}
        )
        completed += complete_if_done(batch_id=batch.pk, company=batch.company_id, now=now)
    return completed


def event_data(batch: Batch) -> dict:
    return {
        "batch_id": str(batch.pk),
        "name": batch.name,
        "status": batch.status,
        "pipeline_id": str(batch.pipeline_id),
        **{name: getattr(batch, name) for name in Batch.COUNTERS},
        "processing_started_at": batch.processing_started_at,
        "processing_completed_at": batch.processing_completed_at,
        "total_duration_ms": batch.total_duration_ms,
    }

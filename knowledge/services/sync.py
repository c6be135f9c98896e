"""Collection sync: the listing of the collection's source (knowledge.services.sources:
WordPress and Shopify list their store whole; an incremental source lists what is new or
changed since `sync_cursor` and names what left) through ingest, recorded in SyncHistory,
run by Celery (`knowledge.tasks.sync_collection`) on demand or on a schedule (a tenants
Schedule with task "knowledge.tasks.sync_collection", subject_id = collection id). The
cursor a listing gives is stored once its sync completes.

A run is idempotent: a redelivered task whose history is finished does nothing, one whose
history is in progress runs again once its lease ran out (re-syncing changes nothing that is
already in line: chunks are replaced per source item), and is left alone while the lease is
live. One sync per collection at a time: the collection's lease (`sync_lock_*`, a
requestdesk.db.leases lease) is taken when free or run out and renewed while items come in
(a heartbeat); a second run while one holds it fails with that reason, except one queued by
a completed scrape (trigger "scrape"), which is queued again to run after it.

A run whose worker died (SIGKILL, OOM, a lost machine) leaves its history in progress and the
lease running out; `recover_lost` (beat, every KNOWLEDGE_SYNC_RECOVER_SECONDS) queues such a
history again, and the task takes it over. A run that finds its lease taken over stops
without writing its history.

An uploaded file is ingested the same way (`request_upload`): its bytes are staged in a
PendingUpload, its history (sync type "upload") is the job's progress, and the same task
runs it under the same collection lease, so an upload and a sync never run side by side and
recovery takes a lost upload over as an upload. An upload that finds the lease held waits
its turn (queued again) rather than failing. Texts and files added in a request
(`ingest.add_item`) hold no lease and are never queued: recovery leaves them alone.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from events.models import Schedule
from events.services import scheduling
from events.services.notifications import notify_company_admins
from events.services.webhooks import emit_event
from requestdesk.db import leases
from requestdesk.db.leases import Lease, LeaseLost
from requestdesk.queueing import QueueUnavailable

from ..models import KnowledgeCollection, PendingUpload, SourceType, SyncHistory
from . import ingest, sources
from .connectors.base import ConnectorError
from .crypto import EncryptionKeyError
from .embeddings import DimensionMismatch
from .extract import UnsupportedUpload, check_upload, extract_text
from .llm import ProviderError

logger = logging.getLogger(__name__)

TASK = "knowledge.tasks.sync_collection"
BUSY_RETRY_SECONDS = 5  # an upload (or a scrape's sync) that finds the lease held is queued again after this


class NotSyncable(ValueError):
    """Manual and upload collections have no source to sync from."""


EXPECTED_FAILURES = (
    ConnectorError,
    ProviderError,
    EncryptionKeyError,
    DimensionMismatch,
    UnsupportedUpload,
    NotSyncable,
)


class SyncNotQueued(QueueUnavailable):
    """The broker is unavailable; the sync history (`record`) says so."""

    @property
    def history(self):
        return self.record


def source_of(collection) -> sources.Source:
    """The registered source of the collection's type; NotSyncable for manual and upload ones."""
    source = sources.get(collection.source_type)
    if source is None:
        raise _not_syncable(collection)
    return source


def sync_type(collection) -> str:
    source = sources.get(collection.source_type)
    return source.sync_type(collection) if source else collection.source_type


def check_source(collection) -> None:
    """Raise (NotSyncable, ConnectorError, EncryptionKeyError) unless the collection can sync
    as configured; nothing is read from the source."""
    source_of(collection).check(collection)


def _not_syncable(collection) -> NotSyncable:
    return NotSyncable(
        f"A {collection.get_source_type_display()} collection has no source to sync from; "
        "add text or upload files instead."
    )


def new_history(*, collection, trigger: str) -> SyncHistory:
    source_of(collection)
    return SyncHistory.objects.create(
        company_id=collection.company_id,
        collection=collection,
        agent_id=collection.agent_id,
        sync_type=sync_type(collection),
        trigger=trigger,
    )


def _queue(history, *, what: str = "sync", countdown: float | None = None) -> None:
    """Send `history`'s task; SyncNotQueued (the history marked failed) when the broker is down."""
    from ..tasks import sync_collection

    options = {"countdown": countdown} if countdown else {}
    try:
        sync_collection.apply_async(
            kwargs={"collection_id": str(history.collection_id), "history_id": str(history.pk)}, **options
        )
    except BrokerError as exc:
        reason = f"The {what} could not be queued: the task broker is unavailable ({exc.__class__.__name__})."
        _finish(history, SyncHistory.FAILED, error=reason)
        PendingUpload.objects.filter(history_id=history.pk).delete()
        raise SyncNotQueued(reason, history) from exc


def request_sync(*, collection, trigger: str = "api") -> SyncHistory:
    """A pending history and its task on the queue. Refuses at once a collection that
    cannot sync (NotSyncable, ConnectorError, EncryptionKeyError); SyncNotQueued when the
    broker is down."""
    check_source(collection)  # the configuration is checked now; nothing is fetched yet
    history = new_history(collection=collection, trigger=trigger)
    _queue(history)
    return history


def request_upload(
    *, collection, name: str, data: bytes, title: str = "", source_id: str = "", trigger: str = "upload"
) -> SyncHistory:
    """Stage an uploaded file and queue its ingest: a pending history (its progress) and its
    task. Refuses at once what can be told without reading the text: a collection filled
    by its sync (ingest.NotAddable), an unsupported type or unreadable PDF
    (UnsupportedUpload); SyncNotQueued when the broker is down."""
    ingest.check_addable(collection)
    check_upload(name, data)
    history = SyncHistory.objects.create(
        company_id=collection.company_id, collection=collection, sync_type=SourceType.UPLOAD, trigger=trigger
    )
    PendingUpload.objects.create(
        company_id=collection.company_id,
        history=history,
        collection=collection,
        name=name,
        title=title,
        source_id=source_id,
        data=data,
    )
    _queue(history, what="upload")
    return history


def _beating(gone, lease: Lease):
    """`gone` (a listing's check of stored ids, asked batch by batch) with the heartbeat the
    items have: the lease is renewed before a batch once a third of it has passed."""
    if gone is None:
        return None

    def check(ids):
        next(lease.beat([None], every=settings.KNOWLEDGE_SYNC_LEASE_SECONDS / 3))
        return gone(ids)

    return check


def _upload_items(history):
    """The staged file of an upload history as its one source item, read now."""
    upload = PendingUpload.objects.filter(history_id=history.pk).first()
    if upload is None:
        raise UnsupportedUpload("The uploaded file is no longer available; upload it again.")
    data = bytes(upload.data)
    text = extract_text(upload.name, data)
    yield ingest.text_item(
        title=upload.title or upload.name,
        text=text,
        source_id=upload.source_id or f"upload:{upload.name}",
        metadata={"filename": upload.name, "bytes": len(data)},
    )


def _claim(collection, history, now) -> Lease | None:
    """Take the collection's lease for `history` unless a live one is held (by any run,
    this history's own included: a duplicate delivery must not run beside it)."""
    free = {"$or": [{"sync_lock_until": None}, {"sync_lock_until": {"$lt": now}}]}
    return leases.take(
        KnowledgeCollection,
        collection.pk,
        guard=free,
        holder={"sync_lock_id": str(history.pk)},
        until_field="sync_lock_until",
        seconds=settings.KNOWLEDGE_SYNC_LEASE_SECONDS,
        now=now,
    )


def _finish(history, status, *, result=None, error="") -> None:
    for name, value in (result.as_dict() if result else {}).items():
        setattr(history, name, value)
    history.status, history.error_message, history.completed_at = status, error, timezone.now()
    history.save()


def _announce(collection, history) -> None:
    if history.sync_type == SourceType.UPLOAD or sources.get(collection.source_type) is None:
        return  # the sync events tell of the syncs from a source
    completed = history.status == SyncHistory.COMPLETED
    data = {
        "collection_id": str(collection.pk),
        "sync_history_id": str(history.pk),
        "sync_type": history.sync_type,
        "trigger": history.trigger,
        "items_synced": history.items_synced,
        "items_unchanged": history.items_unchanged,
        "items_removed": history.items_removed,
        "chunks_added": history.chunks_added,
        "chunks_removed": history.chunks_removed,
        "errors": history.errors,
        "error": history.error_message,
    }
    emit_event(
        company=collection.company_id,
        source="task",
        data=data,
        event_type="knowledge.sync.completed" if completed else "knowledge.sync.failed",
    )
    if not completed and history.trigger in SyncHistory.AUTOMATIC_TRIGGERS:
        notify_company_admins(
            company=collection.company_id,
            type="knowledge.sync.failed",
            title=f"Scheduled sync of “{collection.name}” failed",
            message=history.error_message,
            metadata=data,
        )


def run_sync(*, collection_id, history_id=None, trigger: str = "schedule") -> SyncHistory | None:
    """Sync one collection from its source now (what the Celery task runs)."""
    collection = KnowledgeCollection.objects.filter(pk=collection_id).select_related("agent").first()
    history = SyncHistory.objects.filter(pk=history_id).first() if history_id else None
    gone = (
        "The collection no longer exists."
        if collection is None
        else (
            "The collection's agent was deleted."
            if collection.agent_id
            and collection.agent.is_deleted
            and (history is None or history.sync_type != SourceType.UPLOAD)
            else ""
        )
    )
    if gone:  # deleted (soft) collections and the store collections of deleted agents are not synced
        if history is not None and history.status not in (SyncHistory.COMPLETED, SyncHistory.FAILED):
            _finish(history, SyncHistory.FAILED, error=gone)
        return history
    if history is None:
        try:
            history = new_history(collection=collection, trigger=trigger)
        except NotSyncable:
            return None
    if history.status in (SyncHistory.COMPLETED, SyncHistory.FAILED):
        return history  # a redelivered task: done already
    upload = history.sync_type == SourceType.UPLOAD
    now = timezone.now()
    lease = _claim(collection, history, now)
    if lease is None:
        holder = KnowledgeCollection.objects.filter(pk=collection.pk).values_list("sync_lock_id", flat=True).first()
        if holder == str(history.pk):
            return history  # a duplicate delivery while this history's run is alive: leave it be
        if upload or history.trigger == "scrape":
            _queue(history, what="upload" if upload else "sync", countdown=BUSY_RETRY_SECONDS)  # after the live run
            return history
        _finish(history, SyncHistory.FAILED, error="Another sync of this collection is in progress.")
        _announce(collection, history)
        return history
    history.status, history.started_at = SyncHistory.IN_PROGRESS, now
    history.save(update_fields=["status", "started_at", "updated_at"])
    result = ingest.IngestResult()
    try:
        listing = (
            sources.Listing(items=_upload_items(history), complete=False)
            if upload
            else source_of(collection).listing(collection)
        )
        heartbeat = lease.beat(listing.items, every=settings.KNOWLEDGE_SYNC_LEASE_SECONDS / 3)
        ingest.ingest_items(
            collection=collection,
            items=heartbeat,
            full=listing.complete,
            gone=_beating(listing.gone, lease),
            result=result,
            source_type=SourceType.UPLOAD if upload else collection.source_type,
        )
        lease.renew()  # still ours: the history is written by the run that holds the lease only
        done = {"last_synced_at": timezone.now()}
        if not upload:
            done["sync_cursor"] = listing.cursor
        KnowledgeCollection.objects.filter(pk=collection.pk).update(**done)
        _finish(history, SyncHistory.COMPLETED, result=result)
    except LeaseLost:
        logger.warning(
            "sync %s of collection %s was taken over by another run; this one stops", history.pk, collection.pk
        )
        return history  # the staged upload stays: the run that took over reads it
    except EXPECTED_FAILURES as exc:
        _finish(history, SyncHistory.FAILED, result=result, error=str(exc))
    except Exception as exc:  # a bug or an outage: recorded, and logged with its traceback
        logger.exception("sync of collection %s failed", collection.pk)
        _finish(history, SyncHistory.FAILED, result=result, error=f"Internal error: {exc.__class__.__name__}: {exc}")
    finally:
        lease.release(sync_lock_id="")
    PendingUpload.objects.filter(history_id=history.pk).delete()
    _announce(collection, history)
    return history


# --- recovery --------------------------------------------------------------------------


def recover_lost(*, now=None) -> list[str]:
    """Queue again the syncs and uploads whose run was lost: in progress with the
    collection's lease run out (or held by no one), or still pending a lease after their
    task was sent. The task claims the lease first, so a run that is in fact alive is left
    alone. Only what a task runs is taken: texts and files added in a request (no staged
    upload) never are. Returns the ids."""
    from ..tasks import sync_collection

    now = now or timezone.now()
    stale = now - timedelta(seconds=settings.KNOWLEDGE_SYNC_LEASE_SECONDS)
    candidates = SyncHistory.objects.filter(
        Q(status=SyncHistory.IN_PROGRESS) | Q(status=SyncHistory.PENDING, created_at__lt=stale)
    ).exclude(sync_type=SourceType.MANUAL)
    rows = list(candidates.only("pk", "collection_id", "trigger", "sync_type"))
    staged = set(
        PendingUpload.objects.filter(
            history_id__in=[row.pk for row in rows if row.sync_type == SourceType.UPLOAD]
        ).values_list("history_id", flat=True)
    )
    lost = {}
    for history in rows:
        if history.sync_type == SourceType.UPLOAD and history.pk not in staged:
            continue  # added in its request: no task to run again
        lock = (
            KnowledgeCollection.objects.filter(pk=history.collection_id)
            .values("sync_lock_id", "sync_lock_until")
            .first()
        )
        if (
            lock
            and lock["sync_lock_id"] == str(history.pk)
            and lock["sync_lock_until"]
            and lock["sync_lock_until"] > now
        ):
            continue  # alive
        lost[str(history.pk)] = history

    def send(history_id):
        history = lost[history_id]
        sync_collection.apply_async(
            kwargs={"collection_id": str(history.collection_id), "history_id": history_id, "trigger": history.trigger}
        )

    return leases.requeue(lost, send, "lost sync")


# --- schedules -------------------------------------------------------------------------


def schedule_of(collection) -> Schedule | None:
    return scheduling.subject_schedule(collection.company_id, TASK, collection.pk)


def set_schedule(*, collection, interval_seconds: int, enabled: bool = True) -> Schedule:
    """Sync the collection every `interval_seconds` through the beat dispatcher
    (events.services.scheduling)."""
    schedule, _ = scheduling.set_subject_schedule(
        company_id=collection.company_id,
        task=TASK,
        subject_id=collection.pk,
        name=f"Sync {collection.name}",
        kwargs={"collection_id": str(collection.pk)},
        interval_seconds=interval_seconds,
        enabled=enabled,
    )
    return schedule


def remove_schedule(*, collection) -> bool:
    return scheduling.remove_subject_schedule(collection.company_id, TASK, collection.pk)


def remove_schedule_of_deleted_collection(sender, instance, **kwargs) -> None:
    """post_delete of a KnowledgeCollection (the purge of a soft-deleted one, the admin's
    delete, or a company's cascade): its sync schedule goes too. A soft-deleted collection
    keeps its schedule, which syncs nothing (run_sync) until it is restored or purged."""
    remove_schedule(collection=instance)

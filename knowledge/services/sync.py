"""Collection sync: the connector's complete listing through ingest, recorded in
SyncHistory, run by Celery (`knowledge.tasks.sync_collection`) on demand or on a schedule
(a tenants Schedule with task "knowledge.tasks.sync_collection", target_id = collection id).

A run is idempotent: a redelivered task whose history is finished does nothing, one whose
history is in progress runs again once its lease ran out (re-syncing changes nothing that is
already in line: chunks are replaced per source item), and is left alone while the lease is
live. One sync per collection at a time: the collection's lease (`sync_lock_*`, a
requestdesk.db.leases lease) is taken when free or run out and renewed while items come in
(a heartbeat); a second run while one holds it fails with that reason.

A run whose worker died (SIGKILL, OOM, a lost machine) leaves its history in progress and the
lease running out; `recover_lost` (beat, every KNOWLEDGE_SYNC_RECOVER_SECONDS) queues such a
history again, and the task takes it over. A run that finds its lease taken over stops
without writing its history.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from requestdesk.db import leases
from requestdesk.db.leases import Lease, LeaseLost
from requestdesk.queueing import QueueUnavailable
from tenants.events_models import Schedule
from tenants.notifications import notify_company_admins
from tenants.webhooks import emit_event

from ..models import KnowledgeCollection, SourceType, SyncHistory
from . import ingest
from .connectors import shopify, wordpress
from .connectors.base import ConnectorError
from .crypto import EncryptionKeyError, get_secret
from .embeddings import DimensionMismatch
from .llm import ProviderError

logger = logging.getLogger(__name__)

TASK = "knowledge.tasks.sync_collection"
SYNCABLE = (SourceType.WORDPRESS, SourceType.SHOPIFY)
EXPECTED_FAILURES = (ConnectorError, ProviderError, EncryptionKeyError, DimensionMismatch)


class NotSyncable(ValueError):
    """Manual and upload collections have no source to sync from."""


class SyncNotQueued(QueueUnavailable):
    """The broker is unavailable; the sync history (`record`) says so."""

    @property
    def history(self):
        return self.record


def sync_type(collection) -> str:
    if collection.source_type == SourceType.SHOPIFY:
        resources = (collection.settings or {}).get("shopify_resources", shopify.RESOURCES)
        kinds = [shopify.SYNC_TYPES[r] for r in resources if r in shopify.SYNC_TYPES]
        return kinds[0] if len(kinds) == 1 else "shopify"
    return collection.source_type


def source_items(collection):
    """The connector listing for the collection's source, with the linked agent's credentials."""
    agent, options = collection.agent, collection.settings or {}
    if collection.source_type == SourceType.WORDPRESS:
        if agent is None or not agent.wordpress_enabled:
            raise ConnectorError("Link this collection to an agent with WordPress enabled.")
        return wordpress.fetch(site_url=agent.wordpress_site_url, api_key=get_secret(agent, "wordpress_api_key"),
                               types=options.get("wordpress_types", ["posts", "pages"]))
    if collection.source_type == SourceType.SHOPIFY:
        if agent is None or not agent.shopify_enabled:
            raise ConnectorError("Link this collection to an agent with Shopify enabled.")
        return shopify.fetch(store_url=agent.shopify_store_url, access_token=get_secret(agent, "shopify_api_key"),
                             resources=options.get("shopify_resources", shopify.RESOURCES))
    raise _not_syncable(collection)


def _not_syncable(collection) -> NotSyncable:
    return NotSyncable(f"A {collection.get_source_type_display()} collection has no source to sync from; "
                       "add text or upload files instead.")


def new_history(*, collection, trigger: str) -> SyncHistory:
    if collection.source_type not in SYNCABLE:
        raise _not_syncable(collection)
    return SyncHistory.objects.create(company_id=collection.company_id, collection=collection,
                                      agent_id=collection.agent_id, sync_type=sync_type(collection), trigger=trigger)


def request_sync(*, collection, trigger: str = "api") -> SyncHistory:
    """A pending history and its task on the queue. Refuses at once a collection that
    cannot sync (NotSyncable, ConnectorError, EncryptionKeyError); SyncNotQueued when the
    broker is down."""
    from ..tasks import sync_collection

    source_items(collection)  # the configuration is checked now; nothing is fetched yet
    history = new_history(collection=collection, trigger=trigger)
    try:
        sync_collection.apply_async(kwargs={"collection_id": str(collection.pk), "history_id": str(history.pk)})
    except BrokerError as exc:
        reason = f"The sync could not be queued: the task broker is unavailable ({exc.__class__.__name__})."
        _finish(history, SyncHistory.FAILED, error=reason)
        raise SyncNotQueued(reason, history) from exc
    return history


def _claim(collection, history, now) -> Lease | None:
    """Take the collection's lease for `history` unless a live one is held (by any run,
    this history's own included: a duplicate delivery must not run beside it)."""
    free = {"$or": [{"sync_lock_until": None}, {"sync_lock_until": {"$lt": now}}]}
    return leases.take(KnowledgeCollection, collection.pk, guard=free, holder={"sync_lock_id": str(history.pk)},
                       until_field="sync_lock_until", seconds=settings.KNOWLEDGE_SYNC_LEASE_SECONDS, now=now)


def _finish(history, status, *, result=None, error="") -> None:
    for name, value in (result.as_dict() if result else {}).items():
        setattr(history, name, value)
    history.status, history.error_message, history.completed_at = status, error, timezone.now()
    history.save()


def _announce(collection, history) -> None:
    completed = history.status == SyncHistory.COMPLETED
    data = {"collection_id": str(collection.pk), "sync_history_id": str(history.pk), "sync_type": history.sync_type,
            "trigger": history.trigger, "items_synced": history.items_synced,
            "items_unchanged": history.items_unchanged, "items_removed": history.items_removed,
            "chunks_added": history.chunks_added, "chunks_removed": history.chunks_removed,
            "errors": history.errors, "error": history.error_message}
    emit_event(company=collection.company_id, source="task", data=data,
               event_type="knowledge.sync.completed" if completed else "knowledge.sync.failed")
    if not completed and history.trigger == "schedule":
        notify_company_admins(company=collection.company_id, type="knowledge.sync.failed",
                              title=f"Scheduled sync of “{collection.name}” failed",
                              message=history.error_message, metadata=data)


def run_sync(*, collection_id, history_id=None, trigger: str = "schedule") -> SyncHistory | None:
    """Sync one collection from its source now (what the Celery task runs)."""
    collection = KnowledgeCollection.objects.filter(pk=collection_id).select_related("agent").first()
    history = SyncHistory.objects.filter(pk=history_id).first() if history_id else None
    if collection is None:
        if history is not None and history.status not in (SyncHistory.COMPLETED, SyncHistory.FAILED):
            _finish(history, SyncHistory.FAILED, error="The collection no longer exists.")
        return history
    if history is None:
        try:
            history = new_history(collection=collection, trigger=trigger)
        except NotSyncable:
            return None
    if history.status in (SyncHistory.COMPLETED, SyncHistory.FAILED):
        return history  # a redelivered task: done already
    now = timezone.now()
    lease = _claim(collection, history, now)
    if lease is None:
        holder = KnowledgeCollection.objects.filter(pk=collection.pk).values_list("sync_lock_id", flat=True).first()
        if holder == str(history.pk):
            return history  # a duplicate delivery while this history's run is alive: leave it be
        _finish(history, SyncHistory.FAILED, error="Another sync of this collection is in progress.")
        _announce(collection, history)
        return history
    history.status, history.started_at = SyncHistory.IN_PROGRESS, now
    history.save(update_fields=["status", "started_at", "updated_at"])
    result = ingest.IngestResult()
    try:
        heartbeat = lease.beat(source_items(collection), every=settings.KNOWLEDGE_SYNC_LEASE_SECONDS / 3)
        ingest.ingest_items(collection=collection, items=heartbeat,
                            source_type=collection.source_type, full=True, result=result)
        lease.renew()  # still ours: the history is written by the run that holds the lease only
        KnowledgeCollection.objects.filter(pk=collection.pk).update(last_synced_at=timezone.now())
        _finish(history, SyncHistory.COMPLETED, result=result)
    except LeaseLost:
        logger.warning("sync %s of collection %s was taken over by another run; this one stops",
                       history.pk, collection.pk)
        return history
    except EXPECTED_FAILURES as exc:
        _finish(history, SyncHistory.FAILED, result=result, error=str(exc))
    except Exception as exc:  # a bug or an outage: recorded, and logged with its traceback
        logger.exception("sync of collection %s failed", collection.pk)
        _finish(history, SyncHistory.FAILED, result=result, error=f"Internal error: {exc.__class__.__name__}: {exc}")
    finally:
        lease.release(sync_lock_id="")
    _announce(collection, history)
    return history


# --- recovery --------------------------------------------------------------------------

def recover_lost(*, now=None) -> list[str]:
    """Queue again the syncs whose run was lost: in progress with the collection's lease run
    out (or held by no one), or still pending a lease after their task was sent. The task
    claims the lease first, so a sync that is in fact alive is left alone. Returns the ids."""
    from ..tasks import sync_collection

    now = now or timezone.now()
    stale = now - timedelta(seconds=settings.KNOWLEDGE_SYNC_LEASE_SECONDS)
    candidates = SyncHistory.objects.filter(
        Q(status=SyncHistory.IN_PROGRESS) | Q(status=SyncHistory.PENDING, created_at__lt=stale))
    lost = {}
    for history in candidates.only("pk", "collection_id", "trigger"):
        lock = KnowledgeCollection.objects.filter(pk=history.collection_id).values(
            "sync_lock_id", "sync_lock_until").first()
        if lock and lock["sync_lock_id"] == str(history.pk) and lock["sync_lock_until"] and lock["sync_lock_until"] > now:
            continue  # alive
        lost[str(history.pk)] = history

    def send(history_id):
        history = lost[history_id]
        sync_collection.apply_async(kwargs={"collection_id": str(history.collection_id), "history_id": history_id,
                                            "trigger": history.trigger})

    return leases.requeue(lost, send, "lost sync")


# --- schedules -------------------------------------------------------------------------

def schedule_of(collection) -> Schedule | None:
    return Schedule.objects.for_company(collection.company_id).filter(task=TASK, target_id=str(collection.pk)).first()


def set_schedule(*, collection, interval_seconds: int, enabled: bool = True) -> Schedule:
    """Sync the collection every `interval_seconds` through the beat dispatcher."""
    schedule = schedule_of(collection) or Schedule(company_id=collection.company_id, task=TASK,
                                                   target_id=str(collection.pk))
    changed_interval = schedule.pk is None or schedule.interval_seconds != interval_seconds
    schedule.name = f"Sync {collection.name}"[:100]
    schedule.kwargs = {"collection_id": str(collection.pk)}
    schedule.interval_seconds, schedule.enabled = interval_seconds, enabled
    if changed_interval or schedule.next_run is None:
        schedule.next_run = timezone.now() + timedelta(seconds=interval_seconds)
    schedule.save()
    return schedule


def remove_schedule(*, collection) -> bool:
    schedule = schedule_of(collection)
    if schedule is None:
        return False
    schedule.delete()
    return True

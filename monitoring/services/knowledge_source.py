"""Scraped results as a knowledge source: a collection of source type `scraping` holds the
results of one scraping project (settings `{"project_id": ..., "platforms": [...]}`), one
source item per result (`result:<id>`), synced by knowledge's sync machinery (histories,
lease, schedules, recovery, the `sync` API).

Incremental: a sync reads the project's results created, and those changed (`changed_at`),
since the previous sync began (less MONITORING_SYNC_OVERLAP_SECONDS), a bounded range each
on the (company, project, created_at) and (company, project, changed_at) indexes; it never
reads the project's other results. The collection's `sync_cursor` holds that moment with a
fingerprint of the settings; the first sync, and the first after the project or the
platforms changed, read the project whole (a complete listing: what it does not list leaves).

Removed results: scraping deletes results only for good (by cascade, when the purge removes
a soft-deleted target or project, or a company goes), and keeps no record of them. So an
incremental sync asks which of the collection's stored results the project no longer holds,
by their ids in batches (the `_id` index answers each), and their chunks leave.

A result's item carries its platform, date and sentiment in the text (so an answer can say
how customers feel, and a changed label re-embeds it) and in the chunk's metadata, with the
result's URL as the chunk's url (the chat's citations carry it).

After a completed scrape (`scraping.signals.results_ingested`), `queue_syncs` queues a sync
of each collection of the project; a sync that finds another running is queued again after
it (the collection's lease keeps them one at a time).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Collection, Iterator
from datetime import datetime, timedelta
from typing import Any

from bson import ObjectId
from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone
from rest_framework import serializers

from knowledge.models import KnowledgeCollection, SourceType
from knowledge.services import sync
from knowledge.services.connectors.base import ConnectorError, SourceItem
from knowledge.services.sources import Listing
from scraping.models import Project, Result, Target
from scraping.selectors.results import company_project

from .links import result_link

logger = logging.getLogger(__name__)

PREFIX = "result:"
TRIGGER = "scrape"
RESULT_FIELDS = ("pk", "platform", "content", "analysis", "published_at")
UNKNOWN_PROJECT = "No such scraping project."
PLATFORMS = [(value, label) for value, label in Target.PLATFORMS if value != Target.AUTO]


class ScrapingSource:
    """The knowledge sync source of `scraping` collections (registered by MonitoringConfig)."""

    source_type: str = SourceType.SCRAPING

    def settings_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        return {
            "project_id": serializers.CharField(
                required=False, max_length=24, help_text="Scraping collections: the project whose results it holds."
            ),
            "platforms": serializers.ListField(
                child=serializers.ChoiceField(PLATFORMS),
                required=False,
                allow_empty=False,
                help_text="Scraping collections: only the results of these platforms (none: all).",
            ),
        }

    def settings_errors(self, settings: dict[str, Any], *, company_id: Any) -> dict[str, list[str]]:
        """The project must be a live project of the collection's company; one answer for an
        unknown id and another company's (which must not show it exists)."""
        value = settings.get("project_id")
        if not value:
            return {"project_id": ["A scraping collection needs the project whose results it holds."]}
        if company_project(company_id, value) is None:
            return {"project_id": [UNKNOWN_PROJECT]}
        return {}

    def sync_type(self, collection: KnowledgeCollection) -> str:
        return SourceType.SCRAPING

    def check(self, collection: KnowledgeCollection) -> None:
        self._project(collection)

    def _project(self, collection: KnowledgeCollection) -> Project:
        project = company_project(collection.company_id, (collection.settings or {}).get("project_id"))
        if project is None:
            raise ConnectorError("The collection's scraping project no longer exists; choose another in its settings.")
        return project

    def listing(self, collection: KnowledgeCollection) -> Listing:
        project = self._project(collection)
        platforms = sorted((collection.settings or {}).get("platforms") or [])
        key = _fingerprint(project.pk, platforms)
        began = timezone.now()
        since = _since(collection.sync_cursor, key)
        results = _results(project, platforms)
        cursor = f"{key}@{began.isoformat()}"
        if since is None:
            return Listing(items=_items(results.order_by(), project.pk), complete=True, cursor=cursor)

        def gone(ids: list[str]) -> Collection[str]:
            wanted = {ObjectId(i[len(PREFIX) :]): i for i in ids if ObjectId.is_valid(i[len(PREFIX) :])}
            kept = {wanted[pk] for pk in results.filter(pk__in=list(wanted)).order_by().values_list("pk", flat=True)}
            return [i for i in ids if i not in kept]

        return Listing(items=_changed_items(results, project.pk, since), complete=False, gone=gone, cursor=cursor)


def _fingerprint(project_id: ObjectId, platforms: list[str]) -> str:
    return hashlib.sha256(f"{project_id}|{','.join(platforms)}".encode()).hexdigest()[:16]


def _since(cursor: str, key: str) -> datetime | None:
    """Where an incremental listing starts; None when the cursor is missing or was written
    for other settings (then the project is read whole)."""
    stored_key, _, moment = (cursor or "").partition("@")
    if stored_key != key:
        return None
    try:
        began = datetime.fromisoformat(moment)
    except ValueError:
        return None
    return began - timedelta(seconds=settings.MONITORING_SYNC_OVERLAP_SECONDS)


def _results(project: Project, platforms: list[str]) -> QuerySet[Result]:
    results = Result.objects.for_company(project.company_id).filter(project_id=project.pk)
    return results.filter(platform__in=platforms) if platforms else results


def _changed_items(results: QuerySet[Result], project_id: ObjectId, since: datetime) -> Iterator[SourceItem]:
    """The results created since `since`, then those changed since (each once)."""
    seen: set[ObjectId] = set()
    for recent in (results.filter(created_at__gte=since), results.filter(changed_at__gte=since)):
        for item, pk in _with_ids(recent.order_by(), project_id):
            if pk not in seen:
                seen.add(pk)
                yield item


def _items(results: QuerySet[Result], project_id: ObjectId) -> Iterator[SourceItem]:
    for item, _ in _with_ids(results, project_id):
        yield item


def _with_ids(results: QuerySet[Result], project_id: ObjectId) -> Iterator[tuple[SourceItem, ObjectId]]:
    for result in results.only(*RESULT_FIELDS).iterator(chunk_size=200):
        yield result_item(result, project_id), result.pk


def result_item(result: Result, project_id: ObjectId) -> SourceItem:
    """`result` as one source item: a first line of platform, date, sentiment (and rating,
    author), then its text; its URL, date, platform and sentiment in the metadata."""
    content, sentiment = result.content, result.sentiment
    facts = [result.platform, result.published_at.date().isoformat()]
    if sentiment is not None:
        facts.append(f"{sentiment.label} sentiment ({sentiment.compound:+.2f})")
    if content.rating is not None:
        facts.append(f"rated {content.rating:g}")
    if content.author:
        facts.append(f"by {content.author}")
    link = result_link(result)
    return SourceItem(
        source_id=f"{PREFIX}{result.pk}",
        title=link["title"],
        text=f"{' · '.join(facts)}\n\n{content.text or ''}".strip(),
        url=content.url,
        metadata={
            "result_id": str(result.pk),
            "project_id": str(project_id),
            "platform": result.platform,
            "published_at": result.published_at.isoformat(),
            "sentiment": sentiment.label if sentiment else "",
            "compound": sentiment.compound if sentiment else None,
        },
    )


def queue_syncs(sender: object, *, company_id: ObjectId, project_id: ObjectId, **kwargs: Any) -> list[str]:
    """Receiver of scraping's `results_ingested`: queue a sync of each collection of the
    project (a quick write and a message each); a collection that cannot sync is logged and
    skipped, never failing the scrape. Returns the queued sync histories' ids."""
    queued = []
    collections = KnowledgeCollection.objects.for_company(company_id).filter(source_type=SourceType.SCRAPING)
    for collection in collections:
        if (collection.settings or {}).get("project_id") != str(project_id):
            continue
        try:
            history = sync.request_sync(collection=collection, trigger=TRIGGER)
        except (sync.NotSyncable, sync.SyncNotQueued, ConnectorError) as exc:
            logger.warning("sync of collection %s after a scrape not queued: %s", collection.pk, exc)
            continue
        queued.append(str(history.pk))
    return queued

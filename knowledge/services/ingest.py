"""Ingest: source items -> chunks with embeddings, changing only what changed.

Each item's content hash (title, text and url, normalised) is stored on its chunks. Given the
items of a source, an item whose hash is stored already is left alone (not re-embedded); a
new or changed item's chunks are replaced (old ones deleted and new ones inserted in one
transaction); with `full=True` (a complete listing from a connector) the chunks of items
no longer listed are deleted; an incremental listing names what its source no longer holds
instead (`gone`). Items are embedded in batches across items.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import F
from django.utils import timezone
from django_mongodb_backend.transaction import atomic

from requestdesk.text import content_hash, terms

from ..models import KnowledgeChunk, KnowledgeCollection
from ..selectors.collections import chunks_of, source_hashes
from .chunking import DEFAULT_OVERLAP, DEFAULT_SIZE, chunk_text
from .connectors.base import SourceItem
from .embeddings import embed_for_collection
from .extract import extract_text


@dataclass
class IngestResult:
    items_synced: int = 0
    items_unchanged: int = 0
    items_removed: int = 0
    chunks_added: int = 0
    chunks_removed: int = 0
    errors: list = field(default_factory=list)

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def chunk_settings(collection) -> tuple[int, int]:
    settings = collection.settings or {}
    return int(settings.get("chunk_size", DEFAULT_SIZE)), int(settings.get("chunk_overlap", DEFAULT_OVERLAP))


def _document(item: SourceItem) -> str:
    """What is chunked: the title as the first paragraph, then the text."""
    return f"{item.title}\n\n{item.text}" if item.title and not item.text.startswith(item.title) else item.text


def _touch(collection, *, added: int = 0, removed: int = 0, recount: bool = False) -> None:
    """Record a change of the collection's chunks: their count (adjusted atomically, or
    counted again) and a new version (the search caches follow it)."""
    count = chunks_of(collection).count() if recount else F("chunk_count") + added - removed
    KnowledgeCollection.objects.filter(pk=collection.pk).update(
        chunk_count=count, chunks_version=F("chunks_version") + 1, updated_at=timezone.now()
    )
    collection.refresh_from_db(fields=["chunk_count", "chunks_version", "embedding_dimensions"])


def _record_dimensions(collection, size: int) -> None:
    if collection.embedding_dimensions is None:
        KnowledgeCollection.objects.filter(pk=collection.pk, embedding_dimensions=None).update(
            embedding_dimensions=size
        )
        collection.refresh_from_db(fields=["embedding_dimensions"])


def _apply(collection, batch: list[tuple[SourceItem, str]], source_type: str, result: IngestResult) -> None:
    size, overlap = chunk_settings(collection)
    pieces = [(item, digest, chunk_text(_document(item), size=size, overlap=overlap)) for item, digest in batch]
    texts = [text for _, _, chunks in pieces for text in chunks]
    vectors = embed_for_collection(collection, texts)
    if len(texts):
        _record_dimensions(collection, vectors.shape[1])
    rows, position = [], 0
    for item, digest, chunks in pieces:
        if not chunks:
            result.errors.append({"source_id": item.source_id, "error": "no text content; nothing indexed"})
        metadata = {**item.metadata, "title": item.title, "url": item.url}
        for index, text in enumerate(chunks):
            rows.append(
                KnowledgeChunk(
                    company_id=collection.company_id,
                    collection=collection,
                    content=text,
                    embedding=vectors[position],
                    metadata={**metadata, "chunk_count": len(chunks)},
                    source_type=source_type,
                    source_id=item.source_id,
                    content_hash=digest,
                    chunk_index=index,
                    terms=terms(f"{item.title} {text}"),
                )
            )
            position += 1
    with atomic():
        removed, _ = chunks_of(collection).filter(source_id__in=[item.source_id for item, _ in batch]).delete()
        KnowledgeChunk.objects.bulk_create(rows)
    result.items_synced += len(batch)
    result.chunks_added += len(rows)
    result.chunks_removed += removed
    _touch(collection, added=len(rows), removed=removed)


def ingest_items(
    *,
    collection,
    items: Iterable[SourceItem],
    source_type: str,
    full: bool,
    gone: Callable[[list[str]], Collection[str]] | None = None,
    result: IngestResult | None = None,
) -> IngestResult:
    """Bring the collection's chunks in line with `items` (see the module docstring). With
    `gone` (an incremental listing's check), the stored items not listed are asked about in
    batches of KNOWLEDGE_INGEST_GONE_BATCH ids, and those it names are removed.
    Exceptions from the items iterator or the embedder propagate; what was written before
    stays (it is consistent), and nothing is removed."""
    result = result or IngestResult()
    stored = source_hashes(collection)
    seen: set[str] = set()
    batch: list[tuple[SourceItem, str]] = []
    try:
        for item in items:
            if item.source_id in seen:
                continue
            seen.add(item.source_id)
            digest = content_hash(item.title, item.text, item.url)
            if stored.get(item.source_id) == digest:
                result.items_unchanged += 1
                continue
            batch.append((item, digest))
            if len(batch) >= settings.KNOWLEDGE_INGEST_BATCH_ITEMS:
                _apply(collection, batch, source_type, result)
                batch = []
        if batch:
            _apply(collection, batch, source_type, result)
        unlisted = sorted(set(stored) - seen)
        if full:
            _remove(collection, unlisted, result)
        elif gone is not None:
            size = settings.KNOWLEDGE_INGEST_GONE_BATCH
            for start in range(0, len(unlisted), size):
                asked = unlisted[start : start + size]
                named = set(gone(asked))
                _remove(collection, [source_id for source_id in asked if source_id in named], result)
    finally:
        if (full or gone is not None) and (result.items_synced or result.chunks_removed):
            _touch(collection, recount=True)  # one exact count per sync
    return result


def _remove(collection, source_ids: list[str], result: IngestResult) -> None:
    """Delete the chunks of the source items `source_ids`, counted into `result`."""
    if not source_ids:
        return
    removed, _ = chunks_of(collection).filter(source_id__in=source_ids).delete()
    result.items_removed += len(source_ids)
    result.chunks_removed += removed
    _touch(collection, removed=removed)


def remove_source(*, collection, source_id: str) -> int:
    """Delete one source item's chunks; returns how many."""
    removed, _ = chunks_of(collection).filter(source_id=source_id).delete()
    if removed:
        _touch(collection, removed=removed)
    return removed


def text_item(
    *, title: str, text: str, source_id: str = "", url: str = "", prefix: str = "manual", metadata: dict | None = None
) -> SourceItem:
    return SourceItem(
        source_id=source_id or f"{prefix}:{uuid.uuid4().hex[:12]}",
        title=title,
        text=text,
        url=url,
        metadata=metadata or {},
    )


def upload_item(*, name: str, data: bytes, title: str = "", source_id: str = "") -> SourceItem:
    """An uploaded file as one source item; the same file name replaces its earlier upload."""
    text = extract_text(name, data)
    return text_item(
        title=title or name,
        text=text,
        source_id=source_id or f"upload:{name}",
        metadata={"filename": name, "bytes": len(data)},
    )


class NotAddable(ValueError):
    """Texts and files go to manual and upload collections; the others are filled by their sync."""


def check_addable(collection) -> None:
    """Raise NotAddable unless texts and files may be added to `collection`."""
    from ..models import SourceType

    if collection.source_type not in (SourceType.MANUAL, SourceType.UPLOAD):
        raise NotAddable(
            f"A {collection.get_source_type_display()} collection is filled by its sync; add text "
            "and files to a manual or upload collection."
        )


def add_item(*, collection, item: SourceItem, source_type: str, trigger: str = "upload"):
    """Add (or replace, by source_id) one text or file of a manual or upload collection now, for
    the API and the admin alike: recorded as a sync in the history, and the collection's
    `last_synced_at` moved, as a connector's sync does. A failure is recorded on the history
    and raised."""
    from ..models import SyncHistory

    check_addable(collection)
    history = SyncHistory.objects.create(
        company_id=collection.company_id,
        collection=collection,
        sync_type=source_type,
        trigger=trigger,
        status=SyncHistory.IN_PROGRESS,
    )
    try:
        result = ingest_items(collection=collection, items=[item], source_type=source_type, full=False)
    except Exception as exc:
        history.status, history.error_message = SyncHistory.FAILED, str(exc)[:500]
        history.save()
        raise
    for name, value in result.as_dict().items():
        setattr(history, name, value)
    history.status, history.started_at, history.completed_at = (
        SyncHistory.COMPLETED,
        history.created_at,
        timezone.now(),
    )
    history.save()
    KnowledgeCollection.objects.filter(pk=collection.pk).update(last_synced_at=history.completed_at)
    return history

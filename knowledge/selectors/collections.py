"""Reads of knowledge collections and their chunks that are more than a filter. Every read
starts from a tenant-scoped queryset (`for_company`)."""

from __future__ import annotations

from ..models import KnowledgeChunk, KnowledgeCollection


def collections_for(company, ids=None):
    """The company's collections, all or those of `ids` (other tenants' ids match nothing)."""
    queryset = KnowledgeCollection.objects.for_company(company)
    return queryset if ids is None else queryset.filter(pk__in=list(ids))


def without_deleted_collections(chunks, company):
    """`chunks` less those of the company's deleted collections (few: a `$nin` after the
    index part of the filter)."""
    deleted = list(KnowledgeCollection.all_objects.for_company(company).deleted().values_list("pk", flat=True))
    return chunks.exclude(collection__in=deleted) if deleted else chunks


def chunks_of(collection):
    return KnowledgeChunk.objects.for_company(collection.company_id).filter(collection=collection)


def source_hashes(collection) -> dict[str, str]:
    """{source_id: content_hash} of the items the collection holds chunks of."""
    return dict(chunks_of(collection).filter(chunk_index=0).values_list("source_id", "content_hash"))


def sources(collection) -> list[dict]:
    """One row per source item: id, title, url, chunks."""
    rows: dict[str, dict] = {}
    for source_id, metadata in chunks_of(collection).values_list("source_id", "metadata"):
        row = rows.setdefault(
            source_id,
            {
                "source_id": source_id,
                "title": (metadata or {}).get("title", ""),
                "url": (metadata or {}).get("url", ""),
                "chunks": 0,
            },
        )
        row["chunks"] += 1
    return sorted(rows.values(), key=lambda row: row["source_id"])

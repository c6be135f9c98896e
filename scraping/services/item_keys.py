"""Giving results stored before item keys existed their `item_key` (what the migration runs).

A result's item key is its url where one url is one item (Result.ITEM_URL_PLATFORMS: an
article page, a feed entry), else its content hash. Before, a page whose content changed
was stored again as a second result of the same url: those are merged into one, the newest
(its content, sentiment and date are the page's current ones), which keeps the earliest
`created_at` and notes the change (`changed_at` = when the newest was stored,
`change_count` = the versions dropped). The sentiment rollups are then rebuilt, so each
item counts once (and the platform-wide documents, new with these keys, are written). Read
one target at a time (rollups.results_by_target); idempotent.
"""

from __future__ import annotations

from pymongo import DeleteOne, UpdateOne

from requestdesk.db.collections import raw

from ..models import Result
from . import rollups

FIELDS = {"platform": 1, "content.url": 1, "content_hash": 1, "created_at": 1, "item_key": 1, "change_count": 1}


def _writes(docs: list[dict]) -> tuple[list, int]:
    """The writes that key one target's results and merge its versions of one url; and how
    many results they drop."""
    by_url: dict[str, list[dict]] = {}
    writes = []
    for doc in docs:
        url = Result.item_url(doc.get("platform"), (doc.get("content") or {}).get("url"))
        if url is None:
            if doc.get("item_key") != doc["content_hash"]:
                writes.append(UpdateOne({"_id": doc["_id"]}, {"$set": {"item_key": doc["content_hash"]}}))
        else:
            by_url.setdefault(url, []).append(doc)
    dropped = 0
    for url, versions in by_url.items():
        versions.sort(key=lambda doc: doc["_id"])
        newest, older = versions[-1], versions[:-1]
        changes = {} if newest.get("item_key") == url else {"item_key": url}
        if older:
            created = [doc["created_at"] for doc in versions if doc.get("created_at")]
            changes.update(
                created_at=min(created) if created else newest.get("created_at"),
                changed_at=newest.get("created_at") or newest["_id"].generation_time,
                change_count=(newest.get("change_count") or 0) + len(older),
            )
            writes += [DeleteOne({"_id": doc["_id"]}) for doc in older]
            dropped += len(older)
        if changes:
            writes.append(UpdateOne({"_id": newest["_id"]}, {"$set": changes}))
    return writes, dropped


def key_results(connection, *, batch_size: int = 500) -> tuple[int, int]:
    """Key every stored result and merge the versions of each url item (every tenant's), then
    rebuild the rollups. Returns (results written, results dropped)."""
    results = raw(Result, unscoped=True, using=connection.alias)
    written = dropped = 0
    pending = []
    for docs in rollups.results_by_target(connection, FIELDS, grouped=True):
        writes, gone = _writes(docs)
        pending += writes
        dropped += gone
        if len(pending) >= batch_size:
            written += len(pending)
            results.bulk_write(pending, ordered=False)
            pending = []
    if pending:
        written += len(pending)
        results.bulk_write(pending, ordered=False)
    rollups.rebuild(connection)
    return written, dropped

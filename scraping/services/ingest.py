"""Storing extracted items as results: dedupe, changed items, sentiment, search terms, bulk writes.

A result's `content_hash` is the SHA-256 of its url, title, author and text (casefolded,
whitespace collapsed; not its date, which feeds rewrite freely). Per target it is unique
(a unique index), and items whose hash the target already has are not stored again, so
a rerun over unchanged pages stores nothing.

Where a url is one item (an article page, a feed entry's link: Result.ITEM_URL_PLATFORMS)
the result's `item_key` is that url (elsewhere its content hash), unique per target (a
unique index led by the company, which the lookup of a batch's urls is planned on). An item found at a stored url
with other content is the same item changed: its result is updated in place (content,
sentiment, postings, hash; `published_at` the item's new date, or kept when it has none;
`created_at` kept; `changed_at` set, `change_count` one more), and its rollup count moves
from the old sentiment to the new one. The update is conditional on the hash it replaces,
so of two jobs updating one item at once only one moves the count.

New results are written with bulk inserts; if a batch meets a unique index anyway (a race
the target lease should prevent: two jobs storing one new hash or one new url), it is stored
row by row and the rows already present count as duplicates. The results stored are then
counted into the daily sentiment rollups (one bulk of $inc upserts, services.rollups) and
added to the search index (one document of the batch's postings, services.search_index); a
changed item's new postings too. Deleted results make the company's search index stale.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC

from django.db import IntegrityError, connections, router
from django.utils import timezone
from pymongo import UpdateOne
from pymongo.errors import DuplicateKeyError

from requestdesk import text as text_tools
from requestdesk.db.collections import raw

from ..models import Analysis, Result, ResultContent, SearchTerms
from ..signals import postings_changed
from . import analysis, rollups, search_index
from .extraction import Item

BATCH_SIZE = 500


@dataclass
class IngestStats:
    found: int = 0
    created: int = 0
    duplicates: int = 0
    updated: int = 0  # stored items whose content changed (counted in neither of the above)


def content_hash(item: Item) -> str:
    return text_tools.content_hash(item.url, item.title, item.author, item.text)


def sentiment_of(title: str, text: str, engine=None):
    """The title reads as the first sentence of the text; `engine` (text -> Sentiment) is
    VADER unless the project asks for its LLM provider (sentiment_engine)."""
    return (engine or analysis.sentiment)(f"{title}. {text}" if title else text)


def sentiment_engine(target):
    """The engine of the target's project: its LLM provider when `config.sentiment` is "llm"
    (services.llm_sentiment), else VADER (None)."""
    if target.project.config.sentiment != "llm":
        return None
    from .llm_sentiment import engine_for

    return engine_for(target.company_id)


def build_result(
    *,
    item: Item,
    target,
    platform: str,
    job=None,
    digest: str | None = None,
    with_sentiment=True,
    now=None,
    engine=None,
) -> Result:
    """An unsaved Result for `item` of `target`, analysed and with its search terms."""
    title, text = item.title[:500], item.text
    index = analysis.index_fields(title, text)
    return Result(
        company_id=target.company_id,
        project_id=target.project_id,
        target=target,
        job=job,
        platform=platform,
        content=ResultContent(
            title=title,
            text=text,
            author=item.author[:200],
            date=item.date,
            url=item.url[:2000],
            rating=item.rating,
            language=item.language,
        ),
        analysis=Analysis(sentiment=sentiment_of(title, text, engine)) if with_sentiment else None,
        published_at=item.date or now or timezone.now(),
        content_hash=digest or content_hash(item),
        item_key=Result.item_url(platform, item.url) or digest or content_hash(item),
        terms=index["terms"],
        search=SearchTerms(**index["search"]),
    )


def ingest(
    *, target, items: list[Item], platform: str, job=None, with_sentiment: bool = True, batch_size: int = BATCH_SIZE
) -> IngestStats:
    """Store the new items of `target` as results and update the changed ones; returns what
    was found, created, updated, skipped."""
    by_hash: dict[str, Item] = {}
    for item in items:
        if not item.empty:
            by_hash.setdefault(content_hash(item), item)
    known = _existing(target, list(by_hash))
    now = timezone.now()
    fresh, urls = [], set()
    for digest, item in by_hash.items():
        url = Result.item_url(platform, item.url)
        if digest in known or url in urls:  # a url twice in one batch: its first item
            continue
        if url is not None:
            urls.add(url)
        fresh.append((digest, item))
    stored = _stored_items(target, urls)
    engine = sentiment_engine(target) if with_sentiment and fresh else None
    rows = [
        build_result(
            item=item,
            target=target,
            platform=platform,
            job=job,
            digest=digest,
            with_sentiment=with_sentiment,
            now=now,
            engine=engine,
        )
        for digest, item in fresh
    ]
    new = [row for row in rows if row.item_key not in stored]
    created = 0
    for start in range(0, len(new), batch_size):
        created += _store(target, job, new[start : start + batch_size])
    updated = _update_changed([(stored[row.item_key], row) for row in rows if row.item_key in stored], now)
    return IngestStats(found=len(items), created=created, updated=updated, duplicates=len(items) - created - updated)


STORED_FIELDS = {**rollups.ROW_FIELDS, "item_key": 1, "content_hash": 1, "change_count": 1, "created_at": 1}


def _stored_items(target, urls: set[str]) -> dict[str, dict]:
    """{url: stored result document} of `target`'s items known by `urls` (one query on the
    (company, target, item_key) index)."""
    if not urls:
        return {}
    found = raw(Result, company=target.company_id).find(
        {"target_id": target.pk, "item_key": {"$in": sorted(urls)}}, STORED_FIELDS
    )
    return {doc["item_key"]: doc for doc in found}


def _update_changed(changes: list[tuple[dict, Result]], now) -> int:
    """Write each changed item's new version over its stored result (if that still holds
    the hash read), then move the rollup counts of those written. Returns how many."""
    written, replaced = [], []
    if not changes:
        return 0
    connection = connections[router.db_for_write(Result)]
    results = raw(Result, company=changes[0][1].company_id)
    for doc, row in changes:
        row.pk, row.created_at = doc["_id"], doc.get("created_at")
        if row.content.date is None:  # no date of its own: it keeps when it was first seen
            first = doc["published_at"]
            row.published_at = first if first.tzinfo else first.replace(tzinfo=UTC)
        row.changed_at, row.change_count = now, (doc.get("change_count") or 0) + 1
        try:
            done = results.update_one(
                {"_id": doc["_id"], "content_hash": doc["content_hash"]}, {"$set": _stored_values(row, connection)}
            ).modified_count
        except DuplicateKeyError:  # its new hash is another result's: nothing to change
            continue
        if done:
            written.append(row)
            replaced.append(doc)
    if written:
        rollups.add(written, replaced=replaced)
        search_index.add(written, replaced=replaced)
        postings_changed.send(sender=Result, company_id=written[0].company_id)
    return len(written)


CHANGED_FIELDS = (
    "job",
    "content",
    "analysis",
    "published_at",
    "content_hash",
    "terms",
    "search",
    "changed_at",
    "change_count",
)


def _stored_values(row: Result, connection) -> dict:
    """{column: value as stored} of `row`'s CHANGED_FIELDS. Written with a plain
    {_id, content_hash} filter: the ORM's update sends {$and: [...]}, which the embedded server
    plans as a collection scan (~200 ms a result at 5k results)."""
    fields = [Result._meta.get_field(name) for name in CHANGED_FIELDS]
    return {field.column: field.get_db_prep_save(getattr(row, field.attname), connection) for field in fields}


def _existing(target, digests: list[str]) -> set[str]:
    if not digests:
        return set()
    return set(
        Result.objects.filter(company=target.company_id, target=target, content_hash__in=digests).values_list(
            "content_hash", flat=True
        )
    )


def _store(target, job, rows: list[Result]) -> int:
    try:
        Result.objects.bulk_create(rows)
    except IntegrityError:
        stored = _store_one_by_one(target, job, rows)
    else:
        stored = rows
    rollups.add(stored)
    search_index.add(stored)
    if stored:
        postings_changed.send(sender=Result, company_id=stored[0].company_id)
    return len(stored)


def delete_results(queryset) -> int:
    """Delete these results (the admin's delete) and count them out of the rollups, which the
    analytics, the project and target counts and the search's windows read. Returns how many
    were deleted."""
    found = list(queryset.defer("terms", "search", "content"))
    deleted = Result.objects.filter(pk__in=[row.pk for row in found]).delete()[1].get(Result._meta.label, 0)
    rollups.add(removed=found)
    for company_id in {row.company_id for row in found}:
        search_index.invalidate(company_id)
        postings_changed.send(sender=Result, company_id=company_id)
    return deleted


def _store_one_by_one(target, job, rows: list[Result]) -> list[Result]:
    digests = [row.content_hash for row in rows]
    # An ordered bulk insert stops at the first duplicate: the rows before it are ours.
    ours = (
        set(
            Result.objects.filter(target=target, job=job, content_hash__in=digests).values_list(
                "content_hash", flat=True
            )
        )
        if job is not None
        else set()
    )
    present = _existing(target, digests)
    stored = [row for row in rows if row.content_hash in ours]
    for row in rows:
        if row.content_hash in present:
            continue
        try:
            row.save(force_insert=True)
            stored.append(row)
        except IntegrityError:
            continue
    return stored


REINDEX_FIELDS = {"content.title": 1, "content.text": 1, "terms": 1, "search": 1, "analysis.sentiment": 1}


def _reindexed(doc: dict) -> dict:
    """The $set that brings a stored result's postings and sentiment up to date ({} if none;
    a document without content has nothing to recompute from)."""
    content = doc.get("content")
    if not content:
        return {}
    title, text = content.get("title") or "", content.get("text") or ""
    changes = {key: value for key, value in analysis.index_fields(title, text).items() if doc.get(key) != value}
    stored = (doc.get("analysis") or {}).get("sentiment")
    if stored:
        fresh = sentiment_of(title, text)
        values = {
            name: getattr(fresh, name) for name in ("label", "compound", "positive", "neutral", "negative", "sentences")
        }
        if any(stored.get(name) != value for name, value in values.items()):
            changes["analysis.sentiment"] = values
    return changes


def reindex(connection, *, batch_size: int = BATCH_SIZE) -> int:
    """Recompute every stored result's search postings and sentiment (by VADER) from its
    content (what a migration runs when either changes); the sentiment rollups are rebuilt after. Every
    tenant's, one target at a time; idempotent. Returns the results rewritten."""
    results = connection.get_collection(Result._meta.db_table)
    updates, changed = [], 0
    for doc in rollups.results_by_target(connection, REINDEX_FIELDS):
        changes = _reindexed(doc)
        if changes:
            updates.append(UpdateOne({"_id": doc["_id"]}, {"$set": changes}))
        if len(updates) >= batch_size:
            changed += results.bulk_write(updates, ordered=False).modified_count
            updates = []
    if updates:
        changed += results.bulk_write(updates, ordered=False).modified_count
    rollups.rebuild(connection)
    search_index.invalidate_all(connection)
    postings_changed.send(sender=Result, company_id=None)
    return changed

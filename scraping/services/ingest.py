"""Storing extracted items as results: dedupe, sentiment, search terms, bulk writes.

A result's `content_hash` is the SHA-256 of its url, title, author and text (casefolded,
whitespace collapsed; not its date, which feeds rewrite freely). Per target it is unique
(a unique index), and items whose hash the target already has are not stored again, so
a rerun over unchanged pages stores nothing. New results are written with bulk inserts;
if a batch meets the unique index anyway (a race the target lease should prevent), it is
stored row by row and the rows already present count as duplicates. The results stored are
then counted into the daily sentiment rollups (one bulk of $inc upserts, services.rollups).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import IntegrityError
from django.utils import timezone
from pymongo import UpdateOne

from requestdesk import text as text_tools

from ..models import Analysis, Result, ResultContent, SearchTerms
from . import analysis, rollups
from .extraction import Item

BATCH_SIZE = 500


@dataclass
class IngestStats:
    found: int = 0
    created: int = 0
    duplicates: int = 0


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


def build_result(*, item: Item, target, platform: str, job=None, digest: str | None = None, with_sentiment=True,
                 now=None, engine=None) -> Result:
    """An unsaved Result for `item` of `target`, analysed and with its search terms."""
    title, text = item.title[:500], item.text
    index = analysis.index_fields(title, text)
    return Result(
        company_id=target.company_id, project_id=target.project_id, target=target, job=job, platform=platform,
        content=ResultContent(title=title, text=text, author=item.author[:200], date=item.date, url=item.url[:2000],
                              rating=item.rating, language=item.language),
        analysis=Analysis(sentiment=sentiment_of(title, text, engine)) if with_sentiment else None,
        published_at=item.date or now or timezone.now(),
        content_hash=digest or content_hash(item),
        terms=index["terms"],
        search=SearchTerms(**index["search"]),
    )


def ingest(*, target, items: list[Item], platform: str, job=None, with_sentiment: bool = True,
           batch_size: int = BATCH_SIZE) -> IngestStats:
    """Store the new items of `target` as results; returns what was found, created, skipped."""
    by_hash: dict[str, Item] = {}
    for item in items:
        if not item.empty:
            by_hash.setdefault(content_hash(item), item)
    known = _existing(target, list(by_hash))
    now = timezone.now()
    fresh = [(digest, item) for digest, item in by_hash.items() if digest not in known]
    engine = sentiment_engine(target) if with_sentiment and fresh else None
    rows = [build_result(item=item, target=target, platform=platform, job=job, digest=digest,
                         with_sentiment=with_sentiment, now=now, engine=engine)
            for digest, item in fresh]
    created = 0
    for start in range(0, len(rows), batch_size):
        created += _store(target, job, rows[start:start + batch_size])
    return IngestStats(found=len(items), created=created, duplicates=len(items) - created)


def _existing(target, digests: list[str]) -> set[str]:
    if not digests:
        return set()
    return set(Result.objects.filter(target=target, content_hash__in=digests).values_list("content_hash", flat=True))


def _store(target, job, rows: list[Result]) -> int:
    try:
        Result.objects.bulk_create(rows)
    except IntegrityError:
        stored = _store_one_by_one(target, job, rows)
    else:
        stored = rows
    rollups.add(stored)
    return len(stored)


def _store_one_by_one(target, job, rows: list[Result]) -> list[Result]:
    digests = [row.content_hash for row in rows]
    # An ordered bulk insert stops at the first duplicate: the rows before it are ours.
    ours = set(Result.objects.filter(target=target, job=job, content_hash__in=digests)
               .values_list("content_hash", flat=True)) if job is not None else set()
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
        values = {name: getattr(fresh, name) for name in ("label", "compound", "positive", "neutral", "negative",
                                                          "sentences")}
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
    return changed

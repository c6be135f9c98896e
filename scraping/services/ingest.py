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

import hashlib
import re
from dataclasses import dataclass

from django.db import IntegrityError
from django.utils import timezone

from ..models import Analysis, Result, ResultContent, SearchTerms
from . import analysis, rollups
from .extraction import Item

BATCH_SIZE = 500
_WS = re.compile(r"\s+")


@dataclass
class IngestStats:
    found: int = 0
    created: int = 0
    duplicates: int = 0


def _norm(value: str) -> str:
    return _WS.sub(" ", value or "").strip().casefold()


def content_hash(item: Item) -> str:
    parts = (_norm(item.url), _norm(item.title), _norm(item.author), _norm(item.text))
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def build_result(*, item: Item, target, platform: str, job=None, digest: str | None = None, with_sentiment=True,
                 now=None) -> Result:
    """An unsaved Result for `item` of `target`, analysed and with its search terms."""
    title, text = item.title[:500], item.text
    title_terms, text_terms = analysis.search_terms(title, text)
    return Result(
        company_id=target.company_id, project_id=target.project_id, target=target, job=job, platform=platform,
        content=ResultContent(title=title, text=text, author=item.author[:200], date=item.date, url=item.url[:2000],
                              rating=item.rating),
        analysis=Analysis(sentiment=analysis.sentiment(f"{title}. {text}" if title else text))
        if with_sentiment else None,
        published_at=item.date or now or timezone.now(),
        content_hash=digest or content_hash(item),
        terms=analysis.postings(title_terms, text_terms),
        search=SearchTerms(title=title_terms, text=text_terms),
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
    rows = [build_result(item=item, target=target, platform=platform, job=job, digest=digest,
                         with_sentiment=with_sentiment, now=now)
            for digest, item in by_hash.items() if digest not in known]
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

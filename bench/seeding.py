"""Seeding many rows fast: raw clones, with pymongo insert_many, of documents the ORM wrote,
each under a new id and date (bench.lists_bench and bench.http_load seed 10k-100k rows per
tenant this way; through the ORM it would take hours on the embedded server)."""

from __future__ import annotations

import itertools
import os
import random
import secrets
import struct
import time
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from bench import harness

SPREAD = timedelta(days=360)  # inside the audit log's one-year TTL
BATCH = 250  # a batch well within pymongo's 5 s heartbeat on a busy server
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

_OID_MIDDLE = os.urandom(5)
_OID_COUNTER = itertools.count(random.randrange(1 << 24))


def object_id_at(ms: int):
    """An ObjectId whose timestamp is `ms` (epoch milliseconds), unique in this process."""
    from bson import ObjectId

    return ObjectId(struct.pack(">I", ms // 1000) + _OID_MIDDLE + (next(_OID_COUNTER) & 0xFFFFFF).to_bytes(3, "big"))


def at_ms(ms: int) -> datetime:
    return EPOCH + timedelta(milliseconds=ms)


def now_ms() -> int:
    return int((datetime.now(UTC) - EPOCH) / timedelta(milliseconds=1))


def spread_times(
    rnd: random.Random, count: int, taken: set[int], *, end_ms: int, span: timedelta = SPREAD
) -> list[int]:
    """`count` distinct epoch milliseconds, uniform over [end - span, end), none in `taken`
    (added to it), newest first."""
    span_ms = int(span / timedelta(milliseconds=1))
    new: set[int] = set()
    while len(new) < count:
        ms = end_ms - 1 - rnd.randrange(span_ms)
        if ms not in taken and ms not in new:
            new.add(ms)
    taken |= new
    return sorted(new, reverse=True)


def clone_raw(
    collection,
    templates: list[dict],
    times_ms: list[int],
    *,
    date_fields=("created_at",),
    vary=None,
    after=None,
    batch: int = BATCH,
) -> int:
    """Insert one copy of a template (raw documents as the ORM wrote them, taken in turn) per
    time in `times_ms`, in that order, with pymongo insert_many `batch` at a time: a new _id
    (an ObjectId of that time), every field of `date_fields` set to that time, then
    `vary(doc, n)` for whatever must differ (a unique hash...); `after(docs)` is called with
    each batch once inserted. Returns the documents inserted."""
    docs, inserted = [], 0
    for n, ms in enumerate(times_ms):
        doc = dict(templates[n % len(templates)])
        doc["_id"] = object_id_at(ms)
        when = at_ms(ms)
        for field in date_fields:
            doc[field] = when
        if vary is not None:
            vary(doc, n)
        docs.append(doc)
        if len(docs) == batch or n == len(times_ms) - 1:
            insert_batch(collection, docs)
            if after is not None:
                after(docs)
            inserted, docs = inserted + len(docs), []
    return inserted


def insert_batch(collection, docs: list[dict], attempts: int = 5) -> None:
    """insert_many, unordered. A server busy for longer than pymongo's heartbeat allows gets
    its operations cancelled (AutoReconnect): the batch is sent again once the server answers.
    A batch sent again after its first attempt did insert it fails with duplicates of its own
    documents only (ids and hashes are unique otherwise): then the batch is in."""
    from pymongo.errors import AutoReconnect, BulkWriteError

    for attempt in range(attempts):
        try:
            collection.insert_many(docs, ordered=False)
            return
        except BulkWriteError as exc:
            if any(error.get("code") != 11000 for error in exc.details.get("writeErrors", ())):
                raise
            harness.log(
                f"  (a batch of {len(docs)} was sent twice: {len(exc.details['writeErrors'])} "
                f"duplicates of documents already in)"
            )
            return
        except AutoReconnect as exc:
            if attempt == attempts - 1:
                raise
            harness.log(
                f"  (insert_many: {type(exc).__name__}; sent again once the server is idle, after {wait_idle():.0f}s)"
            )


def wait_idle(limit: float = 900) -> float:
    """Seconds until the server answers a ping within a second again (after a cancelled query
    it may go on working for a while)."""
    from django.db import connection

    started = time.perf_counter()
    while time.perf_counter() - started < limit:
        began = time.perf_counter()
        try:
            connection.database.command("ping")
            if time.perf_counter() - began < 1:
                break
        except Exception:  # noqa: BLE001 - a busy server times the ping out
            time.sleep(1)
    return time.perf_counter() - started


def vary_result(doc: dict, n: int) -> None:
    """A result clone: its own content hash, url and item key (each unique per target)."""
    from scraping.models import Result

    doc["content_hash"] = secrets.token_hex(32)
    content = dict(doc.get("content") or {})
    content["url"] = f"{content.get('url') or 'https://bench.example/r'}#{doc['_id']}"
    doc["content"] = content
    doc["item_key"] = Result.item_url(doc.get("platform"), content["url"]) or doc["content_hash"]


def as_ingested(docs) -> None:
    """Count raw result documents into the sentiment rollups and add them to the search index,
    as ingest does for the results it stores."""
    from pymongo.errors import AutoReconnect

    from scraping.services import rollups, search_index

    def row(doc):
        sentiment = (doc.get("analysis") or {}).get("sentiment")
        return SimpleNamespace(
            company_id=doc["company_id"],
            project_id=doc["project_id"],
            target_id=doc["target_id"],
            platform=doc["platform"],
            published_at=doc["published_at"],
            analysis=SimpleNamespace(sentiment=SimpleNamespace(**sentiment)) if sentiment else None,
        )

    try:
        rollups.add([row(doc) for doc in docs])
    except AutoReconnect as exc:  # a busy server: once more (a $inc applied twice counts twice: logged)
        harness.log(f"  (rollups: {type(exc).__name__}; sent again after {wait_idle():.0f}s)")
        rollups.add([row(doc) for doc in docs])
    postings = [
        SimpleNamespace(
            company_id=doc["company_id"], terms=doc.get("terms") or [], published_at=doc["published_at"], pk=doc["_id"]
        )
        for doc in docs
    ]
    try:
        search_index.add(postings)
    except AutoReconnect as exc:  # once more: a segment written twice is read as one
        harness.log(f"  (search index: {type(exc).__name__}; sent again after {wait_idle():.0f}s)")
        search_index.add(postings)


def raw_of(obj) -> dict:
    """The document the ORM wrote for `obj`, read back with pymongo."""
    from django.db import connection

    return connection.database[obj._meta.db_table].find_one({"_id": obj.pk})

"""The search index of results on a server without text indexes: each company's postings per
term and weight (analysis.postings), packed in segments (models.PostingSegment), which the
search reads to rank a query (scraping.selectors.search_segments) instead of reading the
results that hold its words.

Written like a log-structured index: an ingest batch adds one document holding all its
postings (`add`, a PostingBatch, right after the results are stored, beside rollups.add:
one write however many words the batch holds; one segment per word and weight would be a
write each, ~0.25 ms apiece on the embedded server). The upkeep (`keep`, Celery beat) folds
the batches into segments, one per term and weight (`fold`; an ingest that finds FOLD_EARLY
of them waiting queues its company's fold at once), merges a term's small segments
into one (`merge`), and builds a company's index again from its results (`rebuild`) once it
is stale. Segments and batches are never edited. The upkeep holds the company's lease on its
SearchIndex document, so one process at a time rewrites a company's index; an ingest adds
batches meanwhile, which it does not touch. Until folded, a query reads a word's batches
beside its segments; more than MAX_BATCHES of them (the upkeep not running) and the search
walks the results instead.

- A result whose content changed adds its new postings; its old ones stay until the next
  rebuild (`superseded` counts them; the upkeep rebuilds once there are REBUILD_SUPERSEDED):
  the search reads a result's own postings before it ranks it, so an old posting only makes
  it a candidate.
- A deletion (results, a target, a project) makes the company's index stale (`invalidate`):
  the search walks the results themselves until the upkeep has rebuilt it.
- A worker killed between storing results and adding their segments leaves those results
  out of the index until the next rebuild (as it leaves them out of the rollups):
  `manage.py rebuild_search_index`, or the admin's "Rebuild" (scraping.admin.search_index).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from bson import ObjectId
from django.conf import settings
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from requestdesk.db import leases, text
from requestdesk.db.collections import raw

from ..models import PostingBatch, PostingSegment, Result, SearchIndex, Target
from ..signals import postings_changed
from .analysis import weights

logger = logging.getLogger(__name__)

ENTRY = PostingSegment.ENTRY_SIZE
YEAR_ONE = datetime(1, 1, 1)
MICROSECOND = timedelta(microseconds=1)
MAX_ENTRIES = 400_000  # per segment: 8 MB, half the server's document limit
MERGE_AT = 8  # segments of one term and weight that the upkeep merges into one
REBUILD_SUPERSEDED = 1000  # changed results whose old postings the upkeep rebuilds away
# Batches not folded yet beyond which the search walks the results: a word's batches are read
# whole by the server (~1 ms a batch of a page of 50 reviews, all its words), segments are not.
MAX_BATCHES = 16
FOLD_EARLY = MAX_BATCHES // 2  # batches at which an ingest queues its company's fold
BATCH_BYTES = 4 << 20  # postings per batch document (the server's limit is 16 MB)
FOLD_AT_ONCE = 100  # batches one fold reads
LEASE_SECONDS = 600


def entry(published_at: datetime, pk) -> bytes:
    """The posting entry of a result: its date (UTC) and id, ordered as the search breaks ties."""
    if published_at.tzinfo is not None:
        published_at = published_at.astimezone(UTC).replace(tzinfo=None)
    return ((published_at - YEAR_ONE) // MICROSECOND).to_bytes(8, "big") + ObjectId(pk).binary


def published(entry_: bytes) -> datetime:
    """The (naive UTC) date of an entry."""
    return YEAR_ONE + int.from_bytes(entry_[:8], "big") * MICROSECOND


def result_id(entry_: bytes) -> ObjectId:
    return ObjectId(bytes(entry_[8:ENTRY]))


def grouped(rows: Iterable[tuple[list[str], datetime, object]]) -> dict[tuple[str, int], bytearray]:
    """{(term, weight): entries} of rows (postings, published_at, id)."""
    found: dict[tuple[str, int], bytearray] = defaultdict(bytearray)
    for postings, published_at, pk in rows:
        packed = entry(published_at, pk)
        for term, weight in weights(postings).items():
            found[term, weight] += packed
    return found


def _documents(found: dict[tuple[str, int], bytearray]) -> list[dict]:
    now = timezone.now()
    docs = []
    for (term, weight), data in found.items():
        for start in range(0, len(data), MAX_ENTRIES * ENTRY):
            part = bytes(data[start : start + MAX_ENTRIES * ENTRY])
            docs.append(
                {
                    "term": term,
                    "weight": weight,
                    "n": len(part) // ENTRY,
                    "data": part,
                    "created_at": now,
                    "updated_at": now,
                }
            )
    return docs


def _write(company_id, found: dict[tuple[str, int], bytearray]) -> int:
    docs = _documents(found)
    segments = raw(PostingSegment, company=company_id)
    for start in range(0, len(docs), 500):
        segments.insert_many(docs[start : start + 500], ordered=False)
    return len(docs)


def _state(company_id):
    return raw(SearchIndex, company=company_id)


def _count(company_id, **inc) -> None:
    now = timezone.now()
    fresh = {
        name: 0 for name in ("changes", "built", "superseded", "segments", "batches", "version") if name not in inc
    }
    update: dict = {"$set": {"updated_at": now}, "$setOnInsert": {**fresh, "lease_until": None, "created_at": now}}
    if inc:
        update["$inc"] = inc
    _state(company_id).update_one({}, update, upsert=True)


def wanted() -> bool:
    """Whether the search reads the index: where the postings are walked here (the embedded
    server, requestdesk.db.text); a server with text indexes, or that scores the postings
    itself, has no use for it, and nothing writes it there."""
    return text.strategy(Result) == text.POSTINGS_IN_WINDOWS


def add(results: Iterable[Result] = (), *, replaced: Iterable[dict] = ()) -> None:
    """Index stored Result objects (a batch document per company); `replaced`: the stored
    versions of those whose content changed (counted as superseded)."""
    if not wanted():
        return
    per_company: dict[object, list[Result]] = defaultdict(list)
    for result in results:
        per_company[result.company_id].append(result)
    old: dict[object, int] = defaultdict(int)
    for doc in replaced:
        old[doc.get("company_id")] += 1
    for company_id, rows in per_company.items():
        written = _write_batch(company_id, grouped((row.terms, row.published_at, row.pk) for row in rows))
        _count(company_id, batches=written, superseded=old.pop(company_id, 0))
        _fold_when_behind(company_id, written)
    for company_id, count in old.items():
        if company_id is not None:
            _count(company_id, superseded=count)


def _write_batch(company_id, found: dict[tuple[str, int], bytearray]) -> int:
    """The postings as batch documents of at most BATCH_BYTES: how many."""
    now = timezone.now()
    docs: list[dict] = []
    size = BATCH_BYTES
    for (term, weight), data in found.items():
        if size + len(data) > BATCH_BYTES:
            docs.append({"terms": [], "postings": {}, "created_at": now, "updated_at": now})
            size = 0
        postings = docs[-1]["postings"]
        if term not in postings:
            postings[term] = {}
            docs[-1]["terms"].append(term)
        postings[term][str(weight)] = bytes(data)
        size += len(data)
    if docs:
        raw(PostingBatch, company=company_id).insert_many(docs, ordered=False)
    return len(docs)


def _fold_when_behind(company_id, written: int) -> None:
    """Queue the company's fold in the ingest whose batches took it to FOLD_EARLY (one ingest
    crosses it): past MAX_BATCHES searches walk the results, and beat's upkeep may be
    SCRAPING_SEARCH_INDEX_SECONDS away when ingests come in a burst. With the broker down the
    upkeep folds them."""
    found = _state(company_id).find_one({}, {"batches": 1})
    batches_ = found.get("batches", 0) if found else 0
    if not batches_ - written < FOLD_EARLY <= batches_:
        return
    from ..tasks import fold_search_index

    try:
        fold_search_index.delay(str(company_id))
    except BrokerError as exc:
        logger.warning("search index of company %s: fold not queued, broker unavailable (%s)", company_id, exc)


def batches(company, term: str):
    """The postings of `term` in the company's batches not folded yet: (weight, entries)."""
    for doc in raw(PostingBatch, company=company).find({"terms": term}, {f"postings.{term}": 1}):
        for weight, data in (doc.get("postings") or {}).get(term, {}).items():
            yield int(weight), data


def ensure(company_id) -> None:
    """The company has its SearchIndex document (a company that has stored no result yet has none)."""
    _count(company_id)


def invalidate(company_id) -> None:
    """The company's results were deleted (some, or a target's, a project's): its segments
    still name them, so the search does not read them until the upkeep rebuilt them."""
    _count(company_id, changes=1)


def invalidate_target(sender=None, instance=None, **_signal) -> None:
    """pre_delete of a Target (its own delete, its project's or its company's cascade)."""
    invalidate(instance.company_id)


def invalidate_all(connection) -> None:
    """Every result's postings were recomputed (ingest.reindex): every company's index is stale
    (none to mark when a migration from before the index runs it)."""
    if SearchIndex._meta.db_table in connection.introspection.table_names():
        raw(SearchIndex, unscoped=True, using=connection.alias).update_many({}, {"$inc": {"changes": 1}})


def state(company_id) -> dict | None:
    """The company's SearchIndex document, or None."""
    return _state(company_id).find_one({})


def stale(state_: dict) -> bool:
    """Whether results were deleted since the company's index was last built."""
    return state_.get("built") != state_.get("changes")


def usable(state_: dict | None) -> bool:
    """Whether the search may read the index: built since the last deletion, and the upkeep
    keeping up with the batches."""
    return state_ is not None and not stale(state_) and state_.get("batches", 0) <= MAX_BATCHES


def _lease(company_id) -> tuple[dict, leases.Lease] | None:
    found = state(company_id)
    now = timezone.now()
    if found is None or (found.get("lease_until") and found["lease_until"].replace(tzinfo=UTC) > now):
        return None
    held = leases.take(
        SearchIndex,
        found["_id"],
        guard={"lease_until": found.get("lease_until")},
        holder={},
        seconds=LEASE_SECONDS,
        inc={"version": 1},  # and again at release: what searches kept meanwhile no search asks for after
        now=now,
    )
    return None if held is None else (found, held)


def rebuild(company_id) -> int | None:
    """Build the company's segments again from its stored results (idempotent): the results
    read, or None when another process holds the company's lease."""
    taken = _lease(company_id)
    if taken is None:
        return None
    found, lease = taken
    segments, batches_ = raw(PostingSegment, company=company_id), raw(PostingBatch, company=company_id)
    old = [doc["_id"] for doc in segments.find({}, {"_id": 1})]
    old_batches = [doc["_id"] for doc in batches_.find({}, {"_id": 1})]
    results = raw(Result, company=company_id)
    read = 0

    def rows():
        nonlocal read
        # One target at a time: each read is one (company, target, date) index range.
        for target in lease.beat(raw(Target, company=company_id).find({}, {"_id": 1}), every=LEASE_SECONDS / 4):
            for doc in results.find({"target_id": target["_id"]}, {"terms": 1, "published_at": 1}):
                read += 1
                yield doc.get("terms") or [], doc["published_at"], doc["_id"]

    written = _write(company_id, grouped(rows()))
    _delete(segments, old)
    _delete(batches_, old_batches)
    # Counted from what this build saw: a deletion or an ingest meanwhile keeps its count.
    lease.release(
        built=found.get("changes", 0),
        inc={
            "superseded": -found.get("superseded", 0),
            "segments": written - found.get("segments", 0),
            "batches": -len(old_batches),
            "version": 1,
        },
    )
    # Searches that kept the index's state (search_segments) read it again: built, without old postings.
    postings_changed.send(sender=Result, company_id=company_id)
    return read


def _delete(collection, ids: list) -> None:
    for start in range(0, len(ids), 1000):
        collection.delete_many({"_id": {"$in": ids[start : start + 1000]}})


def fold(company_id) -> int | None:
    """Fold the company's batches into segments, one per term and weight (FOLD_AT_ONCE
    batches at a time): the batches folded, or None when another process holds the
    company's lease."""
    taken = _lease(company_id)
    if taken is None:
        return None
    _, lease = taken
    batches_ = raw(PostingBatch, company=company_id)
    folded = written = 0
    while True:
        found: dict[tuple[str, int], bytearray] = defaultdict(bytearray)
        ids = []
        for doc in batches_.find({}).limit(FOLD_AT_ONCE):
            ids.append(doc["_id"])
            for term, per_weight in (doc.get("postings") or {}).items():
                for weight, data in per_weight.items():
                    found[term, int(weight)] += data
        written += _write(company_id, found)
        _delete(batches_, ids)
        folded += len(ids)
        if len(ids) < FOLD_AT_ONCE:
            break
        lease.renew()
    lease.release(inc={"batches": -folded, "segments": written, "version": 1})
    return folded


def merge(company_id) -> int | None:
    """Merge each term and weight's segments into one where there are MERGE_AT or more: the
    segments merged, or None when another process holds the company's lease."""
    taken = _lease(company_id)
    if taken is None:
        return None
    found, lease = taken
    segments = raw(PostingSegment, company=company_id)
    groups: dict[tuple[str, int], list] = defaultdict(list)
    for doc in segments.find({}, {"term": 1, "weight": 1}):
        groups[doc["term"], doc["weight"]].append(doc["_id"])
    merged, written = 0, 0
    for (term, weight), ids in lease.beat(list(groups.items()), every=LEASE_SECONDS / 4):
        if len(ids) < MERGE_AT:
            continue
        data, listed = bytearray(), set(ids)
        # By the term's index; a segment an ingest added since the listing stays as it is.
        for doc in segments.find({"term": term, "weight": weight}, {"data": 1}):
            if doc["_id"] in listed:
                data += doc["data"]
        written += _write(company_id, {(term, weight): data})
        _delete(segments, ids)
        merged += len(ids)
    lease.release(inc={"segments": -found.get("segments", 0), "version": 1})
    return merged


def keep() -> dict[str, int]:
    """The upkeep (beat): rebuild stale indexes and those holding many old postings (until
    then a query's count is a lower bound); fold the batches written since the last run into
    segments; merge where many segments were written. How many companies had each."""
    done = {"rebuilt": 0, "folded": 0, "merged": 0}
    if not wanted():
        return done
    for doc in raw(SearchIndex, unscoped=True).find({}):
        company_id = doc["company_id"]
        try:
            if stale(doc) or doc.get("superseded", 0) >= REBUILD_SUPERSEDED:
                done["rebuilt"] += rebuild(company_id) is not None
                continue
            if doc.get("batches", 0) > 0:
                done["folded"] += fold(company_id) is not None
                doc = state(company_id) or doc
            if doc.get("segments", 0) >= settings.SCRAPING_SEARCH_SEGMENTS_MERGE:
                done["merged"] += merge(company_id) is not None
        except leases.LeaseLost:
            logger.warning("search index of company %s: the lease was taken over", company_id)
    return done

"""A query ranked from the company's search index (posting segments,
scraping.services.search_index) instead of the results that hold its words: on the embedded
server a result read costs ~100 µs, a posting taken in from a segment ~0.1 µs, and a query of
two common words that rarely meet in one result has to pass every posting of one of them
before its first page is certain.

One round trip reads the segments of the query's words that this process does not keep
already (each word's weights and their sizes come with them; kept per version of the index:
`_segments`), and one a word its batches not folded into segments yet; the postings
are then taken in, a whole weight of a word at a time, by the combined algorithm (Fagin's TA
with sorted and random access, "CA"): a result seen in some words' weights scores at most
what it was seen with plus, for each word it was not seen in, that word's highest weight not
yet taken in; a result seen in none at most the sum of those (`unseen`). The candidates are
kept as sets of entries, one per signature (the weight each word was seen with), so taking
a weight in is a few set operations in C, not a step per posting. The results that could
reach the page are read (by id, their own postings and date: the exact score, as the walk
scores them) and the page is final once its last row ranks above every bound: above
`unseen`, and at or above every unread candidate's bound (ties broken by date, then id, as
the entries sort). The next weight taken in is the smallest of the words' highest weights
not yet taken in: a word that only a few results hold is read first, and a word most
results hold (say the title word of a list of reviews) is often never read. What is read and
what the page needs stay in proportion to the query's postings, never to the company's
results.

Filters other than the dates are checked on each candidate read: every row of the page is
then read (none is scored from the postings alone), the row after the page too, and a round
trip reads as many candidates as the share that passed so far says the page needs (at most
READ_AHEAD pages' worth), within SCRAPING_SEARCH_MAX_CANDIDATES. Used while the index is built
(search_index.usable); otherwise (a stale index, or a small project's or target's filter)
scraping.selectors.search walks the results.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from bson import ObjectId
from django.conf import settings

from requestdesk.db.collections import raw
from requestdesk.memo import Memo

from ..models import PostingSegment, Result
from ..services import search_index
from ..services.analysis import weights
from .results import ResultFilters

ENTRY = PostingSegment.ENTRY_SIZE
ENTRIES = np.dtype(f"V{ENTRY}")  # a segment read as an array of its entries (tolist(): bytes)
Key = tuple[int, bytes]  # (score or its bound, entry): the search's order, best last
Sig = tuple[int, ...]  # each word's weight a candidate was seen with, 0: not seen
TAKE_IN_PER_READ = 1000  # postings taken in rather than one result read
READ_AHEAD = 16  # filtered: candidates read in one round trip, at most this many pages' worth

# A company's index state, built and with no batch left to fold, by (company id, its
# generation of cached pages: scraping.selectors.search_pages), kept in this process while
# that generation lasts, at most SCRAPING_SEARCH_PAGE_SECONDS: a search then reads no state.
# Only an ingest (a batch added, old postings superseded) or a deletion (the index stale)
# changes such a state in a way a search must see, and each gives the company a new
# generation (scraping.selectors.search.forget). A state with batches, or not usable, is read
# again by every search, so a fold or a rebuild is seen at once.
_ready: Memo[dict] = Memo("SCRAPING_SEARCH_PAGE_SECONDS", max_entries=10_000)


# A term's segments by (company id, its index's version, term): {weight: its entries}, read
# once per version and process (within SCRAPING_SEARCH_SEGMENTS_MEMORY bytes): segments are
# rewritten only by the upkeep, which raises the version as it takes the company's lease and
# again as it releases it (search_index._lease): what a search reads while the upkeep rewrites
# them (a merge's postings twice, say: entries are sets, so once) is kept under a version no
# search asks for once it is done. A word the index does not hold is kept as absent too: new
# results add batches, read beside the segments, until the fold that raises the version.
_segments: Memo[dict[int, np.ndarray]] = Memo(
    "SCRAPING_SEARCH_PAGE_SECONDS",
    weigh=lambda tiers: 100 + sum(entries.nbytes for entries in tiers.values()),
    max_weight="SCRAPING_SEARCH_SEGMENTS_MEMORY",
)


def forget(company_id=None) -> None:
    """The kept states and segments of a company (None: of every company)."""
    for memo in (_ready, _segments):
        if company_id is None:
            memo.clear()
        else:
            memo.invalidate(company_id)


def _state(company_id, generation: tuple | None) -> dict | None:
    key = (company_id, generation)
    if generation is not None and (kept := _ready.get(key)) is not None:
        return kept
    memo_generation = _ready.generation
    found = search_index.state(company_id)
    if generation is not None and search_index.usable(found) and not found.get("batches"):
        _ready.put(key, found, generation=memo_generation, ids=frozenset({company_id}))
    return found


@dataclass
class Ranked:
    rows: list[tuple[int, datetime, ObjectId]]  # the final rows first, best first
    count: int  # results holding a word of the query (within the dates): at least this many
    exact: bool
    read: int  # results read by id


def _bound(when: datetime | None, last: bool) -> bytes | None:
    if when is None:
        return None
    return search_index.entry(when, ObjectId(b"\xff" * 12 if last else b"\x00" * 12))


def _segments_of(company, company_id, version: int, terms: list[str]) -> dict[str, dict[int, np.ndarray]]:
    """Each term's entries by weight (its segments), kept per process under the index's
    version (`_segments`): one round trip reads the terms not kept."""
    tiers, missing = {}, []
    for term in terms:
        kept = _segments.get((company_id, version, term))
        if kept is None:
            missing.append(term)
        else:
            tiers[term] = kept
    if missing:
        generation = _segments.generation
        read: dict[str, dict[int, list[bytes]]] = {term: defaultdict(list) for term in missing}
        found = raw(PostingSegment, company=company).find(
            {"term": {"$in": missing}}, {"term": 1, "weight": 1, "data": 1}
        )
        for doc in found:
            read[doc["term"]][doc["weight"]].append(doc["data"])
        for term in missing:
            tiers[term] = {weight: np.frombuffer(b"".join(parts), ENTRIES) for weight, parts in read[term].items()}
            _segments.put((company_id, version, term), tiers[term], generation=generation, ids=frozenset({company_id}))
    return tiers


def _with_batches(
    company, terms: list[str], tiers: dict[str, dict[int, np.ndarray]]
) -> dict[str, dict[int, np.ndarray]]:
    """The tiers with the postings of ingest's batches the upkeep has not folded yet (a read
    per word), the kept ones left as they are."""
    joined = {}
    for term in terms:
        per_weight = dict(tiers.get(term, {}))
        for weight, data in search_index.batches(company, term):
            entries = np.frombuffer(data, ENTRIES)
            per_weight[weight] = np.concatenate([per_weight[weight], entries]) if weight in per_weight else entries
        joined[term] = per_weight
    return joined


def _within(entries: np.ndarray, low: bytes | None, high: bytes | None) -> np.ndarray:
    """The entries dated from `low` to `high` (bounds by date, as _bound makes them)."""
    if low or high:
        dates = _dates(entries)
        keep = np.ones(len(entries), bool)
        if low:
            keep &= dates >= int.from_bytes(low[:8], "big")
        if high:
            keep &= dates <= int.from_bytes(high[:8], "big")
        entries = entries[keep]
    return entries


def _dates(entries: np.ndarray) -> np.ndarray:
    return np.ndarray((len(entries),), ">u8", entries, strides=(ENTRY,))


def _best(entries: np.ndarray, k: int) -> list[bytes]:
    """heapq.nlargest(k, entries), the many entries older than the k-th newest date left out
    by numpy first."""
    if len(entries) > 4 * k:
        dates = _dates(entries)
        kth = np.partition(dates, len(dates) - k)[len(dates) - k]
        entries = entries[dates >= kth]
    return heapq.nlargest(k, entries.tolist())


class Ranking:
    """The candidates of one query as sets of entries, one per signature (the weight of each
    word each was seen with): a weight taken in splits the sets by set operations, never
    a candidate at a time. Candidates read by id are scored exactly (`exact`, by result id) or
    dropped (`gone`)."""

    def __init__(
        self,
        terms: list[str],
        tiers: dict[str, dict[int, np.ndarray]],
        low,
        high,
        settled: bool,
        stop: int,
        accepts: Callable[[dict], bool] | None = None,
    ):
        self.terms, self.stop = terms, stop
        self.low, self.high = low, high
        self.accepts = accepts  # the other filters, checked on each result read (None: none)
        # No old postings and no other filter: a candidate seen in every word's weights left is scored.
        self.settled = settled and accepts is None
        # Each word's weights not taken in yet, highest first, with their entries.
        self.unread = [sorted(tiers.get(term, {}).items(), reverse=True) for term in terms]
        self.groups: dict[Sig, set[bytes]] = {}
        self.read_entries: set[bytes] = set()  # candidates dropped from the groups
        self.exact: dict[bytes, Key] = {}
        self.gone: set[bytes] = set()
        self._tops: dict[Sig, list[bytes]] = {}  # a group's best entries, while it is unchanged

    def live(self) -> list[int]:
        return [i for i in range(len(self.terms)) if self.unread[i]]

    def top(self, i: int) -> int:
        return self.unread[i][0][0] if self.unread[i] else 0

    def unseen(self) -> int:
        return sum(self.top(i) for i in range(len(self.terms)))

    def upper(self, sig: Sig) -> int:
        return sum(weight or self.top(i) for i, weight in enumerate(sig))

    def take_in(self) -> None:
        """Take in the smallest of the words' highest unread weights: candidates not seen in
        that word yet that hold it move to the signature with its weight (a candidate seen in
        it already, at a higher weight, keeps that one), results not seen yet join one group."""
        i = min(self.live(), key=lambda i: len(self.unread[i][0][1]))
        weight, entries = self.unread[i].pop(0)
        entries = _within(entries, self.low, self.high)
        taken = set(entries.tolist())
        for sig, members in list(self.groups.items()):
            if sig[i]:
                taken = taken - members
            elif members:
                holding = members & taken
                if holding:
                    members -= holding
                    taken -= holding
                    self._tops.pop(sig, None)
                    self._join((*sig[:i], weight, *sig[i + 1 :]), holding)
        taken -= self.read_entries
        if taken:
            sig = tuple(weight if j == i else 0 for j in range(len(self.terms)))
            whole = sig not in self.groups and len(taken) == len(entries)  # no entry left out
            self._join(sig, taken)
            if whole:
                self._tops[sig] = _best(entries, self.stop)

    def _join(self, sig: Sig, entries: set[bytes]) -> None:
        if sig in self.groups:
            self.groups[sig] |= entries
        else:
            self.groups[sig] = entries
        self._tops.pop(sig, None)

    def best(self) -> list[tuple[Key, Sig | None]]:
        """The `stop` best candidates, (key, signature): by their score where it is known
        (signature None: read, or seen in every word that has weights left to take in, while
        the index holds no old postings: `settled`), else by their bound."""
        stop = self.stop
        keys: list[tuple[Key, Sig | None]] = [(key, None) for key in heapq.nlargest(stop, self.exact.values())]
        for sig, members in self.groups.items():
            if not members:
                continue
            top = self._tops.get(sig)
            if top is None or len(top) < min(stop, len(members)):
                top = self._tops[sig] = heapq.nlargest(stop, members)
            upper = self.upper(sig)
            known = self.settled and upper == sum(sig)
            keys += [((upper, entry), None if known else sig) for entry in top]
        return heapq.nlargest(stop, keys, key=lambda row: row[0])

    def next_size(self) -> int:
        """Postings in the weight take_in() would take in next."""
        return min(len(tiers[0][1]) for tiers in self.unread if tiers)

    def drop(self, entry: bytes, sig: Sig) -> None:
        """A candidate read (or another entry of a result read): never a candidate again."""
        self.groups[sig].discard(entry)
        self.read_entries.add(entry)
        top = self._tops.get(sig)
        if top is not None and entry in top:
            top.remove(entry)

    def unread_ids(self, pending: list[tuple[bytes, Sig]]) -> list[tuple[bytes, Sig]]:
        """The pending candidates whose result is not read yet, once each (another entry of
        one result, its old date, is dropped: reading the result scores it at its date of now)."""
        left, ids = [], set()
        for entry, sig in pending:
            pk = entry[8:]
            if pk in ids or pk in self.exact or pk in self.gone:
                self.drop(entry, sig)
            else:
                ids.add(pk)
                left.append((entry, sig))
        return left

    def resolve(self, pending: list[tuple[bytes, Sig]], docs: dict[ObjectId, dict], company_id) -> None:
        """Score the read results (their own postings; gone, another company's, not accepted by
        the filters or no longer holding a word of the query: dropped)."""
        for entry, sig in pending:
            self.drop(entry, sig)
            pk = entry[8:]
            doc = docs.get(search_index.result_id(entry))
            score = 0
            if doc is not None and doc.get("company_id") == company_id and (self.accepts is None or self.accepts(doc)):
                held = weights(doc.get("terms") or [])
                score = sum(held.get(term, 0) for term in self.terms)
                entry = search_index.entry(doc["published_at"], doc["_id"])
                if (self.low and entry < self.low) or (self.high and entry > self.high):
                    score = 0
            if score:
                self.exact[pk] = (score, entry)
            else:
                self.gone.add(pk)

    def count(self, superseded: int = 0) -> int:
        """The results holding a word of the query: those read, and those not read less the
        results whose content changed since the index was built (an old posting may be all that
        makes one a candidate, or a result's old date another entry of it): at least as many."""
        if self.accepts is not None:
            return len(self.exact)  # a candidate not read may not pass the filters
        return len(self.exact) + max(0, self.candidates() - superseded)

    def candidates(self) -> int:
        """Candidates not read yet."""
        return sum(len(members) for members in self.groups.values())


def rank(
    *,
    company,
    company_id,
    terms: list[str],
    stop: int,
    date_from=None,
    date_to=None,
    generation: tuple | None = None,
    filters: ResultFilters | None = None,
) -> Ranked | None:
    """The first `stop` rows of the query (and the rows read after them), or None when the
    company's index is not built. `generation`: the company's generation of cached pages, under
    which its index state is kept (None: read). `filters` other than the dates are checked on
    each candidate read: every row of the page is then read, and the count is the rows that
    passed (exact once every candidate was read); a page asks for one row more, so that a next
    page is known to exist."""
    state = _state(company_id, generation)
    if state is None or not search_index.usable(state):
        return None
    superseded = state.get("superseded", 0)
    tiers = _segments_of(company, company_id, state.get("version", 0), terms)
    if state.get("batches"):
        tiers = _with_batches(company, terms, tiers)
    accepts = filters.accepts if filters is not None else None
    want = stop + 1 if accepts is not None else stop  # filtered: the row after the page is read too
    ranking = Ranking(
        terms, tiers, _bound(date_from, last=False), _bound(date_to, last=True), not superseded, want, accepts
    )
    fields = {"terms": 1, "published_at": 1, "company_id": 1, **(filters.fields() if filters is not None else {})}
    budget = settings.SCRAPING_SEARCH_MAX_CANDIDATES if accepts is not None else None
    results, read = raw(Result, company=company), 0
    while True:
        unseen = ranking.unseen()
        best = ranking.best()
        page = best[:want]
        # Final once the page's last row beats every result not seen, and every row is known.
        beaten = len(page) == want and unseen < page[-1][0][0]
        pending = [(key[1], sig) for key, sig in page if sig is not None]
        if beaten and not pending:
            if accepts is not None or ranking.count(superseded) > stop or not unseen:
                break
            ranking.take_in()  # the page is final; one row more tells whether another follows
            continue
        if not unseen and not pending:
            break  # fewer rows than the page, all known
        if budget is not None and read >= budget:
            page = [row for row in best if row[1] is None][:want]  # the best of the results read
            break
        # Taking a weight in costs ~0.1 µs a posting (its segments are here), reading ~100 µs
        # a result. Reads that keep finding lower scores than their bounds (words that rarely
        # meet) add up: once they cost as much as the next weight, that weight is taken in.
        if unseen and (not beaten or ranking.next_size() <= TAKE_IN_PER_READ * (read + len(pending))):
            ranking.take_in()
            continue
        # Filtered, the candidates after the page's are read in the same round trip: as many
        # as the share of the results read so far that passed says the page needs.
        pending += [(key[1], sig) for key, sig in best[want:] if sig is not None]
        pending = ranking.unread_ids(pending)
        if not pending:
            continue
        found = results.find({"_id": {"$in": [search_index.result_id(entry) for entry, _ in pending]}}, fields)
        docs = {doc["_id"]: doc for doc in found}
        read += len(pending)
        ranking.resolve(pending, docs, company_id)
        if accepts is not None:
            passed = max(len(ranking.exact), 1)
            ranking.stop = min(want * READ_AHEAD, max(want, -(-want * read // passed)))
    rows = [(score, search_index.published(entry), search_index.result_id(entry)) for (score, entry), _ in page]
    exact = not ranking.unseen() and not superseded and (accepts is None or not ranking.candidates())
    return Ranked(rows, ranking.count(superseded), exact, read)

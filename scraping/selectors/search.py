"""The weighted search of results (its filters are selectors.results'; a project's or target's
result count comes from selectors.analytics' rollup_count).

Every query reads through `raw(Result, company=...)` (requestdesk.db.collections), which adds
the tenant's company to the caller's filters.

Weighted search (title weight 10, text 5), by the strategy requestdesk.db.text
chooses. Where the server has text indexes (capability `text_index`), `$text` on the
`result_text` index (Result.TEXT_INDEX, the same weights) ranks by the server's textScore.
Elsewhere (the embedded server has none) a result's indexed `terms` are weighted postings,
"25:lantern" (10 x its count in the title + 5 x its count in the text, counts capped at
analysis.TF_CAP): see scraping.services.analysis. Its score is the sum of its query terms'
weights; ranked by score, then newest, then _id.

- A server whose capabilities say `ordered_index_sort` and `cheap_counts` (`scores_on_server()`)
  matches `terms: {$in: every weighted posting of the query}` on the (company_id, terms,
  -published_at) index and scores, sorts, counts and pages on the server.
- A server without them reads every document a query matches (the embedded one: ~100-200 µs
  each, a limit does not stop it, and a count is a read of every match), so a word in most of
  100k results cannot be scored or counted there. Instead each query term's postings are
  walked best first on the same index, one weight at a time, newest first, in published_at
  windows sized from the company's daily rollup ({company_id, terms: "15:lantern",
  published_at: range} is an index range; search_walk sizes them). The walks merge with the
  threshold algorithm (Fagin): a result seen is scored from its own postings; one not yet seen
  scores at most the sum of the walks' current weights, and at that sum is older than every
  walk's window, so the page is final once its last result ranks above that bound. One-word
  queries are final as they are read. The walk stops once the page is final and one row more
  is scored, or when every posting is read (the count is then exact), or after
  SCRAPING_SEARCH_MAX_CANDIDATES results read (a query of several very common words: the page
  is then the best of the results read). `count_exact` says which; otherwise the count is the
  rows scored, all real matches: "at least" the rows up to the page and one more, as the lists
  count (requestdesk.db.pages). Filters are applied to the rows read; a project or target
  filter whose rollup count is small (<= SCRAPING_SEARCH_COUNT_CAP) reads that project's or
  target's results instead and scores them all (exact).
- A query is ranked from the company's search index instead while it is built (posting
  segments, scraping.services.search_index; search_segments ranks them): a query of common
  words that rarely meet in one result would otherwise walk every posting of one of them, a
  result read each, and even one word costs the walk a round trip a weight. The index's
  entries carry the date; the other filters are checked on the candidates it reads (the
  count is then the rows that passed: at least, or exact once every candidate was read). The
  walk above serves a small project's or target's filter (read whole, exact), and a company
  whose index is stale (a deletion, until the upkeep rebuilt it).
- Most of a word's weights are empty (12 tiers; a word is said once or twice), and asking
  costs a round trip each (~0.8 ms on the embedded server). A weight read whole and found
  empty is kept per process (company, term, weight) and skipped, under the company's
  generation of cached pages (search_pages), as long as the pages are: a result stored or
  deleted by any process gives the company a new one (scraping.signals.postings_changed,
  results_ingested, a project's or target's deletion), so the weight is asked again by the
  next search everywhere. With the cache unreachable (no generation) it is kept
  SCRAPING_SEARCH_DENSITY_SECONDS (10): a result stored by another process may be missed
  here for at most those seconds, like a search engine's refresh interval.

A page of the walk is cached (a query-result cache, like Solr's queryResultCache): what
`numbered()` computed for a page, its ranked ids with their scores, the count and whether it
is exact, is kept in the cache every process shares (search_pages) by (company, query terms,
filters, page start and end) until the company's results change (the generation above; at
most SCRAPING_SEARCH_PAGE_SECONDS, 0: nothing is kept). One process walks a page at a time:
the others asking for it meanwhile wait for its answer (a page ranked from the index is not
claimed: it costs about what the wait would). A repeated page then costs one read:
its rows by id (the rows the view shows, as fresh as the database's: a result deleted since
is left out, an edited one shows its current fields), in the cached order, checked against
the company. The company is part of the key, so a company never gets another's ids. Slices
(`[a:b]`, the admin's best 100) walk every time. The server-side strategies
(`scores_on_server()`) are not cached: there a page and its count are two aggregates the
server answers from its own indexes, with no client-side walk of round trips to save.
"""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime, timedelta
from functools import cached_property

from bson import ObjectId
from django.conf import settings
from django.utils import timezone

from requestdesk.db import pages, text
from requestdesk.db.collections import raw
from requestdesk.memo import Memo

from ..models import Result
from ..services.analysis import WEIGHTS, posting, query_terms
from . import analytics, search_pages, search_segments, search_walk
from .results import ResultFilters, _column, _pk, _results, naive_utc


def tenant_match(company) -> dict:
    """The tenant condition alone, as raw() writes it (for pymongo baselines, e.g. bench)."""
    return _results(company).match()


def _aggregate(company, pipeline: list):
    return _results(company).aggregate(pipeline)


# What the walk reads of a result: its postings and tenant, and what the filters ask
# (ResultFilters.fields). The embedded server projects in Python: each field asked for costs
# it time per document read (a dotted path most), so a search without filters reads no more.
FIELDS = {"terms": 1, "company_id": 1}


# --- where scores are computed -----------------------------------------------------------------


def scores_on_server() -> bool:
    """Whether the server scores, sorts, counts and pages (its text index, or the postings
    pipeline), or the postings are walked here (see the module docstring): requestdesk.db.text
    decides from the capabilities."""
    return text.strategy(Result) != text.POSTINGS_IN_WINDOWS


# --- the client-side walk (its windows: search_walk) --------------------------------------------

# The weights of a term a company's results do not hold (a posting tier read whole and found
# empty), by (company id, its generation of pages, term, weight), kept in this process: the
# walk skips them instead of asking the server again (most of a query's tiers are empty,
# ~0.8 ms each on the embedded server). A result stored anywhere gives the company a new
# generation (forget), so these are not looked at again: like the pages, they are kept until
# then, at most SCRAPING_SEARCH_PAGE_SECONDS. With the cache unreachable (no generation) they
# are kept SCRAPING_SEARCH_DENSITY_SECONDS: a result stored by another process is found by a
# search here within those seconds, as a search engine's refresh interval.
_empty: Memo[bool] = Memo("SCRAPING_SEARCH_DENSITY_SECONDS", max_entries=50_000)


def _company_key(company):
    pk = _pk(company)
    return ObjectId(pk) if isinstance(pk, str) and ObjectId.is_valid(pk) else pk


def forget(sender=None, company_id=None, **_signal) -> None:
    """Receiver of scraping.signals.postings_changed and results_ingested: the company's
    results changed in this process (company_id None: any company's), so its empty tiers are
    asked again, and its cached pages (search_pages) walked again in every process."""
    company_key = None if company_id is None else _company_key(company_id)
    if company_key is None:
        _empty.clear()
    else:
        _empty.invalidate(company_key)
    search_segments.forget(company_key)
    search_pages.forget(company_key)


def forget_deleted(sender, instance, **_signal) -> None:
    """Receiver of post_delete of a Project or a Target: its results went with it (a cascade,
    which sends nothing of theirs), so the company's are as if changed (forget)."""
    forget(company_id=instance.company_id)


class SearchResults:
    """A ranked search, evaluated lazily: numbered() gives a page as the API's Pagination
    reads it (the walk then reads no further than that page needs); count() and slicing
    run the query too. Pages and slices are Results with a `score`."""

    def __init__(
        self, *, company, terms: list[str], filters: ResultFilters, on_server: bool | None = None, query: str = ""
    ):
        self.company, self.terms, self.filters, self.query = company, terms, filters, query or " ".join(terms)
        if on_server is None:
            self.strategy = text.strategy(Result)
        else:
            self.strategy = text.POSTINGS_ON_SERVER if on_server else text.POSTINGS_IN_WINDOWS
        self.on_server = self.strategy != text.POSTINGS_IN_WINDOWS
        self.date_from, self.date_to = naive_utc(filters.date_from), naive_utc(filters.date_to)
        self._count = None
        self.count_exact = True
        self._scored: dict = {}  # _id -> (score, published_at, _id) of the rows accepted
        self._walks = None
        self._segments: search_segments.Ranked | None = None  # the ranking read from the index
        self._segments_stop = -1  # the largest stop the index was asked for (its answer None or not)
        self._company_key = _company_key(company)
        # What the walk learns (empty tiers, pages) is kept unless results change meanwhile.
        self._generation = _empty.generation
        self.complete = False  # every candidate read
        self.read = 0
        self.fields = {**FIELDS, **filters.fields()}
        # A result holds one posting per term (analysis.postings), so its score is the sum of
        # the weights of the query's postings among its own.
        self._weights = {posting(term, weight): weight for term in terms for weight in WEIGHTS}

    def postings(self) -> list[str]:
        return [posting(term, weight) for term in self.terms for weight in WEIGHTS]

    def _match(self) -> dict:
        match = self.filters.match(self.company)
        if self.strategy == text.TEXT_INDEX:
            return {**match, **text.match(self.query)}
        match["terms"] = {"$in": self.postings()}
        return match

    # server side
    def pipeline(self, skip: int = 0, limit: int | None = None) -> list[dict]:
        """The server-side form: match, score, sort, page."""
        if self.strategy == text.TEXT_INDEX:
            return text.ranked(
                self.filters.match(self.company),
                self.query,
                then=[("published_at", -1), ("_id", -1)],
                skip=skip,
                limit=limit,
            )

        # A result holds one posting per term, so its score is the sum of the weights of
        # the query's postings it holds.
        score = {
            "$add": [
                {"$cond": [{"$in": [posting(term, weight), {"$ifNull": ["$terms", []]}]}, weight, 0]}
                for term in self.terms
                for weight in WEIGHTS
            ]
        }
        stages = [
            {"$match": self._match()},
            {"$project": {"score": score, "published_at": 1}},
            {"$sort": {"score": -1, "published_at": -1, "_id": -1}},
            {"$skip": skip},
        ]
        return stages + ([{"$limit": limit}] if limit is not None else [])

    # client side
    def known_empty(self, term: str, weight: int) -> bool:
        return bool(_empty.get((self._company_key, self._pages, term, weight)))

    def found_empty(self, term: str, weight: int) -> None:
        """A walk read a weight whole and found no posting: kept, unless only a date range
        of it was read. Kept under the company's generation of pages (search_pages), when the
        cache holds one: a result stored by any process then asks the weight again at once."""
        if self.date_from is None and self.date_to is None:
            key = (self._company_key, self._pages, term, weight)
            seconds = None if self._pages is None else search_pages.seconds()
            _empty.put(key, True, generation=self._generation, ids=frozenset({self._company_key}), seconds=seconds)

    def _accept(self, rows: list[dict]) -> None:
        company_id = _pk(self.company)
        self.read += len(rows)
        for row in rows:
            if row["_id"] in self._scored or row.get("company_id") != company_id or not self.filters.accepts(row):
                continue
            score = sum(self._weights.get(entry, 0) for entry in row.get("terms") or ())
            if score:
                self._scored[row["_id"]] = (score, naive_utc(row["published_at"]), row["_id"])

    @cached_property
    def _small(self):
        """The project's or target's results, when its rollup counts few (else None)."""
        for name in ("target", "project"):
            value = getattr(self.filters, name)
            if value is not None:
                if analytics.rollup_count(self.company, self.filters) <= settings.SCRAPING_SEARCH_COUNT_CAP:
                    query = {_column(name): _pk(value)}
                    dates = {op: v for op, v in (("$gte", self.date_from), ("$lte", self.date_to)) if v}
                    if dates:
                        query["published_at"] = dates
                    return query
        return None

    @cached_property
    def _pages(self) -> tuple | None:
        """The generation of the company's cached pages, read once, before this search walks
        anything (a page walked across a change is then kept where no search looks)."""
        return None if self.on_server else search_pages.generation(self._company_key)

    def _start(self):
        self._pages  # noqa: B018  # read before the walk (the property above)
        self._walks = [search_walk.TermWalk(term, self) for term in self.terms]
        per_day = search_walk.company_days(self.company)
        self.density = search_walk.Density(per_day)
        newest = max(per_day) + timedelta(days=1) if per_day else datetime(1970, 1, 1)
        # Today's results lie before now (the first window has no upper bound all the same):
        # a window sized from the end of today would be a round trip that finds nothing.
        now = naive_utc(timezone.now())
        if per_day and max(per_day) <= now < newest:
            newest = now
        self.newest = min(newest, self.date_to + timedelta(microseconds=1)) if self.date_to else newest
        small = self._small
        if small is not None:
            # Not raw(Result, company=...): the embedded server plans {project_id or target_id,
            # company_id} as a collection scan (measured), so the company is checked on the
            # rows instead (_accept keeps only the company's).
            self._accept(list(raw(Result, unscoped=True).find(small, self.fields)))
            self.complete = True

    def _by_segments(self, stop: int | None) -> search_segments.Ranked | None:
        """The ranking from the company's search index (search_segments) where it serves: a
        page, while the index is built. The index's entries carry the date; the other filters
        are checked on the candidates read, except a small project's or target's, whose
        results are read and scored whole instead (exact)."""
        if self.on_server or stop is None:
            return None
        dates = ("date_from", "date_to")
        others = any(getattr(self.filters, field.name) for field in fields(self.filters) if field.name not in dates)
        if others and self._small is not None:
            return None
        if self._segments_stop < stop:
            self._segments = search_segments.rank(
                company=self.company,
                company_id=_pk(self.company),
                terms=self.terms,
                stop=max(stop, 1),
                date_from=self.date_from,
                date_to=self.date_to,
                generation=self._pages,
                filters=self.filters if others else None,
            )
            self._segments_stop = stop
        return self._segments

    def ranked(self, stop: int | None = None) -> list[tuple]:
        """The results read so far, best first, once the first `stop` are final and one more
        is scored (all if None)."""
        if self._walks is None:
            by_segments = self._by_segments(stop)
            if by_segments is not None:
                self.read, self.complete = by_segments.read, by_segments.exact
                return by_segments.rows
            self._start()
        budget = settings.SCRAPING_SEARCH_MAX_CANDIDATES
        if not self.complete:
            wanted = None if stop is None else max(stop, 1) + 1
            walks = text.threshold_walk(
                self._walks,
                self._scored,
                frontier=lambda walk: None if walk.seen_to is None else (walk.seen_to,),
                need=None if stop is None else max(stop, 1),
                at_least=wanted or 0,
                remaining=search_walk.TermWalk.remaining,
            )
            for walk in walks:
                if self.read >= budget:
                    break
                self._accept(walk.advance(wanted or search_walk.WINDOW_TARGET))
            self.complete = not any(walk.weight for walk in self._walks)
        return sorted(self._scored.values(), reverse=True)

    def count(self) -> int:
        """The matches: exact when the walk read every posting (count_exact), else the rows
        scored so far, at least the page asked for and one more (a lower bound). Asked before
        any page, it is the count of the API's first page (REST_FRAMEWORK's PAGE_SIZE)."""
        if self.on_server:
            if self._count is None:
                rows = list(_aggregate(self.company, [{"$match": self._match()}, {"$count": "n"}]))
                self._count = rows[0]["n"] if rows else 0
            return self._count
        if self._walks is None and self._segments is None:
            self.ranked(settings.REST_FRAMEWORK["PAGE_SIZE"])
        if self._segments is not None:
            self.count_exact = self._segments.exact
            return self._segments.count
        self.count_exact = self.complete
        return len(self._scored)

    def numbered(self, *, number: int, size: int) -> pages.Numbered:
        """Page `number` (from 1) of `size` rows, as the API's Pagination reads it: the
        client-side walk stops once the page is final and one row more is scored, and what
        it found is kept for the same page of the same query (the module docstring)."""
        start, stop = (number - 1) * size, number * size
        if self.on_server:
            rows = self[start : stop + 1]
            return pages.Numbered(rows[:size], self.count(), self.count_exact, len(rows) > size)
        walked = self._page(start, stop)
        self.count_exact = walked.exact
        return pages.Numbered(self._rows(dict(walked.page)), walked.count, walked.exact, walked.count > stop)

    def _page(self, start: int, stop: int) -> search_pages.Walked:
        """The walk's ranked ids of [start, stop) and its count: kept ones (search_pages), else
        walked and kept under the generation this search began with."""
        key = (self._company_key, tuple(self.terms), self._filters_key(), start, stop)
        walked = search_pages.get(self._pages, key)
        if walked is not None:
            return walked
        # Ranked from the index, a page costs about what waiting for another process would:
        # only a walk is claimed, so that one process walks it.
        walks = self._by_segments(stop) is None
        if walks and not search_pages.claim(self._pages, key):
            walked = search_pages.wait(self._pages, key)  # another process walks it
            if walked is not None:
                return walked
        try:
            ranked = self.ranked(stop)[start:stop]
            count = self.count()
            page = tuple((row_id, score) for score, _, row_id in ranked)
            walked = search_pages.Walked(page, count, self.count_exact)
            search_pages.put(self._pages, key, walked)
        finally:
            if walks:
                search_pages.release(self._pages, key)
        return walked

    def _filters_key(self) -> tuple:
        """Every filter's value (a filter added to ResultFilters is part of the key as it is)."""
        return tuple(_pk(getattr(self.filters, field.name)) for field in fields(self.filters))

    def __len__(self):
        return self.count()

    def __getitem__(self, index):
        if not isinstance(index, slice):
            return self[index : index + 1][0]
        start = index.start or 0
        stop = index.stop
        if stop is not None and stop <= start:
            return []
        if self.on_server:
            scores = {
                row["_id"]: row["score"]
                for row in _aggregate(self.company, self.pipeline(start, None if stop is None else stop - start))
            }
        else:
            scores = {row_id: score for score, _, row_id in self.ranked(stop)[start:stop]}
        return self._rows(scores)

    def _rows(self, scores: dict) -> list[Result]:
        """The results of these ids, in this order, each with its `score`, in one read: those
        still there and the company's."""
        # By _id alone: with the company next to an _id $in, the embedded server's planner
        # takes a company index and reads every result of the tenant. The ids come from the
        # tenant's own query; the company is checked again here all the same.
        company_id = _pk(self.company)
        found = Result.objects.defer("terms", "search").in_bulk(list(scores))
        page = []
        for row_id, score in scores.items():
            result = found.get(row_id)
            if result is not None and result.company_id == company_id:
                result.score = score
                page.append(result)
        return page


def search(*, company, query: str, filters: ResultFilters | None = None) -> SearchResults:
    """Results of `company` matching any word of `query`, best first. ValueError when the
    query has no searchable word."""
    terms = query_terms(query)
    if not terms:
        raise ValueError("Enter at least one word to search for (common words such as “the” are not searched).")
    return SearchResults(company=company, terms=terms, filters=filters or ResultFilters(), query=query)

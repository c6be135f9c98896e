"""Reads that are more than a filter: the weighted search and the sentiment analytics.

Both are aggregation pipelines on the results collection, through the project's Django
connection (its collections rewrite pipelines for the embedded server). Every pipeline
starts with the tenant's company (`tenant_match`), then the caller's filters.

Weighted search (seed 002: title weight 10, text 5) without $text, which the embedded server
lacks: results store their title and text terms (scraping.services.analysis) and the
multikey index (company_id, terms) finds the candidates, `terms: {$in: query terms}`. Each
is scored 10 x (query terms in its title) + 5 x (query terms in its text), and ranked by
score, then newest first: on the server (a $project/$sort/$skip/$limit pipeline) with a real
MongoDB, here from an index-backed projection with the embedded one (see scores_on_server).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from django.conf import settings
from django.db import connections

from .models import Result, Target
from .services.analysis import query_terms

TITLE_WEIGHT, TEXT_WEIGHT = 10, 5
INTERVALS = ("day", "week")
LABELS = ("positive", "negative", "neutral")


def _collection():
    return connections[Result.objects.db].get_collection(Result._meta.db_table)


def _column(name: str) -> str:
    return Result._meta.get_field(name).column


def tenant_match(company) -> dict:
    """The tenant condition of a raw pipeline: the same field `tenants.scoping.scope` filters on."""
    return {_column(Result.TENANT_FIELD): getattr(company, "pk", company)}


@dataclass(frozen=True)
class ResultFilters:
    project: object = None
    target: object = None
    platform: str | None = None
    sentiment: str | None = None
    date_from: datetime | None = None
    date_to: datetime | None = None

    def match(self, company) -> dict:
        match = tenant_match(company)
        for name in ("project", "target"):
            value = getattr(self, name)
            if value is not None:
                match[_column(name)] = getattr(value, "pk", value)
        if self.platform:
            match["platform"] = self.platform
        if self.sentiment:
            match["analysis.sentiment.label"] = self.sentiment
        dates = {op: value for op, value in (("$gte", self.date_from), ("$lte", self.date_to)) if value}
        if dates:
            match["published_at"] = dates
        return match

    def accepts(self, row: dict) -> bool:
        """What match() asks of the server, for a raw row fetched without it."""
        for name in ("project", "target"):
            value = getattr(self, name)
            if value is not None and row.get(_column(name)) != getattr(value, "pk", value):
                return False
        if self.platform and row.get("platform") != self.platform:
            return False
        if self.sentiment and ((row.get("analysis") or {}).get("sentiment") or {}).get("label") != self.sentiment:
            return False
        when = _naive_utc(row.get("published_at"))
        return not ((self.date_from and when < _naive_utc(self.date_from))
                    or (self.date_to and when > _naive_utc(self.date_to)))


FILTER_FIELDS = ("project_id", "target_id", "platform", "analysis.sentiment.label")


def _naive_utc(value: datetime) -> datetime:
    return value.astimezone(timezone.utc).replace(tzinfo=None) if value.tzinfo else value


# --- search ----------------------------------------------------------------------------------

@functools.cache
def _embedded_server(alias: str) -> bool:
    return "secantusVersion" in connections[alias].get_collection(Result._meta.db_table).database.command(
        "buildInfo")


def scores_on_server() -> bool:
    """Where search scores are computed. Measured on the embedded server (SecantusDB, a
    Python server): the scoring pipeline costs ~350 µs per candidate, an index-backed
    find with a projection ~100 µs, so there the candidates' terms are fetched and scored
    here (the same formula); a real MongoDB scores, sorts and pages on the server."""
    mode = settings.SCRAPING_SEARCH_SCORING
    if mode == "auto":
        return not _embedded_server(Result.objects.db)
    return mode == "server"


class SearchResults:
    """A ranked search, evaluated lazily: count() and slicing run the query, so the API's
    paginator pages it like a queryset. Slices are Results with a `score`.

    Client-side, only {company_id, terms} is sent (the embedded server's planner serves it
    from the (company_id, terms) index, but given more fields it may scan the collection,
    and a hint makes it slower still); the other filters are applied to the rows here."""

    def __init__(self, *, company, terms: list[str], filters: ResultFilters, on_server: bool | None = None):
        self.company, self.terms, self.filters = company, terms, filters
        self.on_server = scores_on_server() if on_server is None else on_server
        self._count = self._ranked = None

    def _match(self) -> dict:
        match = self.filters.match(self.company)
        match["terms"] = {"$in": self.terms}
        return match

    def pipeline(self, skip: int = 0, limit: int | None = None) -> list[dict]:
        """The server-side form: match, score, sort, page."""
        def hits(field):
            return {"$size": {"$setIntersection": [{"$ifNull": [f"$search.{field}", []]}, self.terms]}}

        stages = [
            {"$match": self._match()},
            {"$project": {"score": {"$add": [{"$multiply": [TITLE_WEIGHT, hits("title")]},
                                             {"$multiply": [TEXT_WEIGHT, hits("text")]}]},
                          "published_at": 1}},
            {"$sort": {"score": -1, "published_at": -1, "_id": -1}},
            {"$skip": skip},
        ]
        return stages + ([{"$limit": limit}] if limit is not None else [])

    def ranked(self) -> list[tuple]:
        """The client-side form: every candidate's (score, published_at, _id), best first."""
        if self._ranked is None:
            query = set(self.terms)
            scan = {**tenant_match(self.company), "terms": {"$in": self.terms}}
            rows = _collection().find(scan, {"search": 1, "published_at": 1, **{f: 1 for f in FILTER_FIELDS}})
            self._ranked = sorted(
                ((TITLE_WEIGHT * len(query.intersection((row.get("search") or {}).get("title") or ()))
                  + TEXT_WEIGHT * len(query.intersection((row.get("search") or {}).get("text") or ())),
                  row["published_at"], row["_id"]) for row in rows if self.filters.accepts(row)),
                reverse=True)
        return self._ranked

    def count(self) -> int:
        if self._count is None:
            if self.on_server:
                rows = list(_collection().aggregate([{"$match": self._match()}, {"$count": "n"}]))
                self._count = rows[0]["n"] if rows else 0
            else:
                self._count = len(self.ranked())
        return self._count

    def __len__(self):
        return self.count()

    def __getitem__(self, index):
        if not isinstance(index, slice):
            return self[index:index + 1][0]
        start = index.start or 0
        stop = index.stop
        if stop is not None and stop <= start:
            return []
        if self.on_server:
            scores = {row["_id"]: row["score"] for row in _collection().aggregate(
                self.pipeline(start, None if stop is None else stop - start))}
        else:
            scores = {row_id: score for score, _, row_id in self.ranked()[start:stop]}
        # By _id alone: with the company next to an _id $in, the embedded server's planner
        # takes a company index and reads every result of the tenant. The ids come from the
        # tenant's own query; the company is checked again here all the same.
        company_id = getattr(self.company, "pk", self.company)
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
    return SearchResults(company=company, terms=terms, filters=filters or ResultFilters())


# --- sentiment analytics -------------------------------------------------------------------------

def _counts() -> dict:
    counts = {"count": {"$sum": 1}, "avg_compound": {"$avg": "$analysis.sentiment.compound"}}
    for label in LABELS:
        counts[label] = {"$sum": {"$cond": [{"$eq": ["$analysis.sentiment.label", label]}, 1, 0]}}
    return counts


def _row(doc: dict) -> dict:
    avg = doc.get("avg_compound")
    return {"count": doc["count"], **{label: doc[label] for label in LABELS},
            "avg_compound": None if avg is None else round(avg, 4)}


def _periods(first: datetime, last: datetime, interval: str):
    step = timedelta(days=7 if interval == "week" else 1)
    while first <= last:
        yield first
        first += step


def _group(company, filters: ResultFilters, key) -> list[dict]:
    return list(_collection().aggregate([
        {"$match": filters.match(company)}, {"$group": {"_id": key, **_counts()}}, {"$sort": {"_id": 1}},
    ]))


def sentiment_series(*, company, filters: ResultFilters, interval: str = "day") -> list[dict]:
    """Counts per label and the average compound score per day or ISO week (Monday), from
    the first period with results to the last; periods without results have count 0."""
    if interval not in INTERVALS:
        raise ValueError(f"interval must be one of: {', '.join(INTERVALS)}")
    docs = _group(company, filters, {"$dateTrunc": {"date": "$published_at", "unit": interval,
                                                    "startOfWeek": "monday"}})
    if not docs:
        return []
    by_period = {doc["_id"].replace(tzinfo=None): doc for doc in docs}
    empty = {"count": 0, **{label: 0 for label in LABELS}, "avg_compound": None}
    return [{"period": start.date().isoformat(), **(_row(by_period[start]) if start in by_period else empty)}
            for start in _periods(min(by_period), max(by_period), interval)]


def sentiment_by_target(*, company, filters: ResultFilters) -> list[dict]:
    docs = sorted(_group(company, filters, f"${_column('target')}"), key=lambda doc: -doc["count"])
    urls = dict(Target.objects.for_company(company).filter(pk__in=[d["_id"] for d in docs]).values_list("pk", "url"))
    return [{"target": str(doc["_id"]), "url": urls.get(doc["_id"], ""), **_row(doc)} for doc in docs]


def sentiment_analytics(*, company, filters: ResultFilters, interval: str = "day") -> dict:
    """The series, the totals and the per-target breakdown (what the API and the chart show)."""
    totals = _group(company, filters, None)
    return {
        "interval": interval,
        "series": sentiment_series(company=company, filters=filters, interval=interval),
        "totals": _row(totals[0]) if totals else {"count": 0, **{label: 0 for label in LABELS},
                                                   "avg_compound": None},
        "targets": sentiment_by_target(company=company, filters=filters),
    }

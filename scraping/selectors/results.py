"""The results' filters (ResultFilters) and the raw, tenant-scoped reads they go through,
shared by the search (selectors.search) and the sentiment analytics (selectors.analytics);
a project's results of a date range with their sentiment (`published_in`, for figures read
outside scraping), and the company's project named by an id (`company_project`).

Every query reads through `raw(Result, company=...)` (requestdesk.db.collections), which adds
the tenant's company to the caller's filters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from bson import ObjectId
from bson.errors import InvalidId

from requestdesk.db.collections import raw

from ..models import Project, Result

SENTIMENT_FIELDS = ("analysis.sentiment.label", "analysis.sentiment.compound")


def _column(name: str) -> str:
    return Result._meta.get_field(name).column


def _pk(value):
    return getattr(value, "pk", value)


def _results(company):
    """The results collection of `company` (raw(), tenant-scoped)."""
    return raw(Result, company=company)


def naive_utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def sentiment(row: dict) -> dict | None:
    """A raw result's sentiment ({"label", "compound", ...}); None when it has none."""
    return (row.get("analysis") or {}).get("sentiment") or None


def published_in(
    company,
    project,
    *,
    since: datetime,
    before: datetime | None = None,
    through: datetime | None = None,
    fields: Sequence[str] = SENTIMENT_FIELDS,
) -> list[dict]:
    """The project's results published from `since` to `before` (excluded) or `through`
    (included), raw with `published_at` and `fields`, newest first: a bounded range of the
    results' (company, project, published_at) index."""
    dates = {"$gte": since}
    if before is not None:
        dates["$lt"] = before
    if through is not None:
        dates["$lte"] = through
    rows = list(
        _results(company).find({_column("project"): _pk(project), "published_at": dates}, ["published_at", *fields])
    )
    rows.sort(key=lambda row: (row["published_at"], row["_id"]), reverse=True)
    return rows


def company_project(company, value: object) -> Project | None:
    """The company's project whose id is `value` (an ObjectId or its text); None for anything
    else, another company's project included."""
    try:
        pk = ObjectId(str(value)) if value is not None else None
    except (InvalidId, TypeError):
        return None
    return None if pk is None else Project.objects.for_company(company).filter(pk=pk).first()


@dataclass(frozen=True)
class ResultFilters:
    project: object = None
    target: object = None
    platform: str | None = None
    sentiment: str | None = None
    date_from: datetime | None = None
    date_to: datetime | None = None

    def match(self, company) -> dict:
        """The filters as one raw query, with the tenant (from raw())."""
        match = {}
        for name in ("project", "target"):
            value = getattr(self, name)
            if value is not None:
                match[_column(name)] = _pk(value)
        if self.platform:
            match["platform"] = self.platform
        if self.sentiment:
            match["analysis.sentiment.label"] = self.sentiment
        dates = {op: value for op, value in (("$gte", self.date_from), ("$lte", self.date_to)) if value}
        if dates:
            match["published_at"] = dates
        return _results(company).match(match)

    def fields(self) -> dict:
        """The raw fields accepts() reads, as a projection (those of the filters given)."""
        names = ["published_at"]
        names += [_column(name) for name in ("project", "target") if getattr(self, name) is not None]
        if self.platform:
            names.append("platform")
        if self.sentiment:
            names.append("analysis.sentiment.label")
        return dict.fromkeys(names, 1)

    def accepts(self, row: dict) -> bool:
        """What match() asks of the server, for a raw row fetched without it."""
        for name in ("project", "target"):
            value = getattr(self, name)
            if value is not None and row.get(_column(name)) != _pk(value):
                return False
        if self.platform and row.get("platform") != self.platform:
            return False
        if self.sentiment and (sentiment(row) or {}).get("label") != self.sentiment:
            return False
        when = naive_utc(row.get("published_at"))
        return not (
            (self.date_from and when < naive_utc(self.date_from)) or (self.date_to and when > naive_utc(self.date_to))
        )

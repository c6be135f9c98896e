"""Daily sentiment rollups: what the analytics read instead of the results.

One document per (target, platform, month) holds, per day of that month, the results'
count per sentiment label and the sum of their compound scores per label:

    {company_id, project_id, target_id, platform, month: first day 00:00 UTC,
     days: {"05": {"positive": 3, "positive_sum": 1.9, "negative": 1, ..., "unscored": 0}}}

and one per (company, month), with project_id, target_id and platform null, the same for
all the company's results: the search plans its date windows from it (scraping.selectors.search).
And one per month with company_id null too, the same for every company's results: the
admin's all-companies dashboard reads its trend from it (`everyone`), a document a month
however many companies there are. (Tenant reads never see it: they carry their company.)

The ingest service adds the results it stored with one bulk of `$inc` upserts right after
the bulk insert (`add`), so a month of a target is one small document however many results
it has; the migration that introduced them builds them from the stored results (`rebuild`,
idempotent). Deleted results are counted out: one by one by `ingest.delete_results` (the
admin's delete), a whole target's (its delete, its project's or its company's) by
`drop_target` from the target's own documents.

An item whose content changed keeps its one result (scraping.services.ingest updates it
in place): `add` is then given the stored version it replaced, and moves its count (a `$inc`
of -1 on the old version's day and label, +1 on the new one's). `rebuild` counts every
result, so both give the same numbers.

Days are UTC days. There are no transactions on the embedded server: a worker
killed between the insert and the `$inc` leaves those results out of the rollups until
`rebuild` runs again (`manage.py rebuild_sentiment_rollups`).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime

from pymongo import UpdateOne

from requestdesk.db.collections import raw

from ..models import Result, SentimentRollup, Target

LABELS = ("positive", "negative", "neutral", "mixed")
UNSCORED = "unscored"


def month_of(when: datetime) -> datetime:
    when = when.astimezone(UTC).replace(tzinfo=None) if when.tzinfo else when
    return datetime(when.year, when.month, 1)


def _cell(label: str | None, compound, sign: int = 1) -> dict:
    if label not in LABELS or compound is None:
        return {UNSCORED: sign}
    return {label: sign, f"{label}_sum": sign * compound}


def increments(rows, removed=()) -> dict[tuple, dict]:
    """{(company_id, project_id, target_id, platform, month): {"days.DD.field": n}} of rows
    counted in and `removed` rows counted out, each (company_id, project_id, target_id,
    platform, published_at, label, compound)."""
    found: dict[tuple, dict] = defaultdict(lambda: defaultdict(float))
    for sign, part in ((1, rows), (-1, removed)):
        for company_id, project_id, target_id, platform, published_at, label, compound in part:
            when = published_at.astimezone(UTC) if published_at.tzinfo else published_at
            for key in (
                (company_id, project_id, target_id, platform, month_of(when)),
                (company_id, None, None, None, month_of(when)),
                (None, None, None, None, month_of(when)),
            ):
                fields = found[key]
                for name, value in _cell(label, compound, sign).items():
                    fields[f"days.{when.day:02d}.{name}"] += value
    return found


def _row(doc: dict) -> tuple:
    """The rollup row of a raw result document."""
    sentiment = (doc.get("analysis") or {}).get("sentiment") or {}
    return (
        doc["company_id"],
        doc["project_id"],
        doc["target_id"],
        doc["platform"],
        doc["published_at"],
        sentiment.get("label"),
        sentiment.get("compound"),
    )


ROW_FIELDS = {
    "company_id": 1,
    "project_id": 1,
    "target_id": 1,
    "platform": 1,
    "published_at": 1,
    "analysis.sentiment.label": 1,
    "analysis.sentiment.compound": 1,
}


def _result_row(r) -> tuple:
    """The rollup row of a Result object."""
    sentiment = r.analysis.sentiment if r.analysis and r.analysis.sentiment else None
    return (
        r.company_id,
        r.project_id,
        r.target_id,
        r.platform,
        r.published_at,
        *((sentiment.label, sentiment.compound) if sentiment else (None, None)),
    )


def _updates(found: dict[tuple, dict], *, upsert: bool = True) -> dict[object, list[UpdateOne]]:
    """{company_id: [upsert]}: written through `_written(company_id)`, which adds the company
    to each filter (and so to each document an upsert creates); the platform-wide documents'
    filter names their null company itself."""
    # Upserted on the fields of the unique index and no other (the company comes from
    # `_written`): the embedded server serves each update from that index.
    now = datetime.now(UTC)
    per_company: dict[object, list[UpdateOne]] = defaultdict(list)
    for (company_id, project_id, target_id, platform, month), fields in found.items():
        key = {"target_id": target_id, "platform": platform}
        if company_id is None:  # platform-wide: raw(unscoped) adds no company to the filter
            key["company_id"] = None
        per_company[company_id].append(
            UpdateOne(
                {**key, "month": month},
                {
                    "$inc": {k: int(v) if not k.endswith("_sum") else v for k, v in fields.items()},
                    "$set": {"updated_at": now},
                    "$setOnInsert": {"project_id": project_id, "created_at": now},
                },
                upsert=upsert,
            )
        )
    return per_company


def of_company(company, *, using: str | None = None):
    """The rollups collection of `company` (raw(), tenant-scoped)."""
    return raw(SentimentRollup, company=company, using=using)


def _written(company_id, *, using: str | None = None):
    """Where `_updates`' upserts of `company_id` go (None: the platform-wide documents)."""
    return (
        raw(SentimentRollup, unscoped=True, using=using) if company_id is None else of_company(company_id, using=using)
    )


def everyone(months: list[datetime]):
    """The platform-wide documents of `months` (every company's results per day): one per month,
    read on the (company, project, month) index (only they have a null company)."""
    return raw(SentimentRollup, unscoped=True).find(
        {"company_id": None, "project_id": None, "month": {"$in": months}}, {"month": 1, "days": 1}
    )


def add(results=(), *, replaced=(), removed=()) -> None:
    """Count stored Result objects into the rollups, and count out the `replaced` result
    documents (fields ROW_FIELDS), the stored versions of items `results` changed, and the
    `removed` Result objects, deleted."""
    found = increments(
        [_result_row(r) for r in results], [*(_row(doc) for doc in replaced), *(_result_row(r) for r in removed)]
    )
    for company_id, updates in _updates(found).items():
        _written(company_id).bulk_write(updates, ordered=False)


def drop_target(sender=None, instance=None, **_signal) -> None:
    """pre_delete of a Target (its own delete, its project's or its company's cascade): the
    target's results and rollup documents are about to go with it, so their counts leave the
    company-wide and platform-wide documents. Decrements only (no upsert): a company deleted
    in the same cascade is not given its documents back."""
    found: dict[tuple, dict] = defaultdict(lambda: defaultdict(float))
    for doc in of_company(instance.company_id).find({"target_id": instance.pk}, {"month": 1, "days": 1}):
        for key in ((instance.company_id, None, None, None, doc["month"]), (None, None, None, None, doc["month"])):
            fields = found[key]
            for day, cell in (doc.get("days") or {}).items():
                for name, value in cell.items():
                    fields[f"days.{day}.{name}"] -= value
    for company_id, updates in _updates(found, upsert=False).items():
        _written(company_id).bulk_write(updates, ordered=False)


def results_by_target(connection, fields: dict, *, grouped: bool = False):
    """Every stored result (`fields` of it), read one target at a time: each read is one
    (target_id, ...) index range, so no single query reads the whole collection (the embedded
    server answers a query only once it has read all it matches; pymongo gives up after
    MONGO_TIMEOUT_MS). Every company's: raw(..., unscoped=True), a rebuild spans tenants.
    With `grouped`, one list per target."""
    results = raw(Result, unscoped=True, using=connection.alias)
    for target in raw(Target, unscoped=True, using=connection.alias).find({}, {"_id": 1}):
        found = results.find({"target_id": target["_id"]}, fields)
        if grouped:
            yield list(found)
        else:
            yield from found


def rebuild(connection=None) -> int:
    """Recount every rollup from the results collection (idempotent). Returns the results read."""
    connection = connection or _default()
    rows, read = [], 0
    for docs in results_by_target(connection, ROW_FIELDS, grouped=True):
        read += len(docs)
        rows += [_row(doc) for doc in docs]
    raw(SentimentRollup, unscoped=True, using=connection.alias).delete_many({})
    for company_id, updates in _updates(increments(rows)).items():
        rollups = _written(company_id, using=connection.alias)
        for start in range(0, len(updates), 500):
            rollups.bulk_write(updates[start : start + 500], ordered=False)
    return read


def _default():
    from django.db import connection

    return connection


def days_of(doc: dict):
    """(day, cell) of a rollup document, day = 00:00 UTC of that day."""
    month = doc["month"].replace(tzinfo=None)
    for key, cell in (doc.get("days") or {}).items():
        yield month.replace(day=int(key)), cell


def cell_count(cell: dict, label: str | None = None) -> int:
    if label:
        return int(cell.get(label, 0))
    return int(sum(cell.get(name, 0) for name in (*LABELS, UNSCORED)))


def company_months(company, months: list[datetime] | None = None):
    """The company-wide documents of `company` (of `months`, or all). Asked by their null
    project (the target documents have one): the filter's fields are then those of the
    (company, project, month) index, which the embedded server plans it on (given target_id,
    a field outside the index, it scans the collection)."""
    query = {"project_id": None} if months is None else {"project_id": None, "month": {"$in": months}}
    return of_company(company).find(query, {"month": 1, "days": 1})


def company_days(company) -> dict[datetime, int]:
    """Results per UTC day of `company`, from its company-wide rollups."""
    per_day: dict[datetime, int] = {}
    for doc in company_months(company):
        for day, cell in days_of(doc):
            per_day[day] = per_day.get(day, 0) + cell_count(cell)
    return per_day

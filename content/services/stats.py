"""Per-pipeline run statistics: counted as each run ends, read per window of days.

The runner calls `add(context, outcome)` once per finished run (completed, or failed for
good; a retry is not an end), right after the final write: one `$inc` upsert on the
pipeline's document of that UTC day (content.models.PipelineStats). `summary(pipeline,
days=N)` reads the N documents of the window (today and the N - 1 days before) on the
(company, pipeline, day) unique index and adds them up: O(days), not O(contexts).

Durations are kept as a histogram whose buckets are 10% wide (bucket k holds durations in
(1.1^(k-1), 1.1^k] ms; bucket 0 all under 1 ms), so p50 and p95 are the upper bound of the
bucket they fall in: at most 10% above the exact value. The mean is exact.

Tokens are what the AI generator steps recorded in the context's `data.generation`
(prompt_tokens, completion_tokens), 0 for pipelines without one.

There are no transactions on the embedded server: a worker killed between the final write
and the `$inc` leaves that run out of the counters until `rebuild` runs (`manage.py
rebuild_pipeline_stats`; the migration that introduced them ran it; it is idempotent).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta

from django.utils import timezone as django_timezone
from pymongo import UpdateOne

from requestdesk.db.collections import raw

from ..models import Context, ContextStatus, Pipeline, PipelineStats

RATIO = 1.1


def bucket(duration_ms: float) -> int:
    return 0 if duration_ms < 1 else math.ceil(round(math.log(duration_ms, RATIO), 9))


def bucket_bound(key: int) -> float:
    return 1.0 if key <= 0 else round(RATIO**key, 2)


def day_of(when: datetime) -> datetime:
    """The UTC day of `when` (naive: taken as UTC), as midnight UTC."""
    when = when.astimezone(UTC) if when.tzinfo else when
    return datetime(when.year, when.month, when.day, tzinfo=UTC)


def _tokens(context: Context) -> tuple[int, int]:
    generation = (context.data or {}).get("generation") if isinstance(context.data, dict) else None
    if not isinstance(generation, dict):
        return 0, 0
    return int(generation.get("prompt_tokens") or 0), int(generation.get("completion_tokens") or 0)


def increments(context: Context, outcome: str) -> dict:
    """The `$inc` of one finished run."""
    duration = (context.processing.duration_ms if context.processing else None) or 0.0
    tokens_in, tokens_out = _tokens(context)
    return {
        "runs": 1,
        "completed": int(outcome == ContextStatus.COMPLETED),
        "failed": int(outcome == ContextStatus.FAILED),
        "duration_ms_sum": float(duration),
        f"durations.{bucket(duration)}": 1,
        "tokens_in": tokens_in,
        "tokens_out": tokens_out,
    }


def _upsert(pipeline_id, day: datetime, inc: dict) -> UpdateOne:
    now = django_timezone.now()
    return UpdateOne(
        {"pipeline_id": pipeline_id, "day": day},
        {"$inc": inc, "$set": {"updated_at": now}, "$setOnInsert": {"created_at": now}},
        upsert=True,
    )


def add(context: Context, outcome: str) -> None:
    """Count the finished run of `context` (`outcome`: completed or failed)."""
    when = (context.processing.completed_at if context.processing else None) or django_timezone.now()
    request = _upsert(context.pipeline_id, day_of(when), increments(context, outcome))
    raw(PipelineStats, company=context.company_id).bulk_write([request])


def summary(pipeline: Pipeline, *, days: int = 7, now: datetime | None = None) -> dict:
    """Runs, outcomes, success rate, duration p50/p95/mean and tokens of `pipeline` over the
    last `days` UTC days (today included), with the figures of each day that had runs."""
    today = day_of(now or django_timezone.now())
    since = today - timedelta(days=days - 1)
    rows = list(
        PipelineStats.objects.for_company(pipeline.company_id)
        .filter(pipeline=pipeline.pk, day__gte=since, day__lte=today)
        .order_by("day")
    )
    histogram: Counter = Counter()
    for row in rows:
        histogram.update({int(k): v for k, v in (row.durations or {}).items()})
    runs = sum(r.runs for r in rows)
    completed, failed = sum(r.completed for r in rows), sum(r.failed for r in rows)
    total = sum(r.duration_ms_sum for r in rows)
    return {
        "pipeline": str(pipeline.pk),
        "days": days,
        "since": since.date().isoformat(),
        "until": today.date().isoformat(),
        "runs": runs,
        "completed": completed,
        "failed": failed,
        "success_rate": round(completed / runs, 4) if runs else None,
        "duration_ms": {
            "p50": percentile(histogram, 0.5),
            "p95": percentile(histogram, 0.95),
            "mean": round(total / runs, 2) if runs else None,
        },
        "tokens": {"in": sum(r.tokens_in for r in rows), "out": sum(r.tokens_out for r in rows)},
        "by_day": [
            {
                "day": r.day.date().isoformat(),
                "runs": r.runs,
                "completed": r.completed,
                "failed": r.failed,
                "tokens_in": r.tokens_in,
                "tokens_out": r.tokens_out,
            }
            for r in rows
        ],
    }


def percentile(histogram: Counter, fraction: float) -> float | None:
    """The upper bound of the bucket holding the `fraction` quantile (nearest rank)."""
    count = sum(histogram.values())
    if not count:
        return None
    rank, seen = max(1, math.ceil(fraction * count)), 0
    for key in sorted(histogram):
        seen += histogram[key]
        if seen >= rank:
            return bucket_bound(key)
    return bucket_bound(max(histogram))


def rebuild() -> int:
    """Recount every pipeline's days from the stored finished contexts (idempotent: the
    counters are replaced). The number of stats documents written."""
    finished = (ContextStatus.COMPLETED.value, ContextStatus.FAILED.value)
    contexts = raw(Context, unscoped=True).find(
        {"status": {"$in": finished}, "processing.completed_at": {"$ne": None}},
        {"company_id": 1, "pipeline_id": 1, "status": 1, "processing": 1, "data.generation": 1},
    )
    totals: dict[tuple, Counter] = defaultdict(Counter)
    for doc in contexts:
        context = Context(company_id=doc["company_id"], pipeline_id=doc.get("pipeline_id"), data=doc.get("data") or {})
        processing = doc.get("processing") or {}
        context.processing.duration_ms = processing.get("duration_ms")
        completed_at = processing["completed_at"]
        totals[(doc["company_id"], doc.get("pipeline_id"), day_of(completed_at))].update(
            increments(context, doc["status"])
        )
    stats = raw(PipelineStats, unscoped=True)
    stats.delete_many({})
    now = django_timezone.now()
    documents = []
    for (company_id, pipeline_id, day), counts in totals.items():
        durations = {name.split(".", 1)[1]: n for name, n in counts.items() if name.startswith("durations.")}
        documents.append(
            {
                "company_id": company_id,
                "pipeline_id": pipeline_id,
                "day": day,
                "durations": durations,
                "created_at": now,
                "updated_at": now,
                **{name: n for name, n in counts.items() if not name.startswith("durations.")},
            }
        )
    if documents:
        stats.insert_many(documents)
    return len(documents)

"""A batch's status summary: its contexts counted per status, its counters and its timings."""

from requestdesk.db.collections import raw

from ..models import Batch, Context


def status_groups(*, batch_id, company_id) -> list[dict]:
    """The batch status aggregation ($match batch_id, $group by status), with the
    count and the processing durations of each status."""
    return list(
        raw(Context, company=company_id).aggregate(
            [
                {"$match": {"batch_id": batch_id}},
                {
                    "$group": {
                        "_id": "$status",
                        "count": {"$sum": 1},
                        "avg_duration_ms": {"$avg": "$processing.duration_ms"},
                        "min_duration_ms": {"$min": "$processing.duration_ms"},
                        "max_duration_ms": {"$max": "$processing.duration_ms"},
                    }
                },
            ]
        )
    )


def status_counts(*, batch_id, company_id) -> dict[str, int]:
    return {group["_id"]: group["count"] for group in status_groups(batch_id=batch_id, company_id=company_id)}


def _rounded(value):
    return round(value, 2) if isinstance(value, (int, float)) else None


def batch_summary(batch: Batch) -> dict:
    groups = status_groups(batch_id=batch.pk, company_id=batch.company_id)
    done = next((g for g in groups if g["_id"] == "completed"), {})
    return {
        "batch_id": str(batch.pk),
        "status": batch.status,
        "context_count": batch.context_count,
        "by_status": {g["_id"]: g["count"] for g in sorted(groups, key=lambda g: g["_id"])},
        "counters": {name: getattr(batch, name) for name in Batch.COUNTERS},
        "timings": {
            "processing_started_at": batch.processing_started_at,
            "processing_completed_at": batch.processing_completed_at,
            "total_duration_ms": batch.total_duration_ms,
            "avg_context_duration_ms": _rounded(done.get("avg_duration_ms")),
            "min_context_duration_ms": _rounded(done.get("min_duration_ms")),
            "max_context_duration_ms": _rounded(done.get("max_duration_ms")),
        },
    }

"""Reads of the content app that are more than a filter: who sees which tickets, a batch's
status summary (the seed 003 aggregation) and a context's processing timeline."""

from __future__ import annotations

from datetime import datetime

from requestdesk.db.collections import raw
from tenants.roles import Role, at_least

from .models import Batch, Context

# --- tickets ----------------------------------------------------------------------------


def visible_tickets(queryset, *, user, role: str):
    """Managers and up see every ticket of the company, a writer the tickets assigned to
    them, a client the tickets they created."""
    if at_least(role, Role.CONTENT_MANAGER):
        return queryset
    if role == Role.CONTENT_WRITER:
        return queryset.filter(assigned_to=user)
    return queryset.filter(created_by=user)


# --- batches ----------------------------------------------------------------------------


def status_groups(*, batch_id, company_id) -> list[dict]:
    """Seed 003's batch status aggregation ($match batch_id, $group by status), with the
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


# --- a context's timeline ---------------------------------------------------------------


def _moment(value) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else value
    except ValueError:
        return None


def timeline(context: Context) -> dict:
    """The processing timeline grouped by attempt, each entry placed on one time axis
    (offset and width in % of the whole run) for the admin view."""
    entries = [dict(e, at=_moment(e.get("at"))) for e in (context.processing.timeline or []) if isinstance(e, dict)]
    moments = [e["at"] for e in entries if e["at"]]
    start = min(moments) if moments else None
    ends = [e["at"].timestamp() * 1000 + (e.get("duration_ms") or 0) for e in entries if e["at"]]
    span = max(1.0, (max(ends) - start.timestamp() * 1000) if start else 1.0)
    attempts: dict[int, list] = {}
    for entry in entries:
        offset = (entry["at"].timestamp() * 1000 - start.timestamp() * 1000) if entry["at"] and start else 0
        entry["offset_ms"] = round(offset, 2)
        entry["left_pct"] = round(100 * offset / span, 2)
        entry["width_pct"] = round(max(0.5, 100 * (entry.get("duration_ms") or 0) / span), 2)
        attempts.setdefault(entry.get("attempt", 0), []).append(entry)
    workers = list(dict.fromkeys(e["worker"] for e in entries if e.get("worker")))
    return {"started_at": start, "span_ms": round(span, 2), "attempts": sorted(attempts.items()), "workers": workers}

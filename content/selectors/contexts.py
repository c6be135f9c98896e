"""A context's processing timeline, laid out for the admin."""

from __future__ import annotations

from datetime import datetime

from ..models import Context


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

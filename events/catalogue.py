"""The one catalogue of events: every name `events.services.webhooks.emit_event()` sends and a
webhook may subscribe to, what it means, and the shape of its payload.

Every delivery's body is the same envelope:

    {"id": "<32 hex, the same for every retry and redelivery>", "type": "<an event name>",
     "created_at": "<ISO 8601>", "company_id": "<ObjectId>", "source": "<who emitted it>",
     "data": {...}}

and `data` holds the keys listed for its event below (ids as strings, dates as ISO 8601,
durations in milliseconds). A name not in `EVENTS` is refused, by `emit_event()` and by
subscriptions (API and admin) alike; the README's "Webhooks" section lists the same names.
"""

from __future__ import annotations

from dataclasses import dataclass

ALL_EVENTS = "*"  # a subscription to every event
TEST_EVENT = "webhook.test"


@dataclass(frozen=True)
class EventType:
    name: str
    description: str
    data: tuple[str, ...]  # the keys of the payload's `data`


_BATCH = (
    "batch_id",
    "name",
    "status",
    "pipeline_id",
    "context_count",
    "completed_count",
    "failed_count",
    "cancelled_count",
    "processing_started_at",
    "processing_completed_at",
    "total_duration_ms",
)
_CONTEXT = (
    "context_id",
    "type",
    "status",
    "pipeline_id",
    "batch_id",
    "error",
    "retry_count",
    "attempt",
    "started_at",
    "completed_at",
    "duration_ms",
    "component_timings",
)
_SYNC = (
    "collection_id",
    "sync_history_id",
    "sync_type",
    "trigger",
    "items_synced",
    "items_unchanged",
    "items_removed",
    "chunks_added",
    "chunks_removed",
    "errors",
    "error",
)
_SCRAPE = (
    "job_id",
    "project_id",
    "target_id",
    "status",
    "trigger",
    "error",
    "counts",
    "errors",
    "started_at",
    "finished_at",
    "duration_ms",
)
_ALERT = (
    "alert_id",
    "rule_id",
    "rule_name",
    "project_id",
    "kind",
    "window_start",
    "window_end",
    "value",
    "baseline",
    "limit",
    "count",
    "title",
    "results",
    "ticket_id",
)

CATALOGUE = [
    EventType("content.batch.completed", "A content batch finished: every context completed or failed.", _BATCH),
    EventType("content.context.completed", "A content context was generated.", _CONTEXT),
    EventType("content.context.failed", "A content context failed after its retries.", _CONTEXT),
    EventType(
        "knowledge.sync.completed",
        "A knowledge collection's sync from its source (WordPress, Shopify, a scraping project) finished.",
        _SYNC,
    ),
    EventType("knowledge.sync.failed", "A knowledge collection's sync failed.", _SYNC),
    EventType("scrape.completed", "A scrape job finished.", _SCRAPE),
    EventType("scrape.failed", "A scrape job failed.", _SCRAPE),
    EventType(
        "scraping.sentiment.alert",
        "A sentiment alert rule fired: a project's negative share, average compound or a watched word "
        "crossed its limit in a window (the results that fired it, and the ticket it opened, if any).",
        _ALERT,
    ),
    EventType(
        TEST_EVENT, "A test event, sent on request to one webhook (subscribed or not).", ("webhook_id", "message")
    ),
]
# Name -> description: what emit_event() may send and subscriptions may name.
EVENTS = {event.name: event.description for event in CATALOGUE}
PAYLOADS = {event.name: event.data for event in CATALOGUE}
SUBSCRIBABLE = [ALL_EVENTS, *sorted(EVENTS)]

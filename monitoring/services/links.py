"""Links from work back to the scraped results it came from: the `links` of a ticket or a
pipeline run (content), and the `sources` a generator cites (content.services.components)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bson import ObjectId

from content.models import Ticket, TicketPriority
from content.services.components.citations import EXCERPT_CHARS
from scraping.models import Result
from tenants.models import User

Link = dict[str, str]

RESULT = "scraping.result"


def result_link(result: Result) -> Link:
    """What a ticket or a context stores to point at `result` (a scraping.models.Result)."""
    content = result.content
    return {"kind": RESULT, "id": str(result.pk), "url": content.url, "title": _title(result)}


def result_source(result: Result) -> dict[str, Any]:
    """`result` as a source a generator may cite: its link and an excerpt of its text."""
    return {**result_link(result), "text": (result.content.text or "")[:EXCERPT_CHARS]}


def open_ticket(
    *,
    company_id: ObjectId,
    results: Iterable[Result],
    title: str,
    description: str = "",
    assigned_to: User | None = None,
    priority: str = TicketPriority.MEDIUM,
    created_by: User | None = None,
) -> Ticket:
    """A ticket about `results`, linking each of them; the description lists them when none
    is given."""
    listed = list(results)
    return Ticket.objects.create(
        company_id=company_id,
        title=title[:300],
        description=description or describe(listed),
        priority=priority,
        assigned_to=assigned_to,
        created_by=created_by,
        links=[result_link(r) for r in listed],
    )


def describe(results: Iterable[Result]) -> str:
    """A Markdown list of `results`: title linked to its URL, sentiment, and an excerpt."""
    lines = []
    for result in results:
        sentiment = result.sentiment
        mood = f" ({sentiment.label}, {sentiment.compound:+.2f})" if sentiment else ""
        title = _title(result)
        head = f"[{title}]({result.content.url})" if result.content.url else title
        excerpt = " ".join((result.content.text or "").split())[:200]
        lines.append(f"- {head}{mood}: {excerpt}")
    return "\n".join(lines)


def _title(result: Result) -> str:
    content = result.content
    return content.title or " ".join((content.text or "").split())[:80] or content.url or str(result.pk)

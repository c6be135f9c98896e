"""Responding to one scraped result in one step: a ticket about it, or a pipeline run whose
context carries it. Both link back to the result (`links`, see monitoring.services.links).

A run goes through content's own context service (`content.services.contexts.create_contexts`),
so the pipeline check, the plan's quota and the queueing are those of the contexts API:
InvalidPipeline, plans.NotAllowed / QuotaExceeded and QueueUnavailable (nothing stored) come
from there. The callers (API, admin) record the audit entries, as the other create paths do.
"""

from __future__ import annotations

from typing import Any

from content.models import Context, Pipeline, Ticket, TicketPriority
from content.services import contexts
from content.services.components.citations import EXCERPT_CHARS
from knowledge.models import Agent
from scraping.models import Result
from tenants.models import User

from .links import open_ticket, result_link, result_source

TITLE_PREFIX = "Respond to: "
DEFAULT_INSTRUCTIONS = "Draft a reply to this customer's post: address what they say, briefly and politely."


def default_title(result: Result) -> str:
    """The title of a ticket or run responding to `result`: "Respond to: <its title>"."""
    return TITLE_PREFIX + result_link(result)["title"]


def open_ticket_for(
    result: Result,
    *,
    user: User | None,
    title: str | None = None,
    assigned_to: User | None = None,
    priority: str | None = None,
) -> Ticket:
    """A ticket in `result`'s company about `result`, linking it; created by `user`."""
    return open_ticket(
        company_id=result.company_id,
        results=[result],
        title=title or default_title(result),
        assigned_to=assigned_to,
        priority=priority or TicketPriority.MEDIUM,
        created_by=user,
    )


def result_data(result: Result) -> dict[str, Any]:
    """What a run knows of `result`: `data["result"]` of its context."""
    content = result.content
    sentiment = result.sentiment
    return {
        "id": str(result.pk),
        "url": content.url,
        "title": result_link(result)["title"],
        "text": (content.text or "")[:EXCERPT_CHARS],
        "platform": result.platform,
        "published_at": result.published_at.isoformat() if result.published_at else None,
        "sentiment": {"label": sentiment.label, "compound": sentiment.compound} if sentiment else None,
    }


def run_data(result: Result, *, instructions: str = "") -> dict[str, Any]:
    """A context's input for a response to `result`: the result, a title, the result as the
    run's first source (the generator puts its text into the prompt as [1] and cites it), and
    instructions pointing at it (a generator without a template writes from `instructions`)."""
    about = result_data(result)
    return {
        "result": about,
        "title": default_title(result),
        "instructions": f"{instructions.strip() or DEFAULT_INSTRUCTIONS}\n\nThe post is source [1].",
        "sources": [result_source(result)],
    }


def start_run_for(
    result: Result,
    *,
    user: User | None,
    pipeline: Pipeline,
    agent: Agent | None = None,
    priority: int | None = None,
    instructions: str = "",
) -> Context:
    """A context of `pipeline` carrying `result` and linking it, created and queued as the
    contexts API does. `pipeline` and `agent` must be of `result`'s company (ValueError)."""
    for owned in (pipeline, agent):
        if owned is not None and owned.company_id != result.company_id:
            raise ValueError(f"The {type(owned).__name__.lower()} is not of the result's company.")
    item = {
        "data": run_data(result, instructions=instructions),
        "priority": priority,
        "agent": agent,
        "links": [result_link(result)],
    }
    [context] = contexts.create_contexts(pipeline=pipeline, items=[item], user=user)
    return context

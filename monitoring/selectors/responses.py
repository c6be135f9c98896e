"""The tickets and pipeline runs opened from one scraped result (their `links` name it).

One query per collection on exactly `{company_id, "links.id"}`, the prefix of the
(company_id, links.id) indexes (monitoring migration 0002): the embedded server plans it as
an index scan, while any further condition in the same filter would make it scan the
collection. So the tenant and the link are matched there, at most LIMIT + 1 ids are read,
and the rest (soft delete, who sees which ticket, order) is applied to those ids only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from content.models import Context, Ticket
from content.selectors.tickets import visible_tickets
from requestdesk.db.collections import raw
from scraping.models import Result
from tenants.models import User

LIMIT = 50


@dataclass(frozen=True)
class Responses:
    tickets: list[Ticket]
    contexts: list[Context]
    more: bool  # more than LIMIT tickets or contexts link the result


def linking(model: type[Ticket] | type[Context], result: Result) -> Any:
    """A cursor over the ids of at most LIMIT + 1 rows of `model` linking `result`."""
    return raw(model, company=result.company_id).find({"links.id": str(result.pk)}, {"_id": 1}).limit(LIMIT + 1)


def _linking(model: type[Ticket] | type[Context], result: Result) -> tuple[list[Any], bool]:
    ids = [document["_id"] for document in linking(model, result)]
    return ids[:LIMIT], len(ids) > LIMIT


def responses_to(result: Result, *, user: User, role: str) -> Responses:
    """The tickets `user` (acting with `role`) sees and the contexts linking `result`, newest
    first, at most LIMIT of each."""
    ticket_ids, more_tickets = _linking(Ticket, result)
    context_ids, more_contexts = _linking(Context, result)
    tickets = visible_tickets(Ticket.objects.filter(pk__in=ticket_ids), user=user, role=role) if ticket_ids else []
    contexts = Context.objects.filter(pk__in=context_ids).defer("data") if context_ids else []
    return Responses(
        tickets=sorted(tickets, key=lambda t: t.created_at, reverse=True),
        contexts=sorted(contexts, key=lambda c: c.created_at, reverse=True),
        more=more_tickets or more_contexts,
    )

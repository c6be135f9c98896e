"""Tickets: changes go through the workflow (TICKET_FLOW); deleting is a soft delete
(requestdesk.soft_delete)."""

from __future__ import annotations

from ..models import TICKET_FLOW, Ticket


def update_ticket(*, ticket: Ticket, **changes) -> Ticket:
    """Apply `changes`; a status change must be allowed by TICKET_FLOW (InvalidTransition)."""
    if "status" in changes:
        TICKET_FLOW.check(ticket.status, changes["status"])
    for name, value in changes.items():
        setattr(ticket, name, value)
    ticket.save()
    return ticket

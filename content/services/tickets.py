"""Tickets: changes go through the workflow (TICKET_FLOW); deleting is a soft delete."""

from __future__ import annotations

from django.utils import timezone

from ..models import TICKET_FLOW, Ticket


def update_ticket(*, ticket: Ticket, **changes) -> Ticket:
    """Apply `changes`; a status change must be allowed by TICKET_FLOW (InvalidTransition)."""
    if "status" in changes:
        TICKET_FLOW.check(ticket.status, changes["status"])
    for name, value in changes.items():
        setattr(ticket, name, value)
    ticket.save()
    return ticket


def soft_delete(*, ticket: Ticket) -> Ticket:
    """Hide the ticket from every list and lookup (`Ticket.objects`); `all_objects` keeps it."""
    now = timezone.now()
    Ticket.all_objects.filter(pk=ticket.pk).update(is_deleted=True, deleted_at=now, updated_at=now)
    ticket.is_deleted, ticket.deleted_at = True, now
    return ticket


def restore(*, ticket: Ticket) -> Ticket:
    Ticket.all_objects.filter(pk=ticket.pk).update(is_deleted=False, deleted_at=None, updated_at=timezone.now())
    ticket.is_deleted, ticket.deleted_at = False, None
    return ticket

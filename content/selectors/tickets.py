"""Which tickets a user sees."""

from tenants.roles import Role, at_least


def visible_tickets(queryset, *, user, role: str):
    """Managers and up see every ticket of the company, a writer the tickets assigned to
    them, a client the tickets they created."""
    if at_least(role, Role.CONTENT_MANAGER):
        return queryset
    if role == Role.CONTENT_WRITER:
        return queryset.filter(assigned_to=user)
    return queryset.filter(created_by=user)

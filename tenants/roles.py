"""Roles, ranked: a role can do what any lower role can."""

from django.db import models


class Role(models.TextChoices):
    SUPERADMIN = "superadmin", "Superadmin"
    COMPANY_ADMIN = "company_admin", "Company admin"
    CONTENT_MANAGER = "content_manager", "Content manager"
    CONTENT_WRITER = "content_writer", "Content writer"
    CLIENT = "client", "Client"


RANK = {
    Role.CLIENT: 0,
    Role.CONTENT_WRITER: 1,
    Role.CONTENT_MANAGER: 2,
    Role.COMPANY_ADMIN: 3,
    Role.SUPERADMIN: 4,
}

# Roles that log in to the Django admin.
STAFF_ROLES = {Role.SUPERADMIN, Role.COMPANY_ADMIN, Role.CONTENT_MANAGER}

# In a guest company a user acts at most as a content manager: guest access never
# administers another company's users, keys or webhooks.
GUEST_ROLE_CAP = Role.CONTENT_MANAGER


def at_least(role: str, minimum: str) -> bool:
    return RANK[Role(role)] >= RANK[Role(minimum)]


def capped(role: str, cap: str) -> str:
    return role if RANK[Role(role)] <= RANK[Role(cap)] else cap

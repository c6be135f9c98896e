"""Role permissions for the API: each view names the least role for reading and writing."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework.exceptions import NotFound
from rest_framework.permissions import SAFE_METHODS, BasePermission

from tenants.models import ApiKey
from tenants.roles import Role, at_least
from tenants.scoping import resolve_tenant

if TYPE_CHECKING:  # DRF's settings import this module while rest_framework.views loads
    from rest_framework.request import Request
    from rest_framework.views import APIView


def required_role(view: APIView, method: str | None) -> str:
    action = getattr(view, "action", None)
    action_roles: dict[str, str] = getattr(view, "action_roles", {}) or {}
    if action in action_roles:
        return action_roles[action]
    role: str = (
        getattr(view, "read_role", Role.CLIENT)
        if method in SAFE_METHODS
        else getattr(view, "write_role", Role.CONTENT_WRITER)
    )
    return role


class RolePermission(BasePermission):
    message = "Your role does not allow this."

    def has_permission(self, request: Request, view: APIView) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        if isinstance(request.auth, ApiKey):
            needed = ApiKey.READ if request.method in SAFE_METHODS else ApiKey.WRITE
            if not request.auth.allows(needed):
                self.message = f"This API key lacks the '{needed}' permission."
                return False
        tenant = resolve_tenant(request)
        if tenant.role is not None and at_least(tenant.role, required_role(view, request.method)):
            return True
        _hide_invisible_object(view)
        return False


def _hide_invisible_object(view: Any) -> None:
    """Refusing an action on another tenant's object says 404, as reading it would:
    a 403 would confirm that the id exists."""
    lookup = view.kwargs.get(getattr(view, "lookup_url_kwarg", None) or getattr(view, "lookup_field", "pk"))
    if lookup is None or not hasattr(view, "get_queryset"):
        return
    try:
        visible = view.get_queryset().filter(pk=lookup).exists()
    except (ValueError, TypeError, DjangoValidationError):
        visible = False
    if not visible:
        raise NotFound()

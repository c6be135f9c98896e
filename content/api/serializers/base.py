"""What the content serializers share: the request's tenant, a status change checked against
its workflow, tag lists and JSON objects."""

from __future__ import annotations

from rest_framework import serializers

from tenants.scoping import resolve_tenant

from ...models.workflow import InvalidTransition


class TenantContextMixin:
    @property
    def tenant(self):
        return resolve_tenant(self.context["request"])


def checked_status(flow, old, new):
    try:
        flow.check(old, new)
    except InvalidTransition as exc:
        raise serializers.ValidationError(str(exc)) from None
    return new


def unique_tags(value: list[str]) -> list[str]:
    return list(dict.fromkeys(tag.strip() for tag in value if tag.strip()))


def require_object(value, name: str):
    if not isinstance(value, dict):
        raise serializers.ValidationError(f"{name} must be an object.")
    return value

"""The audit log: who did what to which object, in which company.

`record()` is the one writer; the API viewset base (`tenants.api.viewsets`), the admin base
(`tenants.admin.base`) and tasks (`source="task"`) call it. `snapshot()` and
`field_changes()` describe what a write changed, with secret values masked.
"""

from __future__ import annotations

import json

from django.core.serializers.json import DjangoJSONEncoder

from tenants.models import ApiKey

from ..models import AuditLog

MASK = "***"
SECRET_FIELDS = {"password", "secret", "token", "key_hash", "token_hash", "plugin_keys"}
SECRET_SUFFIXES = ("_password", "_secret", "_token", "_hash")


class _Encoder(DjangoJSONEncoder):
    def default(self, o):
        try:
            return super().default(o)
        except TypeError:
            return str(o)  # ObjectId and anything else without a JSON form


def _json_safe(value):
    return json.loads(json.dumps(value, cls=_Encoder))


def is_secret(field_name: str) -> bool:
    return field_name in SECRET_FIELDS or field_name.endswith(SECRET_SUFFIXES)


def _audited_fields(model):
    """Concrete fields a change is described by: not the id, not automatic timestamps."""
    return [
        field
        for field in model._meta.concrete_fields
        if not field.primary_key and not getattr(field, "auto_now", False) and not getattr(field, "auto_now_add", False)
    ]


def snapshot(obj) -> dict:
    """The audited field values of `obj`, JSON-safe: the "before" of an update, kept in
    memory only (secrets are masked by `field_changes`, which is what gets stored)."""
    return _json_safe({field.name: field.value_from_object(obj) for field in _audited_fields(type(obj))})


def field_changes(before, after) -> dict:
    """{field: {"old": .., "new": ..}} for the fields that differ. `before` and `after` are
    model instances or snapshots; None stands for "no object" (a create or a delete).
    Secret values show as MASK."""
    old = _as_snapshot(before)
    new = _as_snapshot(after)
    return {
        name: {"old": _masked(name, old.get(name)), "new": _masked(name, new.get(name))}
        for name in sorted(old.keys() | new.keys())
        if old.get(name) != new.get(name)
    }


def _as_snapshot(value) -> dict:
    if value is None:
        return {}
    return value if isinstance(value, dict) else snapshot(value)


def _masked(name, value):
    return MASK if is_secret(name) and value not in (None, "", {}, []) else value


def company_of(obj):
    """The id of the company an object belongs to: a company is its own, tenant data names
    it, per-user data without a company (refresh tokens) is its user's; None if none."""
    field = getattr(type(obj), "TENANT_FIELD", None)
    if field == "pk":
        return obj.pk
    if field:
        return getattr(obj, f"{field}_id", None)
    return getattr(getattr(obj, "user", None), "company_id", None)


def event_type(obj, action: str) -> str:
    """ "user.created", "apikey.revoked", "webhook.deleted": the model's name and the action."""
    return f"{obj._meta.model_name}.{action}"


def request_metadata(request) -> dict:
    """The client's address and how it signed in (an API key is named by its prefix)."""
    auth = getattr(request, "auth", None)
    metadata = {"ip": request.META.get("REMOTE_ADDR", "")}
    if isinstance(auth, ApiKey):
        metadata.update(auth="api_key", api_key_prefix=auth.prefix)
    elif isinstance(auth, dict) and auth.get("type") == "jwt":
        metadata["auth"] = "jwt"
    else:
        metadata["auth"] = "session"
    return metadata


def record(
    *,
    company,
    actor=None,
    source: str,
    event_type: str,
    obj=None,
    changes: dict | None = None,
    metadata: dict | None = None,
) -> AuditLog:
    """Store one audit entry. `company` is a Company or its id; `obj` the object acted on."""
    return AuditLog.objects.create(
        company_id=getattr(company, "pk", company),
        actor=actor,
        actor_repr=actor.get_username() if actor is not None else "",
        source=source,
        event_type=event_type,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None and obj.pk is not None else "",
        object_repr=str(obj)[:200] if obj is not None else "",
        changes=_json_safe(changes or {}),
        metadata=_json_safe(metadata or {}),
    )

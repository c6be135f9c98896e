"""The admin base for tenant data: staff below superadmin see and edit only their company's
rows, and every add, change and delete (and bulk action, via `audited_update`) goes to the
audit log as well as Django's LogEntry."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from django.contrib.admin.models import LogEntry
from django.db.models import ForeignKey, Model, QuerySet
from django.forms import ModelChoiceField
from django.http import HttpRequest
from django.utils import formats, timezone
from django.utils.timesince import timesince, timeuntil

from events.services import audit
from requestdesk.admin_lists import BoundedListAdmin, KeptChoicesFilter
from tenants.scoping import scope_for_staff, stamped_field, tenant_field

if TYPE_CHECKING:
    from bson import ObjectId
    from django.contrib.admin.options import _ListFilterT
    from django.utils.datastructures import _ListOrTuple

    from tenants.models import User


def _staff(request: HttpRequest) -> User:
    """The signed-in staff member (the admin lets no one else in)."""
    return cast("User", request.user)


def is_superadmin(request: HttpRequest) -> bool:
    """Whether the signed-in staff member is an active superadmin (sees every company)."""
    return bool(getattr(request.user, "is_superadmin", False))  # an anonymous user has no role


def staff_company_id(request: HttpRequest) -> ObjectId | None:
    """The id of the company the signed-in staff member works in; None for a superadmin, who
    works across companies."""
    return None if is_superadmin(request) else _staff(request).company_id


def relative_time(value: datetime | None, *, empty: str = "–") -> str:
    """A moment as staff read it: "in 4 minutes (Nov. 29, 2026, 7:50 p.m.)", "2 hours ago (…)"."""
    if value is None:
        return empty
    now = timezone.now()
    when = formats.localize(timezone.template_localtime(value))  # type: ignore[attr-defined]  # Django's; not in django-stubs
    if value >= now:
        return f"in {timeuntil(value, now)} ({when})"
    return f"{timesince(value, now)} ago ({when})"


def record_audit(request: HttpRequest, obj: Model, action: str, *, changes: dict[str, Any] | None = None) -> Any:
    """One admin audit entry for `action` on `obj`; none when its company cannot be told."""
    company = audit.company_of(obj) or staff_company_id(request)
    if company is None:
        return None
    return audit.record(
        company=company,
        actor=request.user,
        source="admin",
        event_type=audit.event_type(obj, action),
        obj=obj,
        changes=changes,
        metadata=audit.request_metadata(request),
    )


def audited_update(request: HttpRequest, queryset: QuerySet[Any], *, action: str, **values: Any) -> int:
    """`queryset.update(**values)` for an admin action, with one audit entry per object."""
    objects = list(queryset)
    # By id: the changelist's queryset carries joins, which update() cannot run on MongoDB.
    count: int = queryset.model._default_manager.filter(pk__in=[obj.pk for obj in objects]).update(**values)
    for obj in objects:
        before = audit.snapshot(obj)
        for name, value in values.items():
            setattr(obj, name, value)
        record_audit(request, obj, action, changes=audit.field_changes(before, obj))
    return count


class TenantAdmin(BoundedListAdmin):
    """Rows, foreign-key choices and new objects are limited to the staff member's company;
    changelists are paged in bounded windows (requestdesk.admin_lists)."""

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return self.scoped(request, super().get_queryset(request))

    def scoped(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        """`queryset` limited to the staff member's company (a superadmin sees every company)."""
        return scope_for_staff(queryset, _staff(request))

    def _tenant_field(self) -> str | None:
        return stamped_field(self.model)

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> _ListOrTuple[str]:
        fields = list(super().get_readonly_fields(request, obj))
        field = self._tenant_field()
        if field and not is_superadmin(request) and field not in fields:
            fields.append(field)
        return fields

    def get_list_filter(self, request: HttpRequest) -> _ListOrTuple[_ListFilterT]:
        filters = list(super().get_list_filter(request))
        field = self._tenant_field()
        if field and is_superadmin(request) and field not in filters:
            filters.append((field, KeptChoicesFilter))
        return filters

    def formfield_for_foreignkey(
        self, db_field: ForeignKey[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> ModelChoiceField[Any] | None:
        related = cast("type[Model]", db_field.related_model)  # a model, not "self", once loaded
        if not is_superadmin(request) and tenant_field(related):
            kwargs["queryset"] = scope_for_staff(related._default_manager.all(), _staff(request))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: Model, form: Any, change: Any) -> None:
        field = self._tenant_field()
        if field and not change and not is_superadmin(request):
            setattr(obj, field, _staff(request).company)
        super().save_model(request, obj, form, change)

    # --- audit log ---------------------------------------------------------------------

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None) -> Model | None:
        obj = super().get_object(request, object_id, from_field)
        if obj is not None:
            obj._audit_before = audit.snapshot(obj)  # type: ignore[attr-defined]  # what a change is compared with (log_change)
        return obj

    def log_addition(self, request: HttpRequest, obj: Model, message: Any) -> LogEntry:
        entry = super().log_addition(request, obj, message)
        record_audit(request, obj, "created", changes=audit.field_changes(None, obj))
        return entry

    def log_change(self, request: HttpRequest, obj: Model, message: Any) -> LogEntry:
        entry = super().log_change(request, obj, message)
        before = getattr(obj, "_audit_before", None)
        record_audit(request, obj, "updated", changes=audit.field_changes(before, obj) if before else None)
        return entry

    def log_deletions(self, request: HttpRequest, queryset: QuerySet[Any]) -> list[LogEntry] | LogEntry:
        entries = super().log_deletions(request, queryset)
        for obj in queryset:
            record_audit(request, obj, "deleted", changes=audit.field_changes(obj, None))
        return entries


class ReadOnlyTenantAdmin(TenantAdmin):
    """A TenantAdmin for rows that workers write (jobs, results, contexts, chunks, messages):
    viewed and deleted, never added or changed by hand."""

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

"""The admin side of soft delete (requestdesk.soft_delete): changelists show live rows unless
the "deleted" filter asks for deleted ones (or all), and two actions, "Soft delete" and
"Restore", each audited. Put `SoftDeleteAdminMixin` before TenantAdmin (its `scoped`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from django.contrib import admin, messages
from django.contrib.admin.options import IS_POPUP_VAR
from django.contrib.admin.views.main import ChangeList
from django.db.models import QuerySet
from django.http import HttpRequest

from requestdesk import soft_delete
from requestdesk.soft_delete import SoftDeletable

if TYPE_CHECKING:
    from django.contrib.admin.filters import _ListFilterChoices
    from django.contrib.admin.options import _DisplayT, _ListFilterT
    from django.db.models import Model
    from django.utils.datastructures import _ListOrTuple

    from tenants.admin.base import TenantAdmin

    class AdminBase(TenantAdmin):
        """The tenant admin the mixin goes before, as far as the mixin uses it."""

        model: type[SoftDeletable]

        def scoped(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]: ...

        def get_list_filter(self, request: HttpRequest) -> _ListOrTuple[_ListFilterT]: ...

        def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> _ListOrTuple[str]: ...
else:
    AdminBase = object

LIVE, DELETED, ALL = "no", "yes", "all"


class DeletedFilter(admin.SimpleListFilter):
    """Live rows by default; `?deleted=yes` the deleted ones, `?deleted=all` both."""

    title = "deleted"
    parameter_name = "deleted"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin[Any]) -> list[tuple[str, str]]:
        return [(LIVE, "Live"), (DELETED, "Deleted"), (ALL, "All")]

    def choices(self, changelist: ChangeList) -> Iterator[_ListFilterChoices]:
        value = self.value() or LIVE
        for lookup, title in self.lookup_choices:
            yield {
                "selected": value == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value() or LIVE
        if value == ALL:
            return queryset
        return queryset.filter(is_deleted=value == DELETED)


class SoftDeleteAdminMixin(AdminBase):
    """Rows come from `all_objects` (a deleted row can still be opened), filtered by
    DeletedFilter; the changelist shows `is_deleted` and offers soft delete / restore."""

    soft_delete_actions = ["soft_delete", "restore"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        """ModelAdmin's read over `all_objects` (the default manager hides deleted rows),
        ordered, then TenantAdmin's company scope."""
        queryset = self.model.all_objects.get_queryset()
        ordering = self.get_ordering(request)
        if ordering:
            queryset = queryset.order_by(*ordering)
        return self.scoped(request, queryset)

    def get_list_filter(self, request: HttpRequest) -> list[_ListFilterT]:
        filters = [f for f in super().get_list_filter(request) if f != "is_deleted"]
        return [DeletedFilter, *filters]

    def get_list_display(self, request: HttpRequest) -> list[_DisplayT[Model]]:
        display = list(super().get_list_display(request))
        return display if "is_deleted" in display else [*display, "is_deleted"]

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> list[str]:
        fields = list(super().get_readonly_fields(request, obj))
        return fields + [name for name in ("is_deleted", "deleted_at") if name not in fields]

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions: dict[str, Any] = super().get_actions(request)
        if self.actions is None or IS_POPUP_VAR in request.GET or not self.has_change_permission(request):
            return actions
        for name in self.soft_delete_actions:
            actions[name] = self.get_action(name)
        return actions

    @admin.action(description="Soft delete (hidden everywhere, restorable)")
    def soft_delete(self, request: HttpRequest, queryset: QuerySet[SoftDeletable]) -> None:
        done = 0
        for obj in queryset.filter(is_deleted=False):
            soft_delete.soft_delete(obj)
            self._audit(request, obj, "deleted", soft_delete.DELETED_CHANGES)
            done += 1
        self.message_user(request, f"{done} deleted (restorable).", messages.SUCCESS)

    @admin.action(description="Restore")
    def restore(self, request: HttpRequest, queryset: QuerySet[SoftDeletable]) -> None:
        done = 0
        for obj in queryset.filter(is_deleted=True):
            try:
                soft_delete.restore(obj)
            except soft_delete.RestoreConflict as exc:
                self.message_user(request, f"{obj}: {' '.join(exc.messages)}", messages.ERROR)
                continue
            self._audit(request, obj, "restored", soft_delete.RESTORED_CHANGES)
            done += 1
        self.message_user(request, f"{done} restored.", messages.SUCCESS)

    def _audit(
        self, request: HttpRequest, obj: SoftDeletable, action: str, changes: dict[str, dict[str, bool]]
    ) -> None:
        from tenants.admin.base import record_audit

        record_audit(request, obj, action, changes=changes)

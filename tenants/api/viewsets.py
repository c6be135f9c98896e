"""The viewset base for tenant data: scoped reads, company stamped on create, role checks,
and every create, update and delete written to the audit log."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

from django.db.models import Model, QuerySet
from rest_framework import viewsets
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission
from rest_framework.serializers import BaseSerializer, ModelSerializer

from events.services import audit
from tenants.roles import Role
from tenants.scoping import Tenant, resolve_tenant, scope, stamped_field

from .permissions import RolePermission

if TYPE_CHECKING:
    from tenants.models import Company

    ViewSetBase = viewsets.GenericViewSet[Any]  # the viewset the mixin goes into
else:
    ViewSetBase = object

NO_COMPANY = "Choose a company with the X-Company-ID header or the company_id parameter."


class TenantViewSetMixin(ViewSetBase):
    """Every query is limited to the request's company; other tenants' ids are simply not found."""

    permission_classes: Sequence[type[BasePermission]] = [RolePermission]
    read_role: str = Role.CLIENT
    write_role: str = Role.CONTENT_WRITER
    action_roles: dict[str, str] = {}
    audited = True  # False for a user's own inbox (notifications): not worth a year of audit log

    @property
    def tenant(self) -> Tenant:
        return resolve_tenant(self.request)

    @property
    def company(self) -> Company:
        company = self.tenant.company
        if company is None:
            raise PermissionDenied(NO_COMPANY)
        return company

    def get_queryset(self) -> QuerySet[Any]:
        return scope(super().get_queryset(), self.company)

    def perform_create(self, serializer: BaseSerializer[Any], **fields: Any) -> None:
        field = stamped_field(cast("ModelSerializer[Any]", serializer).Meta.model)  # the viewsets' are
        if field:  # none for a company, its own tenant
            fields[field] = self.company
        instance = serializer.save(**fields)
        self.record_audit("created", instance, changes=audit.field_changes(None, instance))

    def perform_update(self, serializer: BaseSerializer[Any]) -> None:
        before = audit.snapshot(serializer.instance)
        instance = serializer.save()
        self.record_audit("updated", instance, changes=audit.field_changes(before, instance))

    def perform_destroy(self, instance: Any) -> None:
        deleted = copy.copy(instance)  # delete() clears the instance's pk; the entry names it
        instance.delete()
        self.record_audit("deleted", deleted, changes=audit.field_changes(deleted, None))

    def record_audit(self, action: str, instance: Model, *, changes: dict[str, Any] | None = None) -> None:
        """One audit entry for `action` ("created", "revoked", ...) on `instance` by the caller."""
        if not self.audited:
            return
        audit.record(
            company=audit.company_of(instance) or self.tenant.company,
            actor=self.request.user,
            source="api",
            event_type=audit.event_type(instance, action),
            obj=instance,
            changes=changes,
            metadata=audit.request_metadata(self.request),
        )


class TenantViewSet(TenantViewSetMixin, viewsets.ModelViewSet[Any]):
    pass


class TenantReadOnlyViewSet(TenantViewSetMixin, viewsets.ReadOnlyModelViewSet[Any]):
    pass

"""The viewset base for tenant data: scoped reads, company stamped on create, role checks."""

from rest_framework import viewsets
from rest_framework.exceptions import PermissionDenied

from .permissions import RolePermission
from .roles import Role
from .scoping import resolve_tenant, scope

NO_COMPANY = "Choose a company with the X-Company-ID header or the company_id parameter."


class TenantViewSetMixin:
    """Every query is limited to the request's company; other tenants' ids are simply not found."""

    permission_classes = [RolePermission]
    read_role = Role.CLIENT
    write_role = Role.CONTENT_WRITER
    action_roles: dict = {}

    @property
    def tenant(self):
        return resolve_tenant(self.request)

    @property
    def company(self):
        company = self.tenant.company
        if company is None:
            raise PermissionDenied(NO_COMPANY)
        return company

    def get_queryset(self):
        return scope(super().get_queryset(), self.company)

    def perform_create(self, serializer):
        serializer.save(**{serializer.Meta.model.TENANT_FIELD: self.company})


class TenantViewSet(TenantViewSetMixin, viewsets.ModelViewSet):
    pass


class TenantReadOnlyViewSet(TenantViewSetMixin, viewsets.ReadOnlyModelViewSet):
    pass

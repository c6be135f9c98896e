"""The viewset base of plugin data: the tenant viewset narrowed to the caller's own rows."""

from tenants.api.viewsets import TenantViewSet
from tenants.roles import Role


class PluginViewSet(TenantViewSet):
    """Every user, whatever their role, manages their own plugin rows in the request's company;
    another user's rows (even a company admin's colleague's) are simply not found."""

    read_role = Role.CLIENT
    write_role = Role.CLIENT

    def get_queryset(self):
        return super().get_queryset().filter(user=self.request.user)

    def perform_create(self, serializer, **fields):
        super().perform_create(serializer, user=self.request.user, **fields)

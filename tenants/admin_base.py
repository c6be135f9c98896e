"""The admin base for tenant data: staff below superadmin see and edit only their company's rows."""

from django.contrib import admin

from .roles import Role
from .scoping import scope


def is_superadmin(request) -> bool:
    return request.user.is_active and request.user.role == Role.SUPERADMIN


class TenantAdmin(admin.ModelAdmin):
    """Rows, foreign-key choices and new objects are limited to the staff member's company."""

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        return queryset if is_superadmin(request) else scope(queryset, request.user.company)

    def _tenant_field(self):
        field = getattr(self.model, "TENANT_FIELD", None)
        return None if field in (None, "pk") else field

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        field = self._tenant_field()
        if field and not is_superadmin(request) and field not in fields:
            fields.append(field)
        return fields

    def get_list_filter(self, request):
        filters = list(super().get_list_filter(request))
        field = self._tenant_field()
        if field and is_superadmin(request) and field not in filters:
            filters.append(field)
        return filters

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        related = db_field.related_model
        if not is_superadmin(request) and getattr(related, "TENANT_FIELD", None):
            kwargs["queryset"] = scope(related._default_manager.all(), request.user.company)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        field = self._tenant_field()
        if field and not change and not is_superadmin(request):
            setattr(obj, field, request.user.company)
        super().save_model(request, obj, form, change)

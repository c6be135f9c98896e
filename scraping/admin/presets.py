"""Admin of presets: the system presets are shown to everyone and changed by no one (they are
reference data, written by migration)."""

from django import forms
from django.contrib import admin
from rest_framework.exceptions import ValidationError as DRFValidationError

from tenants.admin.base import TenantAdmin, is_superadmin

from ..api.serializers import ConfigField
from ..models import Preset


class PresetForm(forms.ModelForm):
    class Meta:
        model = Preset
        fields = ["name", "description", "config", "company", "user"]

    def clean_config(self):
        try:
            return ConfigField(complete=True).run_validation(self.cleaned_data.get("config") or {})
        except DRFValidationError as exc:
            raise forms.ValidationError(str(exc.detail)) from exc


@admin.register(Preset)
class PresetAdmin(TenantAdmin):
    form = PresetForm
    list_display = ["name", "is_system", "user", "company", "updated_at"]
    list_filter = ["is_system"]
    search_fields = ["name", "description"]
    readonly_fields = ["is_system", "created_at", "updated_at"]

    def get_queryset(self, request):
        queryset = Preset.objects.all() if is_superadmin(request) else Preset.objects.visible_to(request.user.company)
        return queryset.order_by("-is_system", "name")

    def has_change_permission(self, request, obj=None):
        return not (obj and obj.is_system) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return not (obj and obj.is_system) and super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        if not change and obj.user_id is None:
            obj.user = request.user
        super().save_model(request, obj, form, change)

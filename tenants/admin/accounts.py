from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import forms as auth_forms
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db.models import Field, Model, QuerySet
from django.forms import TypedChoiceField
from django.http import HttpRequest
from django.utils import timezone

from tenants import services
from tenants.models import ApiKey, Company, RefreshToken, User, UserSettings
from tenants.roles import RANK, Role

from .base import TenantAdmin, audited_update, is_superadmin

if TYPE_CHECKING:  # generic to the type checker only (Django's classes take no parameters)
    from django.utils.datastructures import _ListOrTuple

    UserCreationFormBase = auth_forms.UserCreationForm[User]
    UserChangeFormBase = auth_forms.UserChangeForm[User]
    DjangoUserAdminBase = DjangoUserAdmin[User]
    ApiKeyFormBase = forms.ModelForm[ApiKey]
    ModelAdminBase = admin.ModelAdmin[RefreshToken]
else:
    UserCreationFormBase, UserChangeFormBase = auth_forms.UserCreationForm, auth_forms.UserChangeForm
    DjangoUserAdminBase, ApiKeyFormBase, ModelAdminBase = DjangoUserAdmin, forms.ModelForm, admin.ModelAdmin

# Admin access comes from roles (tenants.admin.permissions), not from groups.
admin.site.unregister(Group)


@admin.register(Company)
class CompanyAdmin(TenantAdmin):
    list_display = ["name", "domain", "plan", "is_active", "owner", "created_at"]
    list_filter = ["is_active", "plan"]
    search_fields = ["name", "domain"]
    readonly_fields = ["created_at", "updated_at"]

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> _ListOrTuple[str]:
        """The plan and its settings (quotas) are the platform's to change: superadmins only."""
        fields = list(super().get_readonly_fields(request, obj))
        if getattr(request.user, "role", None) != Role.SUPERADMIN:
            fields += ["plan", "settings"]
        return fields


class UserCreationForm(UserCreationFormBase):
    class Meta(auth_forms.UserCreationForm.Meta):  # type: ignore[name-defined,misc]  # Django's Meta; not in django-stubs
        model = User
        fields = ("username", "email", "role", "company")


class UserChangeForm(UserChangeFormBase):
    """Plugin keys are write-only here as in the API: the form never shows the stored ones
    (they are encrypted at rest); a JSON object typed in replaces them, empty keeps them."""

    plugin_keys = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "autocomplete": "off"}),
        help_text="Write-only: a JSON object of keys by plugin replaces the stored ones; leave empty to keep "
        "them, {} removes them.",
    )

    class Meta(auth_forms.UserChangeForm.Meta):  # type: ignore[name-defined,misc]  # as UserCreationForm.Meta
        model = User

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.initial.pop("plugin_keys", None)

    def clean_plugin_keys(self) -> dict[str, Any] | None:
        text = self.cleaned_data.get("plugin_keys", "").strip()
        if not text:
            return None
        try:
            value = json.loads(text)
        except ValueError:
            raise forms.ValidationError('Enter a JSON object, e.g. {"wordpress": {"key": "…"}}.')
        if not isinstance(value, dict):
            raise forms.ValidationError("Enter a JSON object of keys by plugin name.")
        return value

    def clean(self) -> dict[str, Any]:
        cleaned = cast("dict[str, Any]", super().clean())  # a ModelForm's: its cleaned_data
        if "plugin_keys" in cleaned and cleaned["plugin_keys"] is None:
            del cleaned["plugin_keys"]  # left empty: the stored keys stay as they are, unread
        for name in ("preferences", "profile"):
            self._clean_embedded(name, cleaned.get(name))
        return cleaned

    def _clean_embedded(self, name: str, value: Any) -> None:
        """The embedded form checks each subfield's type, not the embedded model's own
        validators (a time zone zoneinfo knows, an http(s) avatar): run them here."""
        if value is None:
            return
        try:
            value.clean_fields()
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                self.add_error(name, [f"{field.replace('_', ' ')}: {message}" for message in messages])


@admin.register(User)
class UserAdmin(TenantAdmin, DjangoUserAdminBase):
    form = UserChangeForm  # type: ignore[assignment]  # TenantAdmin is typed over Model, this form over User
    add_form = UserCreationForm
    list_display = ["username", "email", "role", "company", "is_active", "status", "last_login"]
    list_filter = ["role", "is_active", "status"]
    search_fields = ["username", "email", "first_name", "last_name"]
    ordering = ["username"]
    readonly_fields = ["stored_plugin_keys", "last_login", "date_joined", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["username", "password"]}),
        ("Person", {"fields": ["first_name", "last_name", "email", "status"]}),
        ("Preferences and profile", {"fields": ["preferences", "profile"]}),
        ("Access", {"fields": ["role", "company", "guest_companies", "is_active"]}),
        ("Plugins", {"fields": ["stored_plugin_keys", "plugin_keys"]}),
        ("Dates", {"fields": ["last_login", "date_joined", "created_at", "updated_at"]}),
    ]
    add_fieldsets = [
        (None, {"classes": ["wide"], "fields": ["username", "email", "role", "company", "password1", "password2"]}),
    ]

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> _ListOrTuple[str]:
        """Below superadmin: no guest access granted, usernames and other users' emails are
        read-only (saving one would say whether it belongs to another company's user)."""
        fields = super().get_readonly_fields(request, obj)
        if is_superadmin(request):
            return fields
        own = obj is not None and obj.pk == request.user.pk
        return [*fields, "guest_companies", "username"] + ([] if own else ["email"])

    def has_add_permission(self, request: HttpRequest) -> bool:
        """Superadmins add users here; company admins invite them (POST /api/v1/invitations/),
        so a taken username or email in another company is never shown to them."""
        return is_superadmin(request) and super().has_add_permission(request)

    @admin.display(description="stored plugin keys")
    def stored_plugin_keys(self, obj: User | None) -> str:
        """Which plugins have keys, never the keys."""
        names = sorted(obj.plugin_keys) if obj and obj.pk else []
        return f"{', '.join(names)} (values hidden)" if names else "none"

    def formfield_for_choice_field(
        self, db_field: Field[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> TypedChoiceField | None:
        if db_field.name == "role" and not is_superadmin(request):
            own = RANK[Role(cast(User, request.user).role)]
            kwargs["choices"] = [(v, label) for v, label in Role.choices if RANK[Role(v)] <= own]
        return super().formfield_for_choice_field(db_field, request, **kwargs)


@admin.register(UserSettings)
class UserSettingsAdmin(TenantAdmin):
    list_display = ["user", "company", "updated_at"]
    search_fields = ["user__username"]
    readonly_fields = ["created_at", "updated_at"]


class ApiKeyForm(ApiKeyFormBase):
    permissions = forms.MultipleChoiceField(
        choices=ApiKey.PERMISSIONS, widget=forms.CheckboxSelectMultiple, initial=[ApiKey.READ, ApiKey.WRITE]
    )

    class Meta:
        model = ApiKey
        fields = ["name", "user", "company", "permissions", "expires_at"]


@admin.register(ApiKey)
class ApiKeyAdmin(TenantAdmin):
    form = ApiKeyForm  # type: ignore[assignment]  # as UserAdmin.form
    list_display = ["name", "prefix", "user", "company", "permissions", "last_used_at", "revoked_at", "created_at"]
    list_filter = ["permissions"]
    search_fields = ["name", "prefix", "user__username"]
    readonly_fields = ["prefix", "last_used_at", "revoked_at", "created_at"]
    actions = ["revoke"]

    def save_model(self, request: HttpRequest, obj: Model, form: Any, change: Any) -> None:
        if change:
            return super().save_model(request, obj, form, change)
        obj = cast(ApiKey, obj)
        company = obj.company if is_superadmin(request) else cast(User, request.user).company
        key, raw = services.create_api_key(
            user=obj.user,
            company=cast(Company, company),  # staff below superadmin have a company
            name=obj.name,
            permissions=obj.permissions,
            expires_at=obj.expires_at,
        )
        obj.pk, obj.prefix = key.pk, key.prefix
        messages.warning(request, f"API key created. Copy it now, it is not shown again: {raw}")

    @admin.action(description="Revoke selected API keys")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        count = audited_update(request, queryset.filter(revoked_at=None), action="revoked", revoked_at=timezone.now())
        self.message_user(request, f"Revoked {count} API key(s).")


@admin.register(RefreshToken)
class RefreshTokenAdmin(ModelAdminBase):
    list_display = ["user", "family", "created_at", "expires_at", "revoked_at"]
    search_fields = ["user__username", "family"]
    readonly_fields = ["user", "token_hash", "family", "created_at", "expires_at", "revoked_at"]
    actions = ["revoke"]

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_superadmin(request)

    def has_view_permission(self, request: HttpRequest, obj: RefreshToken | None = None) -> bool:
        return is_superadmin(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Revoke selected refresh tokens")
    def revoke(self, request: HttpRequest, queryset: QuerySet[RefreshToken]) -> None:
        count = audited_update(request, queryset.filter(revoked_at=None), action="revoked", revoked_at=timezone.now())
        self.message_user(request, f"Revoked {count} refresh token(s).")

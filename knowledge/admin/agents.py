"""Admin for LLM providers and agents. Secrets are entered in password inputs that never
render a value and shown masked."""

from django import forms
from django.contrib import admin
from django.db import models

from requestdesk.soft_delete_admin import SoftDeleteAdminMixin
from tenants.admin.base import TenantAdmin, is_superadmin

from ..models import Agent, LLMProvider
from ..selectors.collections import collections_for
from ..services import crypto

HTTPS_URLS = {models.URLField: {"assume_scheme": "https"}}  # for the admin's form factory


def https_urls(field, **kwargs):
    """The forms' own declaration (their class is built at import, before the admin's)."""
    return field.formfield(**{**HTTPS_URLS.get(type(field), {}), **kwargs})


def secret_input(label: str) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False),
        help_text="Stored encrypted and never shown again. Leave blank to keep the current one.",
    )


class SecretsAdminMixin:
    """Form fields `<name>` (password inputs) written through crypto.set_secret."""

    secret_names: tuple = ()

    def save_model(self, request, obj, form, change):
        for name in self.secret_names:
            if form.cleaned_data.get(name):
                crypto.set_secret(obj, name, form.cleaned_data[name])
        super().save_model(request, obj, form, change)


class LLMProviderForm(forms.ModelForm):
    api_key = secret_input("API key")

    class Meta:
        model = LLMProvider
        fields = ["name", "provider", "base_url", "models", "is_active", "company"]
        formfield_callback = https_urls


@admin.register(LLMProvider)
class LLMProviderAdmin(SecretsAdminMixin, TenantAdmin):
    form = LLMProviderForm
    formfield_overrides = HTTPS_URLS
    secret_names = ("api_key",)
    list_display = ["__str__", "provider", "base_url", "api_key_hint", "is_active", "company"]
    list_filter = ["provider", "is_active"]
    search_fields = ["name"]
    readonly_fields = ["api_key_hint", "created_at", "updated_at"]


class AgentForm(forms.ModelForm):
    shopify_api_key = secret_input("Shopify access token")
    wordpress_api_key = secret_input("WordPress key (user:application-password)")

    class Meta:
        model = Agent
        fields = [
            "name",
            "description",
            "company",
            "system_prompt",
            "model",
            "provider",
            "temperature",
            "max_tokens",
            "knowledge_collection_ids",
            "shopify_enabled",
            "shopify_store_url",
            "wordpress_enabled",
            "wordpress_site_url",
        ]
        formfield_callback = https_urls


@admin.register(Agent)
class AgentAdmin(SoftDeleteAdminMixin, SecretsAdminMixin, TenantAdmin):
    form = AgentForm
    formfield_overrides = HTTPS_URLS
    secret_names = ("shopify_api_key", "wordpress_api_key")
    list_display = ["name", "model", "provider", "shopify_enabled", "wordpress_enabled", "company", "created_at"]
    list_filter = ["shopify_enabled", "wordpress_enabled"]
    search_fields = ["name", "description"]
    readonly_fields = ["shopify_api_key_hint", "wordpress_api_key_hint", "created_by", "created_at", "updated_at"]

    def save_model(self, request, obj, form, change):
        company = obj.company if is_superadmin(request) else request.user.company
        visible = set(collections_for(company, obj.knowledge_collection_ids).values_list("pk", flat=True))
        obj.knowledge_collection_ids = [pk for pk in obj.knowledge_collection_ids if pk in visible]
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

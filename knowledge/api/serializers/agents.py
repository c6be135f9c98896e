"""Serializers of LLM providers and agents. Secrets are write-only (`api_key`,
`shopify_api_key`, `wordpress_api_key`): stored encrypted, shown only as a masked hint."""

from __future__ import annotations

from rest_framework import serializers

from requestdesk import outbound
from requestdesk.api.serializers import MongoModelSerializer, ObjectIdField
from tenants.scoping import resolve_tenant

from ...models import Agent, LLMProvider
from ...selectors.collections import collections_for
from ...services import crypto

SECRET_STYLE = {"input_type": "password"}


def secret_field(help_text: str):
    return serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        trim_whitespace=True,
        max_length=2000,
        style=SECRET_STYLE,
        help_text=help_text,
    )


def checked_url(value: str) -> str:
    """Refuse URLs the server may never call (private, loopback, metadata). A host that
    does not resolve now is accepted: DNS may be down; it is checked again on every call."""
    if value:
        try:
            outbound.check_url(value)
        except outbound.UnresolvableHost:
            pass
        except outbound.UnsafeURL as exc:
            raise serializers.ValidationError(str(exc))
    return value


class SecretsMixin:
    """Write-only secret fields stored encrypted through crypto.set_secret."""

    secret_fields: tuple = ()

    def _pop_secrets(self, validated_data) -> dict:
        return {name: validated_data.pop(name) for name in self.secret_fields if name in validated_data}

    def create(self, validated_data):
        secrets = self._pop_secrets(validated_data)
        instance = self.Meta.model(**validated_data)
        for name, value in secrets.items():
            crypto.set_secret(instance, name, value)
        instance.save()
        return instance

    def update(self, instance, validated_data):
        for name, value in self._pop_secrets(validated_data).items():
            crypto.set_secret(instance, name, value)
        return super().update(instance, validated_data)


class LLMProviderSerializer(SecretsMixin, MongoModelSerializer):
    secret_fields = ("api_key",)
    api_key = secret_field('The provider\'s API key; write-only, stored encrypted. Send "" to remove it.')

    class Meta:
        model = LLMProvider
        fields = [
            "id",
            "name",
            "provider",
            "base_url",
            "models",
            "is_active",
            "api_key",
            "api_key_hint",
            "company",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["api_key_hint", "created_at", "updated_at"]

    def validate_base_url(self, value):
        return checked_url(value)


class AgentSerializer(SecretsMixin, MongoModelSerializer):
    secret_fields = ("shopify_api_key", "wordpress_api_key")
    shopify_api_key = secret_field("Shopify Admin API access token; write-only, stored encrypted.")
    wordpress_api_key = secret_field(
        "WordPress “user:application-password” or bearer token; write-only, stored encrypted."
    )
    knowledge_collection_ids = serializers.ListField(child=ObjectIdField(), required=False)

    class Meta:
        model = Agent
        fields = [
            "id",
            "name",
            "description",
            "system_prompt",
            "model",
            "provider",
            "temperature",
            "max_tokens",
            "knowledge_collection_ids",
            "rerank",
            "rerank_model",
            "shopify_enabled",
            "shopify_store_url",
            "shopify_api_key",
            "shopify_api_key_hint",
            "wordpress_enabled",
            "wordpress_site_url",
            "wordpress_api_key",
            "wordpress_api_key_hint",
            "created_by",
            "company",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["shopify_api_key_hint", "wordpress_api_key_hint", "created_by", "created_at", "updated_at"]

    def validate_knowledge_collection_ids(self, value):
        value = list(dict.fromkeys(value))
        company = resolve_tenant(self.context["request"]).company
        found = set(collections_for(company, value).values_list("pk", flat=True))
        unknown = [str(pk) for pk in value if pk not in found]
        if unknown:
            raise serializers.ValidationError(f"Unknown collections: {', '.join(unknown)}.")
        return value

    def validate_shopify_store_url(self, value):
        return checked_url(value)

    def validate_wordpress_site_url(self, value):
        return checked_url(value)

    def _provider_problem(self, attrs) -> str | None:
        """Why the agent would have no provider to call (chat.provider_for), or None. Checked
        on create and whenever `provider` is changed: a named provider must be active and
        have an endpoint; with none named, the company must have such a provider."""
        if self.instance is not None and "provider" not in attrs:
            return None
        provider = attrs.get("provider")
        if provider is not None:
            if not provider.is_active:
                return f"The provider “{provider}” is not active."
            return None if provider.endpoint else f"The provider “{provider}” has no base URL."
        company = resolve_tenant(self.context["request"]).company
        if any(p.endpoint for p in LLMProvider.objects.for_company(company).filter(is_active=True)):
            return None
        return (
            "This company has no active LLM provider with a base URL to call: add one under "
            "/api/v1/knowledge/providers/ first, or name one here."
        )

    def validate(self, attrs):
        errors = {}
        problem = self._provider_problem(attrs)
        if problem:
            errors["provider"] = [problem]
        for name in ("shopify", "wordpress"):
            url_field = f"{name}_store_url" if name == "shopify" else f"{name}_site_url"
            enabled = attrs.get(f"{name}_enabled", getattr(self.instance, f"{name}_enabled", False))
            url = attrs.get(url_field, getattr(self.instance, url_field, ""))
            if enabled and not url:
                errors[url_field] = [f"Required when {name}_enabled is true."]
        if errors:
            raise serializers.ValidationError(errors)
        return attrs

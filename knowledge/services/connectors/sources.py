"""The WordPress and Shopify sync sources (knowledge.services.sources): a complete listing
of the store linked through the collection's agent, with the agent's credentials."""

from __future__ import annotations

from rest_framework import serializers

from ...models import SourceType
from ..crypto import get_secret
from ..sources import Listing
from . import shopify, wordpress
from .base import ConnectorError

WORDPRESS_TYPES = [("posts", "Posts"), ("pages", "Pages")]
SHOPIFY_RESOURCES = [("products", "Products"), ("articles", "Articles"), ("collections", "Collections")]


class WordPressSource:
    source_type = SourceType.WORDPRESS

    def settings_fields(self) -> dict:
        return {
            "wordpress_types": serializers.ListField(
                child=serializers.ChoiceField(WORDPRESS_TYPES),
                required=False,
                allow_empty=False,
                help_text="WordPress collections: what to sync (none: both).",
            )
        }

    def settings_errors(self, settings, *, company_id) -> dict:
        return {}

    def sync_type(self, collection) -> str:
        return collection.source_type

    def check(self, collection) -> None:
        self._options(collection)

    def _options(self, collection) -> dict:
        agent = collection.agent
        if agent is None or not agent.wordpress_enabled:
            raise ConnectorError("Link this collection to an agent with WordPress enabled.")
        return {
            "site_url": agent.wordpress_site_url,
            "api_key": get_secret(agent, "wordpress_api_key"),
            "types": (collection.settings or {}).get("wordpress_types", ["posts", "pages"]),
        }

    def listing(self, collection) -> Listing:
        return Listing(items=wordpress.fetch(**self._options(collection)))


class ShopifySource:
    source_type = SourceType.SHOPIFY

    def settings_fields(self) -> dict:
        return {
            "shopify_resources": serializers.ListField(
                child=serializers.ChoiceField(SHOPIFY_RESOURCES),
                required=False,
                allow_empty=False,
                help_text="Shopify collections: what to sync (none: all three).",
            )
        }

    def settings_errors(self, settings, *, company_id) -> dict:
        return {}

    def sync_type(self, collection) -> str:
        resources = (collection.settings or {}).get("shopify_resources", shopify.RESOURCES)
        kinds = [shopify.SYNC_TYPES[r] for r in resources if r in shopify.SYNC_TYPES]
        return kinds[0] if len(kinds) == 1 else "shopify"

    def check(self, collection) -> None:
        self._options(collection)

    def _options(self, collection) -> dict:
        agent = collection.agent
        if agent is None or not agent.shopify_enabled:
            raise ConnectorError("Link this collection to an agent with Shopify enabled.")
        return {
            "store_url": agent.shopify_store_url,
            "access_token": get_secret(agent, "shopify_api_key"),
            "resources": (collection.settings or {}).get("shopify_resources", shopify.RESOURCES),
        }

    def listing(self, collection) -> Listing:
        return Listing(items=shopify.fetch(**self._options(collection)))

"""Shopify Admin REST API (2024-01): products, blog articles and collections (the hand-picked
`custom_collections` and the rule-based `smart_collections`), with `limit` and the
`Link: <...page_info=...>; rel="next"` cursor pagination, authenticated by the
`X-Shopify-Access-Token` header. A next link to another host is refused."""

from __future__ import annotations

from collections.abc import Iterator

from django.conf import settings

from requestdesk.text import html_to_text

from .base import ConnectorError, SourceItem, base_url, client, get_json, same_origin

API_VERSION = "2024-01"
LIMIT = 250
RESOURCES = ("products", "articles", "collections")
SYNC_TYPES = {"products": "products", "articles": "blog_articles", "collections": "collections"}
# Shopify keeps its two kinds of collection behind two listings; both are storefront pages.
COLLECTION_LISTINGS = ("custom_collections", "smart_collections")


def _pages(http, url: str, key: str, *, store: str, headers: dict, what: str) -> Iterator[dict]:
    """Every row of a paginated listing (`{key: [...]}` per page)."""
    params = {"limit": LIMIT}
    for _ in range(settings.KNOWLEDGE_CONNECTOR_MAX_PAGES):
        data, response = get_json(http, url, what=what, headers=headers, params=params)
        rows = data.get(key) if isinstance(data, dict) else None
        if not isinstance(rows, list):
            raise ConnectorError(f"{what}: the answer has no “{key}” list.")
        yield from rows
        following = response.links.get("next", {}).get("url")
        if not following:
            return
        if not same_origin(following, store):
            raise ConnectorError(f"{what}: the next page points to another host; refused.")
        url, params = following, None  # the next link carries page_info and limit
    raise ConnectorError(
        f"{what}: more than {settings.KNOWLEDGE_CONNECTOR_MAX_PAGES} pages; raise KNOWLEDGE_CONNECTOR_MAX_PAGES."
    )


def _product(store: str, row: dict) -> SourceItem:
    title = row.get("title", "")
    url = f"{store}/products/{row.get('handle', row['id'])}"
    lines = [html_to_text(row.get("body_html") or "")]
    facts = [("Vendor", row.get("vendor")), ("Type", row.get("product_type")), ("Tags", row.get("tags"))]
    lines += [f"{label}: {value}" for label, value in facts if value]
    for variant in row.get("variants") or []:
        name = variant.get("title") or ""
        price = variant.get("price")
        if price:
            lines.append(f"{title}{'' if name in ('', 'Default Title') else ' – ' + name}: price {price}")
    return SourceItem(
        source_id=f"product:{row['id']}",
        title=title,
        url=url,
        text="\n\n".join(filter(None, lines)),
        metadata={
            "title": title,
            "url": url,
            "type": "product",
            "handle": row.get("handle", ""),
            "updated_at": row.get("updated_at", ""),
        },
    )


def _article(store: str, blog: dict, row: dict) -> SourceItem:
    title = row.get("title", "")
    url = f"{store}/blogs/{blog.get('handle', blog['id'])}/{row.get('handle', row['id'])}"
    text = "\n\n".join(
        filter(
            None,
            [
                html_to_text(row.get("summary_html") or ""),
                html_to_text(row.get("body_html") or ""),
                f"Tags: {row['tags']}" if row.get("tags") else "",
            ],
        )
    )
    return SourceItem(
        source_id=f"article:{row['id']}",
        title=title,
        url=url,
        text=text,
        metadata={
            "title": title,
            "url": url,
            "type": "article",
            "blog": blog.get("title", ""),
            "author": row.get("author", ""),
            "updated_at": row.get("updated_at", ""),
        },
    )


def _collection(store: str, kind: str, row: dict) -> SourceItem:
    """A collection's page: its description, and for a smart collection the rules that fill it,
    which say in words what belongs there."""
    title = row.get("title", "")
    url = f"{store}/collections/{row.get('handle', row['id'])}"
    rules = [
        " ".join(str(rule.get(part, "")) for part in ("column", "relation", "condition"))
        for rule in row.get("rules") or []
    ]
    text = "\n\n".join(
        filter(None, [html_to_text(row.get("body_html") or ""), f"Rules: {'; '.join(rules)}" if rules else ""])
    )
    return SourceItem(
        source_id=f"collection:{row['id']}",
        title=title,
        url=url,
        text=text,
        metadata={
            "title": title,
            "url": url,
            "type": "collection",
            "collection_kind": kind.split("_")[0],
            "handle": row.get("handle", ""),
            "updated_at": row.get("updated_at", ""),
        },
    )


def fetch(*, store_url: str, access_token: str, resources=RESOURCES) -> Iterator[SourceItem]:
    store = base_url(store_url, "Shopify store")
    if not access_token:
        raise ConnectorError("No Shopify access token is configured on the agent.")
    unknown = set(resources) - set(RESOURCES)
    if unknown:
        raise ConnectorError(f"Unknown Shopify resources {sorted(unknown)}; use {', '.join(RESOURCES)}.")
    api = f"{store}/admin/api/{API_VERSION}"
    headers = {"X-Shopify-Access-Token": access_token, "Accept": "application/json"}
    with client() as http:
        if "products" in resources:
            for row in _pages(
                http, f"{api}/products.json", "products", store=store, headers=headers, what="Shopify (products)"
            ):
                yield _product(store, row)
        if "articles" in resources:
            blogs = list(
                _pages(http, f"{api}/blogs.json", "blogs", store=store, headers=headers, what="Shopify (blogs)")
            )
            for blog in blogs:
                for row in _pages(
                    http,
                    f"{api}/blogs/{blog['id']}/articles.json",
                    "articles",
                    store=store,
                    headers=headers,
                    what="Shopify (articles)",
                ):
                    yield _article(store, blog, row)
        if "collections" in resources:
            for listing in COLLECTION_LISTINGS:
                for row in _pages(
                    http,
                    f"{api}/{listing}.json",
                    listing,
                    store=store,
                    headers=headers,
                    what=f"Shopify ({listing.replace('_', ' ')})",
                ):
                    yield _collection(store, listing, row)

"""WordPress REST API (`/wp-json/wp/v2/posts`, `/pages`): every published post and page,
page by page (`page`, `per_page`, the `X-WP-TotalPages` header), `content.rendered` HTML
turned into text. Credentials: "user:application-password" (Basic) or a bearer token."""

from __future__ import annotations

from collections.abc import Iterator

from django.conf import settings

from requestdesk.text import html_to_text

from .base import ConnectorError, SourceItem, auth_header, base_url, client, get_json

TYPES = {"posts": "post", "pages": "page"}
PER_PAGE = 50
FIELDS = "id,link,slug,type,modified_gmt,title,content"


def _item(kind: str, row: dict) -> SourceItem:
    title = html_to_text((row.get("title") or {}).get("rendered", ""))
    return SourceItem(
        source_id=f"{kind}:{row['id']}",
        title=title,
        url=row.get("link", ""),
        text=html_to_text((row.get("content") or {}).get("rendered", "")),
        metadata={
            "title": title,
            "url": row.get("link", ""),
            "type": kind,
            "slug": row.get("slug", ""),
            "modified": row.get("modified_gmt", ""),
        },
    )


def fetch(
    *, site_url: str, api_key: str = "", types=("posts", "pages"), per_page: int | None = None
) -> Iterator[SourceItem]:
    site = base_url(site_url, "WordPress site")
    per_page = per_page or PER_PAGE
    headers = auth_header(api_key)
    with client() as http:
        for endpoint in types:
            if endpoint not in TYPES:
                raise ConnectorError(f"Unknown WordPress content type “{endpoint}”; use {', '.join(TYPES)}.")
            page, total_pages = 1, 1
            while page <= total_pages:
                if page > settings.KNOWLEDGE_CONNECTOR_MAX_PAGES:
                    raise ConnectorError(
                        f"WordPress {endpoint}: more than {settings.KNOWLEDGE_CONNECTOR_MAX_PAGES} "
                        "pages; raise KNOWLEDGE_CONNECTOR_MAX_PAGES."
                    )
                rows, response = get_json(
                    http,
                    f"{site}/wp-json/wp/v2/{endpoint}",
                    what=f"WordPress ({endpoint})",
                    headers=headers,
                    params={"page": page, "per_page": per_page, "_fields": FIELDS},
                )
                if not isinstance(rows, list):
                    raise ConnectorError(f"WordPress ({endpoint}) did not answer with a list on page {page}.")
                for row in rows:
                    yield _item(TYPES[endpoint], row)
                try:
                    total_pages = int(response.headers.get("X-WP-TotalPages", page))
                except ValueError:
                    total_pages = page
                page += 1

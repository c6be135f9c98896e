"""What every connector shares: the item it yields, its error, and one checked GET."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx
from django.conf import settings

from requestdesk import outbound


@dataclass
class SourceItem:
    """One source item (a post, a product, an uploaded file): chunked and embedded as a whole."""

    source_id: str
    title: str
    text: str
    url: str = ""
    metadata: dict = field(default_factory=dict)


class ConnectorError(Exception):
    """The source could not be read completely; the message is safe to show. A sync that
    meets one removes nothing: a partial listing must not look like deleted items."""


def client() -> httpx.Client:
    return outbound.http_client(timeout=settings.KNOWLEDGE_CONNECTOR_TIMEOUT_SECONDS)


def base_url(url: str, what: str) -> str:
    """`url` without a trailing slash, with https:// when no scheme was given."""
    url = (url or "").strip().rstrip("/")
    if not url:
        raise ConnectorError(f"No {what} URL is configured.")
    return url if "://" in url else f"https://{url}"


def same_origin(url: str, origin: str) -> bool:
    a, b = urlsplit(url), urlsplit(origin)
    return (a.scheme, a.hostname, a.port) == (b.scheme, b.hostname, b.port)


def auth_header(secret: str) -> dict:
    """WordPress style: "user:application-password" is Basic auth, anything else a bearer token."""
    if not secret:
        return {}
    if ":" in secret:
        return {"Authorization": "Basic " + base64.b64encode(secret.encode()).decode()}
    return {"Authorization": f"Bearer {secret}"}


def get_json(
    http: httpx.Client, url: str, *, what: str, headers: dict | None = None, params: dict | None = None
) -> tuple[object, httpx.Response]:
    """GET `url` (checked against private addresses first) and parse its JSON body."""
    try:
        outbound.check_url(url)
    except outbound.UnsafeURL as exc:
        raise ConnectorError(f"{what}: {exc}") from exc
    try:
        response = http.get(url, headers=headers or {}, params=params)
    except httpx.TimeoutException:
        raise ConnectorError(
            f"{what} did not answer within {settings.KNOWLEDGE_CONNECTOR_TIMEOUT_SECONDS:g}s (timeout) for {url}"
        ) from None
    except httpx.HTTPError as exc:
        raise ConnectorError(f"{what} could not be reached: {exc.__class__.__name__}") from None
    url = str(response.url)  # with its query: which page failed
    if response.status_code in (401, 403):
        raise ConnectorError(f"{what} refused the credentials (HTTP {response.status_code}) for {url}")
    if response.status_code != 200:
        raise ConnectorError(f"{what} answered HTTP {response.status_code} for {url}")
    try:
        return response.json(), response
    except ValueError:
        raise ConnectorError(f"{what} did not answer with JSON for {url}") from None

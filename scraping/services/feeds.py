"""Feeds to items: RSS 0.9x/1.0/2.0 and Atom through feedparser, JSON Feed through json.

Each entry keeps its full content where the feed carries it (`content:encoded`, Atom
`content`, JSON Feed `content_html`/`content_text`), else its summary, as plain text.

XML safety: feedparser reads the XML with its own SAX handler; before it does, defusedxml
reads the body once and refuses entity declarations (billion laughs, external entities),
so no feed can make us expand or fetch anything. A feed that is not well-formed is still
given to feedparser (real feeds often carry a stray `&`); only when it then yields no entry
is it refused.
"""

from __future__ import annotations

import calendar
import json
import re
from datetime import UTC, datetime
from urllib.parse import urljoin

import feedparser
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring

from requestdesk.text import html_to_text

from .items import ExtractionError, Item, parse_date

FEED_TYPES = {"application/rss+xml", "application/atom+xml", "application/rdf+xml", "application/feed+json"}
JSON_FEED_VERSION = "https://jsonfeed.org/version/"
_PROLOG = re.compile(rb"\s*(<\?.*?\?>|<!--.*?-->|<!doctype[^\[>]*(\[.*?\])?\s*>)\s*", re.S | re.I)


def is_json_feed(body: bytes, content_type: str = "") -> bool:
    kind = (content_type or "").split(";")[0].strip().lower()
    head = body[:1024].lstrip(b"\xef\xbb\xbf \t\r\n")
    return kind == "application/feed+json" or (head.startswith(b"{") and JSON_FEED_VERSION.encode() in head)


def _first_element(body: bytes) -> bytes:
    """The document from its first element on: BOM, XML declaration, processing
    instructions, comments and DOCTYPE (with its internal subset) skipped."""
    head = body[:8192].lstrip(b"\xef\xbb\xbf \t\r\n")
    while True:
        match = _PROLOG.match(head)
        if not match:
            return head
        head = head[match.end() :]


def is_feed(body: bytes, content_type: str) -> bool:
    """A feed by its media type, or by its first element (`<rss`, `<feed`, `<rdf:RDF`) or
    its JSON Feed version."""
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind in FEED_TYPES or is_json_feed(body, content_type):
        return True
    return _first_element(body).lower().startswith((b"<rss", b"<feed", b"<rdf:rdf"))


def extract_feed(body: bytes, url: str, content_type: str = "") -> list[Item]:
    """One item per entry of an RSS, Atom or JSON feed."""
    if is_json_feed(body, content_type):
        return _json_feed(body, url)
    return _xml_feed(body, url)


# --- RSS and Atom ------------------------------------------------------------------------------


def _check_xml(body: bytes) -> str | None:
    """Refuse entity tricks; return the parse error of a malformed feed (None when well-formed)."""
    try:
        fromstring(body, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise ExtractionError(f"The feed declares XML entities, which are not read ({type(exc).__name__}).") from exc
    except ParseError as exc:
        return str(exc)
    return None


def _entry_date(entry) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = entry.get(key)
        if value:
            return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)
    return None


def _entry_text(entry) -> str:
    """The entry's full content when the feed carries it, else its summary."""
    contents = [part.get("value") or "" for part in entry.get("content") or ()]
    full = max(contents, key=len, default="")
    return html_to_text(full or entry.get("summary") or entry.get("description") or "")


def _entry_author(entry) -> str:
    if entry.get("author"):
        return entry["author"]
    names = [a.get("name") or a.get("email") or "" for a in entry.get("authors") or ()]
    return ", ".join(filter(None, names))


def _xml_feed(body: bytes, url: str) -> list[Item]:
    problem = _check_xml(body)
    # Markup is reduced to text here (html_to_text drops scripts and styles), so feedparser's
    # HTML sanitising and URI rewriting inside content would be work thrown away (~20%).
    parsed = feedparser.parse(
        body, response_headers={"content-location": url}, sanitize_html=False, resolve_relative_uris=False
    )
    items = [
        Item(
            title=html_to_text(entry.get("title") or ""),
            text=_entry_text(entry),
            author=_entry_author(entry).strip(),
            date=_entry_date(entry),
            url=urljoin(url, entry.get("link") or entry.get("id") or ""),
        )
        for entry in parsed.entries
    ]
    items = [item for item in items if not item.empty]
    if problem and not items:
        raise ExtractionError(f"The feed is not well-formed XML ({problem}).")
    return items


# --- JSON Feed ---------------------------------------------------------------------------------


def _json_author(entry: dict, feed: dict) -> str:
    authors = entry.get("authors") or ([entry["author"]] if isinstance(entry.get("author"), dict) else [])
    authors = authors or feed.get("authors") or ([feed["author"]] if isinstance(feed.get("author"), dict) else [])
    return ", ".join(str(a.get("name") or "").strip() for a in authors if isinstance(a, dict) and a.get("name"))


def _json_feed(body: bytes, url: str) -> list[Item]:
    try:
        feed = json.loads(body.decode("utf-8-sig", errors="replace"))
    except ValueError as exc:
        raise ExtractionError(f"The JSON feed is not valid JSON ({exc}).") from exc
    if not isinstance(feed, dict) or not isinstance(feed.get("items"), list):
        raise ExtractionError("The JSON feed has no `items` list.")
    items = []
    for entry in feed["items"]:
        if not isinstance(entry, dict):
            continue
        text = (
            html_to_text(str(entry.get("content_html") or ""))
            or html_to_text(str(entry.get("content_text") or ""))
            or html_to_text(str(entry.get("summary") or ""))
        )
        link = entry.get("url") or entry.get("external_url") or entry.get("id") or ""
        item = Item(
            title=html_to_text(str(entry.get("title") or "")),
            text=text,
            author=_json_author(entry, feed),
            url=urljoin(url, str(link)),
            date=parse_date(entry.get("date_published")) or parse_date(entry.get("date_modified")),
        )
        if not item.empty:
            items.append(item)
    return items

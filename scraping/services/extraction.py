"""Turning a fetched page into items (title, text, author, date, url).

`extract(body=..., content_type=..., url=..., platform=..., options=...)` returns the platform
it read the page as and the items found:

* feed     RSS 2.0, RSS 1.0 (RDF) and Atom: one item per entry (xml.etree; entities are
           never fetched, and the body is size-capped before it gets here)
* reviews  JSON-LD `Review` objects anywhere in the page (also nested in a Product's
           `review`, or in `@graph`): one item per review
* article  the page's main text (the <article>, <main>, or the block richest in
           paragraphs), its title, author and date from meta tags, JSON-LD or markup
* custom   the target's CSS selectors: one item per `item_selector` match
* auto     detects feed, then custom (selectors set), then reviews, else article

HTML is parsed with selectolax (lexbor).
"""

from __future__ import annotations

import codecs
import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin

from selectolax.lexbor import LexborHTMLParser

from ..models import Target

AUTO, ARTICLE, REVIEWS, FEED, CUSTOM = Target.AUTO, Target.ARTICLE, Target.REVIEWS, Target.FEED, Target.CUSTOM
NOISE = "script, style, noscript, nav, header, footer, aside, form, iframe, svg, template, button, menu"
BLOCKS = "p, h2, h3, h4, blockquote, pre, li"
REVIEW_TYPES = {"Review", "UserReview", "CriticReview", "EmployerReview"}
ATOM = "{http://www.w3.org/2005/Atom}"
RSS1 = "{http://purl.org/rss/1.0/}"
DC = "{http://purl.org/dc/elements/1.1/}"
CONTENT = "{http://purl.org/rss/1.0/modules/content/}"
_META_CHARSET = re.compile(rb"<meta[^>]+charset=[\"']?\s*([A-Za-z0-9_.:-]+)", re.I)
_SPACES = re.compile(r"[ \t\r\f\v]+")


@dataclass
class Item:
    title: str = ""
    text: str = ""
    author: str = ""
    date: datetime | None = None
    url: str = ""
    rating: float | None = None

    @property
    def empty(self) -> bool:
        return not (self.title.strip() or self.text.strip())


class ExtractionError(ValueError):
    """The page cannot be read as the platform asked for; the message says why."""


# --- helpers -------------------------------------------------------------------------------

def clean(text: str | None) -> str:
    """Whitespace collapsed within lines, blank lines squeezed, ends stripped."""
    lines = (_SPACES.sub(" ", line).strip() for line in (text or "").splitlines())
    return "\n".join(line for line in lines if line)


def html_to_text(fragment: str | None) -> str:
    """The text of an HTML fragment (feed descriptions often carry markup)."""
    if not fragment:
        return ""
    if "<" not in fragment:
        return clean(fragment)
    tree = LexborHTMLParser(fragment)
    return clean(tree.body.text(separator=" ", strip=True) if tree.body else "")


def parse_date(value) -> datetime | None:
    """ISO 8601 or RFC 822 dates (aware, UTC); None when unreadable."""
    if not value or not isinstance(value, str):
        return None
    value = value.strip()
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            parsed = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def decode(body: bytes, content_type: str = "") -> str:
    """Bytes to text: the charset of the Content-Type, else of a <meta> tag, else UTF-8."""
    charset = ""
    match = re.search(r"charset=[\"']?([\w.:-]+)", content_type or "", re.I)
    if match:
        charset = match.group(1)
    else:
        sniffed = _META_CHARSET.search(body[:4096])
        charset = sniffed.group(1).decode("ascii", "ignore") if sniffed else ""
    try:
        codecs.lookup(charset or "utf-8")
    except LookupError:
        charset = ""
    return body.decode(charset or "utf-8", errors="replace")


def is_feed(body: bytes, content_type: str) -> bool:
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind in ("application/rss+xml", "application/atom+xml", "application/rdf+xml"):
        return True
    head = body[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith(b"<?xml"):
        head = head[head.find(b"?>") + 2:].lstrip()
        while head.startswith(b"<!--") or head.startswith(b"<?"):
            head = head[max(head.find(b"-->") + 3, head.find(b"?>") + 2):].lstrip()
    return head.startswith((b"<rss", b"<feed", b"<rdf:rdf"))


def _name(value) -> str:
    """A JSON-LD author/publisher: a string, {"name": ..}, or a list of those."""
    if isinstance(value, list):
        return ", ".join(filter(None, (_name(v) for v in value)))
    if isinstance(value, dict):
        return str(value.get("name") or "").strip()
    return str(value or "").strip()


def _types(obj: dict) -> set[str]:
    kind = obj.get("@type", [])
    return {str(k).rsplit("/", 1)[-1] for k in (kind if isinstance(kind, list) else [kind])}


def _float(value) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


# --- JSON-LD -------------------------------------------------------------------------------

def jsonld_objects(tree: LexborHTMLParser) -> list[dict]:
    """Every JSON object of the page's JSON-LD blocks, depth first (malformed blocks skipped)."""
    found: list[dict] = []

    def walk(value, depth=0):
        if depth > 20:
            return
        if isinstance(value, list):
            for element in value:
                walk(element, depth + 1)
        elif isinstance(value, dict):
            found.append(value)
            for child in value.values():
                walk(child, depth + 1)

    for script in tree.css('script[type="application/ld+json"]'):
        try:
            walk(json.loads(script.text() or "null"))
        except ValueError:
            continue
    return found


def _review_items(objects: list[dict], page_url: str) -> list[Item]:
    parents = {}  # id(review) -> the product/thing it is attached to
    for obj in objects:
        reviews = obj.get("review") or obj.get("reviews")
        for review in reviews if isinstance(reviews, list) else [reviews]:
            if isinstance(review, dict):
                parents[id(review)] = obj
    items = []
    for obj in objects:
        if not _types(obj) & REVIEW_TYPES:
            continue
        about = obj.get("itemReviewed") if isinstance(obj.get("itemReviewed"), dict) else parents.get(id(obj), {})
        rating = obj.get("reviewRating") if isinstance(obj.get("reviewRating"), dict) else {}
        item = Item(
            title=clean(str(obj.get("name") or obj.get("headline") or "")) or clean(_name(about)),
            text=html_to_text(str(obj.get("reviewBody") or obj.get("description") or "")),
            author=_name(obj.get("author")), date=parse_date(obj.get("datePublished")),
            url=urljoin(page_url, str(obj.get("url") or "")) if obj.get("url") else page_url,
            rating=_float(rating.get("ratingValue")),
        )
        if not item.empty:
            items.append(item)
    return items


# --- extractors ------------------------------------------------------------------------------

def _meta(tree: LexborHTMLParser, *names: str) -> str:
    for name in names:
        node = tree.css_first(f'meta[property="{name}"]') or tree.css_first(f'meta[name="{name}"]')
        if node and (node.attributes.get("content") or "").strip():
            return node.attributes["content"].strip()
    return ""


def _text_of(node) -> str:
    return clean(node.text(separator=" ", strip=True)) if node else ""


def _best_block(tree: LexborHTMLParser):
    """The element whose own paragraphs hold the most text (a readability-style guess)."""
    best, best_score = None, 0
    for node in tree.css("div, section, td"):
        score = sum(len(p.text(strip=True)) for p in node.iter() if p.tag == "p")
        if score > best_score:
            best, best_score = node, score
    return best or tree.body


def extract_article(tree: LexborHTMLParser, url: str) -> list[Item]:
    articles = [o for o in jsonld_objects(tree) if _types(o) & {"Article", "NewsArticle", "BlogPosting"}]
    ld = articles[0] if articles else {}
    h1 = tree.css_first("h1")
    title = (_meta(tree, "og:title", "twitter:title") or clean(str(ld.get("headline") or ""))
             or _text_of(h1) or _text_of(tree.css_first("title")))
    author = (_meta(tree, "author", "article:author", "dc.creator") or _name(ld.get("author"))
              or _text_of(tree.css_first('[rel="author"], [itemprop="author"], .author, .byline')))
    time_node = tree.css_first("time[datetime]")
    date = (parse_date(_meta(tree, "article:published_time", "date", "pubdate", "dc.date", "datePublished"))
            or parse_date(ld.get("datePublished"))
            or parse_date(time_node.attributes.get("datetime") if time_node else None))
    for node in tree.css(NOISE):
        node.decompose()
    container = tree.css_first("article") or tree.css_first('main, [role="main"]') or _best_block(tree)
    if container is None:
        return []
    blocks = [_text_of(node) for node in container.css(BLOCKS)]
    text = "\n\n".join(b for b in blocks if b) or _text_of(container)
    item = Item(title=title, text=text, author=author.removeprefix("By ").strip(), date=date, url=url)
    return [] if item.empty else [item]


def _pick(node, selectors: dict, name: str) -> list:
    selector = selectors.get(name)
    return node.css(selector) if selector else []


def extract_custom(tree: LexborHTMLParser, url: str, options) -> list[Item]:
    selectors = options.selectors() if options else {}
    if not selectors:
        raise ExtractionError("The custom platform needs at least an item or a text CSS selector.")
    nodes = tree.css(selectors["item_selector"]) if selectors.get("item_selector") else [tree.body]
    items = []
    for node in filter(None, nodes):
        text_nodes = _pick(node, selectors, "text_selector")
        date_node = next(iter(_pick(node, selectors, "date_selector")), None)
        link_node = next(iter(_pick(node, selectors, "link_selector")), None)
        date_value = None
        if date_node is not None:
            date_value = (date_node.attributes.get("datetime") or date_node.attributes.get("content")
                          or date_node.text(strip=True))
        item = Item(
            title=_text_of(next(iter(_pick(node, selectors, "title_selector")), None)),
            text="\n\n".join(filter(None, (_text_of(n) for n in text_nodes))) if text_nodes else _text_of(node),
            author=_text_of(next(iter(_pick(node, selectors, "author_selector")), None)),
            date=parse_date(date_value),
            url=urljoin(url, link_node.attributes.get("href") or "") if link_node is not None else url,
        )
        if not item.empty:
            items.append(item)
    return items


def _child_text(element, *tags: str) -> str:
    for tag in tags:
        child = element.find(tag)
        if child is not None and (child.text or "").strip():
            return child.text.strip()
    return ""


def extract_feed(body: bytes, url: str) -> list[Item]:
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        raise ExtractionError(f"The feed is not well-formed XML ({exc}).") from exc
    items = []
    if root.tag == f"{ATOM}feed":
        for entry in root.iter(f"{ATOM}entry"):
            links = entry.findall(f"{ATOM}link")
            link = next((l.get("href") for l in links if l.get("rel", "alternate") == "alternate"), None)
            author = entry.find(f"{ATOM}author")
            items.append(Item(
                title=html_to_text(_child_text(entry, f"{ATOM}title")),
                text=html_to_text(_child_text(entry, f"{ATOM}content", f"{ATOM}summary")),
                author=_child_text(author, f"{ATOM}name") if author is not None else "",
                date=parse_date(_child_text(entry, f"{ATOM}published", f"{ATOM}updated")),
                url=urljoin(url, link or _child_text(entry, f"{ATOM}id")),
            ))
    else:
        for entry in [*root.iter("item"), *root.iter(f"{RSS1}item")]:
            items.append(Item(
                title=html_to_text(_child_text(entry, "title", f"{RSS1}title")),
                text=html_to_text(_child_text(entry, f"{CONTENT}encoded", "description", f"{RSS1}description")),
                author=_child_text(entry, "author", f"{DC}creator"),
                date=parse_date(_child_text(entry, "pubDate", f"{DC}date")),
                url=urljoin(url, _child_text(entry, "link", f"{RSS1}link", "guid")),
            ))
    return [item for item in items if not item.empty]


def extract(*, body: bytes, content_type: str, url: str, platform: str = AUTO, options=None) -> tuple[str, list[Item]]:
    """(the platform the page was read as, its items)."""
    if platform == FEED or (platform == AUTO and is_feed(body, content_type)):
        return FEED, extract_feed(body, url)
    tree = LexborHTMLParser(decode(body, content_type))
    if platform == AUTO:
        if options is not None and options.selectors():
            platform = CUSTOM
        else:
            reviews = _review_items(jsonld_objects(tree), url)
            if reviews:
                return REVIEWS, reviews
            platform = ARTICLE
    if platform == REVIEWS:
        return REVIEWS, _review_items(jsonld_objects(tree), url)
    if platform == CUSTOM:
        return CUSTOM, extract_custom(tree, url, options)
    return ARTICLE, extract_article(tree, url)


def check_selector(selector: str) -> None:
    """Raise ValueError when `selector` is not a CSS selector lexbor can run."""
    try:
        LexborHTMLParser("<html></html>").css(selector)
    except Exception as exc:  # selectolax raises its own error class
        raise ValueError(f"“{selector}” is not a valid CSS selector.") from exc

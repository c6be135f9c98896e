"""Turning a fetched page into items (title, text, author, date, url, language).

`extract(body=..., content_type=..., url=..., platform=..., options=...)` returns the platform
it read the page as and the items found:

* feed     RSS 0.9x/1.0/2.0 and Atom (feedparser), JSON Feed (json): one item per entry,
           full content where the feed carries it (services.feeds)
* reviews  JSON-LD `Review` objects anywhere in the page (also nested in a Product's
           `review`, or in `@graph`): one item per review
* article  the page's main text, title, author, date and language by trafilatura; an
           exact timestamp from the page's meta tags or JSON-LD is kept over trafilatura's
           day (it gives dates only), and the page's own metadata fills what it misses
* custom   the target's CSS selectors: one item per `item_selector` match (selectolax)
* auto     detects feed, then custom (selectors set), then reviews, else article
"""

from __future__ import annotations

import codecs
import json
import re
from urllib.parse import urljoin

import trafilatura
from selectolax.lexbor import LexborHTMLParser

from requestdesk.text import html_to_text

from ..models import Target
from .feeds import extract_feed, is_feed
from .items import ExtractionError, Item, clean, parse_date

__all__ = ["ExtractionError", "Item", "extract", "check_selector", "decode", "parse_date", "is_feed"]

AUTO, ARTICLE, REVIEWS, FEED, CUSTOM = Target.AUTO, Target.ARTICLE, Target.REVIEWS, Target.FEED, Target.CUSTOM
REVIEW_TYPES = {"Review", "UserReview", "CriticReview", "EmployerReview"}
ARTICLE_TYPES = {"Article", "NewsArticle", "BlogPosting", "Report", "TechArticle"}
_META_CHARSET = re.compile(rb"<meta[^>]+charset=[\"']?\s*([A-Za-z0-9_.:-]+)", re.I)


# --- helpers -------------------------------------------------------------------------------


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
            author=_name(obj.get("author")),
            date=parse_date(obj.get("datePublished")),
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


def _language(tree: LexborHTMLParser) -> str:
    node = tree.css_first("html")
    value = (node.attributes.get("lang") or "") if node else ""
    value = value or _meta(tree, "og:locale", "content-language", "language")
    return value.strip().replace("_", "-").split("-")[0].lower()[:8]


def _paragraphs(text: str | None) -> str:
    """trafilatura's lines (one per paragraph, heading or list item) as paragraphs."""
    return "\n\n".join(line for line in clean(text).split("\n") if line)


def _main_text(html: str, url: str):
    """trafilatura's document (main text and metadata), or None when it finds no text."""
    document = trafilatura.bare_extraction(
        html, url=url or None, with_metadata=True, include_comments=False, include_tables=True, deduplicate=False
    )
    return document if document is not None and (document.text or "").strip() else None


def extract_article(tree: LexborHTMLParser, url: str, html: str = "", objects: list[dict] | None = None) -> list[Item]:
    """The page's article (`objects`: its JSON-LD objects when already read)."""
    objects = jsonld_objects(tree) if objects is None else objects
    articles = [o for o in objects if _types(o) & ARTICLE_TYPES]
    ld = articles[0] if articles else {}
    document = _main_text(html or tree.html or "", url)
    title = (
        (document.title if document else "")
        or _meta(tree, "og:title", "twitter:title")
        or clean(str(ld.get("headline") or ""))
        or _text_of(tree.css_first("h1"))
        or _text_of(tree.css_first("title"))
    )
    author = (
        (document.author if document else "")
        or _meta(tree, "author", "article:author", "dc.creator")
        or _name(ld.get("author"))
        or _text_of(tree.css_first('[rel="author"], [itemprop="author"], .author, .byline'))
    )
    time_node = tree.css_first("time[datetime]")
    date = (
        parse_date(_meta(tree, "article:published_time", "date", "pubdate", "dc.date", "datePublished"))
        or parse_date(ld.get("datePublished"))
        or parse_date(time_node.attributes.get("datetime") if time_node else None)
        or (parse_date(document.date) if document else None)
    )
    language = (document.language if document else "") or _language(tree)
    text = ""
    if document is not None:
        text = _paragraphs(document.text)
        first, _, rest = text.partition("\n\n")
        if rest and first.strip() == title.strip():  # the page's <h1> repeats the title
            text = rest
    item = Item(
        title=title,
        text=text,
        author=clean(author).removeprefix("By ").strip(),
        date=date,
        url=url,
        language=language or "",
    )
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
            date_value = (
                date_node.attributes.get("datetime")
                or date_node.attributes.get("content")
                or date_node.text(strip=True)
            )
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


def extract(*, body: bytes, content_type: str, url: str, platform: str = AUTO, options=None) -> tuple[str, list[Item]]:
    """(the platform the page was read as, its items)."""
    if platform == FEED or (platform == AUTO and is_feed(body, content_type)):
        return FEED, extract_feed(body, url, content_type)
    html = decode(body, content_type)
    tree = LexborHTMLParser(html)
    objects = None  # the JSON-LD objects, read once
    if platform == AUTO:
        if options is not None and options.selectors():
            platform = CUSTOM
        else:
            objects = jsonld_objects(tree)
            reviews = _review_items(objects, url)
            if reviews:
                return REVIEWS, reviews
            platform = ARTICLE
    if platform == REVIEWS:
        return REVIEWS, _review_items(jsonld_objects(tree), url)
    if platform == CUSTOM:
        return CUSTOM, extract_custom(tree, url, options)
    return ARTICLE, extract_article(tree, url, html, objects)


def follow_links(items: list[Item], fetch) -> list[Item]:
    """Feed entries with their articles: each entry's link fetched (`fetch(url)` -> a
    fetching.Page) and read as an article; its main text replaces the entry's when longer
    (feeds often carry a teaser), the entry keeps its own title, author and date. An entry
    whose page fails keeps what the feed said."""
    for item in items:
        if not item.url:
            continue
        page = fetch(item.url)
        if not page.ok or is_feed(page.body, page.content_type):
            continue
        html = decode(page.body, page.content_type)
        articles = extract_article(LexborHTMLParser(html), page.final_url or item.url, html)
        if articles and len(articles[0].text) > len(item.text):
            article = articles[0]
            item.text = article.text
            item.author, item.date = item.author or article.author, item.date or article.date
            item.language = item.language or article.language
    return items


def check_selector(selector: str) -> None:
    """Raise ValueError when `selector` is not a CSS selector lexbor can run."""
    try:
        LexborHTMLParser("<html></html>").css(selector)
    except Exception as exc:  # selectolax raises its own error class
        raise ValueError(f"“{selector}” is not a valid CSS selector.") from exc

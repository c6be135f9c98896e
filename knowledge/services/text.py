"""Text helpers shared by ingest, connectors and search: HTML to text, normalisation,
content hashes, and the lowercased search terms stored on every chunk.

Keyword search cannot use `$text` (SecantusDB has no text indexes), so each chunk keeps
its distinct terms in an indexed array (`terms`) and a query matches by overlap.
"""

from __future__ import annotations

import hashlib
import html
import re
import unicodedata
from html.parser import HTMLParser

BLOCK_TAGS = {"p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "table",
              "section", "article", "blockquote", "pre", "hr", "header", "footer", "figure", "dd", "dt"}
SKIP_TAGS = {"script", "style", "noscript", "template", "svg", "head"}

STOPWORDS = frozenset("""a an and are as at be been but by can do does for from had has have how i if in into is
it its itself me my no not of on or our so than that the their them then there these they this those to was we
were what when where which who why will with you your yours about after all also any because before between both
did doing each few further he her here hers him his just more most nor once only other over own same she should
some such too under until up very while would could""".split())
TERM_RE = re.compile(r"[^\W_]+", re.UNICODE)
MAX_TERM_LENGTH = 64


class _TextExtractor(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag, attrs):
        if tag in SKIP_TAGS:
            self.skipping += 1
        elif tag in BLOCK_TAGS:
            self.parts.append("\n\n" if tag != "br" else "\n")

    def handle_endtag(self, tag):
        if tag in SKIP_TAGS:
            self.skipping = max(0, self.skipping - 1)
        elif tag in BLOCK_TAGS:
            self.parts.append("\n\n")

    def handle_data(self, data):
        if not self.skipping:
            self.parts.append(data)


def html_to_text(markup: str) -> str:
    """Visible text of an HTML fragment, one paragraph per block element."""
    if not markup:
        return ""
    parser = _TextExtractor()
    parser.feed(markup)
    parser.close()
    return normalise(html.unescape("".join(parser.parts)))


def normalise(text: str) -> str:
    """NFC, spaces collapsed inside lines, paragraphs separated by one blank line."""
    text = unicodedata.normalize("NFC", text or "").replace("\r\n", "\n").replace("\r", "\n")
    paragraphs = []
    for block in re.split(r"\n\s*\n", text):
        lines = [" ".join(line.split()) for line in block.split("\n")]
        block = "\n".join(line for line in lines if line)
        if block:
            paragraphs.append(block)
    return "\n\n".join(paragraphs)


def content_hash(*parts: str) -> str:
    """sha256 of the normalised parts: equal for texts that differ only in whitespace."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(normalise(part).encode())
        digest.update(b"\x1f")
    return digest.hexdigest()


def _stem(term: str) -> str:
    """A light plural fold ("products" -> "product"), the same for chunks and queries."""
    if len(term) > 3 and term.endswith("s") and not term.endswith(("ss", "us", "is")):
        return term[:-1]
    return term


def tokens(text: str) -> list[str]:
    """Search terms of `text` in order (duplicates kept): lowercased, stop words dropped."""
    words = (w.lower() for w in TERM_RE.findall(unicodedata.normalize("NFKC", text or "")))
    return [_stem(w)[:MAX_TERM_LENGTH] for w in words if len(w) > 1 and w not in STOPWORDS]


def terms(text: str) -> list[str]:
    """Distinct search terms of `text` (what a chunk stores)."""
    return list(dict.fromkeys(tokens(text)))

"""The project's one text toolkit: search tokens (stop words, stemming), HTML to text,
whitespace normalisation and content hashes. Scraping (result search, dedupe) and knowledge
(chunk terms, keyword search, sync) both read text through here, so a word is cut, folded
and hashed the same way wherever it is stored or queried.

Tokens: NFKC, casefolded, split into unicode words (underscores are separators), one-letter
words and English stop words dropped, each word reduced by Harman's S-stemmer ("reviews" ->
"review", "batteries" -> "battery", "glasses" stays): plural endings only, so it never
merges unrelated words, and a query goes through the same steps as what it is matched to.

Hashes: SHA-256 of the parts casefolded with all whitespace collapsed, so a re-fetched page
or a re-synced item that differs only in case or spacing is recognised as unchanged.
"""

from __future__ import annotations

import hashlib
import html
import re
import unicodedata
from html.parser import HTMLParser

STOP_WORDS = frozenset(
    """
a about above after again against all also am an and any are aren as at be because been before being below
between both but by can cannot could couldn did didn do does doesn doing don down during each few for from
further had hadn has hasn have haven having he her here hers herself him himself his how i if in into is isn
it its itself just let me more most my myself no nor not of off on once only or other ought our ours
ourselves out over own same shan she should shouldn so some such than that the their theirs them themselves
then there these they this those through to too under until up very was wasn we were weren what when where
which while who whom why will with won would wouldn you your yours yourself yourselves
""".split()
)
MAX_TERM_LENGTH = 64  # what an indexed term field holds

BLOCK_TAGS = frozenset(
    {
        "p",
        "div",
        "br",
        "li",
        "ul",
        "ol",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "tr",
        "table",
        "section",
        "article",
        "blockquote",
        "pre",
        "hr",
        "header",
        "footer",
        "figure",
        "dd",
        "dt",
        "main",
        "aside",
        "nav",
        "td",
        "th",
        "figcaption",
        "details",
        "summary",
    }
)
SKIP_TAGS = frozenset({"script", "style", "noscript", "template", "svg", "head", "iframe", "object"})

_WORD = re.compile(r"[^\W_]+")
_WHITESPACE = re.compile(r"\s+")


# --- tokens ----------------------------------------------------------------------------------


def stem(word: str) -> str:
    """Harman's S-stemmer (1991): folds English plurals only."""
    if len(word) <= 3 or not word.endswith("s"):
        return word
    if word.endswith("ies") and not word.endswith(("eies", "aies")):
        return word[:-3] + "y"
    if word.endswith("es") and not word.endswith(("aes", "ees", "oes")):
        return word[:-1]
    if not word.endswith(("us", "ss")):
        return word[:-1]
    return word


def words(text: str) -> list[str]:
    """The casefolded unicode words of `text`, in order (nothing dropped)."""
    return _WORD.findall(unicodedata.normalize("NFKC", text or "").casefold())


def tokenize(text: str) -> list[str]:
    """The search terms of `text` in order, repeats kept (term frequency counts them):
    stop words and one-letter words dropped, plurals folded."""
    return [stem(word)[:MAX_TERM_LENGTH] for word in words(text) if len(word) > 1 and word not in STOP_WORDS]


def terms(text: str) -> list[str]:
    """The distinct search terms of `text`, in order of first appearance."""
    return list(dict.fromkeys(tokenize(text)))


# --- HTML to text ----------------------------------------------------------------------------


class _TextExtractor(HTMLParser):
    """Visible text, a paragraph break at every block element (stdlib parser: it never
    fails on broken markup, and fragments need no document around them)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in SKIP_TAGS:
            self.skipping += 1
        elif tag in BLOCK_TAGS:
            self.parts.append("\n" if tag == "br" else "\n\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in BLOCK_TAGS:
            self.parts.append("\n" if tag == "br" else "\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in SKIP_TAGS:
            self.skipping = max(0, self.skipping - 1)
        elif tag in BLOCK_TAGS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def html_to_text(markup: str | None) -> str:
    """The visible text of an HTML document or fragment, one paragraph per block element,
    paragraphs separated by a blank line. Plain text comes back normalised."""
    if not markup:
        return ""
    if "<" not in markup and "&" not in markup:
        return normalise(markup)
    parser = _TextExtractor()
    parser.feed(markup)
    parser.close()
    return normalise(html.unescape("".join(parser.parts)))


def normalise(text: str | None) -> str:
    """NFC, spaces collapsed inside lines, paragraphs separated by one blank line."""
    text = unicodedata.normalize("NFC", text or "").replace("\r\n", "\n").replace("\r", "\n")
    paragraphs = []
    for block in re.split(r"\n\s*\n", text):
        lines = [" ".join(line.split()) for line in block.split("\n")]
        block = "\n".join(line for line in lines if line)
        if block:
            paragraphs.append(block)
    return "\n\n".join(paragraphs)


# --- content hash ----------------------------------------------------------------------------


def _fold(part: str | None) -> str:
    return _WHITESPACE.sub(" ", part or "").strip().casefold()


def content_hash(*parts: str | None) -> str:
    """SHA-256 (hex) of the parts, each casefolded and whitespace-collapsed, joined by a unit
    separator (so ("ab", "c") and ("a", "bc") differ)."""
    return hashlib.sha256("\x1f".join(_fold(part) for part in parts).encode()).hexdigest()

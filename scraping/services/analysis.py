"""Text analysis at ingest: sentiment (VADER) and the terms of the weighted search.

Sentiment: VADER's compound score in [-1, 1] with the thresholds its authors recommend
(>= 0.05 positive, <= -0.05 negative, else neutral), plus its positive/neutral/negative
proportions. The analyzer (lexicon inside the wheel) is loaded once per process.

Search terms: the text casefolded, split into unicode words, stop words and one-letter
words dropped, each word reduced by a small plural stripper (Harman's S-stemmer: "reviews"
-> "review", "batteries" -> "battery"). A query goes through the same steps, so what it
matches is what was stored. A result keeps every title term and its most frequent text
terms (SCRAPING_SEARCH_MAX_TERMS): on the embedded server every indexed term costs insert
time, and the most frequent words are what a document is about.

The indexed `terms` of a result are weighted postings, "<weight>:<term>": a term's weight
is 10 when it is in the title plus 5 when it is in the text (15, 10 or 5), so the index
(company_id, terms, published_at) lists a term's results best first, newest first, and a
one-word query's ranking is an index range walk (scraping.selectors).
"""

from __future__ import annotations

import re
import threading
from collections import Counter

from django.conf import settings

from ..models import Sentiment

POSITIVE_THRESHOLD, NEGATIVE_THRESHOLD = 0.05, -0.05
SENTIMENT_MAX_CHARS = 5000
MAX_TITLE_TERMS = 32
MAX_QUERY_TERMS = 16

STOP_WORDS = frozenset("""
a about above after again against all also am an and any are aren as at be because been before being below
between both but by can cannot could couldn did didn do does doesn doing don down during each few for from
further had hadn has hasn have haven having he her here hers herself him himself his how i if in into is isn
it its itself just let me more most my myself no nor not of off on once only or other ought our ours
ourselves out over own same shan she should shouldn so some such than that the their theirs them themselves
then there these they this those through to too under until up very was wasn we were weren what when where
which while who whom why will with won would wouldn you your yours yourself yourselves
""".split())

_WORD = re.compile(r"\w+")
_analyzer = None
_analyzer_lock = threading.Lock()


def stem(word: str) -> str:
    """Harman's S-stemmer: plural endings only, so it never merges unrelated words."""
    if len(word) <= 3 or not word.endswith("s"):
        return word
    if word.endswith("ies") and not word.endswith(("eies", "aies")):
        return word[:-3] + "y"
    if word.endswith("es") and not word.endswith(("aes", "ees", "oes")):
        return word[:-1]
    if not word.endswith(("us", "ss")):
        return word[:-1]
    return word


def tokens(text: str) -> list[str]:
    """The searchable words of `text`, in order, repeats kept."""
    return [stem(word) for word in _WORD.findall((text or "").casefold())
            if len(word) > 1 and word not in STOP_WORDS and word.strip("_")]


def _unique(words) -> list[str]:
    return list(dict.fromkeys(words))


def search_terms(title: str, text: str, *, max_text_terms: int | None = None) -> tuple[list[str], list[str]]:
    """(title terms, text terms) stored on a result: every title term, the text's most
    frequent terms (ties in order of appearance)."""
    limit = settings.SCRAPING_SEARCH_MAX_TERMS if max_text_terms is None else max_text_terms
    counts = Counter(tokens(text))  # insertion order = first appearance; sorted() is stable
    text_terms = [term for term, _ in sorted(counts.items(), key=lambda pair: -pair[1])][:limit]
    return _unique(tokens(title))[:MAX_TITLE_TERMS], text_terms


TITLE_WEIGHT, TEXT_WEIGHT = 10, 5
WEIGHTS = (TITLE_WEIGHT + TEXT_WEIGHT, TITLE_WEIGHT, TEXT_WEIGHT)  # best first


def posting(term: str, weight: int) -> str:
    return f"{weight}:{term}"


def postings(title_terms: list[str], text_terms: list[str]) -> list[str]:
    """The weighted postings of a result ("15:lantern", "5:battery"), one per term."""
    title, text = set(title_terms), set(text_terms)
    return [posting(term, TITLE_WEIGHT * (term in title) + TEXT_WEIGHT * (term in text))
            for term in _unique(title_terms + text_terms)]


def weights(postings_: list[str]) -> dict[str, int]:
    """{term: weight} of stored postings (the inverse of postings())."""
    found = {}
    for entry in postings_ or ():
        weight, _, term = entry.partition(":")
        found[term] = int(weight)
    return found


def query_terms(query: str) -> list[str]:
    return _unique(tokens(query))[:MAX_QUERY_TERMS]


def analyzer():
    global _analyzer
    if _analyzer is None:
        with _analyzer_lock:
            if _analyzer is None:
                from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

                _analyzer = SentimentIntensityAnalyzer()
    return _analyzer


def label_for(compound: float) -> str:
    if compound >= POSITIVE_THRESHOLD:
        return Sentiment.POSITIVE
    if compound <= NEGATIVE_THRESHOLD:
        return Sentiment.NEGATIVE
    return Sentiment.NEUTRAL


def sentiment(text: str) -> Sentiment:
    scores = analyzer().polarity_scores((text or "")[:SENTIMENT_MAX_CHARS])
    return Sentiment(label=label_for(scores["compound"]), compound=scores["compound"], positive=scores["pos"],
                     neutral=scores["neu"], negative=scores["neg"])

"""Text analysis at ingest: sentiment (VADER) and the postings of the weighted search.

Sentiment: VADER's compound score in [-1, 1] with the thresholds its authors recommend
(>= 0.05 positive, <= -0.05 negative, else neutral), plus its positive/neutral/negative
proportions, and the compound score of every sentence: a review that praises one thing
and pans another has a positive or negative overall score (VADER sums), but its sentences
disagree, and it is labelled `mixed`. The analyzer (lexicon inside the wheel) is loaded
once per process.

Search terms are the project's tokens (requestdesk.text.tokenize: stop words dropped,
plurals folded), so a query matches what was stored. Every term of a result is indexed.

The indexed `terms` of a result are weighted postings, "<weight>:<term>", one per distinct
term: weight = 10 x its count in the title + 5 x its count in the text,
each count saturating at TF_CAP as BM25's does (a word said a fifth time tells
little more, and the weights stay a short list of tiers). The index (company_id, terms,
published_at) then lists a term's results best first, newest first, so a one-word query's
ranking is an index range walk over WEIGHTS (scraping.selectors.search).
"""

from __future__ import annotations

import re
import threading
from collections import Counter

from requestdesk.text import tokenize

from ..models import Sentiment

POSITIVE_THRESHOLD, NEGATIVE_THRESHOLD = 0.05, -0.05
STRONG, BALANCE = 0.5, 1 / 3  # a sentence that clearly praises or pans; the weaker side's share
SENTIMENT_MAX_CHARS = 5000
MAX_QUERY_TERMS = 16
TITLE_WEIGHT, TEXT_WEIGHT = 10, 5
TF_CAP = 4
# Every weight a posting can carry, best first (the tiers the search walks).
WEIGHTS = tuple(
    sorted(
        {
            TITLE_WEIGHT * in_title + TEXT_WEIGHT * in_text
            for in_title in range(TF_CAP + 1)
            for in_text in range(TF_CAP + 1)
        }
        - {0},
        reverse=True,
    )
)

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
_analyzer = None
_analyzer_lock = threading.Lock()
tokens = tokenize


def _unique(words) -> list[str]:
    return list(dict.fromkeys(words))


def term_counts(title: str, text: str) -> tuple[Counter, Counter]:
    """(title term counts, text term counts); insertion order is first appearance."""
    return Counter(tokenize(title)), Counter(tokenize(text))


def weight(title_count: int, text_count: int) -> int:
    return TITLE_WEIGHT * min(title_count, TF_CAP) + TEXT_WEIGHT * min(text_count, TF_CAP)


def posting(term: str, weight_: int) -> str:
    return f"{weight_}:{term}"


def postings(title_counts: Counter, text_counts: Counter) -> list[str]:
    """The weighted postings of a result ("20:lantern", "5:battery"), one per distinct term."""
    return [
        posting(term, weight(title_counts[term], text_counts[term])) for term in _unique([*title_counts, *text_counts])
    ]


def weights(postings_: list[str]) -> dict[str, int]:
    """{term: weight} of stored postings (the inverse of postings())."""
    found = {}
    for entry in postings_ or ():
        weight_, _, term = entry.partition(":")
        found[term] = int(weight_)
    return found


def index_fields(title: str, text: str) -> dict:
    """What a result stores for the search: `terms` (its postings) and `search` (its
    distinct title and text terms), as keyword arguments of Result / raw $set values."""
    title_counts, text_counts = term_counts(title, text)
    return {
        "terms": postings(title_counts, text_counts),
        "search": {"title": list(title_counts), "text": list(text_counts)},
    }


def query_terms(query: str) -> list[str]:
    return _unique(tokenize(query))[:MAX_QUERY_TERMS]


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


def sentences(text: str) -> list[str]:
    """The sentences of `text`: split after . ! ? (and runs of them) and at line breaks."""
    return [part.strip() for part in _SENTENCE_END.split(text or "") if part and part.strip()]


def disagree(scores: list[float]) -> bool:
    """Whether sentences strongly disagree: at least one clearly positive and one clearly
    negative sentence (|compound| >= STRONG), the weaker side carrying at least BALANCE of
    the stronger side's weight (one grumble in a page of praise is still praise)."""
    praise = sum(score for score in scores if score >= STRONG)
    blame = -sum(score for score in scores if score <= -STRONG)
    return bool(praise and blame) and min(praise, blame) >= BALANCE * max(praise, blame)


def sentiment(text: str) -> Sentiment:
    """VADER on the whole text (compound, proportions) and on each sentence; `mixed` when the
    sentences disagree (see disagree()), else the label of the overall compound."""
    text = (text or "")[:SENTIMENT_MAX_CHARS]
    vader = analyzer()
    scores = vader.polarity_scores(text)
    parts = sentences(text)
    if parts == [text.strip()]:  # one sentence: its score is the text's (VADER strips the text first)
        per_sentence = [round(scores["compound"], 4)]
    else:
        per_sentence = [round(vader.polarity_scores(part)["compound"], 4) for part in parts]
    label = Sentiment.MIXED if disagree(per_sentence) else label_for(scores["compound"])
    return Sentiment(
        label=label,
        compound=scores["compound"],
        positive=scores["pos"],
        neutral=scores["neu"],
        negative=scores["neg"],
        sentences=per_sentence,
    )

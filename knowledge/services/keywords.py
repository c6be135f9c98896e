"""Keyword search: Okapi BM25 (bm25s, Lucene's variant: k1 1.5, b 0.75) over each collection.

BM25 needs corpus statistics: each chunk's term frequencies and length, every term's
document frequency, the collection's average length. They are computed, not kept in
counters: a collection's chunks are read once (ids, titles and texts) and tokenized with
the very tokenizer the queries go through, into a bm25s index kept in this process for the
collection's `chunks_version` (knowledge.services.cache), like its vectors. So

* a query costs the postings of its own terms (bm25s sums one sparse column per term), never
  a read of the tenant's chunks;
* every write to a collection changes its version, so the statistics are never stale, and
  counters that could drift from the chunks (a crashed sync, a removed source) do not exist;
* chunks and queries always share one tokenizer: a change of stemming or stop words needs
  no rewrite of stored data.

The price is the cold load after a write, paid once per process (the bench prints it).
The server's `$text` is not used even where it exists: its score is not BM25, and one
strategy gives one ranking on every server.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import bm25s
import numpy as np

from requestdesk.text import tokenize

from ..selectors.collections import chunks_of
from . import cache
from .vectors import top_k

# bm25s sets its logger to DEBUG as it is imported, so the root handler would print "Building
# index from tokens" for every index built (every worker's and command's output): its warnings only.
logging.getLogger("bm25s").setLevel(logging.WARNING)


@dataclass
class KeywordIndex:
    ids: list
    bm25: bm25s.BM25 | None  # None: the collection has no searchable text

    @property
    def terms(self) -> int:
        return len(self.bm25.vocab_dict) if self.bm25 else 0

    @property
    def nbytes(self) -> int:
        arrays = sum(
            value.nbytes for value in (self.bm25.scores.values() if self.bm25 else ()) if isinstance(value, np.ndarray)
        )
        return arrays + 64 * len(self.ids) + 80 * self.terms


def chunk_tokens(title: str, content: str) -> list[str]:
    """What a chunk is searched by: its source's title and its text (as ingest stores them)."""
    return tokenize(f"{title or ''} {content}")


def _load(collection) -> KeywordIndex:
    ids, corpus = [], []
    for pk, title, content in chunks_of(collection).values_list("pk", "metadata__title", "content"):
        ids.append(pk)
        corpus.append(chunk_tokens(title, content))
    if not any(corpus):
        return KeywordIndex(ids=ids, bm25=None)
    bm25 = bm25s.BM25()
    bm25.index(corpus, show_progress=False)
    return KeywordIndex(ids=ids, bm25=bm25)


def index_for(collection) -> KeywordIndex:
    return cache.cached("bm25", collection, _load, lambda index: index.nbytes)


def search(collections, query: str, limit: int) -> list[tuple]:
    """[(chunk id, BM25 score)] best first; chunks without any of the query's terms are left out."""
    query_terms = list(dict.fromkeys(tokenize(query)))
    found = []
    for collection in collections:
        if not collection.chunk_count or not query_terms:
            continue
        index = index_for(collection)
        known = [term for term in query_terms if index.bm25 and term in index.bm25.vocab_dict]
        if not known:
            continue
        scores = index.bm25.get_scores(known)
        candidates = int(np.count_nonzero(scores))
        found += [(index.ids[i], float(scores[i])) for i in top_k(scores, min(limit, candidates))]
    found.sort(key=lambda row: -row[1])
    return found[:limit]

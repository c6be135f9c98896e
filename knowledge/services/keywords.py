"""Keyword search without `$text` (SecantusDB has no text indexes): every chunk stores its
distinct terms (knowledge.services.text.terms); a collection's terms are read once into
postings (term -> row numbers, int32) kept in this process for its `chunks_version`
(knowledge.services.cache), like its vectors.

A chunk scores the idf-weighted share of the query's terms it contains: 1.0 when it has
all of them, idf = ln(1 + (N - df + 0.5) / (df + 0.5)) over the collection's N chunks.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from .. import selectors
from . import cache
from .text import tokens
from .vectors import top_k


@dataclass
class Postings:
    ids: list
    rows: dict  # term -> np.ndarray of row numbers

    @property
    def nbytes(self) -> int:
        return 64 * len(self.ids) + sum(80 + array.nbytes for array in self.rows.values())


def _load(collection) -> Postings:
    ids, rows = [], defaultdict(list)
    for number, (pk, chunk_terms) in enumerate(selectors.chunks_of(collection).values_list("pk", "terms")):
        ids.append(pk)
        for term in chunk_terms or ():
            rows[term].append(number)
    return Postings(ids=ids, rows={term: np.asarray(numbers, dtype=np.int32) for term, numbers in rows.items()})


def postings_for(collection) -> Postings:
    return cache.cached("terms", collection, _load, lambda postings: postings.nbytes)


def idf(total: int, frequency: int) -> float:
    return math.log(1 + (total - frequency + 0.5) / (frequency + 0.5))


def search(collections, query: str, limit: int) -> list[tuple]:
    """[(chunk id, score in 0..1)] best first."""
    query_terms = list(dict.fromkeys(tokens(query)))
    found = []
    for collection in collections:
        if not collection.chunk_count or not query_terms:
            continue
        postings = postings_for(collection)
        total = len(postings.ids)
        matched = {term: postings.rows[term] for term in query_terms if term in postings.rows}
        if not matched:
            continue
        weights = {term: idf(total, len(rows)) for term, rows in matched.items()}
        best = sum(weights.values())
        scores = np.zeros(total, dtype=np.float32)
        for term, rows in matched.items():
            scores[rows] += weights[term] / best
        candidates = int(np.count_nonzero(scores))
        found += [(postings.ids[i], float(scores[i])) for i in top_k(scores, min(limit, candidates))]
    found.sort(key=lambda row: -row[1])
    return found[:limit]

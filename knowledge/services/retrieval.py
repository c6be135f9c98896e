"""Retrieval: vector, keyword and hybrid search over a company's collections, returning
chunks with scores and source citations.

* vector: cosine similarity (knowledge.services.vectors); collections are grouped by
  embedding model and the query is embedded once per group.
* keyword: Okapi BM25 over each collection (knowledge.services.keywords).
* hybrid: reciprocal rank fusion of both lists, score = sum of 1 / (60 + rank).
* then, when the caller gives a reranker (an agent's setting), the first hits reordered by
  it (knowledge.services.rerank).

Everything starts from the company's own collections (tenant scope first), then the
requested collection ids.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field

from ..models import KnowledgeChunk
from ..selectors.collections import collections_for
from . import keywords, rerank, vectors
from .embeddings import embedder_for

MODES = ("hybrid", "vector", "keyword")
RRF_K = 60
MAX_LIMIT = 50


@dataclass
class Hit:
    chunk_id: str
    collection_id: str
    score: float
    content: str
    source_type: str
    source_id: str
    title: str
    url: str
    metadata: dict
    scores: dict = field(default_factory=dict)

    def citation(self) -> dict:
        return {
            "chunk_id": self.chunk_id,
            "collection_id": self.collection_id,
            "source_type": self.source_type,
            "source_id": self.source_id,
            "title": self.title,
            "url": self.url,
            "score": round(self.score, 6),
        }

    def as_dict(self) -> dict:
        return asdict(self)


def vector_ranking(collections, query: str, limit: int) -> list[tuple]:
    groups = defaultdict(list)
    for collection in collections:
        if collection.chunk_count and collection.embedding_dimensions:
            groups[collection.embedder_key].append(collection)
    found = []
    for members in groups.values():
        query_vector = embedder_for(members[0]).embed([query])[0]
        found += vectors.search(members, query_vector, limit)
    found.sort(key=lambda row: -row[1])
    return found[:limit]


def keyword_ranking(collections, query: str, limit: int) -> list[tuple]:
    return keywords.search(collections, query, limit)


def fuse(*rankings: list[tuple], k: int = RRF_K) -> list[tuple]:
    """Reciprocal rank fusion: [(id, sum of 1 / (k + rank))] best first (rank from 1)."""
    scores: dict = defaultdict(float)
    for ranking in rankings:
        for rank, (pk, _) in enumerate(ranking, start=1):
            scores[pk] += 1 / (k + rank)
    return sorted(scores.items(), key=lambda row: -row[1])


def _hits(company, ranking: list[tuple], details: dict) -> list[Hit]:
    ids = [pk for pk, _ in ranking]
    chunks = {
        c.pk: c for c in KnowledgeChunk.objects.for_company(company).filter(pk__in=ids).defer("embedding", "terms")
    }
    hits = []
    for pk, score in ranking:
        chunk = chunks.get(pk)
        if chunk is None:  # deleted since it was ranked
            continue
        hits.append(
            Hit(
                chunk_id=str(pk),
                collection_id=str(chunk.collection_id),
                score=float(score),
                content=chunk.content,
                source_type=chunk.source_type,
                source_id=chunk.source_id,
                title=chunk.title,
                url=chunk.url,
                metadata=chunk.metadata,
                scores={name: ranks[pk] for name, ranks in details.items() if pk in ranks},
            )
        )
    return hits


def search(
    *, company, query: str, collection_ids=None, mode: str = "hybrid", limit: int = 5, reranker=None
) -> list[Hit]:
    """The best `limit` chunks for `query` in the company's collections (all, or `collection_ids`);
    with a `reranker` (knowledge.services.rerank), the first rerank.WINDOW of them reordered by it."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}")
    limit = max(1, min(int(limit), MAX_LIMIT))
    collections = list(collections_for(company, collection_ids))
    if not collections or not query.strip():
        return []
    window = max(limit, rerank.WINDOW) if reranker else limit
    depth = window if mode != "hybrid" else max(4 * window, 20)
    vector = vector_ranking(collections, query, depth) if mode in ("vector", "hybrid") else []
    keyword = keyword_ranking(collections, query, depth) if mode in ("keyword", "hybrid") else []
    details = {"vector": dict(vector), "keyword": dict(keyword)}
    ranking = vector if mode == "vector" else keyword if mode == "keyword" else fuse(vector, keyword)
    hits = _hits(company, ranking[:window], details)
    return rerank.rerank(reranker, query, hits)[:limit]

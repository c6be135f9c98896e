"""Vector search over a collection's chunks.

* Where the database has Atlas Search (capability `atlas_search`): `$vectorSearch` on the
  "knowledge_chunks_vector" index (migration 0003; its size is
  KNOWLEDGE_VECTOR_INDEX_DIMENSIONS), filtered by company and collection.
* Elsewhere, or for a collection of another dimension: exact
  cosine kNN with numpy. A collection's vectors are read once (ids and embeddings only)
  into a float32 matrix of unit rows and kept in this process (knowledge.services.cache,
  valid for one `chunks_version` of the collection).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.db import connections

from requestdesk.db.collections import raw

from ..models import KnowledgeChunk
from ..selectors.collections import chunks_of
from . import cache

ATLAS_INDEX = "knowledge_chunks_vector"


@dataclass
class Vectors:
    ids: list
    matrix: np.ndarray  # (n, d) float32, unit rows

    @property
    def nbytes(self) -> int:
        return self.matrix.nbytes + 64 * len(self.ids)


def _load(collection) -> Vectors:
    ids, rows = [], []
    for pk, vector in chunks_of(collection).values_list("pk", "embedding"):
        if vector is not None and len(vector):
            ids.append(pk)
            rows.append(vector)
    if not rows:
        return Vectors(ids=[], matrix=np.zeros((0, collection.embedding_dimensions or 0), dtype=np.float32))
    matrix = np.vstack(rows).astype(np.float32, copy=False)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return Vectors(ids=ids, matrix=matrix / np.where(norms == 0, 1, norms))


def vectors_for(collection) -> Vectors:
    return cache.cached("vectors", collection, _load, lambda vectors: vectors.nbytes)


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Indexes of the k highest scores, best first."""
    if k >= len(scores):
        return np.argsort(-scores, kind="stable")
    part = np.argpartition(-scores, k)[:k]
    return part[np.argsort(-scores[part], kind="stable")]


def _exact(collection, query: np.ndarray, limit: int) -> list[tuple]:
    vectors = vectors_for(collection)
    if not vectors.ids or vectors.matrix.shape[1] != len(query):
        return []
    scores = vectors.matrix @ query
    return [(vectors.ids[i], float(scores[i])) for i in top_k(scores, limit)]


def _atlas(collection, query: np.ndarray, limit: int) -> list[tuple]:
    """Atlas vector search; raw() puts the tenant into the stage's filter."""
    pipeline = [
        {
            "$vectorSearch": {
                "index": ATLAS_INDEX,
                "path": KnowledgeChunk._meta.get_field("embedding").column,
                "queryVector": [float(x) for x in query],
                "numCandidates": max(100, 20 * limit),
                "limit": limit,
                "filter": {"collection_id": collection.pk},
            }
        },
        {"$project": {"_id": 1, "score": {"$meta": "vectorSearchScore"}}},
    ]
    rows = raw(KnowledgeChunk, company=collection.company_id).aggregate(pipeline)
    return [(row["_id"], 2 * row["score"] - 1) for row in rows]  # Atlas cosine score is (1 + cos) / 2


def uses_atlas(collection) -> bool:
    return (
        connections[KnowledgeChunk.objects.db].capabilities.atlas_search
        and collection.embedding_dimensions == settings.KNOWLEDGE_VECTOR_INDEX_DIMENSIONS
    )


def search(collections, query: np.ndarray, limit: int) -> list[tuple]:
    """[(chunk id, cosine similarity)] best first, over collections of one vector space."""
    query = np.asarray(query, dtype=np.float32)
    query = query / (np.linalg.norm(query) or 1)
    found = []
    for collection in collections:
        if not collection.chunk_count:
            continue
        found += _atlas(collection, query, limit) if uses_atlas(collection) else _exact(collection, query, limit)
    found.sort(key=lambda row: -row[1])
    return found[:limit]

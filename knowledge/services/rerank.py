"""Reranking: the fused hits of a search reordered by a model that reads the question and each
passage together, which a bi-encoder and BM25 cannot.

An agent chooses (Agent.rerank):

* "llm": the agent's LLM provider (its `rerank_model`, else the agent's model) is sent the
  question and the numbered passages in one chat completion and answers with their numbers,
  most relevant first;
* "cross_encoder": a sentence-transformers CrossEncoder loaded from the folder named by
  KNOWLEDGE_CROSS_ENCODER_PATH (nothing is downloaded), once per process.

Only the first WINDOW fused hits are reranked. A reranker that fails (provider down, a model
that is not configured) leaves the fused order and is logged: an answer with the fused
context is better than no answer.
"""

from __future__ import annotations

import logging
import os
import re
import threading

import numpy as np
from django.conf import settings

from . import llm

WINDOW = 20
PASSAGE_CHARS = 1200  # per passage in the LLM prompt
log = logging.getLogger(__name__)

INSTRUCTIONS = (
    "You rank passages by how well they answer a question. Reply with the numbers of the passages, "
    "most relevant first, separated by commas, and nothing else."
)


class RerankUnavailable(Exception):
    """The reranker cannot run (not configured); the fused order stays."""


def parse_order(text: str, count: int) -> list[int]:
    """0-based passage indexes from a reply like "3, 1, 2": the valid numbers in the order
    given (repeats ignored), then the passages the reply left out, in their fused order."""
    named = [int(n) - 1 for n in re.findall(r"\d+", text or "")]
    order = list(dict.fromkeys(n for n in named if 0 <= n < count))
    return order + [n for n in range(count) if n not in set(order)]


class LLMReranker:
    def __init__(self, provider, model: str):
        self.provider, self.model = provider, model

    def messages(self, query: str, passages: list[str]) -> list[dict]:
        listed = "\n\n".join(f"[{n}] {passage[:PASSAGE_CHARS]}" for n, passage in enumerate(passages, start=1))
        return [
            {"role": "system", "content": INSTRUCTIONS},
            {"role": "user", "content": f"Question: {query}\n\nPassages:\n\n{listed}"},
        ]

    def scores(self, query: str, passages: list[str]) -> np.ndarray:
        """Relevance in (0, 1]: 1 for the passage ranked first, falling linearly."""
        client = llm.client_for(self.provider)
        try:
            response = client.chat.completions.create(
                model=self.model, temperature=0, messages=self.messages(query, passages)
            )
        except Exception as exc:
            raise llm.translate(exc, self.provider) from exc
        finally:
            client.close()
        order = parse_order(response.choices[0].message.content if response.choices else "", len(passages))
        scores = np.zeros(len(passages), dtype=np.float32)
        scores[order] = 1 - np.arange(len(order)) / len(order)
        return scores


_cross_encoder = None
_cross_encoder_lock = threading.Lock()


def cross_encoder():
    """The configured CrossEncoder, loaded on first use, once per process (offline)."""
    global _cross_encoder
    path = settings.KNOWLEDGE_CROSS_ENCODER_PATH
    if not path:
        raise RerankUnavailable("No cross-encoder is configured (KNOWLEDGE_CROSS_ENCODER_PATH).")
    with _cross_encoder_lock:
        if _cross_encoder is None or _cross_encoder[0] != path:
            from sentence_transformers import CrossEncoder

            os.environ["HF_HUB_OFFLINE"] = "1"  # as for the embeddings: a local folder, never the hub
            _cross_encoder = (path, CrossEncoder(path, device="cpu", local_files_only=True))
    return _cross_encoder[1]


class CrossEncoderReranker:
    def scores(self, query: str, passages: list[str]) -> np.ndarray:
        model = cross_encoder()
        return np.asarray(
            model.predict([(query, passage) for passage in passages], show_progress_bar=False), dtype=np.float32
        ).reshape(len(passages))


def for_agent(agent, provider):
    """The agent's reranker, or None (fused order). `provider`: the agent's LLM provider."""
    if agent.rerank == agent.RERANK_LLM:
        return LLMReranker(provider, agent.rerank_model or agent.model)
    if agent.rerank == agent.RERANK_CROSS_ENCODER:
        return CrossEncoderReranker()
    return None


def rerank(reranker, query: str, hits: list) -> list:
    """`hits` (best first) reordered by the reranker's relevance, best first; each hit's
    `score` becomes that relevance, its fused score stays in `scores["fused"]`."""
    if reranker is None or len(hits) < 2:
        return hits
    try:
        relevance = reranker.scores(query, [hit.content for hit in hits])
    except (llm.ProviderError, RerankUnavailable, OSError, ValueError) as exc:
        log.warning("Reranking skipped, the fused order stays: %s", exc)
        return hits
    for hit, score in zip(hits, relevance, strict=False):  # a short answer leaves the rest as fused
        hit.scores["fused"], hit.score = hit.score, float(score)
    return [hits[i] for i in np.argsort(-relevance, kind="stable")]

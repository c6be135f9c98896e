"""The `retrieval` component: finds what the company's knowledge says about the context and
hands it to the generator as sources it may cite.

It runs the hybrid search chat uses (knowledge.services.retrieval: vector similarity and
BM25, fused by reciprocal rank; no reranking) and APPENDS the hits to `data.sources`, each as
{"kind": "knowledge.chunk", "id": the chunk's id, "title", "url" (may be ""), "text": an
excerpt of at most 800 characters}; a chunk already there is not added twice. The
ai_generator numbers `data.sources` [1]..[n] in its prompts and keeps the citations.

Config:
* `collections`: ids of knowledge collections of the company (checked when the component or
  pipeline is saved). Without it: the context's agent's collections, and without an agent
  (or one with none), every collection of the company. Another company's collections are
  never searched, whatever the ids (the search starts from the company's own).
* `query`: a text whose {placeholders} are filled from the context's data, dotted paths
  reaching into objects ("{title}", "{result.text}"; a missing value fills as ""). Without
  it: the first of data.query, data.title, data.instructions, data.result.text. Whitespace
  is collapsed and the query cut at 1,000 characters.
* `top_k`: how many hits, 1 to 20 (default 5).

Each run records {"query", "hits"} in the list `data.retrieval`. No hits (or an empty query)
is not an error: the generator then writes without sources. An embedding provider that
cannot be reached (or times out, or rate limits) is a retryable failure; configured
collections that are all gone, and a provider that refuses the request, are permanent.
"""

from __future__ import annotations

import re

from knowledge.selectors.collections import collections_for
from knowledge.services import retrieval
from knowledge.services.crypto import EncryptionKeyError
from knowledge.services.llm import ProviderError

from .ai_generator import context_agent
from .base import PERMANENT_KINDS, ComponentError, RunState, number_error, object_id
from .citations import EXCERPT_CHARS
from .citations import add as add_sources

TYPE = "retrieval"
KIND = "knowledge.chunk"
DEFAULT_TOP_K, MAX_TOP_K = 5, 20
MAX_COLLECTIONS = 50
MAX_QUERY_CHARS = 1000
PLACEHOLDER = re.compile(r"\{([A-Za-z_]\w*(?:\.\w+)*)\}")
DEFAULT_QUERY = ("query", "title", "instructions", "result.text")


def validate_config(config: dict, *, company, complete: bool = True) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if message := number_error(config, "top_k", 1, MAX_TOP_K, integer=True):
        errors["top_k"] = [message]
    query = config.get("query")
    if query is not None:
        if not isinstance(query, str) or not query.strip():
            errors["query"] = ["query: a non-empty text (leave it out for the context's title or instructions)."]
        elif len(query) > MAX_QUERY_CHARS:
            errors["query"] = [f"query: at most {MAX_QUERY_CHARS} characters."]
    if "collections" in config and (problems := _collection_errors(config["collections"], company)):
        errors["collections"] = problems
    return errors


def _collection_errors(ids, company) -> list[str]:
    if not isinstance(ids, list) or not ids or len(ids) > MAX_COLLECTIONS:
        return [
            f"collections: a list of 1 to {MAX_COLLECTIONS} knowledge collection ids "
            "(leave it out to search the agent's or all of the company's)."
        ]
    wanted = {str(value): object_id(value) for value in ids}
    found = {
        str(pk) for pk in collections_for(company, [pk for pk in wanted.values() if pk]).values_list("pk", flat=True)
    }
    return [
        f"collections: no knowledge collection “{value}” in this company."
        for value, pk in wanted.items()
        if pk is None or str(pk) not in found
    ]


def _lookup(data: dict, path: str):
    value = data
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _as_text(value) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, list):
        return ", ".join(text for text in map(_as_text, value) if text)
    return ""


def query_for(data: dict, template: str | None) -> str:
    """The search query for a context's `data`: `template` filled, else the first default
    field that has text; whitespace collapsed, at most MAX_QUERY_CHARS."""
    if template:
        text = PLACEHOLDER.sub(lambda match: _as_text(_lookup(data, match.group(1))), template)
    else:
        text = next((found for path in DEFAULT_QUERY if (found := _as_text(_lookup(data, path))).strip()), "")
    return " ".join(text.split())[:MAX_QUERY_CHARS]


def _collections(state: RunState, config: dict) -> list | None:
    """The ids to search: the configured ones, else the agent's; None for all the company's."""
    if config.get("collections"):
        return [pk for pk in map(object_id, config["collections"]) if pk is not None]
    agent = context_agent(state)
    if agent is not None and agent.knowledge_collection_ids:
        return list(agent.knowledge_collection_ids)
    return None


def source(hit: retrieval.Hit) -> dict:
    """A hit as a source the generator may cite."""
    return {
        "kind": KIND,
        "id": hit.chunk_id,
        "title": hit.title or hit.source_id,
        "url": hit.url or "",
        "text": hit.content[:EXCERPT_CHARS],
    }


def run(state: RunState, config: dict) -> None:
    data, company_id = state.data, state.context.company_id
    query = query_for(data, config.get("query"))
    ids = _collections(state, config)
    hits = []
    if query:
        try:
            hits = retrieval.search(
                company=company_id, query=query, collection_ids=ids, limit=config.get("top_k") or DEFAULT_TOP_K
            )
        except ProviderError as exc:
            raise ComponentError(f"Knowledge retrieval failed: {exc}", permanent=exc.kind in PERMANENT_KINDS) from exc
        except EncryptionKeyError as exc:
            raise ComponentError(str(exc)) from exc
    if not hits and config.get("collections") and not collections_for(company_id, ids).exists():
        raise ComponentError("None of the configured knowledge collections exists any more.")
    add_sources(data, [source(hit) for hit in hits])
    records = data.get("retrieval") if isinstance(data.get("retrieval"), list) else []
    data["retrieval"] = [*records, {"query": query, "hits": len(hits)}]

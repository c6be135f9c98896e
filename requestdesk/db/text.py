"""Text search: the server's own text index where it has one, indexed postings elsewhere.

A model that is searched by words declares `TEXT_INDEX = {"name": …, "weights": {path:
weight}}` (built by a migration with `requestdesk.db.migrations.CreateIndex(...,
skip_unsupported=True)`) and keeps postings of its own (an indexed array of terms) for
servers without text indexes. `strategy(model)` picks, from the capabilities:

* `TEXT_INDEX`: `$text` with the declared weights, scored by the server (`textScore`);
  MongoDB.
* `POSTINGS_ON_SERVER`: the postings matched, scored, sorted and counted in one pipeline,
  where the server stops at a limit and counts from the index.
* `POSTINGS_IN_WINDOWS`: the postings walked in bounded windows by the app (the embedded
  server, which reads and sorts every match first).

The app builds the query for the strategy it is given; the `$text` parts are here.
"""

from __future__ import annotations

from typing import Any, ClassVar, Protocol

from django.db import models, router

from .base import connection_for
from .documents import Document

TEXT_INDEX, POSTINGS_ON_SERVER, POSTINGS_IN_WINDOWS = "text_index", "postings_on_server", "postings_in_windows"


def strategy(model: type[models.Model]) -> str:
    capabilities = connection_for(router.db_for_read(model)).capabilities
    if capabilities.text_index and getattr(model, "TEXT_INDEX", None):
        return TEXT_INDEX
    if capabilities.ordered_index_sort and capabilities.cheap_counts:
        return POSTINGS_ON_SERVER
    return POSTINGS_IN_WINDOWS


class TextIndexed(Protocol):
    """A model searched by words: `TEXT_INDEX = {"name": …, "weights": {path: weight}}`."""

    TEXT_INDEX: ClassVar[dict[str, Any]]


def index_keys(model: type[TextIndexed]) -> list[tuple[str, str]]:
    """The text index's keys, for the migration that builds it."""
    return [(path, "text") for path in model.TEXT_INDEX["weights"]]


def match(query: str) -> Document:
    """The condition of a `$text` search for any of the words of `query`."""
    return {"$text": {"$search": query}}


def ranked(
    filters: Document, query: str, *, then: list[tuple[str, int]], skip: int = 0, limit: int | None = None
) -> list[Document]:
    """Matches of `query` within `filters`, best `textScore` first, then `then` (field,
    direction) pairs; each row carries its `score`."""
    stages: list[Document] = [
        {"$match": {**filters, **match(query)}},
        {"$project": {"score": {"$meta": "textScore"}, **{field: 1 for field, _ in then}}},
        {"$sort": {"score": -1, **dict(then)}},
        {"$skip": skip},
    ]
    return stages + ([{"$limit": limit}] if limit is not None else [])

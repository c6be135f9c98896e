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

The app builds the query for the strategy it is given; the `$text` parts are here, and so is
the merge of the posting walks (`threshold_walk`).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, ClassVar, Protocol, TypeVar

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


class Walk(Protocol):
    """What `threshold_walk` reads of a walk: the weight it is reading (0 once it has ended)."""

    @property
    def weight(self) -> float: ...


W = TypeVar("W", bound=Walk)


def threshold_walk(
    walks: Sequence[W],
    scored: Mapping[Any, tuple[Any, ...]],
    *,
    frontier: Callable[[W], tuple[Any, ...] | None],
    need: int | None,
    at_least: int = 0,
    remaining: Callable[[W], float] | None = None,
) -> Iterator[W]:
    """The threshold algorithm (Fagin) for `POSTINGS_IN_WINDOWS`: it merges one walk per query
    word into one ranking and yields the walk to advance next, until the first `need` rows of
    `scored` are final or every walk has ended (none has a weight left). The caller advances
    the walk it is given (reads its next batch and scores the rows it keeps into `scored`)
    and may stop sooner, when it has read its budget of rows.

    A walk reads one word's postings best weight first and, inside a weight, in the list's
    order, largest first (newest first). Its `weight` is the weight it is reading (0 once it
    has read them all); `frontier(walk)` is how far it reached inside that weight: a tuple
    compared with a row's place (below), every posting of that weight at or above it read, or
    None before it has read any of that weight.

    `scored` holds a key per row kept, `(score, *place)`: the row's score (the sum of the
    weights of its words, from its own postings), then its place in the list's order (a date,
    then its id). A row no walk has read yet scores at most the sum of the walks' weights (the
    bound), and to score that it holds every walk's word at that walk's weight, so its place
    is below every frontier. The `need`th row is therefore final once it scores more than the
    bound, or as much with a place at or above some walk's frontier. `at_least`: the page is
    not final before this many rows are scored (a count wanted beside it); `need` None: no
    page, the walks go on until they end or the caller stops.

    The walk advanced is the one that can lower the bound most: the highest weight, then one
    that has read none of its weight, then, given `remaining(walk)` (about how many postings of
    its weight it has left to read), the one with the fewest left: it ends its weight soonest,
    and only that lowers the bound. A word that no row of the page holds has to be read to the
    end of its weight before any of the page is final; reading the walks side by side (the one
    that reached least far first, without `remaining`) reads every walk's weight that far.
    """

    def priority(walk: W) -> tuple[Any, ...]:
        reached = frontier(walk)
        if remaining is not None:
            return walk.weight, reached is None, 0.0 if reached is None else -remaining(walk)
        return walk.weight, reached is None, None if reached is None else reached[0]

    while live := [walk for walk in walks if walk.weight]:
        bound = sum(walk.weight for walk in live)
        if need is not None and len(scored) >= max(need, at_least):
            key = heapq.nlargest(need, scored.values())[-1]
            reached = [place for place in map(frontier, live) if place is not None]
            if key[0] > bound or key[0] == bound and any(key[1:] >= place for place in reached):
                return
        yield max(live, key=priority)

"""The sources a collection syncs from, one per source type: the one way to learn a
collection's sync type, read its listing and check its settings.

Knowledge's own WordPress and Shopify sources register in `KnowledgeConfig.ready()`; other
apps register theirs in their own `ready()` (knowledge imports none of them). A source is
an object with:

* `source_type`: the collection's `source_type` it serves;
* `settings_fields()`: new DRF fields (new instances on every call: a field is bound to one
  serializer) of its keys in the collection's `settings`; the API's settings serializer and
  the admin's form are built from them;
* `settings_errors(settings, *, company_id)`: {key: [messages]} for what the fields cannot
  tell alone (a reference to another row of the company, a key the type needs); empty when
  the settings are fine;
* `sync_type(collection)`: what its sync histories are called;
* `check(collection)`: raise (ConnectorError, EncryptionKeyError) when the collection
  cannot sync as configured; nothing is read from the source;
* `listing(collection)`: a Listing, read lazily by the sync.

A listing is complete (every item of the source: stored items it does not list are removed)
or incremental (the items new or changed since `collection.sync_cursor`; `gone(ids)` tells
which stored ids the source no longer holds, and `cursor` is stored on the collection once
the sync completes, for the next listing to start from).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from rest_framework import serializers

from .connectors.base import SourceItem


@dataclass
class Listing:
    items: Iterable[SourceItem]
    complete: bool = True
    gone: Callable[[list[str]], Collection[str]] | None = None
    cursor: str = ""


class Source(Protocol):
    source_type: str

    def settings_fields(self) -> dict[str, serializers.Field]: ...

    def settings_errors(self, settings: dict[str, Any], *, company_id: Any) -> dict[str, list[str]]: ...

    def sync_type(self, collection: Any) -> str: ...

    def check(self, collection: Any) -> None: ...

    def listing(self, collection: Any) -> Listing: ...


_SOURCES: dict[str, Source] = {}


def register(source: Source) -> None:
    """Make `source` the source of its collections (registering a type again replaces it)."""
    _SOURCES[source.source_type] = source


def get(source_type: str) -> Source | None:
    """The source of `source_type`; None for the types filled by hand (manual, upload)."""
    return _SOURCES.get(source_type)


def settings_fields() -> dict[str, serializers.Field]:
    """The settings fields of every source (a collection's settings may name any of them)."""
    fields: dict[str, serializers.Field] = {}
    for source in _SOURCES.values():
        fields.update(source.settings_fields())
    return fields


def settings_errors(source_type: str, settings: dict[str, Any], *, company_id: Any) -> dict[str, list[str]]:
    """What is wrong with the settings of a `source_type` collection of `company_id`."""
    source = get(source_type)
    return source.settings_errors(settings, company_id=company_id) if source else {}

"""A small in-process cache of per-collection search structures (vector matrices, term
postings), keyed by (kind, collection id) and valid for one `chunks_version` of the
collection: every write to its chunks changes the version, so a stale entry is never
served. Least recently used entries leave past KNOWLEDGE_VECTOR_CACHE_MB."""

from __future__ import annotations

import threading
from collections import OrderedDict

from django.conf import settings

_entries: OrderedDict = OrderedDict()  # (kind, collection id) -> (version, value, bytes)
_lock = threading.Lock()


def clear() -> None:
    with _lock:
        _entries.clear()


def cached(kind: str, collection, load, size):
    """The value `load(collection)` for the collection's current chunks_version; `size(value)`
    is its weight in bytes."""
    key = (kind, str(collection.pk))
    with _lock:
        entry = _entries.get(key)
        if entry and entry[0] == collection.chunks_version:
            _entries.move_to_end(key)
            return entry[1]
    value = load(collection)
    limit = settings.KNOWLEDGE_VECTOR_CACHE_MB * 1024 * 1024
    with _lock:
        _entries[key] = (collection.chunks_version, value, size(value))
        _entries.move_to_end(key)
        while len(_entries) > 1 and sum(entry[2] for entry in _entries.values()) > limit:
            _entries.popitem(last=False)
    return value

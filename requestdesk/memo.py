"""A per-process cache of what a request or a worker reads again and again (who a key is, a
pipeline's steps), whose entries expire after a setting's number of seconds.

* An entry may name the ids it was built from: `invalidate(*ids)` drops those entries at once
  (signal handlers call it when such a document is saved or deleted in this process); other
  processes see a change when their entry expires.
* A value read while an invalidation happened is not stored (a generation counter), so a
  change is never hidden behind an entry read before it.
* None is never stored; past `max_entries` (or, with `weigh`, past the setting `max_weight`
  names: the sum of its values' weights, say their bytes), expired entries go, then everything.

Values are shared between threads: store immutable ones (or copies) only.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from django.conf import settings

V = TypeVar("V")


class Memo(Generic[V]):
    """Values of type V by key (a Memo holds one kind of value, or `Memo[object]`)."""

    def __init__(
        self,
        setting: str,
        *,
        max_entries: int = 10_000,
        weigh: Callable[[V], int] | None = None,
        max_weight: str | None = None,
    ) -> None:
        self.setting, self.max_entries = setting, max_entries
        self.weigh, self.max_weight = weigh, max_weight
        self._lock = threading.Lock()
        self._entries: dict[
            Hashable, tuple[float, frozenset[Hashable], V]
        ] = {}  # key -> (expires (monotonic), ids, value)
        self._weights: dict[Hashable, int] = {}  # key -> weigh(value), with `weigh`
        self._weight = 0  # their sum
        self.generation = 0

    def seconds(self) -> float:
        return float(getattr(settings, self.setting) or 0)

    def get(self, key: Hashable) -> V | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry[0] <= time.monotonic():
                self._drop(key)
                return None
            return entry[2]

    def put(
        self,
        key: Hashable,
        value: V | None,
        *,
        generation: int,
        ids: frozenset[Hashable] = frozenset(),
        seconds: float | None = None,
    ) -> None:
        """Store `value` unless the cache is off or changed since `generation` was read; kept
        the setting's seconds, or `seconds` (an entry whose key says when it goes stale)."""
        seconds = self.seconds() if seconds is None else seconds
        if value is None or seconds <= 0:
            return
        weight = self.weigh(value) if self.weigh else 0
        limit = int(getattr(settings, self.max_weight)) if self.max_weight else 0
        if self.max_weight and weight > limit:
            return
        with self._lock:
            if generation != self.generation:
                return
            self._drop(key)
            if self._full(weight, limit):
                now = time.monotonic()
                for stale in [k for k, entry in self._entries.items() if entry[0] <= now]:
                    self._drop(stale)
                if self._full(weight, limit):
                    self._clear()
            self._entries[key] = (time.monotonic() + seconds, ids, value)
            self._weigh(key, weight)

    def _full(self, weight: int, limit: int) -> bool:
        """Whether one more entry of `weight` would pass max_entries or the weight's `limit`."""
        return len(self._entries) >= self.max_entries or bool(self.max_weight and self._weight + weight > limit)

    def weight(self) -> int:
        """The sum of the kept values' weights (0 without `weigh`)."""
        return self._weight

    def _weigh(self, key: Hashable, weight: int) -> None:
        if self.weigh:
            self._weights[key] = weight
            self._weight += weight

    def _drop(self, key: Hashable) -> None:
        self._entries.pop(key, None)
        self._weight -= self._weights.pop(key, 0)

    def _clear(self) -> None:
        self._entries.clear()
        self._weights.clear()
        self._weight = 0

    def fetch(self, key: Hashable, load: Callable[[], V], *, ids: frozenset[Hashable] = frozenset()) -> V:
        """The cached value, or `load()` (stored unless None, built from `ids`)."""
        value = self.get(key)
        if value is None:
            generation = self.generation
            value = load()
            self.put(key, value, generation=generation, ids=ids)
        return value

    def replace(self, key: Hashable, change: Callable[[V], V]) -> None:
        """Swap an entry's value for `change(value)`, keeping its expiry (no-op when absent)."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                value = change(entry[2])
                self._drop(key)
                self._entries[key] = (entry[0], entry[1], value)
                self._weigh(key, self.weigh(value) if self.weigh else 0)

    def clear(self, **_signal: object) -> None:
        with self._lock:
            self._clear()
            self.generation += 1

    def invalidate(self, *ids: Hashable) -> None:
        """Drop every entry built from one of these ids."""
        wanted = {pk for pk in ids if pk is not None}
        with self._lock:
            self.generation += 1
            for key in [k for k, entry in self._entries.items() if entry[1] & wanted]:
                self._drop(key)

"""What the database server can do, read once per connection: the one place that asks.

Like Django's `connection.features`, but measured on the server rather than declared by the
backend. Every strategy in the storage layer (how to page, count, claim, search) is chosen
from these flags; no app module asks which server it runs on.

* `kind`: "secantus" (the embedded SecantusDB: its buildInfo names a `secantusVersion`) or
  "mongodb".
* `text_index`: `$text` indexes exist (MongoDB; SecantusDB cannot build them).
* `atlas_search`: `$search` / `$vectorSearch` (the backend's own flag).
* `ordered_index_sort`: with an equality prefix (company_id) the server walks an index in
  order and stops at the limit. SecantusDB reads and sorts every match first, so pages,
  first/last rows and "newest N" are read in bounded windows there.
* `cheap_counts`: a count costs about the index entries it covers on an index, not a read of
  every document (MongoDB's COUNT_SCAN). SecantusDB reads each match; counts are bounded.
* `cheap_find_and_modify`: findAndModify is as fast as a guarded update. SecantusDB plans
  it as a collection scan (~270 ms at 20k documents), so claims read candidates and
  compare-and-set instead.
* `retryable_writes`: the driver's retryable writes (pymongo's default) cost the server
  nothing worth measuring. SecantusDB keeps a record of every retryable write for 30 minutes
  and, past 10,000 records, sorts them all on every write: an insert went from 0.6 ms to
  2.3 ms (p99 25 ms) after 10,000 writes, and stays there under any steady write load. The
  storage layer then opens its client with `retryWrites=false` (requestdesk.db.base), unless
  the URI or OPTIONS choose; a write is then not retried after a dropped connection, which on
  loopback means the server itself went away.

`DATABASE_CAPABILITIES` (settings) overrides any flag, for a server the probe cannot tell
(a proxy in front of MongoDB) and for tests that run every strategy on one server.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Any

from django.conf import settings

if TYPE_CHECKING:
    from .base import DatabaseWrapper

_BUILD_INFO: dict[str, Mapping[str, Any]] = {}  # host (settings' HOST) -> its buildInfo


def build_info(host: str, ask: Callable[[], Mapping[str, Any]]) -> Mapping[str, Any]:
    """The buildInfo of the server at `host`: `ask()` once per host and process (the client
    options and the capabilities both read it)."""
    if host not in _BUILD_INFO:
        _BUILD_INFO[host] = ask()
    return _BUILD_INFO[host]


@dataclass(frozen=True)
class Capabilities:
    kind: str
    version: str
    text_index: bool
    atlas_search: bool
    ordered_index_sort: bool
    cheap_counts: bool
    cheap_find_and_modify: bool
    retryable_writes: bool

    @classmethod
    def probe(cls, connection: DatabaseWrapper) -> Capabilities:
        """What `connection` (a requestdesk.db DatabaseWrapper) serves, from its buildInfo."""
        connection.ensure_connection()
        atlas_search = bool(getattr(connection.features, "supports_atlas_search", False))
        info = build_info(connection.settings_dict["HOST"], lambda: connection.connection.admin.command("buildInfo"))
        return cls.from_build_info(info, atlas_search=atlas_search)

    @classmethod
    def from_build_info(cls, info: Mapping[str, Any], *, atlas_search: bool = False) -> Capabilities:
        secantus = "secantusVersion" in info
        return cls(
            kind="secantus" if secantus else "mongodb",
            version=str(info.get("secantusVersion") or info.get("version", "")),
            text_index=not secantus,
            atlas_search=atlas_search,
            ordered_index_sort=not secantus,
            cheap_counts=not secantus,
            cheap_find_and_modify=not secantus,
            retryable_writes=not secantus,
        )

    def with_overrides(self) -> Capabilities:
        overrides = getattr(settings, "DATABASE_CAPABILITIES", None) or {}
        known = {f.name for f in fields(self)}
        unknown = set(overrides) - known
        if unknown:
            raise ValueError(f"DATABASE_CAPABILITIES: unknown flag(s) {sorted(unknown)}; known: {sorted(known)}")
        return replace(self, **overrides) if overrides else self

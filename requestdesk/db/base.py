"""ENGINE "requestdesk.db": django-mongodb-backend whose collections rewrite aggregate
pipelines, whose `capabilities` say what the server can do (requestdesk.db.features), whose
client leaves out retryable writes where they cost the server, and whose operations convert
embedded documents with cached converters (requestdesk.db.operations)."""

from collections.abc import Mapping
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

from django.db import connections
from django_mongodb_backend.base import DatabaseWrapper as MongoDatabaseWrapper
from pymongo import MongoClient
from pymongo.collection import Collection

from .documents import Document
from .features import Capabilities, build_info
from .operations import Operations
from .pipeline import rewrite

MAX_ONE_BATCH = 1000
_INDEXES: dict[
    tuple[str, str, str], list[tuple[str, ...]]
] = {}  # (server, database, collection) -> key fields of each index


def index_keys(collection: Collection[Document]) -> list[tuple[str, ...]]:
    """The key fields of the collection's indexes the planner uses (not partial, not text),
    read once per process; nothing is kept for a collection without indexes yet."""
    where = (repr(collection.database.client.address), collection.database.name, collection.name)
    if where not in _INDEXES:
        specs = [spec for spec in collection.index_information().values() if "partialFilterExpression" not in spec]
        keys = [
            tuple(field for field, kind in spec["key"])
            for spec in specs
            if all(kind in (1, -1) for _, kind in spec["key"])
        ]
        if len(keys) <= 1:  # just _id: not migrated yet, ask again next time
            return keys
        _INDEXES[where] = keys
    return _INDEXES[where]


class RewritingCollection:
    """A pymongo Collection proxy whose aggregate() applies requestdesk.db.pipeline.rewrite,
    knowing the collection's indexes."""

    __slots__ = ("_collection",)

    def __init__(self, collection: Collection[Document]) -> None:
        self._collection = collection

    def aggregate(self, pipeline: list[Document], *args: Any, **kwargs: Any) -> Any:
        pipeline = rewrite(pipeline, index_keys(self._collection))
        limit = pipeline[-1].get("$limit") if pipeline and isinstance(pipeline[-1], dict) else None
        if isinstance(limit, int) and 0 < limit <= MAX_ONE_BATCH and "batchSize" not in kwargs:
            # A limited page comes in one batch: the default first batch (101 documents) would
            # leave a page of 101 (the admin's 100 and one to tell a next page) to a getMore, and
            # the embedded server keeps a cursor open (another getMore) when a batch is exactly full.
            kwargs["batchSize"] = limit + 1
        return self._collection.aggregate(pipeline, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._collection, name)


_PROBED: dict[str, Capabilities] = {}  # server address -> what it said (once per process)


# django-mongodb-backend ships no types: its wrapper is Any to mypy.
class DatabaseWrapper(MongoDatabaseWrapper):  # type: ignore[misc]
    ops_class = Operations

    def get_new_connection(self, conn_params: dict[str, Any]) -> MongoClient[Document]:
        """The backend's client, without retryable writes on a server whose capabilities say
        they cost it (requestdesk.db.features) unless the URI or OPTIONS choose."""
        if self.alias not in self._connection_pools and not _chooses_retry_writes(conn_params):
            if not _retryable_writes(conn_params):
                conn_params = {**conn_params, "retryWrites": False}
        return cast(MongoClient[Document], super().get_new_connection(conn_params))

    def get_collection(self, name: str, **kwargs: Any) -> RewritingCollection:
        return RewritingCollection(super().get_collection(name, **kwargs))

    @property
    def capabilities(self) -> Capabilities:
        """Probed once per server and process (one buildInfo), then settings' overrides."""
        host = self.settings_dict["HOST"]
        if host not in _PROBED:
            _PROBED[host] = Capabilities.probe(self)
        return _PROBED[host].with_overrides()


def _chooses_retry_writes(conn_params: dict[str, Any]) -> bool:
    """Whether OPTIONS or the URI's query set retryWrites (read without resolving the host)."""
    host = conn_params.get("host")
    query = urlsplit(host).query if isinstance(host, str) else ""
    return any(name.lower() == "retrywrites" for name in [*conn_params, *parse_qs(query)])


def _retryable_writes(conn_params: dict[str, Any]) -> bool:
    """The capabilities' `retryable_writes` for the server of `conn_params`, its buildInfo read
    with a short-lived client (the backend's own takes its options at creation). A server that
    cannot be reached raises here, as the first query would: no client is kept with a guess."""

    def ask() -> Mapping[str, Any]:
        with MongoClient(**conn_params) as client:
            return client.admin.command("buildInfo")

    info = build_info(str(conn_params.get("host")), ask)
    return Capabilities.from_build_info(info).with_overrides().retryable_writes


def connection_for(alias: str) -> DatabaseWrapper:
    """The connection `alias`: every database here is this engine (ENGINE "requestdesk.db")."""
    return cast(DatabaseWrapper, connections[alias])

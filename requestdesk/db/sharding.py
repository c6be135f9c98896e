"""Which collections a sharded cluster splits, by which key, and the commands that do it.

Only the collections that grow with use are sharded; the rest (companies, users, templates,
components, pipelines, settings...) are small and stay on the database's primary shard.
A key starts with the company wherever MongoDB allows it, so that a tenant's reads go to
the shards holding that tenant, and goes on with a field that splits a large tenant.

MongoDB needs an index that starts with the shard key, and a unique index must itself
start with the shard key: both are checked here against the models' declared indexes, so a
key cannot drift from what the migrations create. Shard keys are ascending (a descending
index such as (company, -created_at) supports only its ascending prefix, the company).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, cast

from django.apps import apps
from django.db import models
from pymongo import MongoClient
from pymongo.database import Database

from .collections import column
from .documents import Document

# model label -> the model fields of its shard key, in order
SHARD_KEYS: dict[str, tuple[str, ...]] = {
    "content.Context": ("company", "batch"),
    "content.Batch": ("company",),
    "knowledge.KnowledgeChunk": ("company", "collection", "source_id"),
    "knowledge.Message": ("company", "conversation", "created_at"),
    "scraping.ScrapeJob": ("company", "project"),
    # Results are unique on (company, target, item_key) and (company, target, content_hash)
    # (Result.UNIQUE_INDEXES), and MongoDB refuses a shard key that does not start each unique
    # index: (company, target) starts both, and keeps a target's results together.
    "scraping.Result": ("company", "target"),
}

MONGOS = "isdbgrid"  # what a mongos answers in hello's `msg`


class ShardingError(Exception):
    """The plan or the server cannot do what was asked; one line, for the operator."""


@dataclass(frozen=True)
class Shard:
    model: str
    collection: str
    key: dict[str, int]  # column -> 1, in key order
    index: str  # the declared index that supports it

    def describe(self) -> str:
        fields = ", ".join(f"{column}: 1" for column in self.key)
        return f"{self.collection:<16} {{{fields}}}  (index {self.index}, {self.model})"


def declared_indexes(model: type[models.Model]) -> list[tuple[str, list[tuple[str, int]], bool]]:
    """(name, [(column, direction)], unique) for every index the model declares: Meta's indexes
    and constraints, unique fields, and the unique indexes its migrations create raw
    (`UNIQUE_INDEXES`, {name: fields})."""

    def columns(fields: Iterable[str]) -> list[tuple[str, int]]:
        return [(column(model, f.lstrip("-")), -1 if f.startswith("-") else 1) for f in fields]

    found = [(index.name, columns(index.fields), False) for index in model._meta.indexes if index.fields]
    found += [
        (c.name, columns(fields), True) for c in model._meta.constraints if (fields := getattr(c, "fields", None))
    ]
    found += [(name, columns(fields), True) for name, fields in getattr(model, "UNIQUE_INDEXES", {}).items()]
    found += [
        (f"{field.column}_unique", [(field.column, 1)], True)
        for field in model._meta.concrete_fields
        if field.unique and not field.primary_key
    ]
    return found


def leads_with(model: type[models.Model], field: str) -> bool:
    """Whether an index the model declares (declared_indexes) starts with `field`, in either
    direction: the index a model's reads by that field need (tenants.checks, plugins.checks)."""
    wanted = column(model, field)
    return any(columns and columns[0][0] == wanted for _, columns, _ in declared_indexes(model))


def starts_with(key: list[str], index: list[tuple[str, int]]) -> bool:
    """True when the index's leading fields are the key's, ascending."""
    return len(index) >= len(key) and all(index[i] == (column, 1) for i, column in enumerate(key))


def shard_for(label: str, fields: tuple[str, ...]) -> Shard:
    model = apps.get_model(label)
    pk = cast("models.Field[Any, Any]", model._meta.pk)
    key = [pk.column if name in ("id", "pk") else column(model, name) for name in fields]
    indexes = declared_indexes(model)
    for name, columns, unique in indexes:
        if unique and not starts_with(key, columns):
            raise ShardingError(f"{label}: the unique index {name} does not start with the shard key {key}.")
    supporting = [name for name, columns, _ in indexes if starts_with(key, columns)]
    if not supporting:
        raise ShardingError(f"{label}: no declared index starts with the shard key {key}.")
    return Shard(model=label, collection=model._meta.db_table, key={column: 1 for column in key}, index=supporting[0])


def plan() -> list[Shard]:
    return [shard_for(label, fields) for label, fields in SHARD_KEYS.items()]


def is_mongos(client: MongoClient[Document]) -> bool:
    msg: object = client.admin.command("hello").get("msg")
    return msg == MONGOS


def require_mongos(client: MongoClient[Document]) -> None:
    hello = client.admin.command("hello")
    if hello.get("msg") != MONGOS:
        kind = f"a member of replica set {hello['setName']!r}" if hello.get("setName") else "a standalone server"
        host, port = cast(tuple[str, int], client.address)  # known: the server has answered
        raise ShardingError(
            f"{host}:{port} is {kind}, not a mongos (hello.msg is not "
            f"{MONGOS!r}); point MONGODB_URI at the cluster's mongos."
        )


def missing_index(db: Database[Document], shard: Shard) -> bool:
    """The live collection lacks the supporting index (migrations not applied)."""
    live = [spec["key"] for spec in db[shard.collection].index_information().values()]
    return not any(starts_with(list(shard.key), [tuple(pair) for pair in columns]) for columns in live)


def sharded_namespaces(client: MongoClient[Document], database: str) -> set[str]:
    """Namespaces the config servers already shard (so a second run changes nothing); from
    MongoDB 8 unsharded collections are listed too, marked `unsplittable`."""
    pattern = f"^{re.escape(database)}\\."
    query = {"_id": {"$regex": pattern}, "dropped": {"$ne": True}, "unsplittable": {"$ne": True}}
    rows = client.config.collections.find(query, {"_id": 1})
    return {row["_id"] for row in rows}


def apply(db: Database[Document], shards: list[Shard], report: Callable[[str], None]) -> None:
    """enableSharding, then shardCollection for each collection not yet sharded."""
    client = db.client
    require_mongos(client)
    unsupported = [shard.collection for shard in shards if missing_index(db, shard)]
    if unsupported:
        raise ShardingError(f"no supporting index on {', '.join(unsupported)}; run `manage.py migrate` first.")
    client.admin.command("enableSharding", db.name)
    done = sharded_namespaces(client, db.name)
    for shard in shards:
        namespace = f"{db.name}.{shard.collection}"
        if namespace in done:
            report(f"{shard.collection}: already sharded, skipped")
            continue
        client.admin.command("shardCollection", namespace, key=shard.key)
        report(f"{shard.collection}: sharded by {shard.key}")

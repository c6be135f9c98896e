"""Raw collection access for app code: the pipeline rewrites of the ORM path, and the same
tenant scope.

`raw(Model, company=c)` is a pymongo-like collection of `Model`'s table whose every filter,
pipeline and insert carries the company: `tenants.scoping.tenant_condition`, the stored form
of the filter `tenants.scoping.scope` applies to ORM reads. Work that spans tenants by design (a worker claiming
the next job of any company, beat's recovery) says so with `raw(Model, unscoped=True)`.

A filter on `_id` together with other fields is answered through an aggregate whose
`$match` the rewrite splits (`{_id}` first): SecantusDB plans the combined filter as a
collection scan. Updates and deletes whose filter carries an `_id` are planned on the _id
index by both servers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, cast

from django.db import models, router
from pymongo.operations import InsertOne

from .base import RewritingCollection, connection_for
from .documents import Document

if TYPE_CHECKING:
    from pymongo.operations import DeleteMany, DeleteOne, ReplaceOne, UpdateMany, UpdateOne

    # What bulk_write takes: pymongo's write models.
    WriteModel = InsertOne[Document] | DeleteOne | DeleteMany | ReplaceOne[Document] | UpdateOne | UpdateMany
# A projection: {field: 0/1 or an expression}, or the fields to keep.
Projection = Document | Iterable[str] | None


def column(model: type[models.Model], name: str) -> str:
    """The column of the model's concrete field `name`."""
    return cast("models.Field[Any, Any]", model._meta.get_field(name)).column


def collection(model: type[models.Model], *, using: str | None = None) -> RewritingCollection:
    """The model's collection with the pipeline rewrites, unscoped (the storage layer's own use)."""
    alias = using or router.db_for_read(model)
    return connection_for(alias).get_collection(model._meta.db_table)


class ScopedCollection:
    """A model's collection limited to one company (or, said explicitly, to none)."""

    def __init__(
        self, model: type[models.Model], *, company: object = None, unscoped: bool = False, using: str | None = None
    ) -> None:
        from tenants.scoping import tenant_condition

        condition = tenant_condition(model, company)
        if condition is not None and company is None and not unscoped:
            raise ValueError(f"raw({model.__name__}) needs company=… (or unscoped=True for cross-tenant work)")
        self.model = model
        self.scope: Document = {} if condition is None or unscoped else condition
        self.collection = collection(model, using=using)

    # reads --------------------------------------------------------------------------------

    def match(self, query: Mapping[str, Any] | None = None) -> Document:
        """`query` with the tenant condition (a conflicting company in `query` matches nothing)."""
        query = dict(query or {})
        for column, value in self.scope.items():
            if column in query and query[column] != value:
                return {"_id": {"$in": []}}
            query[column] = value
        return query

    def find(self, query: Document | None = None, projection: Projection = None, **kwargs: Any) -> Any:
        query = self.match(query)
        if "_id" in query and len(query) > 1 and not kwargs:
            return self.collection.aggregate(_find_pipeline(query, projection))
        return self.collection.find(query, projection, **kwargs)

    def find_one(self, query: Document | None = None, projection: Projection = None, **kwargs: Any) -> Any:
        query = self.match(query)
        if "_id" in query and len(query) > 1 and not kwargs:
            return next(iter(self.collection.aggregate([*_find_pipeline(query, projection), {"$limit": 1}])), None)
        return self.collection.find_one(query, projection, **kwargs)

    def aggregate(self, pipeline: list[Document], **kwargs: Any) -> Any:
        """The tenant goes into the pipeline's leading `$match` (planned as one filter: a
        `$match` of its own ahead of it made SecantusDB pick the company index), or into the
        `filter` of a leading `$vectorSearch` / `$search` stage (which must stay first)."""
        return self.collection.aggregate(self.scoped_pipeline(pipeline), **kwargs)

    def scoped_pipeline(self, pipeline: list[Document]) -> list[Document]:
        if not self.scope:
            return list(pipeline)
        first, rest = (pipeline[0], list(pipeline[1:])) if pipeline else ({}, [])
        if list(first) == ["$match"]:
            return [{"$match": self.match(first["$match"])}, *rest]
        if list(first) in (["$vectorSearch"], ["$search"]):
            ((name, body),) = first.items()
            return [{name: {**body, "filter": self.match(body.get("filter"))}}, *rest]
        return [{"$match": self.match()}, *pipeline]

    def count_documents(self, query: Document | None = None, **kwargs: Any) -> int:
        count: int = self.collection.count_documents(self.match(query), **kwargs)
        return count

    def distinct(self, key: str, query: Document | None = None) -> list[Any]:
        values: list[Any] = self.collection.distinct(key, self.match(query))
        return values

    # writes -------------------------------------------------------------------------------

    def _stamp(self, document: Document) -> Document:
        return {**document, **self.scope}

    def insert_one(self, document: Document, **kwargs: Any) -> Any:
        return self.collection.insert_one(self._stamp(document), **kwargs)

    def insert_many(self, documents: Iterable[Document], **kwargs: Any) -> Any:
        return self.collection.insert_many([self._stamp(d) for d in documents], **kwargs)

    def update_one(self, query: Document, update: Document | list[Document], **kwargs: Any) -> Any:
        return self.collection.update_one(self.match(query), update, **kwargs)

    def update_many(self, query: Document, update: Document | list[Document], **kwargs: Any) -> Any:
        return self.collection.update_many(self.match(query), update, **kwargs)

    def find_one_and_update(self, query: Document, update: Document | list[Document], **kwargs: Any) -> Any:
        return self.collection.find_one_and_update(self.match(query), update, **kwargs)

    def delete_one(self, query: Document, **kwargs: Any) -> Any:
        return self.collection.delete_one(self.match(query), **kwargs)

    def delete_many(self, query: Document, **kwargs: Any) -> Any:
        return self.collection.delete_many(self.match(query), **kwargs)

    def bulk_write(self, requests: Iterable[WriteModel], **kwargs: Any) -> Any:
        """pymongo write models; filters are scoped, inserted documents stamped."""
        scoped: list[WriteModel] = []
        for request in requests:
            if isinstance(request, InsertOne):
                scoped.append(InsertOne(self._stamp(request._doc)))
            else:
                request._filter = self.match(request._filter)
                scoped.append(request)
        return self.collection.bulk_write(scoped, **kwargs)


def _find_pipeline(query: Document, projection: Projection) -> list[Document]:
    stages = [{"$match": query}]
    if projection:
        stages.append({"$project": projection if isinstance(projection, dict) else {k: 1 for k in projection}})
    return stages


def raw(
    model: type[models.Model], *, company: object = None, unscoped: bool = False, using: str | None = None
) -> ScopedCollection:
    """`model`'s collection for raw queries: scoped to `company` (required for tenant data
    unless `unscoped=True`), with the same pipeline rewrites as the ORM."""
    return ScopedCollection(model, company=company, unscoped=unscoped, using=using)

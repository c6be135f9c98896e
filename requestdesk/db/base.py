"""ENGINE "requestdesk.db": django-mongodb-backend whose collections rewrite aggregate pipelines."""

from django_mongodb_backend.base import DatabaseWrapper as MongoDatabaseWrapper

from .pipeline import rewrite


class RewritingCollection:
    """A pymongo Collection proxy whose aggregate() applies requestdesk.db.pipeline.rewrite."""

    __slots__ = ("_collection",)

    def __init__(self, collection):
        self._collection = collection

    def aggregate(self, pipeline, *args, **kwargs):
        return self._collection.aggregate(rewrite(pipeline), *args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._collection, name)


class DatabaseWrapper(MongoDatabaseWrapper):
    def get_collection(self, name, **kwargs):
        return RewritingCollection(super().get_collection(name, **kwargs))

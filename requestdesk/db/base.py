"""ENGINE "requestdesk.db": django-mongodb-backend whose collections rewrite aggregate
pipelines, and whose `capabilities` say what the server can do (requestdesk.db.features)."""

from django_mongodb_backend.base import DatabaseWrapper as MongoDatabaseWrapper

from .features import Capabilities
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


_PROBED: dict[str, Capabilities] = {}  # server address -> what it said (once per process)


class DatabaseWrapper(MongoDatabaseWrapper):
    def get_collection(self, name, **kwargs):
        return RewritingCollection(super().get_collection(name, **kwargs))

    @property
    def capabilities(self) -> Capabilities:
        """Probed once per server and process (one buildInfo), then settings' overrides."""
        host = self.settings_dict["HOST"]
        if host not in _PROBED:
            _PROBED[host] = Capabilities.probe(self)
        return _PROBED[host].with_overrides()

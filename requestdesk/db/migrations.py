"""Migration operations the backend has no Meta option for (TTL indexes).

Both are idempotent: create_index with the same keys and options is a no-op, so running a
migration twice, or on an environment that has the index already, changes nothing.
"""

from django.db import migrations


def _collection(apps, schema_editor, model_label):
    model = apps.get_model(model_label)
    return model, schema_editor.connection.get_collection(model._meta.db_table)


def TTLIndex(model_label: str, field: str, seconds: int) -> migrations.RunPython:
    """A TTL index on `field`: MongoDB removes a document `seconds` after that date."""

    def name(model):
        return f"{model._meta.get_field(field).column}_ttl"

    def forwards(apps, schema_editor):
        model, collection = _collection(apps, schema_editor, model_label)
        collection.create_index(model._meta.get_field(field).column, expireAfterSeconds=seconds, name=name(model))

    def backwards(apps, schema_editor):
        model, collection = _collection(apps, schema_editor, model_label)
        if name(model) in collection.index_information():
            collection.drop_index(name(model))

    return migrations.RunPython(forwards, backwards, elidable=False)

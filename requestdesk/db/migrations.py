"""Migration operations the backend has no Meta option for (TTL indexes).

Both are idempotent: create_index with the same keys and options is a no-op, so running a
migration twice, or on an environment that has the index already, changes nothing.
"""

from typing import Any, cast

from django.apps.registry import Apps
from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor

from .base import DatabaseWrapper, RewritingCollection
from .collections import column


def _collection(
    apps: Apps, schema_editor: BaseDatabaseSchemaEditor, model_label: str
) -> tuple[type[models.Model], RewritingCollection]:
    model = apps.get_model(model_label)
    connection = cast(DatabaseWrapper, schema_editor.connection)
    return model, connection.get_collection(model._meta.db_table)


def TTLIndex(model_label: str, field: str, seconds: int) -> migrations.RunPython:
    """A TTL index on `field`: MongoDB removes a document `seconds` after that date."""

    def name(model: type[models.Model]) -> str:
        return f"{column(model, field)}_ttl"

    def forwards(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
        model, collection = _collection(apps, schema_editor, model_label)
        collection.create_index(column(model, field), expireAfterSeconds=seconds, name=name(model))

    def backwards(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
        model, collection = _collection(apps, schema_editor, model_label)
        if name(model) in collection.index_information():
            collection.drop_index(name(model))

    return migrations.RunPython(forwards, backwards, elidable=False)


def SeedRows(model_label: str, rows: list[dict[str, Any]], key: str | tuple[str, ...] = "name") -> migrations.RunPython:
    """Reference data (never written by hand). Each row is created when
    missing and brought up to date when present, matched on `key`; rows not listed are left
    alone, so the migration is idempotent and safe on every environment. Backwards removes
    the listed rows."""
    keys = (key,) if isinstance(key, str) else tuple(key)

    def lookup(row: dict[str, Any]) -> dict[str, Any]:
        return {k: row[k] for k in keys}

    def forwards(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
        model = apps.get_model(model_label)
        for row in rows:
            model.objects.update_or_create(**lookup(row), defaults={k: v for k, v in row.items() if k not in keys})

    def backwards(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
        model = apps.get_model(model_label)
        for row in rows:
            model.objects.filter(**lookup(row)).delete()

    return migrations.RunPython(forwards, backwards, elidable=False)


CANNOT_CREATE_INDEX = 67


def CreateIndex(
    model_label: str, keys: list[tuple[str, int | str]], name: str, *, skip_unsupported: bool = False, **options: Any
) -> migrations.RunPython:
    """An index Meta.indexes cannot express: a path into an embedded document
    (`[("ai_metadata.model", 1), ("created_at", 1)]`), a text index (`[("path", "text")]`), or a
    unique index the embedded server plans queries on (`unique=True`: the backend writes a
    UniqueConstraint as a partial index, which SecantusDB does not plan).
    With `skip_unsupported`, a server that cannot build this kind of index (SecantusDB has
    no text indexes: CannotCreateIndex) is left without it instead of failing the migration."""
    from pymongo.errors import OperationFailure

    def forwards(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
        _, collection = _collection(apps, schema_editor, model_label)
        try:
            collection.create_index(list(keys), name=name, **options)
        except OperationFailure as exc:
            if not (skip_unsupported and exc.code == CANNOT_CREATE_INDEX):
                raise

    def backwards(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
        _, collection = _collection(apps, schema_editor, model_label)
        if name in collection.index_information():
            collection.drop_index(name)

    return migrations.RunPython(forwards, backwards, elidable=False)

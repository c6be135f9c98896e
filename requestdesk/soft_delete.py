"""Soft delete: the one mechanism for rows a user can delete and get back.

* `SoftDeletable`: abstract model mixin (put it before `TenantScoped` in the bases) with
  `is_deleted` and `deleted_at`. Its `objects` manager hides deleted rows, so every list,
  detail, search, count, dashboard and task that reads through `objects` (or a related
  manager) sees live rows only; `all_objects` sees them all (admin, restore, purge).
  Foreign keys to a deleted row still resolve (the base manager is unfiltered).
* Children follow their parent: a model names them in `SOFT_DELETE_CHILDREN` as
  `("app.Model", "fk_field")`. Deleting a row deletes its live children with the same
  `deleted_at`; restoring it restores the children that carry its `deleted_at` (deleted with
  it), not those deleted on their own before.
* Unique constraints ignore deleted rows: declare them with `condition=LIVE` (a partial
  unique index). `restore` refuses (RestoreConflict) when a live row took the values since.
* `purge(now)`: hard-deletes rows deleted more than SOFT_DELETE_RETENTION_DAYS ago, with
  what cascades from them (run daily by beat, requestdesk.tasks.purge_soft_deleted).

Storage: `is_deleted` has no index of its own. A list filtered by company (and its own
filters) and `is_deleted: false` is planned on the company index; the storage layer's
pipeline rewrite (requestdesk.db.pipeline.split_by_index) moves `is_deleted` to a second
`$match`, so a page still costs about its own rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any, TypeVar, cast

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from tenants.scoping import TenantQuerySet

LIVE = Q(is_deleted=False)  # the condition of a unique constraint that ignores deleted rows
# What the audit log records for a soft delete and a restore (API and admin alike).
DELETED_CHANGES = {"is_deleted": {"old": False, "new": True}}
RESTORED_CHANGES = {"is_deleted": {"old": True, "new": False}}


class RestoreConflict(ValidationError):
    """A live row holds the unique values the deleted one would take back."""


class SoftDeleteQuerySet(TenantQuerySet):
    def alive(self) -> SoftDeleteQuerySet:
        return self.filter(is_deleted=False)

    def deleted(self) -> SoftDeleteQuerySet:
        return self.filter(is_deleted=True)


_AliveManagerBase = models.Manager.from_queryset(SoftDeleteQuerySet)
M = TypeVar("M", bound="SoftDeletable")


class AliveManager(_AliveManagerBase[M]):
    """Live rows only: the default manager of every soft-deletable model."""

    def get_queryset(self) -> SoftDeleteQuerySet:
        return cast(SoftDeleteQuerySet, super().get_queryset()).alive()  # from_queryset: its queryset class


class SoftDeletable(models.Model):
    is_deleted = models.BooleanField(default=False, editable=False)
    deleted_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = AliveManager()
    all_objects = SoftDeleteQuerySet.as_manager()

    SOFT_DELETE_CHILDREN: tuple[tuple[str, str], ...] = ()

    class Meta:
        abstract = True


def soft_deletable_models() -> list[type[SoftDeletable]]:
    return [model for model in apps.get_models() if issubclass(model, SoftDeletable)]


def _children(model: type[SoftDeletable]) -> Iterator[tuple[type[SoftDeletable], str]]:
    for label, field in model.SOFT_DELETE_CHILDREN:
        yield cast("type[SoftDeletable]", apps.get_model(label)), field  # children are soft-deletable too


def _stamp(model: type[models.Model], now: datetime) -> dict[str, datetime]:
    """The `updated_at` of models that keep one."""
    return {"updated_at": now} if any(f.name == "updated_at" for f in model._meta.concrete_fields) else {}


def _mark(model: type[SoftDeletable], pks: list[Any], now: datetime) -> None:
    """Delete the live rows `pks` of `model` and, level by level, their live children."""
    if not pks:
        return
    model.all_objects.filter(pk__in=pks, is_deleted=False).update(is_deleted=True, deleted_at=now, **_stamp(model, now))
    for child, field in _children(model):
        child_pks = list(
            child.all_objects.filter(**{f"{field}__in": pks, "is_deleted": False}).values_list("pk", flat=True)
        )
        _mark(child, child_pks, now)


def _unmark(model: type[SoftDeletable], pks: list[Any], deleted_at: datetime | None) -> None:
    """Restore the rows `pks` and the children deleted with them (same `deleted_at`)."""
    if not pks:
        return
    model.all_objects.filter(pk__in=pks).update(is_deleted=False, deleted_at=None, **_stamp(model, timezone.now()))
    for child, field in _children(model):
        child_pks = list(
            child.all_objects.filter(**{f"{field}__in": pks, "is_deleted": True, "deleted_at": deleted_at}).values_list(
                "pk", flat=True
            )
        )
        _check_unique(child, child_pks)
        _unmark(child, child_pks, deleted_at)


def _live_unique_constraints(model: type[models.Model]) -> list[models.UniqueConstraint]:
    return [c for c in model._meta.constraints if isinstance(c, models.UniqueConstraint) and c.condition == LIVE]


def _check_unique(model: type[SoftDeletable], pks: list[Any]) -> None:
    """RestoreConflict when a live row holds the unique values of one of `pks`."""
    for constraint in _live_unique_constraints(model):
        fields = [cast("models.Field[Any, Any]", model._meta.get_field(name)).attname for name in constraint.fields]
        for values in model.all_objects.filter(pk__in=pks).values_list("pk", *fields):
            pk, key = values[0], dict(zip(fields, values[1:], strict=True))
            if model.objects.filter(**key).exclude(pk=pk).exists():
                names = ", ".join(constraint.fields)
                raise RestoreConflict(
                    {
                        constraint.fields[-1]: [
                            f"A live {model._meta.verbose_name} with the same {names} exists; rename or delete it first."
                        ]
                    }
                )


def soft_delete(obj: SoftDeletable) -> None:
    """Hide `obj` and its live children (SOFT_DELETE_CHILDREN), all with one `deleted_at`."""
    model = type(obj)
    if obj.is_deleted:
        return
    now = timezone.now()
    _mark(model, [obj.pk], now)
    obj.is_deleted, obj.deleted_at = True, now


def restore(obj: SoftDeletable) -> None:
    """Bring `obj` back with the children deleted with it; RestoreConflict when a live row
    took one of its unique values meanwhile."""
    model = type(obj)
    if not obj.is_deleted:
        return
    _check_unique(model, [obj.pk])
    _unmark(model, [obj.pk], obj.deleted_at)
    obj.is_deleted, obj.deleted_at = False, None


def retention() -> timedelta:
    return timedelta(days=settings.SOFT_DELETE_RETENTION_DAYS)


def purge(now: datetime | None = None) -> dict[str, int]:
    """Hard-delete the rows deleted more than SOFT_DELETE_RETENTION_DAYS before `now`, with
    what cascades from them (the models' own on_delete). Children deleted with a parent carry
    its `deleted_at`, so they go the same day. {model label: rows removed, cascades included}."""
    cutoff = (now or timezone.now()) - retention()
    removed: dict[str, int] = {}
    for model in soft_deletable_models():
        _, counts = model.all_objects.filter(is_deleted=True, deleted_at__lt=cutoff).delete()
        for label, count in counts.items():
            if count:
                removed[label] = removed.get(label, 0) + count
    return removed

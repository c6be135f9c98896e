"""Who a request is: an API key, a JWT's or an admin session's user id resolved to the user,
their company and (for a key) the ApiKey, cached in process memory.

* A miss costs one database round trip: one aggregate, `$match` first (on an index), then a
  `$lookup` by `_id` per related document. (The ORM's `select_related` puts its `$match`
  after the `$lookup`s, which SecantusDB then runs for every document of the collection.)
  A hit costs none.
* Entries live `AUTH_CACHE_SECONDS` (0 disables the cache). Saving or deleting an ApiKey, User
  or Company drops every entry built from it, in this process at once (signals connected by
  `TenantsConfig.ready`); other processes see the change when their entry expires. Writes
  that bypass signals (`QuerySet.update`) must call `invalidate` themselves.
* Only field values are cached: every lookup returns new model instances, so a request may
  change what it gets without touching the cache or other requests.
* Whether a key is revoked or expired is checked on every lookup, hit or miss.
* A user acts only while they and their own company are active (`may_act`): switching a
  company off shuts out its members' keys, JWTs and sign-ins, in every process within
  AUTH_CACHE_SECONDS. Superadmins run the platform and are not shut out by their company.
"""

from __future__ import annotations

import copy
import datetime
import hmac
from collections.abc import Callable, Hashable, Iterable
from typing import TYPE_CHECKING, Any, cast

from bson import ObjectId
from bson.errors import InvalidId
from django.db.models import ForeignKey, Model
from django.db.models.signals import post_delete, post_save

from requestdesk.memo import Memo

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper

    from tenants.models import ApiKey, Company, User

# A cached instance: its model, its database alias and its field values (concrete fields' order).
Row = tuple[type[Model], str | None, tuple[Any, ...]]
Rows = tuple[Row, ...]

_memo: Memo[Rows] = Memo("AUTH_CACHE_SECONDS")  # key -> ((model, db alias, values), ...), built from `ids`


def clear() -> None:
    """Forget every cached principal."""
    _memo.clear()


def invalidate(*pks: Hashable) -> None:
    """Drop every entry built from a document with one of these pks (ApiKey, User, Company)."""
    _memo.invalidate(*pks)


# --- snapshots: field values in, fresh instances out ------------------------------------

_IMMUTABLE = (str, int, float, bytes, type(None), datetime.date, datetime.time, ObjectId)


def _copy(values: Iterable[Any]) -> tuple[Any, ...]:
    """The values, lists and dicts among them deep-copied (the rest cannot change)."""
    return tuple(v if isinstance(v, _IMMUTABLE) else copy.deepcopy(v) for v in values)


def _values(instance: Model) -> tuple[Any, ...]:
    return _copy(getattr(instance, f.attname) for f in instance._meta.concrete_fields)


def _put(cache_key: Hashable, generation: int, instances: tuple[Model | None, ...]) -> None:
    rows = tuple((type(obj), obj._state.db, _values(obj)) for obj in instances if obj is not None)
    _memo.put(cache_key, rows, generation=generation, ids=frozenset(obj.pk for obj in instances if obj is not None))


def _restore(rows: Rows) -> list[Any]:
    """New instances from cached values (lists and dicts copied: nothing mutable is shared)."""
    return [
        model.from_db(db, [f.attname for f in model._meta.concrete_fields], _copy(values)) for model, db, values in rows
    ]


def _object_id(value: Any) -> ObjectId | None:
    if isinstance(value, ObjectId) or value is None:
        return value  # ObjectId(None) would make a new id: a lookup that finds nothing
    try:
        return ObjectId(value)
    except (InvalidId, TypeError):
        return None


# --- one aggregate: the document, then its related documents by _id ------------------------

# (model, alias) -> [(attname, column, converters, col)]
_CONVERTERS: dict[tuple[type[Model], str], list[tuple[str, str, list[Any], Any]]] = {}


def _converters(model: type[Model], connection: BaseDatabaseWrapper) -> list[tuple[str, str, list[Any], Any]]:
    found = _CONVERTERS.get((model, connection.alias))
    if found is None:
        found = []
        for field in model._meta.concrete_fields:
            col = field.get_col(model._meta.db_table)
            # Field.get_db_converters is Django's (django-stubs leaves it out).
            convs = connection.ops.get_db_converters(col) + field.get_db_converters(connection)  # type: ignore[attr-defined]
            found.append((field.attname, field.column, convs, col))
        _CONVERTERS[(model, connection.alias)] = found
    return found


def _from_document(model: type[Model], document: dict[str, Any], connection: BaseDatabaseWrapper) -> Any:
    """A model instance from a raw document, converted as the ORM converts query results."""
    fields = _converters(model, connection)
    values = []
    for _attname, column, convs, col in fields:
        value = document.get(column)
        for convert in convs:
            value = convert(value, col, connection)
        values.append(value)
    return model.from_db(connection.alias, [attname for attname, *_ in fields], values)


def _load(model: type[Model], match: dict[str, Any], related: dict[str, type[Model]]) -> tuple[Any, ...] | None:
    """The first `model` document matching `match` and, for each {attname: model} of
    `related`, the document its foreign key names (or None): one aggregate, whose $match
    comes first so the server uses its index before any $lookup."""
    from django.db import connections, router

    from requestdesk.db.collections import collection

    connection = connections[router.db_for_read(model)]
    pipeline: list[dict[str, Any]] = [{"$match": match}, {"$limit": 1}]
    for attname, other in related.items():
        pipeline.append(
            {
                "$lookup": {
                    "from": other._meta.db_table,
                    "localField": cast("ForeignKey[Any, Any]", model._meta.get_field(attname)).column,
                    "foreignField": "_id",
                    "as": f"_rd_{attname}",
                }
            }
        )
    documents = list(collection(model, using=connection.alias).aggregate(pipeline))
    if not documents:
        return None
    document = documents[0]
    found = [_from_document(model, document, connection)]
    for attname, other in related.items():
        joined = document.get(f"_rd_{attname}") or []
        found.append(_from_document(other, joined[0], connection) if joined else None)
    return tuple(found)


# --- lookups ----------------------------------------------------------------------------


def may_act(user: User, company: Company | None) -> bool:
    """Whether `user`, whose own company is `company` (None if they have none), may act at all."""
    from tenants.roles import Role

    if not user.is_active:
        return False
    if user.role == Role.SUPERADMIN or not user.company_id:
        return True
    return company is not None and company.pk == user.company_id and company.is_active


def _cached(cache_key: Hashable, load: Callable[[], tuple[Any, ...] | None]) -> list[Any] | None:
    """Fresh instances of what is cached under `cache_key`, or of `load()` (a tuple of
    instances, or None when there is nothing usable: not stored), stored."""
    rows = _memo.get(cache_key)
    if rows is not None:
        return _restore(rows)
    generation = _memo.generation
    loaded = load()
    if loaded is None:
        return None
    _put(cache_key, generation, loaded)
    return list(loaded)


def api_key(prefix: str, key_hash: str) -> ApiKey | None:
    """The usable ApiKey with this prefix and SHA-256 hash, `user` (who `may_act`) and
    `company` (active) loaded, and the user's `company` too when it is the key's; else None."""
    from tenants.models import ApiKey, Company, User

    def load() -> tuple[Any, ...] | None:
        loaded = _load(ApiKey, {"prefix": prefix}, {"user_id": User, "company_id": Company})
        if loaded is None:
            return None
        key, user, company = loaded
        if not hmac.compare_digest(key.key_hash, key_hash) or user is None or company is None:
            return None
        own = company if user.company_id == company.pk else _stored_company(user.company_id)
        if not (key.is_usable and company.is_active and may_act(user, own)):
            return None
        # A guest key's entry also holds the user's own company: saving it drops the entry.
        return loaded if own is company or own is None else (*loaded, own)

    found = _cached(("key", key_hash), load)
    if found is None:
        return None
    key: ApiKey
    user: User
    key, user, company, *_own = found
    if not key.is_usable:  # expired since it was cached
        return None
    key.user, key.company = user, company
    if user.company_id == company.pk:
        user.company = company
    return key


def note_key_used(key_hash: str, when: datetime.datetime) -> None:
    """Record in the cached key that its last_used_at was written (keeps writes rate-limited)."""
    from tenants.models import ApiKey

    attnames = [f.attname for f in ApiKey._meta.concrete_fields]
    index = attnames.index("last_used_at")

    def stamped(rows: Rows) -> Rows:
        (model, db, values), *rest = rows
        return ((model, db, values[:index] + (when,) + values[index + 1 :]), *rest)

    _memo.replace(("key", key_hash), stamped)


LAST_LOGIN_RESOLUTION = datetime.timedelta(minutes=1)


def _stamped(model: type[Model], pk: object, attname: str, when: datetime.datetime) -> Callable[[Rows], Rows]:
    """A change for Memo.replace: in cached rows, `attname` of the `model` row with this pk
    set to `when` (other rows as they are)."""
    attnames = [f.attname for f in model._meta.concrete_fields]
    index, pk_index = attnames.index(attname), attnames.index(model._meta.pk.attname)

    def change(rows: Rows) -> Rows:
        return tuple(
            (m, db, values[:index] + (when,) + values[index + 1 :])
            if m is model and values[pk_index] == pk
            else (m, db, values)
            for m, db, values in rows
        )

    return change


def note_user_seen(user: User, *, key_hash: str | None = None, when: datetime.datetime | None = None) -> None:
    """Record that `user` used the API (a JWT, or the API key hashed `key_hash`): their
    last_login is written when older than LAST_LOGIN_RESOLUTION, as a key's last_used_at is,
    and the cached entries this request came through are stamped, so a busy user costs one
    write a minute, not one a request."""
    from django.utils import timezone

    from tenants.models import User

    when = when or timezone.now()
    if user.last_login is not None and when - user.last_login <= LAST_LOGIN_RESOLUTION:
        return
    User.objects.filter(pk=user.pk).update(last_login=when)  # no signal: the cache stays
    user.last_login = when
    change = _stamped(User, user.pk, "last_login", when)
    _memo.replace(("user", user.pk), change)
    if key_hash is not None:
        _memo.replace(("key", key_hash), change)


def active_user(user_id: object) -> User | None:
    """The user with this id if they `may_act`, their `company` loaded; else None."""
    from tenants.models import Company, User

    pk = _object_id(user_id)
    if pk is None:
        return None

    def load() -> tuple[Any, ...] | None:
        loaded = _load(User, {"_id": pk}, {"company_id": Company})
        if loaded is None or not may_act(*loaded):
            return None
        return tuple(obj for obj in loaded if obj is not None)

    found = _cached(("user", pk), load)
    if found is None:
        return None
    user: User
    user, *company = found
    if user.company_id and company:
        user.company = company[0]
    return user


def find_user(match: dict[str, Any]) -> tuple[User, Company | None] | None:
    """(user, their company or None) of the first user whose document matches `match` (a
    raw filter on an indexed field: `{"oauth.google_id": …}`, `{"email": …}`), read now and
    not cached, active or not (the caller checks `may_act`); None if there is none."""
    from tenants.models import Company, User

    loaded = _load(User, match, {"company_id": Company})
    if loaded is None:
        return None
    user, company = loaded
    if company is not None:
        user.company = company
    return user, company


def _stored_company(pk: object) -> Company | None:
    """The company document with this pk, read now (None if there is none)."""
    from tenants.models import Company

    loaded = _load(Company, {"_id": pk}, {}) if pk else None
    return loaded[0] if loaded else None


def company(company_id: object) -> Company | None:
    """The company with this id (active or not), or None."""
    from tenants.models import Company

    pk = _object_id(company_id)
    if pk is None:
        return None
    found = _cached(("company", pk), lambda: _load(Company, {"_id": pk}, {}))
    return found[0] if found else None


# --- invalidation -----------------------------------------------------------------------


def _changed(sender: type[Model], instance: Model, **kwargs: Any) -> None:
    invalidate(instance.pk)


def connect_signals() -> None:
    from tenants.models import ApiKey, Company, User

    for model in (ApiKey, User, Company):
        post_save.connect(_changed, sender=model, dispatch_uid=f"principals-saved-{model.__name__}")
        post_delete.connect(_changed, sender=model, dispatch_uid=f"principals-deleted-{model.__name__}")

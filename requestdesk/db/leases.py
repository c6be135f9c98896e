"""Leases: one worker at a time on a document, by compare-and-set.

A lease is two things on a document: fields that say who holds it (the `holder`: a worker,
a job or sync id, a status) and the time it runs out (the `until` field). Taking it is one
`update_one` on `_id` plus a guard (what the taker read, or "free or run out"): of two
takers, one update matches and the other finds nothing, since a document is updated
atomically. A filter on `_id` plus a few fields is planned on the _id index by both servers
(about 1 ms).

Every later write of the holder (a renewal, progress, the release) is guarded by the holder
fields and the `until` it last wrote. A worker presumed dead, whose lease ran out and was
taken over, finds its renewal refused (`LeaseLost`) and stops writing. `until` is kept to the
millisecond, as the database keeps it, so that the comparison holds.

`claim_next` takes the first claimable document of many, in an order. Two ways, one
result, chosen from the server's capabilities (`cheap_find_and_modify`, see
requestdesk.db.features; `DATABASE_CAPABILITIES` forces either):

* one findAndModify with the claimable filter and the sort (MongoDB: an index serves it);
* read candidates with a cheaper filter, keep the claimable ones (a Python predicate), then
  compare-and-set each in turn on the fields read; a lost race moves on to the next one.
  SecantusDB plans findAndModify as a collection scan (~270 ms at 20k documents, even by
  _id) and a `$or` filter too; a read by status and a guarded update_one cost a few ms.

`requeue` queues lost work again (beat's recovery sweeps).

Used by scrape jobs and their targets, knowledge syncs, content contexts, webhook
deliveries and schedules. A Lease is used by one thread.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.db import models, router
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError
from pymongo import ReturnDocument

from .base import RewritingCollection, connection_for
from .collections import collection
from .documents import Document

T = TypeVar("T")

logger = logging.getLogger(__name__)

CANDIDATES = 20  # candidates read per round by the compare-and-set strategy of claim_next


class LeaseLost(RuntimeError):
    """Another worker took this lease over (this one was presumed dead); stop writing."""


def lease_end(now: datetime, seconds: float) -> datetime:
    """`now` + `seconds`, to the millisecond (what the database keeps), so that a renewal
    can compare it: a take-over writes another value."""
    until = now + timedelta(seconds=seconds)
    return until.replace(microsecond=until.microsecond // 1000 * 1000)


def _alias(model: type[models.Model]) -> str:
    return router.db_for_write(model)


def _collection(model: type[models.Model]) -> RewritingCollection:
    return collection(model, using=_alias(model))


@dataclass
class Lease:
    """A lease held on `model`'s document `pk`: `held` (the holder fields, as written) and
    `until` (the value of `until_field`, as written)."""

    model: type[models.Model]
    pk: Any  # the document's _id
    held: Document
    until: datetime | None
    until_field: str = "lease_until"
    seconds: float | None = None  # a renewal's length
    before: Document | None = None  # the document as claim_next read it (its projected fields)
    renewed: float = field(default_factory=time.monotonic, repr=False)

    def mine(self) -> Document:
        """The filter that matches the document while this lease holds."""
        return {"_id": self.pk, **self.held, self.until_field: self.until}

    def renew(self, *, now: datetime | None = None, **fields: Any) -> None:
        """Push `until` forward (and set `fields`) if the lease is still ours; LeaseLost if not."""
        if self.seconds is None:
            raise ValueError("this lease has no length to renew by")
        until = lease_end(now or timezone.now(), self.seconds)
        if not self._write({"$set": {**fields, self.until_field: until}}):
            raise LeaseLost(f"{self.model.__name__} {self.pk}: the lease was taken over")
        self.until, self.renewed = until, time.monotonic()

    def release(self, *, inc: Document | None = None, **fields: Any) -> bool:
        """Clear `until` (unless `fields` set it) and set `fields`, only if the lease is still
        ours; whether it was."""
        update: Document = {"$set": {self.until_field: None, **fields}}
        if inc:
            update["$inc"] = inc
        return self._write(update)

    def beat(self, items: Iterable[T], every: float) -> Iterator[T]:
        """`items`, renewing the lease whenever `every` seconds passed since the last renewal
        (a heartbeat for a long run); LeaseLost stops the iteration."""
        for item in items:
            if time.monotonic() - self.renewed >= every:
                self.renew()
            yield item

    def _write(self, update: Document) -> bool:
        matched: int = _collection(self.model).update_one(self.mine(), update).matched_count
        return matched == 1


def _update(
    holder: Document, until_field: str, until: datetime, write: Document | None, inc: Document | None
) -> Document:
    update: Document = {"$set": {**(write or {}), **holder, until_field: until}}
    if inc:
        update["$inc"] = inc
    return update


def take(
    model: type[models.Model],
    pk: Any,
    *,
    guard: Document,
    holder: Document,
    seconds: float | None = None,
    until: datetime | None = None,
    until_field: str = "lease_until",
    write: Document | None = None,
    inc: Document | None = None,
    now: datetime | None = None,
) -> Lease | None:
    """Take the lease on `model`'s document `pk` if it matches `guard` (what was read, or
    a "free or run out" filter): write `holder`, `until_field` (`until`, or now + `seconds`),
    `write` and `inc`. The Lease, or None when the guard no longer matched."""
    if until is None:
        assert seconds is not None, "take() needs `until` or `seconds`"
        until = lease_end(now or timezone.now(), seconds)
    update = _update(holder, until_field, until, write, inc)
    if _collection(model).update_one({"_id": pk, **guard}, update).matched_count != 1:
        return None
    return Lease(model, pk, dict(holder), until, until_field, seconds)


def claim_next(
    model: type[models.Model],
    *,
    match: Document,
    scan: Document,
    claimable: Callable[[Document], bool],
    order: list[tuple[str, int]],
    fields: list[str],
    holder: Document,
    seconds: float,
    until_field: str = "lease_until",
    write: Document | None = None,
    inc: Document | None = None,
    now: datetime | None = None,
    buffer: list[Document] | None = None,
    limit: int = CANDIDATES,
) -> Lease | None:
    """Take the first document in `order` that is claimable; the Lease, or None when none is.

    `match` is the server filter of claimable documents (the findAndModify strategy);
    `scan` a cheaper filter of a superset, narrowed by `claimable(document)` (the
    compare-and-set strategy, which guards each take on the `fields` it read). Both read
    `fields` (the Lease's `before`); a field in `inc` is part of the holder with its new
    value (an attempt counter). `buffer`: candidates read by an earlier call, consumed and
    refilled in place, for a caller that claims one after another."""
    now = now or timezone.now()
    update = _update(holder, until_field, lease_end(now, seconds), write, inc)
    projection = {name: 1 for name in fields}

    def leased(before: Document) -> Lease:
        counted = {name: (before.get(name) or 0) + step for name, step in (inc or {}).items()}
        return Lease(
            model, before["_id"], {**holder, **counted}, update["$set"][until_field], until_field, seconds, before
        )

    if connection_for(_alias(model)).capabilities.cheap_find_and_modify:
        before: Document | None = _collection(model).find_one_and_update(
            match, update, sort=order, projection=projection, return_document=ReturnDocument.BEFORE
        )
        return None if before is None else leased(before)
    buffer = [] if buffer is None else buffer
    while True:
        while buffer:
            candidate = buffer.pop(0)
            guard = {"_id": candidate["_id"], **{name: candidate.get(name) for name in fields}}
            if _collection(model).update_one(guard, update).matched_count == 1:
                return leased(candidate)
            # another worker was first, or it changed since it was read: the next one
        buffer[:] = _candidates(model, scan, claimable, order, projection, limit)
        if not buffer:
            return None


def _candidates(
    model: type[models.Model],
    scan: Document,
    claimable: Callable[[Document], bool],
    order: list[tuple[str, int]],
    projection: Document,
    limit: int,
) -> list[Document]:
    """The first `limit` claimable documents in `order` (unclaimable ones are skipped, however
    many come first)."""
    found: list[Document] = []
    if "_id" in scan:  # an aggregate, whose $match the rewrite splits ({_id} first)
        cursor = _collection(model).aggregate([{"$match": scan}, {"$sort": dict(order)}, {"$project": projection}])
    else:
        cursor = _collection(model).find(scan, projection, batch_size=limit * 2).sort(order)
    with cursor:
        for candidate in cursor:
            if claimable(candidate):
                found.append(candidate)
                if len(found) == limit:
                    break
    return found


def requeue(ids: Iterable[object], send: Callable[[str], object], what: str) -> list[str]:
    """Queue each of `ids` again with `send(id)`; stop at the first broker error (the broker
    is down: the next sweep tries again). Logs and returns the ids queued. `what` names them
    in the log ("lost scrape job")."""
    queued: list[str] = []
    for pk in ids:
        try:
            send(str(pk))
        except BrokerError:
            logger.warning("%s %s not queued again: broker unavailable", what, pk)
            break
        queued.append(str(pk))
    if queued:
        logger.warning("queued %d %s(s) again: %s", len(queued), what, ", ".join(queued))
    return queued

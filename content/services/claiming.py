"""Claiming contexts: exactly one worker runs a context at a time.

A context is claimable when it is `pending` and due (`next_retry_at` null or past: seed
003's polling query), or `running` with an expired lease (its worker died). The claim is
one compare-and-set on the document: status -> running, `lease_until` = now +
CONTENT_LEASE_SECONDS, `worker`, and `attempt` + 1. Pending contexts are taken by priority
(lower first), then age. Every later write of the run (lease renewals, progress, the final
status) is conditional on the claim (`Claim.guard()`: status running, this worker, this
attempt), so a worker whose lease ran out and was taken over, or whose context was
cancelled, has its writes refused and stops.

Two ways to make the claim, one result (CONTENT_CLAIM_STRATEGY):

* `find_and_modify`: one `find_one_and_update` with the polling filter and the sort,
  backed by the (priority, status, created_at) index. The way on MongoDB.
* `cas`: read the first CANDIDATES candidates with `{status: {$in: [pending, running]}}`
  (the status index), sorted the same way, then `update_one` guarded by the candidate's
  status, attempt (and lease, for a running one); the first guard that still matches
  wins, a lost race moves on to the next candidate. A `Claimer` (process_pending's loop)
  keeps the candidates it read for its next claims and reads again when they run out.
  Measured on SecantusDB 0.7 with 20k contexts: findAndModify takes ~270 ms whatever the
  filter (even by _id: a scan), a `$or` filter is planned as a collection scan (~360 ms);
  a read by status costs ~0.04 ms per pending context (it fetches every match, limit or
  not), a guarded update_one ~4 ms.

`auto` (default) uses `cas` on SecantusDB (its buildInfo names a `secantusVersion`) and
`find_and_modify` on MongoDB. Both are safe with any number of concurrent workers (tests
run both).
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import timedelta, timezone as dt_timezone

from bson import ObjectId
from django.conf import settings
from django.db import connection
from django.utils import timezone
from pymongo import ReturnDocument

from ..models import Context, ContextStatus

PENDING, RUNNING = ContextStatus.PENDING.value, ContextStatus.RUNNING.value
ORDER = [("priority", 1), ("created_at", 1)]
CANDIDATES = 20  # read per round by the cas strategy
CANDIDATE_FIELDS = {"status": 1, "attempt": 1, "next_retry_at": 1, "lease_until": 1}
CLOCK_SLACK = timedelta(seconds=2)  # a retry task may arrive this much before next_retry_at


def lease() -> timedelta:
    return timedelta(seconds=settings.CONTENT_LEASE_SECONDS)


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


_SECANTUS: dict[str, bool] = {}  # server address -> whether it is SecantusDB (asked once per process)


def _is_secantus() -> bool:
    host = connection.settings_dict["HOST"]
    if host not in _SECANTUS:
        connection.ensure_connection()
        _SECANTUS[host] = "secantusVersion" in connection.connection.admin.command("buildInfo")
    return _SECANTUS[host]


def strategy() -> str:
    chosen = settings.CONTENT_CLAIM_STRATEGY
    if chosen == "auto":
        return "cas" if _is_secantus() else "find_and_modify"
    if chosen not in ("cas", "find_and_modify"):
        raise ValueError(f"CONTENT_CLAIM_STRATEGY must be auto, cas or find_and_modify, not {chosen!r}")
    return chosen


def collection():
    return connection.get_collection(Context._meta.db_table)


@dataclass(frozen=True)
class Claim:
    context_id: ObjectId
    worker: str
    attempt: int
    recovered: bool = False  # taken over from a worker whose lease ran out

    def guard(self) -> dict:
        return {"_id": self.context_id, "status": RUNNING, "worker": self.worker, "attempt": self.attempt}


def claimable(now, slack: timedelta = timedelta(0)) -> dict:
    """The polling filter (seed 003) plus contexts whose worker's lease ran out."""
    return {"$or": [
        {"status": PENDING, "$or": [{"next_retry_at": None}, {"next_retry_at": {"$lte": now + slack}}]},
        {"status": RUNNING, "lease_until": {"$lt": now}},
    ]}


def _is_claimable(doc: dict, now, slack: timedelta) -> bool:
    if doc["status"] == PENDING:
        due = doc.get("next_retry_at")
        return due is None or aware(due) <= now + slack
    lease_until = doc.get("lease_until")
    return doc["status"] == RUNNING and lease_until is not None and aware(lease_until) < now


def aware(value):
    return value if timezone.is_aware(value) else value.replace(tzinfo=dt_timezone.utc)


def _taken(now, worker: str) -> dict:
    return {"$set": {"status": RUNNING, "worker": worker, "lease_until": now + lease(), "updated_at": now},
            "$inc": {"attempt": 1}}


def _find_and_modify(query: dict, *, now, worker: str, slack=timedelta(0)) -> Claim | None:
    before = collection().find_one_and_update({**query, **claimable(now, slack)}, _taken(now, worker), sort=ORDER,
                                              projection=CANDIDATE_FIELDS, return_document=ReturnDocument.BEFORE)
    if before is None:
        return None
    return Claim(before["_id"], worker, before.get("attempt", 0) + 1, recovered=before["status"] == RUNNING)


def _compare_and_set(candidate: dict, *, now, worker: str) -> Claim | None:
    guard = {"_id": candidate["_id"], "status": candidate["status"], "attempt": candidate.get("attempt", 0)}
    if candidate["status"] == RUNNING:
        guard["lease_until"] = candidate["lease_until"]
    if collection().update_one(guard, _taken(now, worker)).modified_count != 1:
        return None  # another worker was first, or it changed since it was read
    return Claim(candidate["_id"], worker, guard["attempt"] + 1, recovered=candidate["status"] == RUNNING)


def _candidates(query: dict, *, now, slack=timedelta(0), limit: int = CANDIDATES) -> list[dict]:
    """The first `limit` claimable contexts in claim order (live leases and retries not yet
    due are skipped, however many come first)."""
    found = []
    with collection().find({**query, "status": {"$in": [PENDING, RUNNING]}}, CANDIDATE_FIELDS,
                           batch_size=limit * 2).sort(ORDER) as cursor:
        for candidate in cursor:
            if _is_claimable(candidate, now, slack):
                found.append(candidate)
                if len(found) == limit:
                    break
    return found


def _first_taken(candidates: list[dict], *, now, worker: str) -> Claim | None:
    """Try the candidates in order (consuming the list); the first one won, or None."""
    while candidates:
        if claim := _compare_and_set(candidates.pop(0), now=now, worker=worker):
            return claim
    return None


class Claimer:
    """Claims contexts one after another for one worker (of `company`, or of every company)."""

    def __init__(self, *, worker: str | None = None, company=None):
        self.worker = worker or worker_id()
        self.query = {} if company is None else {"company_id": getattr(company, "pk", company)}
        self.buffer: list[dict] = []  # cas: candidates read earlier, in order

    def next(self) -> Claim | None:
        now = timezone.now()
        if strategy() == "find_and_modify":
            return _find_and_modify(self.query, now=now, worker=self.worker)
        claim = _first_taken(self.buffer, now=now, worker=self.worker)
        while claim is None:
            self.buffer = _candidates(self.query, now=now)
            if not self.buffer:
                return None
            claim = _first_taken(self.buffer, now=now, worker=self.worker)
        return claim


def claim_next(*, worker: str | None = None, company=None) -> Claim | None:
    """Claim the most urgent claimable context (of `company`, or of every company)."""
    return Claimer(worker=worker, company=company).next()


def claim(*, context_id, worker: str | None = None, now=None) -> Claim | None:
    """Claim this context if it is claimable (a retry may come CLOCK_SLACK early)."""
    if not ObjectId.is_valid(str(context_id)):
        return None
    now, worker = now or timezone.now(), worker or worker_id()
    query = {"_id": ObjectId(str(context_id))}
    if strategy() == "find_and_modify":
        return _find_and_modify(query, now=now, worker=worker, slack=CLOCK_SLACK)
    return _first_taken(_candidates(query, now=now, slack=CLOCK_SLACK, limit=1), now=now, worker=worker)


def write(claim: Claim, fields: dict, *, renew: bool = True, now=None) -> bool:
    """Set `fields` (and renew the lease) if `claim` still holds; False once it is lost."""
    now = now or timezone.now()
    update = {**fields, "updated_at": now}
    if renew:
        update["lease_until"] = now + lease()
    return collection().update_one(claim.guard(), {"$set": update}).matched_count == 1

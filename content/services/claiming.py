"""Claiming contexts: exactly one worker runs a context at a time.

A context is claimable when it is `pending` and due (`next_retry_at` null or past: the polling
query), or `running` with an expired lease (its worker died). The claim is
a lease (requestdesk.db.leases) on the document: status -> running, `lease_until` = now +
CONTENT_LEASE_SECONDS, `worker`, and `attempt` + 1. A company's pending contexts are taken by
priority (lower first), then age; companies take turns (below). Every later write of the run
(lease renewals, progress, the final status) is conditional on the claim (status running,
this worker, this attempt, the lease it last wrote), so a worker whose lease ran out and was
taken over, or whose context was cancelled, has its writes refused and stops.

`leases.claim_next` makes the claim: one findAndModify with the polling filter and the
sort (backed by the (priority, status, created_at) index) where the server's capabilities
say it is cheap, else a read of candidates by status (the status index) and a
compare-and-set on each in turn. A `Claimer` (process_pending's loop) keeps the candidates
it read for its next claims and reads again when they run out. Both ways are safe with any
number of concurrent workers (tests run both).

Fairness between companies: a claim for every company takes companies in turn, the one
served least recently first (`Turns`, per process), and within the company the most urgent
context. One company's 10,000 pending contexts thus never starve another's 10: each claim
is `leases.claim_next` with a company filter (the same lease primitive). The companies with work are read with one `distinct` and kept for
COMPANIES_SECONDS (and read again at once when none of them has anything claimable).
"""

from __future__ import annotations

import os
import socket
import threading
import time
from dataclasses import dataclass
from datetime import UTC, timedelta

from bson import ObjectId
from django.conf import settings
from django.utils import timezone

from requestdesk.db import leases
from requestdesk.db.collections import raw

from ..models import Context, ContextStatus

PENDING, RUNNING = ContextStatus.PENDING.value, ContextStatus.RUNNING.value
ORDER = [("priority", 1), ("created_at", 1)]
CANDIDATES = leases.CANDIDATES  # read per round when claims compare-and-set
CANDIDATE_FIELDS = ["status", "attempt", "next_retry_at", "lease_until"]
CLOCK_SLACK = timedelta(seconds=2)  # a retry task may arrive this much before next_retry_at
COMPANIES_SECONDS = 5.0  # how long the list of companies with work is trusted


def lease() -> timedelta:
    return timedelta(seconds=settings.CONTENT_LEASE_SECONDS)


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True)
class Claim:
    context_id: ObjectId
    worker: str
    attempt: int
    lease: leases.Lease
    recovered: bool = False  # taken over from a worker whose lease ran out

    @classmethod
    def of(cls, held: leases.Lease | None) -> Claim | None:
        if held is None:
            return None
        return cls(held.pk, held.held["worker"], held.held["attempt"], held, recovered=held.before["status"] == RUNNING)


def claimable(now, slack: timedelta = timedelta(0)) -> dict:
    """The polling filter (pending and due) plus contexts whose worker's lease ran out."""
    return {
        "$or": [
            {"status": PENDING, "$or": [{"next_retry_at": None}, {"next_retry_at": {"$lte": now + slack}}]},
            {"status": RUNNING, "lease_until": {"$lt": now}},
        ]
    }


def _is_claimable(doc: dict, now, slack: timedelta) -> bool:
    if doc["status"] == PENDING:
        due = doc.get("next_retry_at")
        return due is None or aware(due) <= now + slack
    lease_until = doc.get("lease_until")
    return doc["status"] == RUNNING and lease_until is not None and aware(lease_until) < now


def aware(value):
    return value if timezone.is_aware(value) else value.replace(tzinfo=UTC)


def _taking(*, now, worker: str) -> dict:
    """What a claim writes: running, this worker, the next attempt, a lease."""
    return dict(
        holder={"status": RUNNING, "worker": worker},
        inc={"attempt": 1},
        write={"updated_at": now},
        seconds=settings.CONTENT_LEASE_SECONDS,
        now=now,
    )


def _claim_next(query: dict, *, now, worker: str, slack=timedelta(0), buffer=None, limit=CANDIDATES) -> Claim | None:
    return Claim.of(
        leases.claim_next(
            Context,
            match={**query, **claimable(now, slack)},
            scan={**query, "status": {"$in": [PENDING, RUNNING]}},
            claimable=lambda doc: _is_claimable(doc, now, slack),
            order=ORDER,
            fields=CANDIDATE_FIELDS,
            buffer=buffer,
            limit=limit,
            **_taking(now=now, worker=worker),
        )
    )


class Turns:
    """The companies with work, in the order they are served: least recently served first
    (never served before all). Shared by a process's claimers, so that single claims
    (`claim_next`) take turns too."""

    def __init__(self):
        self._lock = threading.Lock()
        self._served: dict = {}  # company id -> the tick of its last claim
        self._tick = 0
        self._companies: list = []
        self._read_at = float("-inf")

    def order(self, *, fresh: bool = False) -> tuple[list, bool]:
        """The companies in turn, and whether they were just read from the database."""
        with self._lock:
            read = fresh or time.monotonic() - self._read_at > COMPANIES_SECONDS
            if read:
                self._companies = _companies_with_work()
                self._read_at = time.monotonic()
            return sorted(self._companies, key=lambda company: self._served.get(company, -1)), read

    def served(self, company) -> None:
        with self._lock:
            self._tick += 1
            self._served[company] = self._tick


def _companies_with_work() -> list:
    """The companies with a pending or running context (one distinct on the status index)."""
    return list(raw(Context, unscoped=True).distinct("company_id", {"status": {"$in": [PENDING, RUNNING]}}))


TURNS = Turns()


class Claimer:
    """Claims contexts one after another for one worker (of `company`, or of every company,
    taking companies in turn)."""

    def __init__(self, *, worker: str | None = None, company=None, turns: Turns | None = None):
        self.worker = worker or worker_id()
        self.company = company
        self.turns = TURNS if turns is None else turns
        self.buffers: dict = {}  # per company: candidates read earlier, in order (compare-and-set claims)

    def next(self) -> Claim | None:
        if self.company is not None:
            return self._claim(self.company)
        companies, read = self.turns.order()
        found = self._first(companies)
        if found is None and not read:  # none of the known companies has work: any new one?
            found = self._first(self.turns.order(fresh=True)[0])
        return found

    def _first(self, companies: list) -> Claim | None:
        for company in companies:
            found = self._claim(company)
            if found is not None:
                self.turns.served(company)
                return found
        return None

    def _claim(self, company) -> Claim | None:
        query = raw(Context, company=company).match()
        buffer = self.buffers.setdefault(getattr(company, "pk", company), [])
        return _claim_next(query, now=timezone.now(), worker=self.worker, buffer=buffer)


def claim_next(*, worker: str | None = None, company=None) -> Claim | None:
    """Claim the most urgent claimable context of `company`, or of the company whose turn it
    is (the least recently served with work)."""
    return Claimer(worker=worker, company=company).next()


def claim(*, context_id, worker: str | None = None, now=None) -> Claim | None:
    """Claim this context if it is claimable (a retry may come CLOCK_SLACK early)."""
    if not ObjectId.is_valid(str(context_id)):
        return None
    return _claim_next(
        {"_id": ObjectId(str(context_id))},
        now=now or timezone.now(),
        worker=worker or worker_id(),
        slack=CLOCK_SLACK,
        limit=1,
    )


def claim_read(*, context_id, worker: str | None = None, now=None) -> tuple[Claim, Context | None] | None:
    """Read the context and claim it if it is claimable (as `claim`): a compare-and-set
    guarded by the claim fields read and `updated_at` (every service write sets it), so the
    document returned is the one claimed and the run need not read it again. When it changed
    meanwhile, `claim` decides on what it is now (and no document is returned)."""
    if not ObjectId.is_valid(str(context_id)):
        return None
    context = Context.objects.filter(pk=ObjectId(str(context_id))).first()
    if context is None:
        return None
    now, worker = now or timezone.now(), worker or worker_id()
    before = {
        "_id": context.pk,
        "status": str(context.status),
        "attempt": context.attempt,
        "next_retry_at": context.next_retry_at,
        "lease_until": context.lease_until,
    }
    if not _is_claimable(before, now, CLOCK_SLACK):
        return None
    held = leases.take(
        Context, context.pk, guard={**before, "updated_at": context.updated_at}, **_taking(now=now, worker=worker)
    )
    if held is None:
        found = claim(context_id=context.pk, worker=worker, now=now)
        return (found, None) if found else None
    held.held["attempt"], held.before = context.attempt + 1, before
    found = Claim.of(held)
    context.status, context.worker, context.attempt = ContextStatus.RUNNING, worker, found.attempt
    context.lease_until, context.updated_at = held.until, now
    return found, context


def write(claim: Claim, fields: dict, *, renew: bool = True, now=None) -> bool:
    """Set `fields` (and renew the lease) if `claim` still holds; False once it is lost.
    Without `renew` this is the run's last write: the lease is released with it."""
    now = now or timezone.now()
    update = {**fields, "updated_at": now}
    if not renew:
        return claim.lease.release(**update)
    try:
        claim.lease.renew(now=now, **update)
    except leases.LeaseLost:
        return False
    return True

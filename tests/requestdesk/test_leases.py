"""requestdesk.db.leases against the embedded server: taking a lease, its take-over once it
ran out (the old holder's renewal raises LeaseLost, its release does nothing), the heartbeat,
claim_next with both strategies (forced with DATABASE_CAPABILITIES: priorities respected,
unclaimable documents skipped, a lost race moving on, concurrent claimers never taking one
document twice), and requeue stopping at the first broker error."""

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from bson import ObjectId
from django.db import connections
from django.utils import timezone
from kombu.exceptions import OperationalError

from content.models import Context
from requestdesk.db import base, leases
from requestdesk.db.leases import LeaseLost

pytestmark = pytest.mark.django_db
STRATEGIES = ["cas", "find_and_modify"]
ORDER = [("priority", 1), ("created_at", 1)]
FIELDS = ["status", "attempt", "lease_until"]
SECONDS = 60


@pytest.fixture(params=STRATEGIES)
def strategy(request, settings):
    settings.DATABASE_CAPABILITIES = {"cheap_find_and_modify": request.param == "find_and_modify"}
    return request.param


@pytest.fixture
def find_and_modify_calls(monkeypatch):
    """Each findAndModify the storage layer sends."""
    calls = []

    def spy(self, *args, **kwargs):
        calls.append(args[0] if args else kwargs.get("filter"))
        return self._collection.find_one_and_update(*args, **kwargs)

    monkeypatch.setattr(base.RewritingCollection, "find_one_and_update", spy, raising=False)
    return calls


def _docs(world, priorities, **fields):
    return [Context.objects.create(company=world.a, pipeline_id=ObjectId(), priority=p, **fields) for p in priorities]


def _fresh(context):
    return Context.objects.get(pk=context.pk)


def _free(now):
    return {"$or": [{"lease_until": None}, {"lease_until": {"$lt": now}}]}


def _take(context, worker, now=None):
    now = now or timezone.now()
    return leases.take(Context, context.pk, guard=_free(now), holder={"worker": worker}, seconds=SECONDS, now=now)


def _expire(context):
    Context.objects.filter(pk=context.pk).update(lease_until=timezone.now() - timedelta(seconds=1))


def test_lease_end_is_kept_to_the_millisecond():
    now = timezone.now().replace(microsecond=123456)
    assert leases.lease_end(now, 10) == now.replace(microsecond=123000) + timedelta(seconds=10)


def test_a_live_lease_is_not_taken_and_one_run_out_is_taken_over(world):
    [doc] = _docs(world, [5])
    first = _take(doc, "one")
    assert first is not None and first.held == {"worker": "one"}
    stored = _fresh(doc)
    assert (stored.worker, stored.lease_until) == ("one", first.until)
    assert _take(doc, "two") is None  # live: left alone
    first.renew(error="progress")  # still ours: renewed, with fields
    assert _fresh(doc).error == "progress"

    _expire(doc)  # worker one presumed dead
    second = _take(doc, "two")
    assert second is not None and _fresh(doc).worker == "two"
    with pytest.raises(LeaseLost):
        first.renew(error="zombie")
    assert not first.release(worker="")  # not ours any more: nothing written
    stored = _fresh(doc)
    assert (stored.worker, stored.error, stored.lease_until) == ("two", "progress", second.until)
    second.renew()
    assert second.release(worker="", error="done")
    stored = _fresh(doc)
    assert (stored.worker, stored.error, stored.lease_until) == ("", "done", None)


def test_a_guard_on_what_was_read_and_an_until_of_its_own(world):
    """A compare-and-set on read values (a schedule's next_run), holding until a given time;
    a field incremented by the take, given back by the release."""
    [doc] = _docs(world, [5])
    read = _fresh(doc)
    later = leases.lease_end(timezone.now(), 3600)
    held = leases.take(
        Context,
        doc.pk,
        guard={"status": read.status, "next_retry_at": read.next_retry_at},
        holder={},
        until_field="next_retry_at",
        until=later,
        inc={"retry_count": 1},
    )
    assert held is not None and _fresh(doc).next_retry_at == later and _fresh(doc).retry_count == 1
    assert (
        leases.take(
            Context,
            doc.pk,
            guard={"next_retry_at": read.next_retry_at},
            holder={},
            until_field="next_retry_at",
            until=later,
        )
        is None
    )  # read before: lost the race
    assert held.release(next_retry_at=read.next_retry_at, inc={"retry_count": -1})
    stored = _fresh(doc)
    assert (stored.next_retry_at, stored.retry_count) == (None, 0)


def test_beat_renews_while_items_come_and_stops_when_taken_over(world):
    [doc] = _docs(world, [5])
    held = _take(doc, "one", now=timezone.now() - timedelta(seconds=30))
    before = held.until
    assert list(held.beat(range(3), every=0)) == [0, 1, 2]
    assert held.until > before and _fresh(doc).lease_until == held.until
    seen = []
    with pytest.raises(LeaseLost):
        for n in held.beat(range(5), every=0):
            seen.append(n)
            if n == 1:
                _expire(doc)
                _take(doc, "two")
    assert seen == [0, 1] and _fresh(doc).worker == "two"


def _claim(worker, now=None, buffer=None, limit=leases.CANDIDATES, query=None):
    now = now or timezone.now()

    def claimable(doc):
        until = doc.get("lease_until")
        return doc["status"] == "pending" or (until is not None and until.replace(tzinfo=now.tzinfo) < now)

    query = query or {}
    return leases.claim_next(
        Context,
        match={**query, "$or": [{"status": "pending"}, {"status": "running", "lease_until": {"$lt": now}}]},
        scan={**query, "status": {"$in": ["pending", "running"]}},
        claimable=claimable,
        order=ORDER,
        fields=FIELDS,
        holder={"status": "running", "worker": worker},
        inc={"attempt": 1},
        seconds=SECONDS,
        now=now,
        buffer=buffer,
        limit=limit,
    )


def test_claim_next_goes_by_priority_and_skips_live_leases(world, strategy):
    made = _docs(world, [5, 1, 5, 9, 1])
    busy = _docs(world, [0, 0], status="running", lease_until=timezone.now() + timedelta(minutes=5))
    claims = [_claim("w") for _ in made]
    assert [c.pk for c in claims] == [made[1].pk, made[4].pk, made[0].pk, made[2].pk, made[3].pk]
    assert _claim("w") is None
    first = claims[0]
    assert first.held == {"status": "running", "worker": "w", "attempt": 1} and first.before["status"] == "pending"
    stored = _fresh(made[1])
    assert (stored.status, stored.worker, stored.attempt, stored.lease_until) == ("running", "w", 1, first.until)

    _expire(busy[0])  # its worker died: taken over, attempt 2, and the old holder is refused
    dead = leases.Lease(
        Context,
        busy[0].pk,
        {"status": "running", "worker": "", "attempt": 0},
        _fresh(busy[0]).lease_until,
        seconds=SECONDS,
    )
    recovered = _claim("w2")
    assert recovered.pk == busy[0].pk and recovered.held["attempt"] == 1 and recovered.before["status"] == "running"
    with pytest.raises(LeaseLost):
        dead.renew()


def test_a_lost_race_moves_on_to_the_next_candidate(world, settings):
    settings.DATABASE_CAPABILITIES = {"cheap_find_and_modify": False}
    made = _docs(world, [1, 2, 3])
    buffer = []
    assert _claim("a", buffer=buffer, limit=3).pk == made[0].pk
    assert [c["_id"] for c in buffer] == [made[1].pk, made[2].pk]  # read once, kept for the next claims
    assert _claim("b").pk == made[1].pk  # another worker takes the next one first
    assert _claim("a", buffer=buffer).pk == made[2].pk  # its stale candidate is skipped
    assert _claim("a", buffer=buffer) is None


def test_the_strategy_comes_from_the_capabilities(world, settings, find_and_modify_calls):
    [doc] = _docs(world, [1])
    settings.DATABASE_CAPABILITIES = {"cheap_find_and_modify": False}
    assert not connections["default"].capabilities.cheap_find_and_modify
    assert _claim("w", query={"_id": doc.pk}).pk == doc.pk
    assert find_and_modify_calls == []
    _expire(doc)
    settings.DATABASE_CAPABILITIES = {"cheap_find_and_modify": True}
    assert _claim("w", query={"_id": doc.pk}).held["attempt"] == 2
    assert len(find_and_modify_calls) == 1
    settings.DATABASE_CAPABILITIES = {}  # the probe: the test server is SecantusDB
    assert connections["default"].capabilities.kind == "secantus"
    assert not connections["default"].capabilities.cheap_find_and_modify


@pytest.mark.django_db(transaction=True)
def test_concurrent_claimers_never_take_one_document_twice(world, strategy):
    made = {doc.pk for doc in _docs(world, [n % 3 for n in range(40)])}
    start = threading.Barrier(4)

    def worker(name):
        taken, buffer = [], []
        start.wait()
        try:
            while claim := _claim(name, buffer=buffer, limit=5):
                taken.append(claim.pk)
        finally:
            connections.close_all()
        return taken

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(worker, [f"w{n}" for n in range(4)]))
    claimed = [pk for taken in results for pk in taken]
    assert len(claimed) == len(set(claimed)) == 40 and set(claimed) == made
    assert set(Context.objects.filter(pk__in=made).values_list("attempt", flat=True)) == {1}


def test_requeue_stops_at_the_first_broker_error(caplog):
    sent = []

    def send(pk):
        if len(sent) == 2:
            raise OperationalError("connection refused")
        sent.append(pk)

    caplog.set_level(logging.WARNING, logger="requestdesk.db.leases")
    ids = [ObjectId() for _ in range(4)]
    assert leases.requeue(ids, send, "lost thing") == [str(ids[0]), str(ids[1])] == sent
    assert f"lost thing {ids[2]} not queued again: broker unavailable" in caplog.text
    assert f"queued 2 lost thing(s) again: {ids[0]}, {ids[1]}" in caplog.text
    assert leases.requeue([], send, "lost thing") == []


def test_requeue_lets_other_errors_through():
    def send(pk):
        raise ValueError("a bug")

    with pytest.raises(ValueError):
        leases.requeue(["x"], send, "lost thing")

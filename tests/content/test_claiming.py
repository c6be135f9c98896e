"""Claiming contexts: priority then age, due retries only, one holder at a time, lease expiry
recovery, a zombie's writes refused, and two concurrent worker processes that never claim
the same context (both claim strategies of requestdesk.db.leases.claim_next, forced with
DATABASE_CAPABILITIES)."""

import json
import os
import subprocess
import sys
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from content.models import Batch, Context, ContextStatus
from content.services import batches, claiming, contexts, runner
from tests.paths import ROOT
from tests.support.content import (  # noqa: F401
    TEST_KEY,
    article_setup,
    content_settings,
    events,
    fresh,
    new_context,
    queued,
    subscribe,
)

STRATEGIES = ["cas", "find_and_modify"]


def capabilities(strategy: str) -> dict:
    """DATABASE_CAPABILITIES that make claims use `strategy`."""
    return {"cheap_find_and_modify": strategy == "find_and_modify"}


@pytest.fixture(params=STRATEGIES)
def strategy(request, settings):
    settings.DATABASE_CAPABILITIES = capabilities(request.param)
    return request.param


def _contexts(setup, priorities):
    return [new_context(setup, title=f"t{n}", priority=p) for n, p in enumerate(priorities)]


@pytest.mark.django_db
def test_claims_go_by_priority_then_age(world, strategy):
    setup = article_setup(world.a)
    made = _contexts(setup, [5, 1, 5, 9, 1])
    order = [claiming.claim_next(worker="w").context_id for _ in made]
    assert order == [made[1].pk, made[4].pk, made[0].pk, made[2].pk, made[3].pk]
    assert claiming.claim_next(worker="w") is None
    claimed = fresh(made[1])
    assert claimed.status == ContextStatus.RUNNING and claimed.worker == "w" and claimed.attempt == 1
    assert claimed.lease_until > timezone.now() + timedelta(seconds=290)


@pytest.mark.django_db
def test_a_retry_is_claimed_only_once_due(world, strategy):
    setup = article_setup(world.a)
    [context] = _contexts(setup, [5])
    Context.objects.filter(pk=context.pk).update(next_retry_at=timezone.now() + timedelta(minutes=1))
    assert claiming.claim_next(worker="w") is None
    assert claiming.claim(context_id=context.pk, worker="w") is None
    # A retry task may arrive a moment before its time (clock slack), not a minute early.
    Context.objects.filter(pk=context.pk).update(next_retry_at=timezone.now() + timedelta(seconds=1))
    assert claiming.claim(context_id=context.pk, worker="w").attempt == 1


@pytest.mark.django_db
def test_claims_can_be_limited_to_a_company(world, strategy):
    a, b = article_setup(world.a), article_setup(world.b)
    [in_a], [in_b] = _contexts(a, [9]), _contexts(b, [1])
    assert claiming.claim_next(worker="w", company=world.a).context_id == in_a.pk
    assert claiming.claim_next(worker="w", company=world.a) is None
    assert claiming.claim_next(worker="w").context_id == in_b.pk


@pytest.mark.django_db
def test_a_held_context_is_taken_over_only_after_its_lease_expires(world, strategy, settings):
    setup = article_setup(world.a)
    [context] = _contexts(setup, [5])
    first = claiming.claim(context_id=context.pk, worker="one")
    assert claiming.claim(context_id=context.pk, worker="two") is None
    assert claiming.claim_next(worker="two") is None
    Context.objects.filter(pk=context.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    second = claiming.claim_next(worker="two")
    assert second.context_id == context.pk and second.attempt == 2 and second.recovered
    # The first worker's writes are refused from now on: its result is discarded.
    assert not claiming.write(first, {"status": "completed"})
    assert claiming.write(second, {"error": ""})
    assert fresh(context).worker == "two"


@pytest.mark.django_db
def test_a_zombie_workers_result_is_discarded_and_counted_once(world, llm, strategy, settings):
    """Worker one stalls past its lease; worker two takes over and completes; worker one's
    late completion (with its own outputs) is refused: stored once, counted once."""
    subscribe(world.a)
    setup = article_setup(world.a, llm)
    batch = batches.create_batch(pipeline=setup.pipeline, items=[{"data": {"title": "Zombies"}}])
    context = Context.objects.get(batch=batch)
    zombie = claiming.claim(context_id=context.pk, worker="zombie")
    Context.objects.filter(pk=context.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    assert runner.process_pending(worker="healthy") == [str(context.pk)]
    assert runner.run(zombie) == runner.LOST
    done = fresh(context)
    assert done.status == ContextStatus.COMPLETED and done.worker == "healthy" and done.attempt == 2
    assert len(done.data["generated_content"]) == 4
    assert [e["event"] for e in done.processing.timeline].count("completed") == 1
    assert len(events("content.context.completed")) == 1 and len(events("content.batch.completed")) == 1
    counted = Batch.objects.get(pk=batch.pk)
    assert (counted.status, counted.completed_count, counted.failed_count) == ("completed", 1, 0)


@pytest.mark.django_db
def test_a_cancelled_context_stops_its_worker(world, llm, strategy):
    setup = article_setup(world.a, llm)
    context = new_context(setup)
    claim = claiming.claim(context_id=context.pk, worker="w")
    contexts.cancel(fresh(context))
    assert runner.run(claim) == runner.LOST
    cancelled = fresh(context)
    assert cancelled.status == ContextStatus.CANCELLED and "generated_content" not in cancelled.data


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("claim_strategy", STRATEGIES)
def test_two_worker_processes_never_claim_the_same_context(world, llm, claim_strategy):
    """Two processes run `process_contexts` over 60 contexts at once (each LLM answer takes
    20 ms, so they overlap): the sets they ran are disjoint and cover every context, and
    each context ran exactly once."""
    llm.delay = 0.02
    setup = article_setup(world.a, llm)
    single = {"sections": [{"id": "body", "name": "Body", "instructions": "Write", "word_range": [10, 50]}]}
    setup.template.structure = single
    setup.template.save()
    made = [
        c.pk
        for c in contexts.create_contexts(
            pipeline=setup.pipeline,
            items=[{"data": {"title": f"Doc {n}"}, "priority": n % 3} for n in range(60)],
            queue=False,
        )
    ]
    env = {
        **os.environ,
        "MONGODB_NAME": django_settings.DATABASES["default"]["NAME"],
        "DATABASE_CAPABILITIES": json.dumps(capabilities(claim_strategy)),
        "FIELD_ENCRYPTION_KEY": TEST_KEY,
        "KNOWLEDGE_LLM_MAX_RETRIES": "0",
    }
    command = [sys.executable, "manage.py", "process_contexts", "--json"]
    procs = [
        subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=240) for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    first, second = (json.loads(out.strip().splitlines()[-1]) for out, _ in outputs)
    assert first and second, "both processes should have claimed work"
    assert not set(first) & set(second)
    assert len(first) + len(second) == 60 and set(first) | set(second) == {str(pk) for pk in made}
    finished = Context.objects.filter(pk__in=made)
    assert {(c.status, c.attempt) for c in finished} == {(ContextStatus.COMPLETED, 1)}
    assert len(llm.chats) == 60


@pytest.mark.django_db
def test_the_strategy_follows_the_server(world, settings):
    """SecantusDB (the test server, whatever its URI): no findAndModify, which it plans as
    a collection scan; claims read candidates and compare-and-set."""
    from django.db import connections

    settings.DATABASE_CAPABILITIES = {}
    assert not connections["default"].capabilities.cheap_find_and_modify
    setup = article_setup(world.a)
    [context] = _contexts(setup, [5])
    held = claiming.claim_next(worker="w")
    assert held.context_id == context.pk and held.lease.before["status"] == "pending"


@pytest.mark.django_db
def test_busy_and_waiting_contexts_ahead_do_not_hide_claimable_ones(world, strategy):
    """More live leases and not-yet-due retries ahead in the order than one read of candidates."""
    setup = article_setup(world.a)
    ahead = _contexts(setup, [0] * (claiming.CANDIDATES + 5))
    [behind] = _contexts(setup, [9])
    later = timezone.now() + timedelta(minutes=5)
    Context.objects.filter(pk__in=[c.pk for c in ahead[::2]]).update(status="running", lease_until=later)
    Context.objects.filter(pk__in=[c.pk for c in ahead[1::2]]).update(next_retry_at=later)
    assert claiming.claim_next(worker="w").context_id == behind.pk
    assert claiming.claim_next(worker="w") is None


def _pending(setup, count: int) -> list:
    items = [{"data": {"title": f"t{n}"}} for n in range(count)]
    return [c.pk for c in contexts.create_contexts(pipeline=setup.pipeline, items=items, queue=False)]


@pytest.mark.django_db
def test_companies_take_turns_so_a_big_backlog_starves_no_one(world, strategy):
    """Company A queued 200 contexts before company B queued 5: B's are not behind A's."""
    big = set(_pending(article_setup(world.a), 200))
    small = set(_pending(article_setup(world.b), 5))
    claimer = claiming.Claimer(worker="w", turns=claiming.Turns())
    first = [claimer.next().context_id for _ in range(10)]
    assert set(first) & small == small  # B got all of its five in the first ten claims
    assert len(set(first) & big) == 5  # and A was not starved either
    assert {first[0], first[1]} & small  # turns alternate from the start
    rest = [claimer.next().context_id for _ in range(195)]
    assert set(rest) == big - set(first) and claimer.next() is None


@pytest.mark.django_db
def test_single_claims_take_turns_too(world, strategy):
    _pending(article_setup(world.a), 3)
    in_b = set(_pending(article_setup(world.b), 1))
    claiming.TURNS.order(fresh=True)  # this test's companies, not an earlier test's
    claimed = {claiming.claim_next(worker="w").context_id for _ in range(2)}
    assert claimed & in_b


@pytest.mark.django_db
def test_a_company_with_new_work_joins_the_turns(world, strategy):
    _pending(article_setup(world.a), 3)
    claimer = claiming.Claimer(worker="w", turns=claiming.Turns())
    claimer.next()  # the company list is read (and kept) now: only A has work
    [late] = _pending(article_setup(world.b), 1)
    claimed = [claimer.next().context_id for _ in range(3)]
    assert late in claimed  # found once A ran dry at the latest, never lost
    assert claimer.next() is None

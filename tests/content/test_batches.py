"""Contexts and batches through the API: creating (202, queued), running to completion with
the right outputs, counters and timings, the status summary aggregation, cancel and retry,
the batch event emitted once, bad input refused, and the reconcile safety net."""

from datetime import timedelta

import pytest
from django.utils import timezone

from content.models import Batch, Component, Context, ContextStatus
from content.services import batches, runner
from events.models import AuditLog
from tests.support.content import (  # noqa: F401
    SECTION_IDS,
    article_setup,
    content_settings,
    events,
    fresh,
    new_context,
    queued,
    subscribe,
)

pytestmark = pytest.mark.django_db
CONTEXTS, BATCHES = "/api/v1/content/contexts/", "/api/v1/content/batches/"


def test_create_one_context_then_read_its_status_and_result(api, world, llm, queued):
    setup = article_setup(world.a, llm)
    api.as_user(world.user("a", "client"))
    created = api.post(
        CONTEXTS, {"pipeline": str(setup.pipeline.pk), "data": {"title": "Caching"}, "priority": 2}, format="json"
    )
    assert created.status_code == 202, created.content
    context_id = created.json()["id"]
    assert created.json()["status"] == "pending" and queued == [(context_id, None)]
    pending = api.get(f"{CONTEXTS}{context_id}/").json()
    assert pending["status"] == "pending" and pending["result"] is None and pending["type"] == "article"
    assert pending["priority"] == 2 and pending["user"] == str(world.user("a", "client").pk)

    runner.process_context(context_id=context_id)
    done = api.get(f"{CONTEXTS}{context_id}/").json()
    assert done["status"] == "completed"
    assert list(done["result"]["generated_content"]) == SECTION_IDS
    assert done["result"]["formatted_content"]["content"].startswith("# Caching")
    assert set(done["processing"]["component_timings"]) == {"template", "ai_generator", "transformer"}
    listed = api.get(f"{CONTEXTS}?status=completed").json()["results"]
    assert [row["id"] for row in listed] == [context_id] and "data" not in listed[0]
    assert AuditLog.objects.filter(event_type="context.created", object_id=context_id).exists()


def test_create_many_contexts_at_once(api, world, queued):
    setup = article_setup(world.a)
    api.as_user(world.user("a", "content_writer"))
    items = [{"pipeline": str(setup.pipeline.pk), "data": {"title": f"T{n}"}, "type": "post"} for n in range(3)]
    response = api.post(CONTEXTS, items, format="json")
    assert response.status_code == 202, response.content
    ids = response.json()["ids"]
    assert len(ids) == 3 and [q[0] for q in queued] == ids
    assert set(Context.objects.values_list("type", flat=True)) == {"post"}


def test_bad_context_input_is_refused_and_nothing_stored(api, world):
    setup = article_setup(world.a)
    foreign = article_setup(world.b)
    api.as_user(world.user("a", "client"))
    cases = [
        ({"pipeline": str(setup.pipeline.pk)}, "data"),
        ({"pipeline": str(setup.pipeline.pk), "data": [1, 2]}, "data"),
        ({"pipeline": str(foreign.pipeline.pk), "data": {}}, "pipeline"),
        ({"pipeline": "nope", "data": {}}, "pipeline"),
        ({"pipeline": str(setup.pipeline.pk), "data": {}, "priority": 500}, "priority"),
    ]
    for body, field in cases:
        response = api.post(CONTEXTS, body, format="json")
        assert response.status_code == 400 and field in response.json(), (body, response.content)
    mixed = api.post(CONTEXTS, [{"pipeline": str(setup.pipeline.pk), "data": {}}, {"data": {}}], format="json")
    assert mixed.status_code == 400
    assert api.post(CONTEXTS, [], format="json").status_code == 400
    # A pipeline whose component was removed after it was saved cannot take new contexts.
    Component.objects.filter(pk=setup.components["transformer"].pk).delete()
    broken = api.post(CONTEXTS, {"pipeline": str(setup.pipeline.pk), "data": {}}, format="json")
    assert broken.status_code == 400 and "unknown component" in broken.json()["pipeline"][0]
    assert Context.objects.count() == 0


def test_a_batch_completes_with_outputs_counters_timings_and_one_event(api, world, llm, queued):
    subscribe(world.a)
    setup = article_setup(world.a, llm)
    api.as_user(world.user("a", "content_manager"))
    response = api.post(
        BATCHES,
        {
            "name": "Daily",
            "pipeline": str(setup.pipeline.pk),
            "priority": 3,
            "contexts": [{"data": {"title": f"Topic {n}"}} for n in range(5)],
        },
        format="json",
    )
    assert response.status_code == 202, response.content
    body = response.json()
    batch = Batch.objects.get(pk=body["id"])
    assert len(body["context_ids"]) == 5 and sorted(q[0] for q in queued) == sorted(body["context_ids"])
    assert batch.context_count == 5 and batch.status == "pending"
    assert set(Context.objects.filter(batch=batch).values_list("priority", flat=True)) == {3}

    assert len(runner.process_pending()) == 5
    batch.refresh_from_db()
    assert (batch.status, batch.completed_count, batch.failed_count) == ("completed", 5, 0)
    assert batch.processing_started_at <= batch.processing_completed_at and batch.total_duration_ms > 0
    for context in Context.objects.filter(batch=batch):
        title = context.data["title"]
        assert context.data["generated_content"]["conclusion"] == f"Conclusion text for {title}."
        assert context.processing.duration_ms > 0
    [event] = events("content.batch.completed")
    assert event["completed_count"] == 5 and event["status"] == "completed"
    assert len(events("content.context.completed")) == 5

    summary = api.get(f"{BATCHES}{batch.pk}/summary/").json()
    assert summary["by_status"] == {"completed": 5} and summary["counters"]["completed_count"] == 5
    assert summary["timings"]["avg_context_duration_ms"] > 0
    assert summary["timings"]["total_duration_ms"] == batch.total_duration_ms


def test_batch_summary_counts_every_status(api, world, llm):
    setup = article_setup(world.a, llm)
    batch = batches.create_batch(pipeline=setup.pipeline, items=[{"data": {"title": f"T{n}"}} for n in range(4)])
    ids = batch.context_ids
    runner.process_context(context_id=ids[0])
    llm.fail_with = 401
    runner.process_context(context_id=ids[1])
    api.as_user(world.user("a", "client"))
    assert api.post(f"{CONTEXTS}{ids[2]}/cancel/").json()["status"] == "cancelled"
    summary = api.get(f"{BATCHES}{batch.pk}/summary/").json()
    assert summary["by_status"] == {"cancelled": 1, "completed": 1, "failed": 1, "pending": 1}
    assert summary["counters"] == {"context_count": 4, "completed_count": 1, "failed_count": 1, "cancelled_count": 1}
    assert summary["status"] == "processing"


def test_cancel_and_retry_a_context(api, world, llm):
    subscribe(world.a)
    setup = article_setup(world.a, llm)
    batch = batches.create_batch(pipeline=setup.pipeline, items=[{"data": {"title": "Only"}}])
    [context_id] = batch.context_ids
    api.as_user(world.user("a", "client"))
    cancelled = api.post(f"{CONTEXTS}{context_id}/cancel/")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert fresh(batch).status == "cancelled" and fresh(batch).cancelled_count == 1
    again = api.post(f"{CONTEXTS}{context_id}/cancel/")
    assert again.status_code == 400
    assert again.json() == {"status": ["Only pending or running contexts can be cancelled; this one is cancelled."]}
    assert runner.process_context(context_id=context_id) is None

    retried = api.post(f"{CONTEXTS}{context_id}/retry/")
    assert retried.status_code == 202 and retried.json()["status"] == "pending"
    reopened = fresh(batch)
    assert (reopened.status, reopened.cancelled_count) == ("processing", 0)
    assert runner.process_context(context_id=context_id) == runner.COMPLETED
    assert fresh(batch).status == "completed" and fresh(batch).completed_count == 1
    assert api.post(f"{CONTEXTS}{context_id}/retry/").json() == {
        "status": ["Only failed or cancelled contexts can be retried; this one is completed."]
    }
    assert len(events("content.batch.completed")) == 2  # cancelled, then completed after the retry


def test_batch_cancel_and_retry(api, world, llm):
    setup = article_setup(world.a, llm)
    batch = batches.create_batch(pipeline=setup.pipeline, items=[{"data": {"title": f"T{n}"}} for n in range(3)])
    llm.fail_with = 400
    runner.process_context(context_id=batch.context_ids[0])
    api.as_user(world.user("a", "content_writer"))
    cancelled = api.post(f"{BATCHES}{batch.pk}/cancel/").json()
    assert (cancelled["status"], cancelled["failed_count"], cancelled["cancelled_count"]) == ("failed", 1, 2)
    llm.fail_with = None
    retried = api.post(f"{BATCHES}{batch.pk}/retry/")
    assert retried.status_code == 202 and retried.json()["status"] == "processing"
    assert retried.json()["failed_count"] == 0
    assert runner.process_pending() == [str(batch.context_ids[0])]
    done = fresh(batch)
    assert (done.status, done.completed_count, done.cancelled_count) == ("completed", 1, 2)
    assert api.post(f"{BATCHES}{batch.pk}/retry/").json() == {"status": ["This batch has no failed contexts to retry."]}


def test_bad_batch_input(api, world, settings):
    settings.CONTENT_MAX_BATCH_SIZE = 3
    setup = article_setup(world.a)
    api.as_user(world.user("a", "client"))
    too_many = api.post(BATCHES, {"pipeline": str(setup.pipeline.pk), "contexts": [{"data": {}}] * 4}, format="json")
    assert too_many.json() == {"contexts": ["A batch holds at most 3 contexts; 4 given."]}
    empty = api.post(BATCHES, {"pipeline": str(setup.pipeline.pk), "contexts": []}, format="json")
    assert empty.status_code == 400 and "contexts" in empty.json()
    setup.pipeline.is_active = False
    setup.pipeline.save()
    inactive = api.post(BATCHES, {"pipeline": str(setup.pipeline.pk), "contexts": [{"data": {}}]}, format="json")
    assert inactive.json() == {"pipeline": ["The pipeline “Articles” is not active."]}
    assert Batch.objects.count() == 0 and Context.objects.count() == 0


def test_reconcile_closes_a_batch_whose_count_was_lost(world, llm):
    subscribe(world.a)
    setup = article_setup(world.a, llm)
    batch = batches.create_batch(pipeline=setup.pipeline, items=[{"data": {"title": "T"}}] * 2)
    runner.process_pending()
    # As if the worker died between completing a context and counting it.
    Batch.objects.filter(pk=batch.pk).update(
        completed_count=1,
        status="processing",
        processing_completed_at=None,
        updated_at=timezone.now() - timedelta(hours=1),
    )
    assert batches.reconcile() == 1
    fixed = fresh(batch)
    assert (fixed.status, fixed.completed_count, fixed.remaining_count) == ("completed", 2, 0)
    assert batches.reconcile() == 0
    assert Context.objects.filter(batch=batch, status=ContextStatus.COMPLETED).count() == 2


def test_a_context_not_among_the_last_is_counted_in_one_update(world, llm, round_trips):
    """Three contexts finish: the first two cost one guarded update on the batch each and no
    read; the last counts, reads the counters and completes the batch; a retried one counts
    again as remaining."""
    setup = article_setup(world.a, llm)
    batch = batches.create_batch(pipeline=setup.pipeline, items=[{"data": {"title": "T"}}] * 3, queue=False)
    assert fresh(batch).remaining_count == 3
    for n in range(2):
        with round_trips() as trips:
            assert batches.context_finished(batch_id=batch.pk, outcome="failed", company=batch.company_id) is False
        assert [command for command, _ in trips.commands] == ["update"], trips.commands
        assert (fresh(batch).remaining_count, fresh(batch).failed_count) == (2 - n, n + 1)
    assert batches.context_finished(batch_id=batch.pk, outcome="completed", company=batch.company_id) is True
    done = fresh(batch)
    assert (done.status, done.remaining_count, done.completed_count) == ("completed", 0, 1)

    batches.context_reopened(batch_id=batch.pk, outcome="failed", count=2, company=batch.company_id)
    reopened = fresh(batch)
    assert (reopened.status, reopened.remaining_count, reopened.failed_count) == ("processing", 2, 0)

"""A Celery worker killed (SIGKILL) in the middle of a context loses nothing and duplicates
nothing: once its lease expires, another worker's process_pending takes the context over
and completes it exactly once (outputs, events and batch counters)."""

import threading
import time

import pytest

from content.models import Batch, Context, ContextStatus
from content.services import batches
from tests.support.celery_worker import wait_until
from tests.support.content import SECTION_IDS, TEST_KEY, article_setup, content_settings, events, queued, subscribe  # noqa: F401

LEASE_SECONDS = 3
WORKER_ENV = {
    "FIELD_ENCRYPTION_KEY": TEST_KEY,
    "KNOWLEDGE_LLM_MAX_RETRIES": "0",
    "CONTENT_LEASE_SECONDS": str(LEASE_SECONDS),
    "CONTENT_RETRY_BASE_SECONDS": "0",
    "CONTENT_CHECKPOINT_SECONDS": "0",  # every checkpoint written: what the first worker did is kept
}


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_killed_workers_context_is_completed_once_by_another_worker(world, llm, celery_worker):
    from content import tasks

    subscribe(world.a)
    setup = article_setup(world.a, llm)
    release = threading.Event()
    llm.script = [("hold", release)]  # the first section's answer never comes to the first worker
    first = celery_worker("content-first", env=WORKER_ENV)
    try:
        batch = batches.create_batch(pipeline=setup.pipeline, items=[{"data": {"title": "Resilience"}}])
        [context_id] = batch.context_ids
        assert wait_until(lambda: llm.chats or not first.alive(), timeout=60, interval=0.1), first.log()
        assert llm.chats, f"the first worker asked nothing; its log:\n{first.log()}"
        running = Context.objects.get(pk=context_id)
        assert running.status == ContextStatus.RUNNING and running.attempt == 1
        assert running.processing.completed_components == ["template"]  # saved before the LLM call

        first.kill()  # SIGKILL mid-context: no cleanup, no ack
        release.set()
        assert Context.objects.get(pk=context_id).status == ContextStatus.RUNNING

        second = celery_worker("content-second", env=WORKER_ENV)
        assert wait_until(
            lambda: Context.objects.get(pk=context_id).lease_until.timestamp() < time.time(),
            timeout=LEASE_SECONDS + 5,
            interval=0.1,
        )
        tasks.process_pending.delay()  # what beat sends every CONTENT_POLL_SECONDS
        assert wait_until(
            lambda: Context.objects.get(pk=context_id).status == ContextStatus.COMPLETED or not second.alive(),
            timeout=90,
            interval=0.1,
        ), second.log()

        done = Context.objects.get(pk=context_id)
        assert done.status == ContextStatus.COMPLETED, second.log()
        assert done.attempt == 2 and done.worker != running.worker
        assert list(done.data["generated_content"]) == SECTION_IDS
        assert done.data["formatted_content"]["content"].count("## Introduction") == 1
        assert done.data["generation"]["requests"] == 4  # this run's four sections; the lost one not counted
        assert len(llm.chats) == 5  # the lost first request, then one per section
        timeline = [e["event"] for e in done.processing.timeline]
        assert timeline.count("recovered") == 1 and timeline.count("completed") == 1
        assert done.processing.completed_components == ["template", "ai_generator", "transformer"]
        # The batch is counted (and its event emitted) right after the context's final write.
        wait_until(lambda: events("content.batch.completed"), timeout=10, interval=0.1)
        counted = Batch.objects.get(pk=batch.pk)
        assert (counted.status, counted.completed_count, counted.failed_count) == ("completed", 1, 0)
        assert len(events("content.context.completed")) == 1
        assert len(events("content.batch.completed")) == 1
    finally:
        release.set()

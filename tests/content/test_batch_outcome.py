"""How a batch ends: one whose contexts all failed is `failed`, not `completed`, and its
event says so; a retry that succeeds completes it; retention takes failed batches too."""

import pytest

from content.models import Batch
from content.services import batches, runner
from tests.support.content import article_setup, content_settings, events, fresh, subscribe  # noqa: F401

pytestmark = pytest.mark.django_db


def test_item4_batch_whose_contexts_all_failed_is_failed(world, llm):
    subscribe(world.a)
    setup = article_setup(world.a, llm)
    batch = batches.create_batch(
        pipeline=setup.pipeline, items=[{"data": {"title": f"T{n}"}} for n in range(2)], queue=False
    )
    llm.fail_with = 401  # a permanent failure: no retry
    for context_id in batch.context_ids:
        runner.process_context(context_id=context_id)
    ended = fresh(batch)
    assert (ended.status, ended.failed_count, ended.completed_count) == ("failed", 2, 0)
    [event] = events("content.batch.completed", world.a)
    assert event["status"] == "failed"

    llm.fail_with = None
    assert batches.retry_batch(ended) == 2
    assert fresh(batch).status == "processing"
    for context_id in batch.context_ids:
        runner.process_context(context_id=context_id)
    assert fresh(batch).status == "completed"


def test_item4_a_batch_with_one_success_is_completed(world, llm):
    setup = article_setup(world.a, llm)
    batch = batches.create_batch(
        pipeline=setup.pipeline, items=[{"data": {"title": f"T{n}"}} for n in range(2)], queue=False
    )
    runner.process_context(context_id=batch.context_ids[0])
    llm.fail_with = 401
    runner.process_context(context_id=batch.context_ids[1])
    assert (fresh(batch).status, fresh(batch).failed_count) == ("completed", 1)
    assert Batch.objects.filter(status="failed").count() == 0

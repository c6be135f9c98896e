"""A Celery worker killed (SIGKILL) in the middle of a context loses nothing and duplicates
nothing: once its lease expires, another worker's process_pending takes the context over
and completes it exactly once (outputs, events and batch counters)."""

import os
import signal
import subprocess
import sys
import threading
import time
import uuid

import pytest
from django.conf import settings as django_settings

from content.models import Batch, Context, ContextStatus
from content.services import batches
from tests.content_support import (  # noqa: F401
    SECTION_IDS, TEST_KEY, article_setup, content_settings, events, llm, queued, subscribe,
)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LEASE_SECONDS = 3


def _wait_until(predicate, timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def _worker(name: str, log) -> subprocess.Popen:
    env = {**os.environ, "MONGODB_NAME": django_settings.DATABASES["default"]["NAME"],
           "FIELD_ENCRYPTION_KEY": TEST_KEY, "KNOWLEDGE_LLM_MAX_RETRIES": "0",
           "CONTENT_LEASE_SECONDS": str(LEASE_SECONDS), "CONTENT_RETRY_BASE_SECONDS": "0"}
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "requestdesk", "worker", "--pool", "solo", "-c", "1",
         "--loglevel", "INFO", "--without-gossip", "--without-mingle", "--without-heartbeat",
         "-n", f"{name}-{uuid.uuid4().hex[:8]}@%h"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def _stop(worker: subprocess.Popen) -> None:
    if worker.poll() is None:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(timeout=5)


def _log(log) -> str:
    log.seek(0)
    return log.read()[-3000:]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_killed_workers_context_is_completed_once_by_another_worker(world, llm, tmp_path):
    from content import tasks
    from requestdesk.celery import app

    app.control.purge()
    subscribe(world.a)
    setup = article_setup(world.a, llm)
    release = threading.Event()
    llm.script = [("hold", release)]  # the first section's answer never comes to the first worker
    logs = [open(tmp_path / f"worker{n}.log", "w+") for n in (1, 2)]
    first = _worker("content-first", logs[0])
    second = None
    try:
        batch = batches.create_batch(pipeline=setup.pipeline, items=[{"data": {"title": "Resilience"}}])
        [context_id] = batch.context_ids
        assert _wait_until(lambda: llm.requests or first.poll() is not None, timeout=60), _log(logs[0])
        assert llm.requests, f"the first worker asked nothing; its log:\n{_log(logs[0])}"
        running = Context.objects.get(pk=context_id)
        assert running.status == ContextStatus.RUNNING and running.attempt == 1
        assert running.processing.completed_components == ["template"]  # saved before the LLM call

        os.killpg(first.pid, signal.SIGKILL)  # mid-context: no cleanup, no ack
        first.wait(timeout=10)
        release.set()
        assert Context.objects.get(pk=context_id).status == ContextStatus.RUNNING

        second = _worker("content-second", logs[1])
        assert _wait_until(lambda: Context.objects.get(pk=context_id).lease_until.timestamp() < time.time(),
                           timeout=LEASE_SECONDS + 5)
        tasks.process_pending.delay()  # what beat sends every CONTENT_POLL_SECONDS
        assert _wait_until(lambda: Context.objects.get(pk=context_id).status == ContextStatus.COMPLETED
                           or second.poll() is not None, timeout=90), _log(logs[1])

        done = Context.objects.get(pk=context_id)
        assert done.status == ContextStatus.COMPLETED, _log(logs[1])
        assert done.attempt == 2 and done.worker != running.worker
        assert list(done.data["generated_content"]) == SECTION_IDS
        assert done.data["formatted_content"]["content"].count("## Introduction") == 1
        assert done.data["generation"]["requests"] == 4  # this run's four sections; the lost one not counted
        assert len(llm.requests) == 5  # the lost first request, then one per section
        timeline = [e["event"] for e in done.processing.timeline]
        assert timeline.count("recovered") == 1 and timeline.count("completed") == 1
        assert done.processing.completed_components == ["template", "ai_generator", "transformer"]
        # The batch is counted (and its event emitted) right after the context's final write.
        _wait_until(lambda: events("content.batch.completed"), timeout=10)
        counted = Batch.objects.get(pk=batch.pk)
        assert (counted.status, counted.completed_count, counted.failed_count) == ("completed", 1, 0)
        assert len(events("content.context.completed")) == 1
        assert len(events("content.batch.completed")) == 1
    finally:
        release.set()
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
        if second is not None:
            _stop(second)
        app.control.purge()
        for log in logs:
            log.close()

"""Faults: a Celery worker SIGKILLed in the middle of a scrape job, a knowledge sync and a
content batch. After a restart (and the lease running out, then the recovery task that beat
sends), every job finishes exactly once: nothing lost, nothing duplicated, counters equal to
what is stored, one completion event each.

Each test prints one line of figures (run with -s to see them)."""

import time
from collections import Counter

import pytest

from content.models import Batch, Context, ContextStatus
from content.services import batches
from knowledge.models import KnowledgeChunk, KnowledgeCollection, SyncHistory
from knowledge.services import sync
from scraping.models import Result, ScrapeJob, Target
from scraping.services import jobs
from tests.fakes.openai import FakeOpenAI, section_answer
from tests.support.celery_worker import wait_until
from tests.support.content import article_setup, events, subscribe
from tests.support.knowledge import knowledge_settings, make_agent, make_collection, wp_post  # noqa: F401
from tests.support.knowledge import make_provider as make_knowledge_provider
from tests.support.scraping import Reply, fixture, make_project, make_target, system_presets  # noqa: F401

LEASE = 3  # seconds: a dead worker's work is taken over this long after its last heartbeat
PAGES = 6


def _expired(lease_until) -> bool:
    return lease_until is not None and lease_until.timestamp() < time.time()


# --- scraping -----------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_scrape_job_killed_mid_run_completes_once_after_restart(world, site, celery_worker):
    from scraping import tasks

    subscribe(world.a)
    paths = [f"/slow/{n}" for n in range(PAGES)]
    for path in paths:
        site.route(path, Reply(body=fixture("article.html"), delay=1.0))
    project = make_project(world.a, concurrency=1)
    targets = [make_target(project, site.url(path)) for path in paths]
    worker = celery_worker("scrape-fault", env={"SCRAPING_LEASE_SECONDS": LEASE})
    job = jobs.start(project=project)

    assert wait_until(lambda: ScrapeJob.objects.get(pk=job.pk).targets_done >= 3, timeout=60), worker.log()
    worker.kill()
    at_kill = ScrapeJob.objects.get(pk=job.pk)
    assert at_kill.status == ScrapeJob.RUNNING and 3 <= at_kill.targets_done < PAGES
    stored_at_kill = Result.objects.filter(project=project).count()

    worker.start()
    # The restarted worker has nothing to run: the job's message died unacknowledged with the
    # first worker (the broker gives it back only after its visibility timeout, an hour).
    assert wait_until(lambda: _expired(ScrapeJob.objects.get(pk=job.pk).lease_until), timeout=LEASE + 10)
    assert ScrapeJob.objects.get(pk=job.pk).status == ScrapeJob.RUNNING
    tasks.recover_lost_jobs.delay()  # what beat sends every SCRAPING_RECOVER_SECONDS
    assert wait_until(lambda: ScrapeJob.objects.get(pk=job.pk).status in ScrapeJob.FINISHED, timeout=90), worker.log()

    done = ScrapeJob.objects.get(pk=job.pk)
    results = Result.objects.filter(project=project)
    per_target = Counter(results.values_list("target_id", flat=True))
    pairs = Counter(results.values_list("target_id", "content_hash"))
    assert done.status == ScrapeJob.COMPLETED, (done.error, worker.log())
    assert (done.targets_total, done.targets_done, done.pages_fetched, done.pages_failed) == (PAGES, PAGES, PAGES, 0)
    assert sorted(done.done_targets) == sorted(t.pk for t in targets)
    assert done.results_created == results.count() == PAGES * per_target[targets[0].pk] and results.count() >= PAGES
    assert set(per_target) == {t.pk for t in targets} and len(set(per_target.values())) == 1
    assert max(pairs.values()) == 1  # no duplicate result
    assert done.duplicates == 0
    # Pages finished before the kill were not fetched again; at most the one in flight was.
    refetched = [p for p in paths if len(site.hits(p)) > 1]
    assert all(len(site.hits(p)) == 1 for p in paths[: at_kill.targets_done]) and len(refetched) <= 1
    assert not Target.objects.filter(project=project).exclude(lease_job=None).exists()
    assert wait_until(lambda: events("scrape.completed"), timeout=15), worker.log()  # announced after the save
    assert [e["counts"]["results_created"] for e in events("scrape.completed")] == [results.count()]
    print(
        f"\nFIGURES scrape job: worker SIGKILLed at page {at_kill.targets_done + 1}/{PAGES} "
        f"({stored_at_kill} results stored), restarted, recovered after the {LEASE}s lease; job completed once, "
        f"{results.count()} results, 0 duplicates, pages fetched twice: {len(refetched)}"
    )


# --- knowledge ----------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_knowledge_sync_killed_mid_run_completes_once_after_restart(world, fake_apis, celery_worker):
    from knowledge import tasks

    subscribe(world.a)
    fake_apis.wp["posts"] = [wp_post(n, f"Post {n}", f"<p>Body of post number {n}.</p>") for n in range(1, PAGES + 1)]
    fake_apis.embed_delay = 1.0  # a slow embedding provider: about one item a second
    provider = make_knowledge_provider(world.a, url=fake_apis.url)
    agent = make_agent(world.a, url=fake_apis.url, provider=provider)
    collection = make_collection(world.a, source_type="wordpress", provider=provider, agent=agent)
    worker = celery_worker("sync-fault", env={"KNOWLEDGE_SYNC_LEASE_SECONDS": LEASE, "KNOWLEDGE_INGEST_BATCH_ITEMS": 1})
    chunks = KnowledgeChunk.objects.filter(collection=collection)
    history = sync.request_sync(collection=collection, trigger="api")

    assert wait_until(lambda: len(set(chunks.values_list("source_id", flat=True))) >= 3, timeout=60), (
        SyncHistory.objects.get(pk=history.pk).error_message,
        worker.log(),
    )
    worker.kill()
    stored_at_kill = len(set(chunks.values_list("source_id", flat=True)))
    history.refresh_from_db()
    assert history.status == SyncHistory.IN_PROGRESS and stored_at_kill < PAGES

    worker.start()
    lock = KnowledgeCollection.objects.filter(pk=collection.pk)
    assert wait_until(lambda: _expired(lock.get().sync_lock_until), timeout=LEASE + 10)
    history.refresh_from_db()
    assert history.status == SyncHistory.IN_PROGRESS  # nothing finishes it but the recovery
    tasks.recover_lost_syncs.delay()  # what beat sends every KNOWLEDGE_SYNC_RECOVER_SECONDS

    def finished():
        history.refresh_from_db()
        return history.status in (SyncHistory.COMPLETED, SyncHistory.FAILED)

    assert wait_until(finished, timeout=90), worker.log()
    assert history.status == SyncHistory.COMPLETED, (history.error_message, worker.log())
    rows = list(chunks.values_list("source_id", "chunk_index"))
    assert len(rows) == len(set(rows))  # no duplicate chunk
    assert len({source for source, _ in rows}) == PAGES
    assert history.items_synced + history.items_unchanged == PAGES and history.items_removed == 0
    assert history.items_unchanged >= stored_at_kill  # what the dead worker stored was kept, not redone
    collection.refresh_from_db()
    assert collection.chunk_count == len(rows)  # the counter equals what is stored
    assert (collection.sync_lock_id, collection.sync_lock_until) == ("", None)
    assert SyncHistory.objects.filter(collection=collection).count() == 1
    # The worker announces the sync just after it saves the history: wait for the event too.
    assert wait_until(lambda: events("knowledge.sync.completed"), timeout=15), worker.log()
    assert len(events("knowledge.sync.completed")) == 1 and not events("knowledge.sync.failed")
    embedded = Counter(fake_apis.embedded)
    print(
        f"\nFIGURES knowledge sync: worker SIGKILLed after {stored_at_kill}/{PAGES} items stored, restarted, "
        f"recovered after the {LEASE}s lease; sync completed once ({history.items_synced} synced + "
        f"{history.items_unchanged} unchanged), {len(rows)} chunks, 0 duplicates, "
        f"texts embedded twice: {sum(1 for n in embedded.values() if n > 1)}"
    )


# --- content ------------------------------------------------------------------------------------


@pytest.fixture
def slow_llm():
    server = FakeOpenAI(reply=section_answer, delay=0.3)  # four sections a context: about 1.2 s each
    yield server
    server.stop()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_content_batch_killed_mid_run_completes_once_after_restart(world, slow_llm, celery_worker):
    from content import tasks

    subscribe(world.a)
    setup = article_setup(world.a, slow_llm)
    env = {
        "KNOWLEDGE_LLM_MAX_RETRIES": "0",
        "CONTENT_LEASE_SECONDS": LEASE,
        "CONTENT_RETRY_BASE_SECONDS": "0",
        "CONTENT_CHECKPOINT_SECONDS": "0",  # every section checkpointed: those answered before the kill are kept
    }
    worker = celery_worker("content-fault", env=env)
    count = 4
    batch = batches.create_batch(pipeline=setup.pipeline, items=[{"data": {"title": f"Doc {n}"}} for n in range(count)])
    contexts = Context.objects.filter(batch_id=batch.pk)

    def mid_batch():  # one context done and the next one half-way through its sections
        completed = contexts.filter(status=ContextStatus.COMPLETED).count()
        return completed >= 1 and len(slow_llm.chats) - 4 * completed >= 2

    assert wait_until(mid_batch, timeout=90, interval=0.05), worker.log()
    worker.kill()
    completed_at_kill = contexts.filter(status=ContextStatus.COMPLETED).count()
    [killed] = contexts.filter(status=ContextStatus.RUNNING)
    requests_at_kill = len(slow_llm.chats)

    worker.start()
    assert wait_until(lambda: _expired(Context.objects.get(pk=killed.pk).lease_until), timeout=LEASE + 10)
    tasks.process_pending.delay()  # what beat sends every CONTENT_POLL_SECONDS
    assert wait_until(lambda: Batch.objects.get(pk=batch.pk).status == "completed", timeout=120), worker.log()

    done = Batch.objects.get(pk=batch.pk)
    assert (done.completed_count, done.failed_count, done.context_count) == (count, 0, count)
    assert sorted(contexts.values_list("status", flat=True)) == [ContextStatus.COMPLETED] * count
    recovered = Context.objects.get(pk=killed.pk)
    assert recovered.attempt == 2 and recovered.worker != killed.worker
    assert [e["event"] for e in recovered.processing.timeline].count("completed") == 1
    for context in contexts:
        assert context.data["formatted_content"]["content"].count("## Introduction") == 1
        assert context.data["generation"]["requests"] == 4
        assert [e["event"] for e in context.processing.timeline].count("completed") == 1
    # Sections answered before the kill were kept; only the call in flight was asked again.
    repeated = len(slow_llm.chats) - 4 * count
    assert 0 <= repeated <= 1
    wait_until(lambda: events("content.batch.completed"), timeout=10)
    assert Counter(e["context_id"] for e in events("content.context.completed")) == Counter(
        {str(pk): 1 for pk in batch.context_ids}
    )
    assert len(events("content.batch.completed")) == 1
    print(
        f"\nFIGURES content batch: worker SIGKILLed with {completed_at_kill}/{count} contexts done and the next "
        f"{requests_at_kill - 4 * completed_at_kill}/4 sections asked, restarted, recovered after the {LEASE}s "
        f"lease; batch completed once, {count}/{count} outputs, 0 duplicates, {repeated} LLM call repeated"
    )

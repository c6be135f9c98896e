"""Faults: Redis (broker and cache) stops under a running API server. Reads keep working
(200); writes that need the task queue (scraping run-now, content contexts and batches,
knowledge sync) answer a clear 503 JSON error and leave nothing half-done (no batch or
context stored; the job or sync history that was stored says why it failed, and holds no
lease); /health/db/ reports redis down (503). Redis back on the same port: the same
writes are accepted again.

The server is gunicorn on loopback over the test database, with its own redis-server that
the test stops (the session's redis stays up for the other tests). The in-process cases
(settings pointing at a dead port) are in test_health.py and test_throttling.py."""

import os
import subprocess
import sys
import time

import httpx
import pytest
from django.conf import settings as django_settings

from content.models import Batch, Context
from knowledge.models import KnowledgeCollection, SyncHistory
from requestdesk import embedded
from requestdesk.queueing import QUEUE_DOWN
from scraping.models import ScrapeJob
from scraping.services import jobs
from tenants.services import create_api_key
from tests.fakes.openai import FakeOpenAI, section_answer
from tests.support.celery_worker import ROOT, wait_until
from tests.support.content import article_setup
from tests.support.knowledge import knowledge_settings, make_agent, make_collection  # noqa: F401
from tests.support.scraping import make_project, make_target, system_presets  # noqa: F401


@pytest.fixture
def redis_server(tmp_path):
    port = embedded.free_port()
    server = {"proc": embedded.start_redis(port, log_path=tmp_path / "redis.log"), "port": port}

    def restart():
        server["proc"] = embedded.start_redis(port, log_path=tmp_path / "redis.log")

    server["restart"] = restart
    yield server
    server["proc"].stop()


@pytest.fixture
def api_server(redis_server, tmp_path):
    port = embedded.free_port()
    env = {
        **os.environ,
        "MONGODB_NAME": django_settings.DATABASES["default"]["NAME"],
        "REDIS_URL": redis_server["proc"].url,
        "FIELD_ENCRYPTION_KEY": django_settings.FIELD_ENCRYPTION_KEY,
    }
    log = open(tmp_path / "gunicorn.log", "w+")
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "requestdesk.wsgi", "-b", f"127.0.0.1:{port}", "-w", "1", "--timeout", "60"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"

    def up():
        try:
            return httpx.get(f"{base}/health/", timeout=2).status_code == 200
        except httpx.HTTPError:
            return proc.poll() is not None

    try:
        assert wait_until(up, timeout=60) and proc.poll() is None, (tmp_path / "gunicorn.log").read_text()[-3000:]
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_redis_down_reads_work_queued_writes_503_and_nothing_half_done(
    world, site, fake_apis, redis_server, api_server
):
    admin = world.user("a", "company_admin")
    _, raw = create_api_key(user=admin, company=world.a, name="fault test")
    http = httpx.Client(base_url=api_server + "/api/v1", headers={"X-API-Key": raw}, timeout=30)

    project = make_project(world.a)
    make_target(project, site.url("/feed.xml"))
    llm = FakeOpenAI(reply=section_answer)
    setup = article_setup(world.a, llm)
    collection = make_collection(world.a, source_type="wordpress", agent=make_agent(world.a, url=fake_apis.url))
    batch_body = {"pipeline": str(setup.pipeline.pk), "contexts": [{"data": {"title": "Outage"}}]}
    context_body = {"pipeline": str(setup.pipeline.pk), "data": {"title": "Outage"}}
    reads = ["/scraping/projects/", "/content/pipelines/", "/knowledge/collections/", "/users/"]
    try:
        assert [http.get(path).status_code for path in reads] == [200] * len(reads)
        redis_server["proc"].stop()
        assert not embedded.redis_ping(redis_server["proc"].url)

        # Reads keep working, with the same data.
        answers = {path: http.get(path) for path in reads}
        assert {path: r.status_code for path, r in answers.items()} == {path: 200 for path in reads}
        assert [p["id"] for p in answers["/scraping/projects/"].json()["results"]] == [str(project.pk)]
        assert answers["/users/"].json()["count"] == 5

        # Health says which part is down.
        health = httpx.get(api_server + "/health/db/", timeout=30)
        assert health.status_code == 503
        assert health.json()["redis"]["status"] == "down" and health.json()["mongodb"]["status"] == "up"

        # Writes that need the queue: 503 JSON with the reason, nothing half-done.
        started = time.monotonic()
        run = http.post(f"/scraping/projects/{project.pk}/run/")
        batch = http.post("/content/batches/", json=batch_body)
        context = http.post("/content/contexts/", json=context_body)
        synced = http.post(f"/knowledge/collections/{collection.pk}/sync/")
        took = time.monotonic() - started
        for response in (run, batch, context, synced):
            assert response.status_code == 503, response.text
            assert response.headers["Content-Type"].startswith("application/json")
            assert response.json()["code"] == "queue_unavailable" and response.json()["detail"]
        assert run.json()["detail"] == jobs.QUEUE_DOWN and batch.json()["detail"] == QUEUE_DOWN

        job = ScrapeJob.objects.get(pk=run.json()["job"]["id"])
        assert (job.status, job.error, job.lease_until) == (ScrapeJob.FAILED, jobs.QUEUE_DOWN, None)
        assert ScrapeJob.objects.filter(project=project).count() == 1
        assert Batch.objects.count() == 0 and Context.objects.count() == 0
        history = SyncHistory.objects.get(pk=synced.json()["sync_history"]["id"])
        assert history.status == SyncHistory.FAILED and "broker is unavailable" in history.error_message
        assert KnowledgeCollection.objects.get(pk=collection.pk).sync_lock_id == ""
        # A bad request is still a 400 (validation comes before the queue).
        assert http.post("/content/batches/", json={"contexts": []}).status_code == 400

        # Redis back on the same port: the same writes are accepted.
        redis_server["restart"]()
        assert http.post(f"/scraping/projects/{project.pk}/run/").status_code == 202
        assert http.post("/content/batches/", json=batch_body).status_code == 202
        assert Batch.objects.count() == 1 and Context.objects.count() == 1
        assert httpx.get(api_server + "/health/db/", timeout=30).status_code == 200
        print(
            f"\nFIGURES redis down: {len(reads)}/{len(reads)} reads 200, 4/4 queued writes 503 "
            f"(in {took:.2f}s together), 0 batches/contexts stored, 1 job + 1 sync history marked failed "
            f"with the reason, /health/db/ 503 redis down; after restart 202 again"
        )
    finally:
        llm.stop()
        http.close()

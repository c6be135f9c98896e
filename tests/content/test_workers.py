"""The worker registry: every process that runs tasks heartbeats into Redis (host, pid,
queues, pool, start, last heartbeat, tasks done and failed, current task); one that stops
heartbeating shows as stale, then its entry expires and is pruned; a warm shutdown removes
it at once. GET /api/v1/content/workers/ and the admin page list them for superadmins only.
The `slow` tests run real Celery workers (solo and prefork) against the test Redis."""

import re
import signal

import pytest

from content.services import workers
from requestdesk.celery import app
from tenants import services
from tenants.models import ApiKey
from tests.support.celery_worker import wait_until

URL = "/api/v1/content/workers/"


@pytest.fixture
def registry(settings):
    """A clean registry in the test Redis, and quick timings."""
    settings.CONTENT_WORKER_HEARTBEAT_SECONDS = 1
    settings.CONTENT_WORKER_STALE_SECONDS = 3
    settings.CONTENT_WORKER_EXPIRE_SECONDS = 6
    connection = workers.client()
    for worker_id in connection.zrange(workers.INDEX, 0, -1):
        connection.delete(workers.KEY.format(worker_id))
    connection.delete(workers.INDEX)
    return connection


def _state(host="w1@box", pid=4242):
    return workers.ProcessState(host=host, queues=["celery"], pool="solo", pid=pid)


def test_a_registration_reports_tasks_goes_stale_and_is_pruned(registry):
    registration = workers.Registration(_state(), connection=registry)
    assert registration.beat()
    [entry] = workers.live(connection=registry)
    assert (entry["worker_id"], entry["host"], entry["pid"], entry["queues"], entry["status"]) == (
        "w1@box:4242",
        "w1@box",
        4242,
        ["celery"],
        "idle",
    )

    registration.task_started(task_id="t1", name="content.tasks.process_context", args=["abc"])
    [entry] = workers.live(connection=registry)
    assert entry["status"] == "busy" and entry["processing_count"] == 1
    assert entry["current_task"]["name"] == "content.tasks.process_context" and entry["current_task"]["args"] == ["abc"]
    registration.task_finished(failed=False)
    registration.task_started(task_id="t2", name="x", args=[])
    registration.task_finished(failed=True)
    [entry] = workers.live(connection=registry)
    assert (entry["tasks_done"], entry["tasks_failed"], entry["current_task"], entry["status"]) == (1, 1, None, "idle")
    assert 0 < registry.ttl(workers.KEY.format("w1@box:4242")) <= 6

    later = entry["last_heartbeat"] + 4  # past CONTENT_WORKER_STALE_SECONDS without a heartbeat
    assert workers.live(connection=registry, now=later)[0]["status"] == "stale"
    registry.delete(workers.KEY.format("w1@box:4242"))  # what the expiry does
    assert workers.live(connection=registry) == [] and registry.zcard(workers.INDEX) == 0


def test_stop_removes_the_entry(registry):
    registration = workers.Registration(_state(), connection=registry).start()
    assert len(workers.live(connection=registry)) == 1
    registration.stop()
    assert workers.live(connection=registry) == []


@pytest.mark.django_db
def test_only_superadmins_see_workers(api, world, registry):
    registration = workers.Registration(_state(), connection=registry)
    registration.beat()
    listed = api.as_user(world.user("a", "superadmin")).get(URL)
    assert listed.status_code == 200, listed.content
    [entry] = listed.json()
    assert entry["worker_id"] == "w1@box:4242" and entry["status"] == "idle" and entry["queues"] == ["celery"]
    for role in ("company_admin", "content_manager", "client"):
        assert api.as_user(world.user("a", role)).get(URL).status_code == 403, role
    _, raw_key = services.create_api_key(
        user=world.user("a", "company_admin"), company=world.a, name="k", permissions=[ApiKey.READ]
    )
    api.force_authenticate(None)
    api.credentials(HTTP_X_API_KEY=raw_key)
    assert api.get(URL).status_code == 403
    api.credentials()
    assert api.get(URL).status_code in (401, 403)


@pytest.mark.django_db
def test_the_admin_workers_page(client, world, registry):
    workers.Registration(_state(), connection=registry).beat()
    client.force_login(world.user("a", "superadmin"))
    page = client.get("/admin/content/context/workers/").content.decode()
    assert "w1@box:4242" in page and 'class="worker-idle"' in page
    assert 'href="/admin/content/context/workers/"' in client.get("/admin/").content.decode()
    client.force_login(world.user("a", "company_admin"))
    assert client.get("/admin/content/context/workers/").status_code == 403


def _entries(prefix: str) -> list[dict]:
    return [w for w in workers.live() if w["host"].startswith(prefix)]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_registers_counts_its_tasks_and_is_pruned_after_a_kill(celery_worker, registry, api, world):
    timings = {
        "CONTENT_WORKER_HEARTBEAT_SECONDS": "1",
        "CONTENT_WORKER_STALE_SECONDS": "3",
        "CONTENT_WORKER_EXPIRE_SECONDS": "6",
    }
    worker = celery_worker("registry", env=timings)
    assert wait_until(lambda: _entries("registry-"), timeout=60), worker.log()
    [entry] = _entries("registry-")
    assert entry["pid"] == worker.pid and entry["pool"] == "solo" and entry["queues"] == ["celery"]
    assert re.fullmatch(r"registry-[0-9a-f]{8}@.+", entry["host"]) and entry["status"] == "idle"

    app.send_task("content.tasks.process_context", args=["0" * 24])  # no such context: done, nothing run
    app.send_task("content.tasks.process_pending", args=["not a number"])  # raises: a failed task
    assert wait_until(
        lambda: (_entries("registry-")[0]["tasks_done"], _entries("registry-")[0]["tasks_failed"]) == (1, 1), timeout=60
    ), worker.log()
    first = _entries("registry-")[0]["last_heartbeat"]
    assert wait_until(lambda: _entries("registry-")[0]["last_heartbeat"] > first, timeout=10)  # it beats on its own
    [listed] = [
        w for w in api.as_user(world.user("a", "superadmin")).get(URL).json() if w["host"].startswith("registry-")
    ]
    assert listed["tasks_done"] == 1 and listed["tasks_failed"] == 1

    worker.kill(signal.SIGKILL)  # no shutdown: the entry stays, goes stale, then expires
    assert wait_until(lambda: _entries("registry-") and _entries("registry-")[0]["status"] == "stale", timeout=20), (
        worker.log()
    )
    assert wait_until(lambda: not _entries("registry-"), timeout=20)
    assert registry.zscore(workers.INDEX, entry["worker_id"]) is None  # pruned from the index too


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_each_prefork_child_registers_and_a_warm_stop_removes_them(celery_worker, registry):
    worker = celery_worker(
        "forked",
        pool="prefork",
        concurrency=2,
        queues=["celery", "content"],
        env={"CONTENT_WORKER_HEARTBEAT_SECONDS": "1"},
    )
    assert wait_until(lambda: len(_entries("forked-")) == 2, timeout=60), worker.log()
    children = _entries("forked-")
    assert {w["pool"] for w in children} == {"prefork"} and worker.pid not in {w["pid"] for w in children}
    assert all(w["queues"] == ["celery", "content"] for w in children)
    assert len({w["pid"] for w in children}) == 2
    worker.stop()  # (the entries would expire after the default 60 s; the shutdown removes them)
    assert wait_until(lambda: not _entries("forked-"), timeout=15), worker.log()

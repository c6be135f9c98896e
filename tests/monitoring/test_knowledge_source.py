"""A knowledge collection sourced from a scraping project: its results become chunks (URL,
date, platform and sentiment in the metadata) by the knowledge sync; later syncs read only
what is new or changed and drop the removed results; the project is checked against the
company in the API and the admin; a completed scrape queues the sync (run by a real Celery
worker); and a chat answer cites the results' URLs."""

from datetime import UTC, datetime

import pytest
from django.utils import timezone

from knowledge import tasks
from knowledge.models import KnowledgeChunk, KnowledgeCollection, Message, SyncHistory
from knowledge.services import sync
from scraping.models import Result
from scraping.services import ingest as scraping_ingest
from scraping.services import jobs
from scraping.services.items import Item
from tests.support.celery_worker import wait_until
from tests.support.knowledge import TEST_KEY, knowledge_settings, make_agent, make_collection, make_provider, queued
from tests.support.scraping import fast_scraping, make_project, make_target, system_presets

REVIEWS = [
    ("Kettle boils fast", "I love this kettle. It boils water fast and looks great.", "https://shop.example/r/1"),
    (
        "Lid broke",
        "Terrible kettle. The lid broke after a week and support never answered.",
        "https://shop.example/r/2",
    ),
    ("Fine kettle", "The kettle holds 1.7 litres and has a blue light.", "https://shop.example/r/3"),
]


def _items(rows) -> list[Item]:
    return [
        Item(title=title, text=text, url=url, date=datetime(2026, 11, 20 + n, 9, 0, tzinfo=UTC))
        for n, (title, text, url) in enumerate(rows)
    ]


@pytest.fixture
def setup(world, fake_apis, site):
    provider = make_provider(world.a, url=fake_apis.url)
    project = make_project(world.a, name="Kettle reviews")
    target = make_target(project, site.url("/feed.xml"))
    scraping_ingest.ingest(target=target, items=_items(REVIEWS), platform="feed")
    collection = make_collection(
        world.a, source_type="scraping", provider=provider, settings={"project_id": str(project.pk)}
    )
    return provider, project, target, collection


def _sync(collection) -> SyncHistory:
    history_id = tasks.sync_collection(collection_id=str(collection.pk), trigger="api")
    history = SyncHistory.objects.get(pk=history_id)
    assert history.status == "completed", history.error_message
    return history


def _chunks(collection) -> dict[str, list[KnowledgeChunk]]:
    found: dict[str, list[KnowledgeChunk]] = {}
    for chunk in KnowledgeChunk.objects.filter(collection=collection).order_by("source_id", "chunk_index"):
        found.setdefault(chunk.source_id, []).append(chunk)
    return found


def _counts(history) -> tuple:
    return (
        history.items_synced,
        history.items_unchanged,
        history.items_removed,
        history.chunks_added,
        history.chunks_removed,
    )


def test_results_sync_into_chunks_then_only_changes_move(setup, fake_apis, settings):
    settings.MONITORING_SYNC_OVERLAP_SECONDS = 0
    _, project, target, collection = setup
    results = {r.content.url: r for r in Result.objects.filter(project=project)}

    first = _sync(collection)
    assert first.sync_type == "scraping" and _counts(first)[:3] == (3, 0, 0)
    before = _chunks(collection)
    assert set(before) == {f"result:{r.pk}" for r in results.values()}
    broken = results["https://shop.example/r/2"]
    [chunk] = before[f"result:{broken.pk}"]
    assert chunk.url == "https://shop.example/r/2" and chunk.title == "Lid broke"
    meta = chunk.metadata
    assert (meta["result_id"], meta["project_id"], meta["platform"]) == (str(broken.pk), str(project.pk), "feed")
    assert meta["published_at"] == "2026-11-21T09:00:00+00:00"
    assert (meta["sentiment"], meta["compound"]) == (broken.sentiment.label, broken.sentiment.compound)
    assert broken.sentiment.label == "negative" and meta["compound"] < 0
    assert chunk.content.startswith("Lid broke\n\nfeed · 2026-11-21 · negative sentiment (")
    assert "The lid broke after a week" in chunk.content
    collection.refresh_from_db()
    assert collection.chunk_count == 3 and collection.sync_cursor

    # Nothing new: nothing read, nothing embedded.
    fake_apis.embedded.clear()
    again = _sync(collection)
    assert _counts(again) == (0, 0, 0, 0, 0) and fake_apis.embedded == []

    # One result changed in place, one new, one deleted for good (as the purge's cascade does).
    changed = [("Lid broke", "Update: the seller replaced the lid and the kettle is great now.", REVIEWS[1][2])]
    scraping_ingest.ingest(target=target, items=_items(changed), platform="feed")
    added = [("Whistle", "The whistle is loud and annoying.", "https://shop.example/r/4")]
    scraping_ingest.ingest(target=target, items=_items(added), platform="feed")
    gone = results["https://shop.example/r/3"]
    Result.objects.filter(pk=gone.pk).delete()
    third = _sync(collection)
    assert _counts(third) == (2, 0, 1, 2, 2)
    after = _chunks(collection)
    new = Result.objects.get(content__url="https://shop.example/r/4")
    assert set(after) == {f"result:{broken.pk}", f"result:{new.pk}", f"result:{results['https://shop.example/r/1'].pk}"}
    assert "replaced the lid" in after[f"result:{broken.pk}"][0].content
    kept = f"result:{results['https://shop.example/r/1'].pk}"
    assert [c.pk for c in after[kept]] == [c.pk for c in before[kept]]  # untouched: the very same document
    assert sorted(fake_apis.embedded) == sorted(c.content for key in after if key != kept for c in after[key])
    collection.refresh_from_db()
    assert collection.chunk_count == 3


def test_changed_settings_read_the_project_whole(setup, world, settings):
    settings.MONITORING_SYNC_OVERLAP_SECONDS = 0
    provider, project, target, collection = setup
    _sync(collection)
    other = make_project(world.a, name="Other")
    other_target = make_target(other, target.url + "?other")
    scraping_ingest.ingest(target=other_target, items=_items(REVIEWS[:1]), platform="feed")
    collection.settings = {"project_id": str(other.pk)}
    collection.save()
    switched = _sync(collection)
    assert (switched.items_synced, switched.items_removed) == (1, 3)
    [only] = Result.objects.filter(project=other)
    assert set(_chunks(collection)) == {f"result:{only.pk}"}


def test_platforms_filter_the_results(setup, settings):
    _, project, target, collection = setup
    collection.settings = {"project_id": str(project.pk), "platforms": ["reviews"]}
    collection.save()
    history = _sync(collection)
    assert history.items_synced == 0 and _chunks(collection) == {}


def test_the_project_is_checked_against_the_company(setup, world, manager, queued):
    _, project, _, _ = setup
    foreign = make_project(world.b, name="B's project")
    url = "/api/v1/knowledge/collections/"
    for value in (str(foreign.pk), "0123456789abcdef01234567", "not-an-id"):
        response = manager.post(
            url, {"name": "Voices", "source_type": "scraping", "settings": {"project_id": value}}, format="json"
        )
        assert response.status_code == 400, response.content
        assert response.json()["settings"] == {"project_id": ["No such scraping project."]}  # one answer for all
    missing = manager.post(url, {"name": "Voices", "source_type": "scraping"}, format="json")
    assert missing.status_code == 400 and "project_id" in missing.json()["settings"]
    bad_platform = manager.post(
        url,
        {"name": "Voices", "source_type": "scraping", "settings": {"project_id": str(project.pk), "platforms": ["x"]}},
        format="json",
    )
    assert bad_platform.status_code == 400 and "platforms" in bad_platform.json()["settings"]

    created = manager.post(
        url, {"name": "Voices", "source_type": "scraping", "settings": {"project_id": str(project.pk)}}, format="json"
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["settings"]["project_id"] == str(project.pk)
    moved = manager.patch(f"{url}{body['id']}/", {"settings": {"project_id": str(foreign.pk)}}, format="json")
    assert moved.status_code == 400 and moved.json()["settings"] == {"project_id": ["No such scraping project."]}
    assert KnowledgeCollection.objects.get(pk=body["id"]).settings["project_id"] == str(project.pk)

    synced = manager.post(f"{url}{body['id']}/sync/")
    assert synced.status_code == 202, synced.content
    assert synced.json()["sync_type"] == "scraping" and len(queued) == 1


def test_the_admin_checks_the_project_too(setup, world, client):
    foreign = make_project(world.b, name="B's project")
    client.force_login(world.user("a", "company_admin"))
    data = {
        "name": "Voices",
        "description": "",
        "source_type": "scraping",
        "embedding_model": "all-MiniLM-L6-v2",
        "chunk_size": "800",
        "chunk_overlap": "100",
        "project_id": str(foreign.pk),
    }
    refused = client.post("/admin/knowledge/knowledgecollection/add/", data)
    assert refused.status_code == 200 and "No such scraping project." in refused.content.decode()
    assert not KnowledgeCollection.objects.filter(name="Voices").exists()
    _, project, _, _ = setup
    saved = client.post("/admin/knowledge/knowledgecollection/add/", {**data, "project_id": str(project.pk)})
    assert saved.status_code == 302, saved.content.decode()[:2000]
    collection = KnowledgeCollection.objects.get(name="Voices")
    assert collection.company_id == world.a.pk and collection.settings["project_id"] == str(project.pk)


@pytest.mark.slow
def test_a_completed_scrape_queues_the_sync_a_worker_runs(world, fake_apis, site, celery_worker):
    provider = make_provider(world.a, url=fake_apis.url)
    project = make_project(world.a, name="Coffee")
    target = make_target(project, site.url("/feed.xml"))
    target.options.follow_links = False
    target.save()
    collection = make_collection(
        world.a, source_type="scraping", provider=provider, settings={"project_id": str(project.pk)}
    )
    bystander = make_collection(
        world.a,
        name="another project's",
        source_type="scraping",
        provider=provider,
        settings={"project_id": str(make_project(world.a, name="Tea").pk)},
    )
    worker = celery_worker("knowledge", env={"FIELD_ENCRYPTION_KEY": TEST_KEY})

    job = jobs.run_job(job_id=jobs.create_job(project=project).pk)
    assert job.status == "completed" and job.results_created == 3
    [history] = SyncHistory.objects.filter(collection=collection)
    assert history.trigger == "scrape"
    assert not SyncHistory.objects.filter(collection=bystander).exists()

    def finished():
        history.refresh_from_db()
        return history.status in ("completed", "failed") or not worker.alive()

    wait_until(finished, timeout=60)
    assert history.status == "completed", f"{history.status} {history.error_message}\n{worker.log()}"
    urls = {chunk.url for chunk in KnowledgeChunk.objects.filter(collection=collection)}
    assert urls == {
        "https://example.org/posts/espresso",
        "https://example.org/posts/recall",
        "https://example.org/posts/hours",
    }


def test_a_scrape_sync_waits_for_a_running_one(setup, queued):
    _, project, _, collection = setup
    running = sync.request_sync(collection=collection, trigger="api")
    sync._claim(collection, running, running.created_at)  # a live run holds the lease
    queued.clear()
    history = sync.request_sync(collection=collection, trigger="scrape")
    sync.run_sync(collection_id=collection.pk, history_id=history.pk)
    history.refresh_from_db()
    assert history.status == "pending" and queued[-1]["countdown"] == sync.BUSY_RETRY_SECONDS


def test_a_chat_answer_cites_the_results_urls(setup, world, api, fake_apis):
    provider, project, _, collection = setup
    _sync(collection)
    agent = make_agent(world.a, provider=provider, collections=[collection])
    client = api.as_user(world.user("a", "client"))
    conversation = client.post("/api/v1/knowledge/conversations/", {"agent": str(agent.pk)}, format="json")
    assert conversation.status_code == 201, conversation.content
    answer = client.post(
        f"/api/v1/knowledge/conversations/{conversation.json()['id']}/messages/",
        {"content": "What do customers say about the kettle lid?"},
        format="json",
    )
    assert answer.status_code == 201, answer.content
    stored = Message.objects.get(pk=answer.json()["message"]["id"])
    cited = {c.url for c in stored.metadata.citations}
    assert "https://shop.example/r/2" in cited and cited <= {url for _, _, url in REVIEWS}
    assert all(c.source_type == "scraping" for c in stored.metadata.citations)
    system = fake_apis.chats[0]["messages"][0]["content"]
    assert "Lid broke (https://shop.example/r/2)" in system and "negative sentiment" in system


def test_new_and_changed_results_are_read_by_a_bounded_range(setup, world):
    """The sync's two reads, as the server plans them: each on its index, examining only the
    results new (or changed) since the moment given, not the project's older ones."""
    from django.db import connection

    from requestdesk.db.collections import raw

    _, project, target, _ = setup
    since = timezone.now()
    fresh = [("New", "A new one.", "https://n.example/1"), (REVIEWS[0][0], "Changed text.", REVIEWS[0][2])]
    scraping_ingest.ingest(target=target, items=_items(fresh), platform="feed")
    for field, index in (
        ("created_at", "result_company_project_created"),
        ("changed_at", "result_company_project_changed"),
    ):
        query = raw(Result, company=world.a).match({"project_id": project.pk, field: {"$gte": since}})
        plan = connection.get_collection("results").find(query).explain()
        assert index in str(plan["queryPlanner"]["winningPlan"]) and "COLLSCAN" not in str(plan)
        assert plan["executionStats"]["totalDocsExamined"] == 1

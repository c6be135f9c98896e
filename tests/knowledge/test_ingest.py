"""Ingest through the API: text and uploads (txt, md, html, pdf), on-demand sync through
Celery (202, broker down 503), the sync schedule run by the beat dispatcher, and the
refusal to mix embedding dimensions."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from kombu.exceptions import OperationalError

from events.models import Schedule
from events.services import scheduling
from knowledge import tasks
from knowledge.models import KnowledgeChunk, KnowledgeCollection, SyncHistory
from knowledge.services import ingest
from knowledge.services.embeddings import DimensionMismatch
from requestdesk import soft_delete
from tests.support.knowledge import knowledge_settings, make_agent, make_collection, make_provider, minimal_pdf, wp_post  # noqa: F401


def _url(collection, suffix=""):
    return f"/api/v1/knowledge/collections/{collection.pk}/{suffix}"


def test_texts_are_added_and_replaced_by_source_id(manager, world, fake_apis):
    collection = make_collection(world.a, provider=make_provider(world.a, url=fake_apis.url))
    first = manager.post(
        _url(collection, "texts/"),
        {
            "title": "Returns",
            "text": "Return within 30 days.",
            "source_id": "policy:returns",
            "url": "https://acme.test/r",
        },
    )
    assert first.status_code == 201, first.content
    assert first.json()["status"] == "completed" and first.json()["chunks_added"] == 1
    chunk = KnowledgeChunk.objects.get(collection=collection)
    assert (chunk.source_type, chunk.source_id, chunk.metadata["url"]) == (
        "manual",
        "policy:returns",
        "https://acme.test/r",
    )
    replaced = manager.post(
        _url(collection, "texts/"),
        {
            "title": "Returns",
            "text": "Return within 60 days.",
            "source_id": "policy:returns",
            "url": "https://acme.test/r",
        },
    ).json()
    assert (replaced["chunks_added"], replaced["chunks_removed"]) == (1, 1)
    assert "60 days" in KnowledgeChunk.objects.get(collection=collection).content
    same = manager.post(
        _url(collection, "texts/"),
        {
            "title": "Returns",
            "text": "Return  within 60 days.",
            "source_id": "policy:returns",
            "url": "https://acme.test/r",
        },
    ).json()
    assert (same["items_unchanged"], same["chunks_added"]) == (1, 0)  # whitespace only: not re-embedded
    sources = manager.get(_url(collection, "sources/")).json()
    assert sources == [{"source_id": "policy:returns", "title": "Returns", "url": "https://acme.test/r", "chunks": 1}]
    assert manager.delete(_url(collection, "sources/?source_id=policy:returns")).json() == {"chunks_removed": 1}
    assert manager.delete(_url(collection, "sources/?source_id=policy:returns")).status_code == 404
    collection.refresh_from_db()
    assert collection.chunk_count == 0


def test_uploads_of_every_supported_type(manager, world, fake_apis, queued):
    collection = make_collection(world.a, source_type="upload", provider=make_provider(world.a, url=fake_apis.url))
    files = {
        "notes.txt": b"Plain notes about tents.",
        "guide.md": b"# Guide\n\nPitch the tent upwind.",
        "page.html": b"<html><body><h1>Stoves</h1><p>Use gas stoves outside.</p></body></html>",
        "manual.pdf": minimal_pdf("Warranty covers two years."),
    }
    for name, data in files.items():
        response = manager.post(
            _url(collection, "upload/"), {"file": SimpleUploadedFile(name, data)}, format="multipart"
        )
        assert response.status_code == 202, (name, response.content)  # read and embedded by a worker
    for call in queued:
        tasks.sync_collection(**call["kwargs"])
    chunks = {c.source_id: c for c in KnowledgeChunk.objects.filter(collection=collection)}
    assert set(chunks) == {f"upload:{name}" for name in files}
    assert "Use gas stoves outside." in chunks["upload:page.html"].content
    assert "Warranty covers two years." in chunks["upload:manual.pdf"].content
    assert chunks["upload:manual.pdf"].source_type == "upload"
    assert chunks["upload:manual.pdf"].metadata["filename"] == "manual.pdf"


def test_bad_input_is_400_and_stores_nothing(manager, world, fake_apis, settings):
    collection = make_collection(world.a, provider=make_provider(world.a, url=fake_apis.url))
    assert manager.post(_url(collection, "texts/"), {"title": "x"}).json() == {"text": ["This field is required."]}
    bad = manager.post(_url(collection, "upload/"), {"file": SimpleUploadedFile("x.exe", b"MZ")}, format="multipart")
    assert bad.status_code == 400 and "not supported" in bad.json()["file"][0]
    settings.KNOWLEDGE_UPLOAD_MAX_BYTES = 10
    big = manager.post(
        _url(collection, "upload/"), {"file": SimpleUploadedFile("a.txt", b"x" * 11)}, format="multipart"
    )
    assert big.status_code == 400 and "larger than" in big.json()["file"][0]
    created = manager.post(
        "/api/v1/knowledge/collections/",
        {"name": "", "source_type": "ftp", "settings": {"chunk_size": 5, "chunk_overlap": -1}},
    )
    assert created.status_code == 400
    assert set(created.json()) == {"name", "source_type", "settings"}
    assert set(created.json()["settings"]) == {"chunk_size", "chunk_overlap"}
    wordpress = make_collection(world.a, source_type="wordpress")
    refused = manager.post(_url(wordpress, "texts/"), {"text": "hello"})
    assert refused.status_code == 400 and "filled by its sync" in refused.json()["detail"]
    assert KnowledgeChunk.objects.count() == 0 and SyncHistory.objects.count() == 0
    assert KnowledgeCollection.objects.count() == 2


def test_on_demand_sync_is_queued_and_run_by_the_task(manager, world, fake_apis, queued):
    fake_apis.wp["posts"] = [wp_post(1, "Hello", "<p>Hello world.</p>")]
    provider = make_provider(world.a, url=fake_apis.url)
    collection = make_collection(
        world.a,
        source_type="wordpress",
        provider=provider,
        agent=make_agent(world.a, url=fake_apis.url, provider=provider),
    )
    response = manager.post(_url(collection, "sync/"))
    assert response.status_code == 202, response.content
    assert response.json()["status"] == "pending"
    assert queued == [{"kwargs": {"collection_id": str(collection.pk), "history_id": response.json()["id"]}}]
    tasks.sync_collection(**queued[0]["kwargs"])
    history = manager.get(f"/api/v1/knowledge/sync-history/{response.json()['id']}/").json()
    assert (history["status"], history["items_synced"], history["trigger"]) == ("completed", 1, "api")
    assert len(manager.get(_url(collection, "history/")).json()["results"]) == 1
    manual = make_collection(world.a)
    assert manager.post(_url(manual, "sync/")).status_code == 400
    unlinked = make_collection(world.a, source_type="shopify")
    refused = manager.post(_url(unlinked, "sync/"))
    assert refused.status_code == 400 and "Link this collection" in refused.json()["detail"]
    assert len(queued) == 1


def test_broker_down_is_503_and_the_history_says_why(manager, world, fake_apis, monkeypatch):
    def down(**kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:1. Connection refused.")

    monkeypatch.setattr(tasks.sync_collection, "apply_async", down)
    collection = make_collection(world.a, source_type="wordpress", agent=make_agent(world.a, url=fake_apis.url))
    response = manager.post(_url(collection, "sync/"))
    assert response.status_code == 503
    assert "broker is unavailable" in response.json()["detail"]
    history = SyncHistory.objects.get(pk=response.json()["sync_history"]["id"])
    assert history.status == "failed" and "broker is unavailable" in history.error_message


def test_schedule_runs_through_the_dispatcher(manager, world, fake_apis):
    fake_apis.wp["posts"] = [wp_post(1, "Hello", "<p>Hello world.</p>")]
    provider = make_provider(world.a, url=fake_apis.url)
    collection = make_collection(
        world.a,
        source_type="wordpress",
        provider=provider,
        agent=make_agent(world.a, url=fake_apis.url, provider=provider),
    )
    assert manager.get(_url(collection, "schedule/")).status_code == 404
    assert manager.put(_url(collection, "schedule/"), {"interval_seconds": 10}).status_code == 400
    saved = manager.put(_url(collection, "schedule/"), {"interval_seconds": 3600})
    assert saved.status_code == 200 and saved.json()["interval_seconds"] == 3600
    schedule = Schedule.objects.get(subject_id=str(collection.pk))
    assert schedule.task == "knowledge.tasks.sync_collection" and schedule.company_id == world.a.pk
    assert scheduling.known_task(schedule.task)

    sent = []
    ran = scheduling.dispatch_due(now=timezone.now() + timedelta(hours=1, seconds=1), send=sent.append)
    assert ran == sent and [s.pk for s in sent] == [schedule.pk]
    assert scheduling.dispatch_due(now=timezone.now() + timedelta(hours=1, seconds=1), send=sent.append) == []
    tasks.sync_collection(**sent[0].kwargs)
    history = SyncHistory.objects.get(collection=collection)
    assert (history.trigger, history.status, history.items_synced) == ("schedule", "completed", 1)
    assert manager.get(_url(collection, "schedule/")).json()["run_count"] == 1
    assert manager.delete(_url(collection, "schedule/")).status_code == 204
    assert not Schedule.objects.filter(subject_id=str(collection.pk)).exists()
    manual = make_collection(world.a)
    assert manager.put(_url(manual, "schedule/"), {"interval_seconds": 3600}).status_code == 400


def test_a_collections_schedule_is_purged_with_it(manager, world, fake_apis):
    collection = make_collection(world.a, source_type="wordpress", agent=make_agent(world.a, url=fake_apis.url))
    assert manager.put(_url(collection, "schedule/"), {"interval_seconds": 3600}).status_code == 200
    schedule = Schedule.objects.get(subject_id=str(collection.pk))
    assert manager.delete(_url(collection)).status_code == 204
    # Soft-deleted: the schedule stays for a restore but syncs nothing; the purge takes it.
    assert Schedule.objects.filter(pk=schedule.pk).exists()
    assert tasks.sync_collection(**schedule.kwargs) is None and not SyncHistory.objects.exists()
    soft_delete.purge(now=timezone.now() + timedelta(days=settings.SOFT_DELETE_RETENTION_DAYS + 1))
    assert not KnowledgeCollection.all_objects.filter(pk=collection.pk).exists()
    assert not Schedule.objects.filter(pk=schedule.pk).exists()


def test_mixing_dimensions_is_refused(manager, world, fake_apis):
    provider = make_provider(world.a, url=fake_apis.url)
    collection = make_collection(world.a, provider=provider)
    KnowledgeCollection.objects.filter(pk=collection.pk).update(embedding_dimensions=384)
    collection.refresh_from_db()
    with pytest.raises(DimensionMismatch, match="384-dimensional"):
        ingest.ingest_items(
            collection=collection,
            items=[ingest.text_item(title="t", text="some text")],
            source_type="manual",
            full=False,
        )
    response = manager.post(_url(collection, "texts/"), {"text": "some text"})
    assert response.status_code == 400 and "Mixing dimensions is refused" in response.json()["detail"]
    assert KnowledgeChunk.objects.count() == 0

    filled = make_collection(world.a, provider=provider, name="filled")
    assert manager.post(_url(filled, "texts/"), {"text": "some text"}).status_code == 201
    change = manager.patch(_url(filled), {"embedding_provider": None}, format="json")
    assert change.status_code == 400 and "mixing models is refused" in change.json()["embedding_model"][0]
    filled.refresh_from_db()
    assert filled.embedding_provider_id == provider.pk and filled.embedding_dimensions == 64

"""Uploads as background jobs: the request
answers 202 with the upload's history, a worker reads, chunks and embeds the file under the
collection's one lease, the text is capped as `/texts/` caps it, and the lost-sync recovery
leaves a running upload alone and re-runs a lost one as an upload."""

import threading
import time
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from events.models import WebhookDelivery
from events.services import webhooks
from knowledge import tasks
from knowledge.models import (
    KnowledgeChunk,
    KnowledgeCollection,
    PendingUpload,
    SyncHistory,
)
from knowledge.services import extract, sync
from tests.support.knowledge import knowledge_settings, make_collection, make_provider, minimal_pdf, pdf_with_content  # noqa: F401


@pytest.fixture
def collection(world, fake_apis):
    return make_collection(world.a, source_type="upload", provider=make_provider(world.a, url=fake_apis.url))


def _upload(manager, collection, name, data):
    return manager.post(
        f"/api/v1/knowledge/collections/{collection.pk}/upload/",
        {"file": SimpleUploadedFile(name, data)},
        format="multipart",
    )


def _history(manager, pk):
    return manager.get(f"/api/v1/knowledge/sync-history/{pk}/").json()


# --- hole 4: uploads are background jobs with a capped text ----------------------------


def test_hole4_upload_answers_202_and_a_worker_ingests_it(manager, collection, queued):
    response = _upload(manager, collection, "guide.md", b"# Guide\n\nPitch the tent upwind.")
    assert response.status_code == 202, response.content
    body = response.json()
    assert (body["status"], body["sync_type"], body["items_synced"]) == ("pending", "upload", 0)
    assert queued == [{"kwargs": {"collection_id": str(collection.pk), "history_id": body["id"]}}]
    assert KnowledgeChunk.objects.count() == 0 and PendingUpload.objects.count() == 1

    tasks.sync_collection(**queued[0]["kwargs"])

    done = _history(manager, body["id"])
    assert (done["status"], done["items_synced"], done["error_message"]) == ("completed", 1, "")
    [chunk] = KnowledgeChunk.objects.filter(collection=collection)
    assert chunk.source_id == "upload:guide.md" and "Pitch the tent upwind." in chunk.content
    assert chunk.metadata["filename"] == "guide.md"
    assert PendingUpload.objects.count() == 0  # the staged bytes go once read
    assert KnowledgeCollection.objects.get(pk=collection.pk).last_synced_at is not None


def test_hole4_text_beyond_the_cap_fails_the_job_with_a_message(manager, collection, queued, monkeypatch):
    monkeypatch.setattr(extract, "MAX_TEXT_CHARS", 5_000)
    small_pdf = pdf_with_content(b"BT /F1 12 Tf 20 100 Td (" + b"tent " * 3_000 + b") Tj ET", flate=True)
    assert len(small_pdf) < 1_000  # inflates to 15 KB of text
    for name, data in [("long.md", b"word " * 2_000), ("inflating.pdf", small_pdf)]:
        queued.clear()
        response = _upload(manager, collection, name, data)
        assert response.status_code == 202, response.content
        tasks.sync_collection(**queued[0]["kwargs"])
        history = _history(manager, response.json()["id"])
        assert history["status"] == "failed"
        assert "longer than 5000 characters" in history["error_message"]
    assert KnowledgeChunk.objects.count() == 0 and PendingUpload.objects.count() == 0


def test_hole4_texts_endpoint_has_the_same_cap(manager, collection):
    assert extract.MAX_TEXT_CHARS == 2_000_000
    response = manager.post(
        f"/api/v1/knowledge/collections/{collection.pk}/texts/",
        {"text": "x" * (extract.MAX_TEXT_CHARS + 1)},
        format="json",
    )
    assert response.status_code == 400 and "text" in response.json()


def test_hole4_refusals_known_at_once_are_400_and_queue_nothing(manager, world, collection, queued):
    bad = _upload(manager, collection, "tool.exe", b"MZ")
    assert bad.status_code == 400 and "not supported" in bad.json()["file"][0]
    empty = _upload(manager, collection, "empty.txt", b"  \n ")
    assert empty.status_code == 400 and "no text" in empty.json()["file"][0]
    synced = make_collection(world.a, source_type="wordpress")
    refused = _upload(manager, synced, "a.txt", b"hello")
    assert refused.status_code == 400 and "filled by its sync" in refused.json()["detail"]
    assert queued == [] and SyncHistory.objects.count() == 0 and PendingUpload.objects.count() == 0


def test_hole8_pdf_whose_stream_trips_pypdf_limit_is_a_400(manager, collection, queued):
    bomb = pdf_with_content(b" " * 80_000_000, flate=True)  # ~80 KB inflating past pypdf's 75 MB limit
    response = _upload(manager, collection, "bomb.pdf", bomb)
    assert response.status_code == 400, response.content
    assert "LimitReachedError" in response.json()["file"][0]
    assert queued == [] and SyncHistory.objects.count() == 0


def test_hole4_every_supported_type_through_the_worker(manager, collection, queued):
    files = {
        "notes.txt": b"Plain notes about tents.",
        "page.html": b"<html><body><h1>Stoves</h1><p>Use gas stoves outside.</p></body></html>",
        "manual.pdf": minimal_pdf("Warranty covers two years."),
    }
    for name, data in files.items():
        assert _upload(manager, collection, name, data).status_code == 202
    for call in queued:
        tasks.sync_collection(**call["kwargs"])
    assert set(SyncHistory.objects.values_list("status", flat=True)) == {"completed"}
    chunks = {c.source_id: c.content for c in KnowledgeChunk.objects.filter(collection=collection)}
    assert "Warranty covers two years." in chunks["upload:manual.pdf"]
    assert "Use gas stoves outside." in chunks["upload:page.html"]


# --- item 1: one lease for uploads and syncs; recovery takes only what a dead holder left ---


def test_item1_recovery_leaves_a_running_upload_alone(manager, world, collection, queued, fake_apis, caplog):
    hook = webhooks.create_webhook(company=world.a, name="all", url=f"{fake_apis.url}/hooks", events=["*"])
    fake_apis.embed_delay = 3.0  # a 3 s upload
    response = _upload(manager, collection, "slow.txt", b"A slow file about tents.")
    history_id = response.json()["id"]
    worker = threading.Thread(target=tasks.sync_collection, kwargs=queued[0]["kwargs"])
    worker.start()
    deadline = time.monotonic() + 10
    while SyncHistory.objects.get(pk=history_id).status != SyncHistory.IN_PROGRESS:
        assert time.monotonic() < deadline, "the upload never started"
        time.sleep(0.05)

    assert sync.recover_lost() == []  # in progress, its lease alive: not taken
    assert sync.recover_lost(now=timezone.now() + timedelta(seconds=5)) == []

    worker.join(timeout=30)
    assert _history(manager, history_id)["status"] == "completed"
    assert len(queued) == 1
    assert not WebhookDelivery.objects.filter(webhook_id=hook.pk, event_type="knowledge.sync.failed").exists()
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


def test_item1_a_lost_upload_is_run_again_as_an_upload(manager, collection, queued):
    response = _upload(manager, collection, "lost.txt", b"Left behind by a dead worker.")
    history_id = response.json()["id"]
    # The worker took the lease and died: the history in progress, the lease run out.
    SyncHistory.objects.filter(pk=history_id).update(status=SyncHistory.IN_PROGRESS, started_at=timezone.now())
    KnowledgeCollection.objects.filter(pk=collection.pk).update(
        sync_lock_id=history_id, sync_lock_until=timezone.now() - timedelta(seconds=1)
    )
    queued.clear()

    assert sync.recover_lost() == [history_id]
    tasks.sync_collection(**queued[0]["kwargs"])

    history = _history(manager, history_id)
    assert (history["status"], history["sync_type"], history["items_synced"]) == ("completed", "upload", 1)
    assert KnowledgeChunk.objects.get(collection=collection).source_id == "upload:lost.txt"


def test_item1_texts_added_in_their_request_are_never_requeued(world, collection, queued):
    for sync_type in ("manual", "upload"):  # /texts/ and the admin's upload: in the request, no lease
        SyncHistory.objects.create(
            company=world.a,
            collection=collection,
            sync_type=sync_type,
            trigger="upload",
            status=SyncHistory.IN_PROGRESS,
        )
    assert sync.recover_lost(now=timezone.now() + timedelta(hours=1)) == [] and queued == []


def test_item1_an_upload_waits_for_the_lease_instead_of_failing(manager, collection, queued):
    first = _upload(manager, collection, "one.txt", b"First file.").json()["id"]
    second = _upload(manager, collection, "two.txt", b"Second file.").json()["id"]
    KnowledgeCollection.objects.filter(pk=collection.pk).update(  # the first one's run holds the lease
        sync_lock_id=first, sync_lock_until=timezone.now() + timedelta(seconds=60)
    )
    queued.clear()

    tasks.sync_collection(collection_id=str(collection.pk), history_id=second)

    assert SyncHistory.objects.get(pk=second).status == SyncHistory.PENDING
    assert queued == [{"kwargs": {"collection_id": str(collection.pk), "history_id": second}, "countdown": 5}]
    KnowledgeCollection.objects.filter(pk=collection.pk).update(sync_lock_id="", sync_lock_until=None)
    tasks.sync_collection(**queued[0]["kwargs"])
    assert SyncHistory.objects.get(pk=second).status == SyncHistory.COMPLETED


def test_hole4_broker_down_is_503_and_keeps_no_staged_file(manager, collection, monkeypatch):
    from kombu.exceptions import OperationalError

    def down(**kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:1. Connection refused.")

    monkeypatch.setattr(tasks.sync_collection, "apply_async", down)
    response = _upload(manager, collection, "a.txt", b"Tents.")
    assert response.status_code == 503 and "broker is unavailable" in response.json()["detail"]
    history = SyncHistory.objects.get(pk=response.json()["sync_history"]["id"])
    assert history.status == SyncHistory.FAILED and "upload could not be queued" in history.error_message
    assert PendingUpload.objects.count() == 0

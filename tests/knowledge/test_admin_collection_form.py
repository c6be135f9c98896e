"""The knowledge collection's admin page: its settings as fields with the defaults the API
shows (not a `{}` box), checked as the API checks them; a file added from the page, staged and
queued as the API's upload is; the last sync from the history (uploads included); a link to
search it."""

import re
from html import unescape

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from knowledge import tasks
from knowledge.models import KnowledgeChunk, KnowledgeCollection, SyncHistory
from requestdesk.celery import app
from tests.support.knowledge import knowledge_settings, make_collection, make_provider  # noqa: F401


@pytest.fixture
def collection(world, fake_apis):
    return make_collection(
        world.a,
        source_type="upload",
        name="Handbook",
        settings={"keep": "me"},
        provider=make_provider(world.a, url=fake_apis.url),
    )


@pytest.fixture
def admin_client(client, world):
    client.force_login(world.user("a", "company_admin"))
    return client


def change_url(collection):
    return f"/admin/knowledge/knowledgecollection/{collection.pk}/change/"


def form_data(collection, **fields):
    return {
        "name": collection.name,
        "description": "",
        "source_type": collection.source_type,
        "embedding_provider": str(collection.embedding_provider_id),
        "embedding_model": collection.embedding_model,
        "chunk_size": "800",
        "chunk_overlap": "100",
        **fields,
    }


def value_of(page: str, name: str) -> str:
    return re.search(rf'<input[^>]*name="{name}"[^>]*value="([^"]*)"', page).group(1)


def test_settings_show_the_api_defaults_and_are_checked_like_the_api(admin_client, collection):
    page = admin_client.get(change_url(collection)).content.decode()
    assert (value_of(page, "chunk_size"), value_of(page, "chunk_overlap")) == ("800", "100")
    assert 'name="settings"' not in page

    too_wide = admin_client.post(change_url(collection), form_data(collection, chunk_size="1000", chunk_overlap="600"))
    assert too_wide.status_code == 200 and "At most half the chunk size." in too_wide.content.decode()
    too_small = admin_client.post(change_url(collection), form_data(collection, chunk_size="5"))
    assert too_small.status_code == 200 and "greater than or equal to" in unescape(too_small.content.decode())
    assert KnowledgeCollection.objects.get(pk=collection.pk).settings == {"keep": "me"}  # nothing stored

    saved = admin_client.post(
        change_url(collection), form_data(collection, chunk_size="1200", chunk_overlap="200", wordpress_types=["pages"])
    )
    assert saved.status_code == 302
    assert KnowledgeCollection.objects.get(pk=collection.pk).settings == {
        "keep": "me",
        "chunk_size": 1200,
        "chunk_overlap": 200,
        "wordpress_types": ["pages"],
    }
    page = admin_client.get(change_url(collection)).content.decode()
    assert (value_of(page, "chunk_size"), value_of(page, "chunk_overlap")) == ("1200", "200")


def test_a_file_added_from_the_page_is_queued_like_an_upload_and_is_the_last_sync(admin_client, collection, world):
    page = unescape(admin_client.get(change_url(collection)).content.decode())
    assert "never" in page.split("Last sync", 1)[1][:400]
    guide = SimpleUploadedFile("guide.md", b"# Guide\n\nPitch the tent upwind.")
    response = admin_client.post(change_url(collection), form_data(collection, upload=guide), follow=True)
    assert "Queued “guide.md”; the sync history shows its progress." in unescape(response.content.decode())
    history = SyncHistory.objects.get(collection=collection)
    assert (history.status, history.trigger, history.sync_type) == ("pending", "admin", "upload")

    try:
        tasks.sync_collection(collection_id=str(collection.pk), history_id=str(history.pk))  # as a worker does
    finally:
        app.control.purge()  # the message the admin queued on the test broker
    chunk = KnowledgeChunk.objects.get(collection=collection)
    assert chunk.source_id == "upload:guide.md" and "Pitch the tent upwind." in chunk.content
    history.refresh_from_db()
    assert (history.status, history.chunks_added) == ("completed", 1)
    assert KnowledgeCollection.objects.get(pk=collection.pk).last_synced_at is not None
    page = unescape(admin_client.get(change_url(collection)).content.decode())
    assert re.search(r"Last sync.*?ago \(.*?\) · upload · completed · <a href=\"[^\"]*collection=", page, re.S)

    bad = admin_client.post(change_url(collection), form_data(collection, upload=SimpleUploadedFile("x.exe", b"MZ")))
    assert bad.status_code == 200 and "not supported" in unescape(bad.content.decode())
    assert SyncHistory.objects.filter(collection=collection).count() == 1

    synced = make_collection(world.a, source_type="wordpress", name="Blog")
    refused = admin_client.post(change_url(synced), form_data(synced, upload=SimpleUploadedFile("a.txt", b"hello")))
    assert "Only manual and upload collections take files" in refused.content.decode()
    assert not SyncHistory.objects.filter(collection=synced).exists()


def test_the_page_links_to_a_search_of_the_collection(admin_client, collection):
    page = admin_client.get(change_url(collection)).content.decode()
    link = unescape(re.search(r'<a href="([^"]*test-retrieval/[^"]*)">Search this collection</a>', page).group(1))
    search = admin_client.get(link).content.decode()
    assert re.search(rf'<option value="{collection.pk}" selected>Handbook</option>', search)
    assert "This field is required" not in search

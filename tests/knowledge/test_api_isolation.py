"""Tenant isolation on every knowledge endpoint: company B gets 404 on company A's
objects (read, change, delete, actions), never sees them in lists or searches, and cannot
point its own objects at them."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from knowledge import tasks
from knowledge.models import Agent, Conversation, KnowledgeChunk, KnowledgeCollection, LLMProvider, Message
from knowledge.services import ingest, sync
from tests.support.knowledge import knowledge_settings, make_agent, make_collection, make_provider  # noqa: F401

PREFIX = "/api/v1/knowledge"


@pytest.fixture
def a_objects(world, fake_apis, monkeypatch):
    monkeypatch.setattr(tasks.sync_collection, "apply_async", lambda **kw: None)
    provider = make_provider(world.a, url=fake_apis.url)
    collection = make_collection(world.a, provider=provider, name="A secrets")
    ingest.ingest_items(
        collection=collection,
        source_type="manual",
        full=False,
        items=[ingest.text_item(title="A only", text="Company A private pricing sheet.", source_id="doc:a")],
    )
    wordpress = make_collection(
        world.a,
        source_type="wordpress",
        provider=provider,
        name="A blog",
        agent=make_agent(world.a, url=fake_apis.url, provider=provider, name="A shop"),
    )
    sync.set_schedule(collection=wordpress, interval_seconds=3600)
    history = sync.new_history(collection=wordpress, trigger="api")
    agent = make_agent(world.a, provider=provider, collections=[collection])
    conversation = Conversation.objects.create(
        company=world.a, agent=agent, user=world.user("a", "client"), started_at=history.created_at
    )
    message = Message.objects.create(
        company=world.a, conversation=conversation, sender_type="user", role="user", content="A's question"
    )
    return {
        "providers": provider,
        "agents": agent,
        "collections": collection,
        "wordpress": wordpress,
        "chunks": KnowledgeChunk.objects.get(collection=collection),
        "sync-history": history,
        "conversations": conversation,
        "messages": message,
    }


ENDPOINTS = ["providers", "agents", "collections", "chunks", "sync-history", "conversations", "messages"]
ACTIONS = {
    "collections": [
        ("post", "texts/", {"text": "x"}),
        ("get", "sources/", None),
        ("delete", "sources/?source_id=doc:a", None),
        ("get", "history/", None),
        ("get", "schedule/", None),
        ("put", "schedule/", {"interval_seconds": 3600}),
        ("delete", "schedule/", None),
        ("post", "search/", {"query": "pricing"}),
        ("post", "sync/", None),
    ],
    "conversations": [
        ("get", "messages/", None),
        ("post", "messages/", {"content": "hi"}),
        ("post", "end/", None),
        ("post", "archive/", None),
        ("post", "read/", None),
    ],
    "messages": [
        ("post", "reactions/", {"emoji": "👍"}),
        ("delete", "reactions/", {"emoji": "👍"}),
        ("post", "read/", None),
        ("post", "delivered/", None),
    ],
}


@pytest.mark.parametrize("role", ["company_admin", "client"])
def test_company_b_cannot_see_or_touch_company_a(api, world, a_objects, role):
    api.as_user(world.user("b", role))
    for endpoint in ENDPOINTS:
        target = a_objects[endpoint]
        url = f"{PREFIX}/{endpoint}/{target.pk}/"
        listed = api.get(f"{PREFIX}/{endpoint}/")
        assert listed.status_code in (200, 403), endpoint
        if listed.status_code == 200:
            assert listed.json()["results"] == [], endpoint
        assert api.get(url).status_code == 404, endpoint
        assert api.patch(url, {"name": "hijacked"}, format="json").status_code in (404, 405), endpoint
        assert api.delete(url).status_code in (404, 405), endpoint
        for method, suffix, data in ACTIONS.get(endpoint, []):
            response = getattr(api, method)(f"{url}{suffix}", data, format="json")
            assert response.status_code == 404, (endpoint, method, suffix, response.status_code)


def test_nothing_of_company_a_changed(api, world, a_objects):
    api.as_user(world.user("b", "company_admin"))
    for endpoint in ENDPOINTS:
        target = a_objects[endpoint]
        api.patch(f"{PREFIX}/{endpoint}/{target.pk}/", {"name": "hijacked", "status": "ended"}, format="json")
        api.delete(f"{PREFIX}/{endpoint}/{target.pk}/")
        for method, suffix, data in ACTIONS.get(endpoint, []):
            getattr(api, method)(f"{PREFIX}/{endpoint}/{target.pk}/{suffix}", data, format="json")
    assert LLMProvider.objects.get(pk=a_objects["providers"].pk).name == "fake openai"
    assert Agent.objects.filter(company=world.a).count() == 2
    collection = KnowledgeCollection.objects.get(pk=a_objects["collections"].pk)
    assert collection.name == "A secrets" and collection.chunk_count == 1
    assert sync.schedule_of(a_objects["wordpress"]) is not None
    assert Conversation.objects.get(pk=a_objects["conversations"].pk).status == "active"
    assert Message.objects.filter(company=world.a).count() == 1
    assert Message.objects.get(pk=a_objects["messages"].pk).metadata.reactions == []


def test_searches_never_include_company_a(api, world, a_objects):
    mine = make_collection(world.b, name="B docs")
    ingest.ingest_items(
        collection=mine,
        source_type="manual",
        full=False,
        items=[ingest.text_item(title="B", text="Company B public pricing.", source_id="doc:b")],
    )
    api.as_user(world.user("b", "client"))
    for mode in ("vector", "keyword", "hybrid"):
        results = api.post(f"{PREFIX}/search/", {"query": "pricing sheet", "mode": mode, "limit": 50}).json()["results"]
        assert [r["source_id"] for r in results] == ["doc:b"], mode
    refused = api.post(f"{PREFIX}/search/", {"query": "pricing", "collection_ids": [str(a_objects["collections"].pk)]})
    assert refused.status_code == 400


def test_company_b_cannot_point_at_company_a_objects(api, world, a_objects):
    api.as_user(world.user("b", "company_admin"))
    agent = api.post(
        f"{PREFIX}/agents/",
        {
            "name": "b",
            "provider": str(a_objects["providers"].pk),
            "knowledge_collection_ids": [str(a_objects["collections"].pk)],
        },
        format="json",
    )
    assert agent.status_code == 400 and set(agent.json()) == {"provider", "knowledge_collection_ids"}
    collection = api.post(
        f"{PREFIX}/collections/",
        {"name": "b", "agent": str(a_objects["agents"].pk), "embedding_provider": str(a_objects["providers"].pk)},
        format="json",
    )
    assert collection.status_code == 400 and set(collection.json()) == {"agent", "embedding_provider"}
    conversation = api.post(f"{PREFIX}/conversations/", {"agent": str(a_objects["agents"].pk)}, format="json")
    assert conversation.status_code == 400 and "agent" in conversation.json()
    upload = api.post(
        f"{PREFIX}/collections/{a_objects['collections'].pk}/upload/",
        {"file": SimpleUploadedFile("x.txt", b"hello")},
        format="multipart",
    )
    assert upload.status_code == 404
    for endpoint, name in (
        ("chunks", "collection"),
        ("messages", "conversation"),
        ("sync-history", "collection"),
        ("conversations", "agent"),
    ):
        target = a_objects["collections" if name == "collection" else f"{name}s"].pk
        assert api.get(f"{PREFIX}/{endpoint}/?{name}={target}").json()["results"] == []
        assert api.get(f"{PREFIX}/{endpoint}/?{name}=not-an-id").status_code == 400
    assert Agent.objects.filter(company=world.b).count() == 0
    assert KnowledgeCollection.objects.filter(company=world.b).count() == 0
    assert Conversation.objects.filter(company=world.b).count() == 0


def test_created_objects_belong_to_the_callers_company(api, world):
    api.as_user(world.user("b", "company_admin"))
    created = api.post(f"{PREFIX}/collections/", {"name": "mine", "company": str(world.a.pk)}, format="json")
    assert created.status_code == 201, created.content
    assert KnowledgeCollection.objects.get(pk=created.json()["id"]).company_id == world.b.pk
    provider = api.post(f"{PREFIX}/providers/", {"provider": "openai", "company": str(world.a.pk)}).json()
    assert LLMProvider.objects.get(pk=provider["id"]).company_id == world.b.pk


def test_roles(api, world, a_objects):
    client = api.as_user(world.user("a", "client"))
    assert client.get(f"{PREFIX}/providers/").status_code == 403
    assert client.post(f"{PREFIX}/collections/", {"name": "x"}).status_code == 403
    assert client.get(f"{PREFIX}/collections/").json()["count"] == 2
    assert (
        client.post(f"{PREFIX}/collections/{a_objects['collections'].pk}/search/", {"query": "pricing"}).status_code
        == 200
    )
    writer = api.as_user(world.user("a", "content_writer"))
    assert writer.post(f"{PREFIX}/collections/{a_objects['wordpress'].pk}/sync/").status_code == 403

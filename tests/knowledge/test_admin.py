"""Admin of the knowledge app: every page renders, staff see their company only, secrets
are masked, the sync action queues, and the test-retrieval page ranks chunks with scores
and sources."""

import re

import pytest

from knowledge import tasks
from knowledge.models import Conversation, KnowledgeChunk, Message, SyncHistory
from knowledge.services import chat, ingest, sync
from tests.support.knowledge import (  # noqa: F401
    SHOPIFY_TOKEN,
    WORDPRESS_KEY,
    knowledge_settings,
    make_agent,
    make_collection,
    make_provider,
)


@pytest.fixture
def filled(world, fake_apis):
    provider = make_provider(world.a, url=fake_apis.url)
    collection = make_collection(world.a, provider=provider, name="Help A")
    ingest.ingest_items(
        collection=collection,
        source_type="manual",
        full=False,
        items=[
            ingest.text_item(
                title="Returns",
                text="Return items within 30 days.",
                source_id="doc:returns",
                url="https://acme.test/returns",
            ),
            ingest.text_item(title="Shipping", text="Shipping takes three days.", source_id="doc:shipping"),
        ],
    )
    agent = make_agent(world.a, url=fake_apis.url, provider=provider, collections=[collection], name="Agent A")
    conversation = Conversation.objects.create(
        company=world.a, agent=agent, user=world.user("a", "client"), started_at=collection.created_at
    )
    chat.reply(conversation=conversation, user=world.user("a", "client"), content="returns?")
    other = make_collection(world.b, name="Help B")
    ingest.ingest_items(
        collection=other,
        source_type="manual",
        full=False,
        items=[ingest.text_item(title="B returns", text="Return items within 30 days.", source_id="doc:b")],
    )
    history = sync.new_history(
        collection=make_collection(world.a, source_type="wordpress", agent=agent), trigger="admin"
    )
    return {
        "collection": collection,
        "agent": agent,
        "conversation": conversation,
        "other": other,
        "history": history,
        "provider": provider,
    }


def test_change_pages_render_without_secrets(client, world, filled):
    client.force_login(world.user("a", "superadmin"))
    pages = {
        "llmprovider": filled["provider"].pk,
        "agent": filled["agent"].pk,
        "knowledgecollection": filled["collection"].pk,
        "knowledgechunk": KnowledgeChunk.objects.filter(company=world.a).first().pk,
        "synchistory": filled["history"].pk,
        "conversation": filled["conversation"].pk,
        "message": Message.objects.filter(role="assistant").first().pk,
    }
    for model, pk in pages.items():
        for url in (f"/admin/knowledge/{model}/", f"/admin/knowledge/{model}/{pk}/change/"):
            response = client.get(url)
            assert response.status_code == 200, url
            html = response.content.decode()
            assert SHOPIFY_TOKEN not in html and WORDPRESS_KEY not in html and "sk-test-Zq8R" not in html, url
    agent_page = client.get(f"/admin/knowledge/agent/{filled['agent'].pk}/change/").content.decode()
    assert "shpat_…cdef" in agent_page and agent_page.count('type="password"') == 2


def test_staff_see_their_company_only(client, world, filled):
    client.force_login(world.user("b", "company_admin"))
    collections = client.get("/admin/knowledge/knowledgecollection/").content.decode()
    assert "Help B" in collections and "Help A" not in collections
    chunks = client.get("/admin/knowledge/knowledgechunk/").content.decode()
    assert "doc:b" in chunks and "doc:returns" not in chunks
    assert client.get(f"/admin/knowledge/conversation/{filled['conversation'].pk}/change/").status_code == 302
    assert client.get(f"/admin/knowledge/agent/{filled['agent'].pk}/change/").status_code == 302


def test_sync_action_queues_a_sync(client, world, filled, monkeypatch):
    queued = []
    monkeypatch.setattr(tasks.sync_collection, "apply_async", lambda **kw: queued.append(kw))
    client.force_login(world.user("a", "company_admin"))
    wordpress = filled["history"].collection
    response = client.post(
        "/admin/knowledge/knowledgecollection/",
        {"action": "sync_now", "_selected_action": [str(wordpress.pk), str(filled["collection"].pk)]},
        follow=True,
    )
    html = response.content.decode()
    assert "Queued 1 sync(s)" in html and "has no source to sync from" in html
    assert queued[0]["kwargs"]["collection_id"] == str(wordpress.pk)
    assert SyncHistory.objects.get(pk=queued[0]["kwargs"]["history_id"]).trigger == "admin"


def test_test_retrieval_page_ranks_chunks_with_scores_and_sources(client, world, filled):
    client.force_login(world.user("a", "content_manager"))
    listing = client.get("/admin/knowledge/knowledgecollection/").content.decode()
    assert "/admin/knowledge/knowledgecollection/test-retrieval/" in listing
    page = client.get(
        "/admin/knowledge/knowledgecollection/test-retrieval/",
        {"query": "return items within days", "mode": "hybrid", "limit": 5},
    )
    assert page.status_code == 200
    html = page.content.decode()
    rows = re.findall(r'<tr class="hit">(.*?)</tr>', html, re.S)
    assert len(rows) == 2
    assert "https://acme.test/returns" in rows[0] and "doc:returns" in rows[0] and "doc:shipping" in rows[1]
    scores = [float(s) for s in re.findall(r'<td class="score">([\d.]+)</td>', html)]
    assert scores == sorted(scores, reverse=True) and scores[0] > 0
    assert "doc:b" not in html  # company B's identical chunk is never a candidate

    keyword = client.get(
        "/admin/knowledge/knowledgecollection/test-retrieval/", {"query": "shipping", "mode": "keyword", "limit": 5}
    ).content.decode()
    assert len(re.findall(r'<tr class="hit">', keyword)) == 1 and "doc:shipping" in keyword
    foreign = client.get(
        "/admin/knowledge/knowledgecollection/test-retrieval/",
        {"query": "returns", "collections": [str(filled["other"].pk)], "limit": 5},
    )
    assert "Select a valid choice" in foreign.content.decode() and '<tr class="hit">' not in foreign.content.decode()
    empty = client.get("/admin/knowledge/knowledgecollection/test-retrieval/").content.decode()
    assert '<tr class="hit">' not in empty and 'name="query"' in empty


def test_superadmin_chooses_collections_of_one_company(client, world, filled):
    client.force_login(world.user("a", "superadmin"))
    url = "/admin/knowledge/knowledgecollection/test-retrieval/"
    both = client.get(
        url, {"query": "returns", "limit": 5, "collections": [str(filled["collection"].pk), str(filled["other"].pk)]}
    )
    assert "Choose the collections of one company." in both.content.decode()
    b_only = client.get(url, {"query": "returns", "limit": 5, "collections": [str(filled["other"].pk)]})
    assert "doc:b" in b_only.content.decode() and "doc:returns" not in b_only.content.decode()

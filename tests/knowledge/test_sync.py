"""WordPress and Shopify sync through real HTTP: paginated listings, and a re-sync that
re-embeds only the changed item and removes the deleted one; failures remove nothing; and one sync run by a real Celery worker."""

import re

import pytest

from events.models import Notification, WebhookDelivery
from events.services import webhooks
from knowledge import tasks
from knowledge.models import KnowledgeChunk, SyncHistory
from knowledge.services import sync
from knowledge.services.connectors import shopify, wordpress
from tests.support.celery_worker import wait_until
from tests.support.knowledge import (  # noqa: F401
    TEST_KEY,
    knowledge_settings,
    make_agent,
    make_collection,
    make_provider,
    shopify_product,
    wp_post,
)

LONG = " ".join(f"Paragraph sentence {i} explains one more detail about the topic at hand." for i in range(12))


@pytest.fixture(autouse=True)
def small_pages(monkeypatch):
    monkeypatch.setattr(wordpress, "PER_PAGE", 2)
    monkeypatch.setattr(shopify, "LIMIT", 2)


@pytest.fixture(autouse=True)
def webhook_tasks(monkeypatch):
    from events import tasks as tenant_tasks

    sent = []
    monkeypatch.setattr(tenant_tasks.deliver_webhook, "delay", sent.append)
    return sent


@pytest.fixture
def source(world, fake_apis):
    provider = make_provider(world.a, url=fake_apis.url)
    agent = make_agent(world.a, url=fake_apis.url, provider=provider)
    return provider, agent


def _chunks(collection) -> dict:
    rows = KnowledgeChunk.objects.filter(collection=collection).order_by("source_id", "chunk_index")
    result = {}
    for chunk in rows:
        result.setdefault(chunk.source_id, []).append(chunk)
    return result


def _sync(collection, **kwargs) -> SyncHistory:
    history_id = tasks.sync_collection(collection_id=str(collection.pk), trigger="api", **kwargs)
    return SyncHistory.objects.get(pk=history_id)


def test_wordpress_sync_then_resync_with_one_changed_and_one_deleted(world, fake_apis, source):
    provider, agent = source
    fake_apis.wp["posts"] = [wp_post(i, f"Post {i} &amp; news", f"<p>Post {i} body. {LONG}</p>") for i in range(1, 6)]
    fake_apis.wp["pages"] = [wp_post(9, "About", "<p>About us.</p>", kind="page")]
    collection = make_collection(
        world.a,
        source_type="wordpress",
        provider=provider,
        agent=agent,
        settings={"chunk_size": 400, "chunk_overlap": 60},
    )

    first = _sync(collection)
    assert first.status == "completed", first.error_message
    assert (first.items_synced, first.items_unchanged, first.items_removed) == (6, 0, 0)
    listed = fake_apis.paths("/wp-json/wp/v2/posts")
    assert [re.search(r"[?&]page=(\d+)", p)[1] for p in listed] == ["1", "2", "3"]
    assert all("per_page=2" in p for p in listed)
    before = _chunks(collection)
    assert set(before) == {"post:1", "post:2", "post:3", "post:4", "post:5", "page:9"}
    assert all(len(before[f"post:{i}"]) > 1 for i in range(1, 6))
    assert first.chunks_added == sum(len(c) for c in before.values()) == len(fake_apis.embedded)
    first_chunk = before["post:1"][0]
    assert first_chunk.metadata["title"] == "Post 1 & news" and first_chunk.metadata["url"].endswith("/post-1/")
    assert first_chunk.content.startswith("Post 1 & news\n\nPost 1 body.")
    collection.refresh_from_db()
    assert collection.embedding_dimensions == 64 and collection.chunk_count == first.chunks_added

    # Nothing changed: nothing is embedded again.
    fake_apis.embedded.clear()
    again = _sync(collection)
    assert (again.items_synced, again.items_unchanged, again.chunks_added, again.chunks_removed) == (6 - 6, 6, 0, 0)
    assert fake_apis.embedded == []

    # One post changed, one deleted.
    fake_apis.wp["posts"][1] = wp_post(2, "Post 2 &amp; news", f"<p>Post 2 was rewritten. {LONG}</p>")
    del fake_apis.wp["posts"][3]
    third = _sync(collection)
    after = _chunks(collection)
    assert (third.items_synced, third.items_unchanged, third.items_removed) == (1, 4, 1)
    assert sorted(fake_apis.embedded) == sorted(c.content for c in after["post:2"])  # exactly one chunk set
    assert "post:4" not in after
    assert third.chunks_removed == len(before["post:2"]) + len(before["post:4"])
    assert third.chunks_added == len(after["post:2"])
    assert all("rewritten" not in c.content or c.source_id == "post:2" for chunks in after.values() for c in chunks)
    for source_id in ("post:1", "post:3", "post:5", "page:9"):  # untouched: the very same documents
        assert [c.pk for c in after[source_id]] == [c.pk for c in before[source_id]]


def test_shopify_products_and_articles_then_resync(world, fake_apis, source):
    provider, agent = source
    fake_apis.products = [
        shopify_product(i, f"Trail Shoe {i}", f"<p>Shoe {i} for rocky trails.</p>") for i in range(1, 6)
    ]
    fake_apis.articles[7] = [
        {
            "id": 70 + i,
            "title": f"Guide {i}",
            "handle": f"guide-{i}",
            "author": "Ann",
            "body_html": f"<p>How to choose shoes, part {i}.</p>",
            "tags": "guides",
        }
        for i in range(1, 4)
    ]
    collection = make_collection(world.a, source_type="shopify", provider=provider, agent=agent)

    first = _sync(collection)
    assert first.status == "completed", first.error_message
    assert first.items_synced == 8 and first.sync_type == "shopify"
    product_pages = fake_apis.paths("/admin/api/2024-01/products.json")
    assert len(product_pages) == 3 and "page_info=" in product_pages[1] and "page_info=" in product_pages[2]
    assert len(fake_apis.paths("/admin/api/2024-01/blogs/7/articles.json")) == 2
    chunks = _chunks(collection)
    product = chunks["product:3"][0]
    assert "Trail Shoe 3: price 19.99" in product.content and "Vendor: Acme" in product.content
    assert product.metadata["url"] == f"{fake_apis.url}/products/trail-shoe-3"
    assert chunks["article:72"][0].metadata["url"] == f"{fake_apis.url}/blogs/news/guide-2"

    fake_apis.embedded.clear()
    fake_apis.products[0] = shopify_product(1, "Trail Shoe 1", "<p>Now waterproof.</p>", price="24.99")
    fake_apis.articles[7].pop(0)
    second = _sync(collection)
    after = _chunks(collection)
    assert (second.items_synced, second.items_unchanged, second.items_removed) == (1, 6, 1)
    assert fake_apis.embedded == [c.content for c in after["product:1"]]
    assert "price 24.99" in after["product:1"][0].content and "article:71" not in after


def test_shopify_collections_custom_and_smart_sync_as_their_own_type(world, fake_apis, source):
    provider, agent = source
    fake_apis.custom_collections = [
        {
            "id": 300 + i,
            "handle": f"summer-{i}",
            "title": f"Summer picks {i}",
            "body_html": f"<p>Hand-picked gear for summer hikes, list {i}.</p>",
            "updated_at": "2026-01-01T00:00:00-00:00",
        }
        for i in range(1, 4)
    ]
    fake_apis.smart_collections = [
        {
            "id": 400,
            "handle": "waterproof",
            "title": "Waterproof",
            "body_html": "<p>Everything that keeps you dry.</p>",
            "rules": [{"column": "tag", "relation": "equals", "condition": "waterproof"}],
        }
    ]
    fake_apis.products = [shopify_product(1, "Trail Shoe", "<p>A shoe.</p>")]
    collection = make_collection(
        world.a, source_type="shopify", provider=provider, agent=agent, settings={"shopify_resources": ["collections"]}
    )

    first = _sync(collection)
    assert first.status == "completed", first.error_message
    assert first.sync_type == "collections" and first.items_synced == 4
    assert not fake_apis.paths("/admin/api/2024-01/products.json")  # only what was asked for
    custom_pages = fake_apis.paths("/admin/api/2024-01/custom_collections.json")
    assert len(custom_pages) == 2 and "page_info=" in custom_pages[1]
    chunks = _chunks(collection)
    assert set(chunks) == {"collection:301", "collection:302", "collection:303", "collection:400"}
    smart = chunks["collection:400"][0]
    assert "keeps you dry" in smart.content and "Rules: tag equals waterproof" in smart.content
    assert smart.metadata["url"] == f"{fake_apis.url}/collections/waterproof"
    assert smart.metadata["collection_kind"] == "smart"
    assert chunks["collection:302"][0].metadata["collection_kind"] == "custom"

    fake_apis.custom_collections.pop()
    second = _sync(collection)
    assert (second.items_synced, second.items_unchanged, second.items_removed) == (0, 3, 1)
    assert "collection:303" not in _chunks(collection)


def test_collections_is_an_accepted_shopify_resource_in_the_api(world, fake_apis, source):
    from knowledge.api.serializers.collections import CollectionSettingsSerializer

    accepted = CollectionSettingsSerializer(data={"shopify_resources": ["products", "collections"]})
    assert accepted.is_valid(), accepted.errors
    refused = CollectionSettingsSerializer(data={"shopify_resources": ["orders"]})
    assert not refused.is_valid() and "shopify_resources" in refused.errors


def test_a_failed_listing_removes_nothing_and_is_reported(world, fake_apis, source, webhook_tasks):
    provider, agent = source
    webhooks.create_webhook(
        company=world.a,
        name="events",
        url=f"{fake_apis.url}/hook",
        events=["knowledge.sync.completed", "knowledge.sync.failed"],
    )
    fake_apis.wp["posts"] = [wp_post(i, f"Post {i}", f"<p>Body {i}.</p>") for i in range(1, 6)]
    collection = make_collection(
        world.a, source_type="wordpress", provider=provider, agent=agent, settings={"wordpress_types": ["posts"]}
    )
    assert _sync(collection).status == "completed"
    count = KnowledgeChunk.objects.filter(collection=collection).count()

    fake_apis.fail_on = "?page=2"
    failed = _sync(collection)
    assert failed.status == "failed"
    assert "answered HTTP 500" in failed.error_message and "page=2" in failed.error_message
    assert failed.items_removed == 0 and KnowledgeChunk.objects.filter(collection=collection).count() == count
    events = list(WebhookDelivery.objects.order_by("created_at").values_list("event_type", flat=True))
    assert events == ["knowledge.sync.completed", "knowledge.sync.failed"]
    payload = WebhookDelivery.objects.get(event_type="knowledge.sync.failed").payload
    assert payload["data"]["sync_history_id"] == str(failed.pk) and "HTTP 500" in payload["data"]["error"]

    agent.shopify_enabled = False
    fake_apis.fail_on = ""
    from knowledge.services import crypto

    crypto.set_secret(agent, "wordpress_api_key", "editor:wrong password")
    agent.save()
    refused = _sync(collection)
    assert refused.status == "failed" and "refused the credentials (HTTP 401)" in refused.error_message
    assert KnowledgeChunk.objects.filter(collection=collection).count() == count


def test_embedding_provider_errors_fail_the_sync(world, fake_apis, source):
    provider, agent = source
    from knowledge.services import crypto

    crypto.set_secret(provider, "api_key", "sk-wrong-key-000000000000")
    provider.save()
    fake_apis.wp["posts"] = [wp_post(1, "Post", "<p>Body.</p>")]
    collection = make_collection(world.a, source_type="wordpress", provider=provider, agent=agent)
    history = _sync(collection)
    assert history.status == "failed" and "refused the API key (HTTP 401)" in history.error_message
    assert KnowledgeChunk.objects.filter(collection=collection).count() == 0


def test_task_is_idempotent_and_one_sync_at_a_time(world, fake_apis, source):
    provider, agent = source
    fake_apis.wp["posts"] = [wp_post(1, "Post", "<p>Body.</p>")]
    collection = make_collection(world.a, source_type="wordpress", provider=provider, agent=agent)
    history = sync.new_history(collection=collection, trigger="api")
    tasks.sync_collection(collection_id=str(collection.pk), history_id=str(history.pk))
    requests = len(fake_apis.requests)
    tasks.sync_collection(collection_id=str(collection.pk), history_id=str(history.pk))  # redelivered
    assert len(fake_apis.requests) == requests
    history.refresh_from_db()
    assert history.status == "completed" and history.items_synced == 1

    other = sync.new_history(collection=collection, trigger="api")
    held = sync._claim(collection, other, history.created_at)  # a sync holds the collection
    assert held
    blocked = _sync(collection)
    assert blocked.status == "failed" and "in progress" in blocked.error_message
    assert held.release(sync_lock_id="")
    assert _sync(collection).status == "completed"


def test_scheduled_failure_notifies_the_company_admins(world, fake_apis, source):
    provider, agent = source
    fake_apis.fail_on = "/wp-json/"
    collection = make_collection(world.a, source_type="wordpress", provider=provider, agent=agent)
    history = SyncHistory.objects.get(pk=tasks.sync_collection(collection_id=str(collection.pk)))
    assert history.trigger == "schedule" and history.status == "failed"
    note = Notification.objects.get(type="knowledge.sync.failed")
    assert note.user == world.user("a", "company_admin") and "HTTP 500" in note.message


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_on_demand_sync_through_a_real_celery_worker(world, fake_apis, source, celery_worker):
    provider, agent = source
    fake_apis.wp["posts"] = [wp_post(i, f"Post {i}", f"<p>Body {i}.</p>") for i in range(1, 4)]
    collection = make_collection(world.a, source_type="wordpress", provider=provider, agent=agent)
    worker = celery_worker("knowledge", env={"FIELD_ENCRYPTION_KEY": TEST_KEY})
    history = sync.request_sync(collection=collection, trigger="api")

    def finished():
        history.refresh_from_db()
        return history.status in ("completed", "failed") or not worker.alive()

    wait_until(finished, timeout=60)
    assert history.status == "completed", f"{history.status} {history.error_message}\n{worker.log()}"
    assert history.items_synced == 3 and KnowledgeChunk.objects.filter(collection=collection).count() == 3

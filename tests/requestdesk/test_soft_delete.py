"""Soft delete across the product (requestdesk.soft_delete): through the API each kind of
row is deleted (204), gone from its list, detail and count, not restorable by another
company, restored (back everywhere); children follow their parent and come back with it
(not those deleted on their own before); deleted collections are not searched, deleted
projects not scraped, deleted webhooks get no deliveries; a target's URL can be reused
after its delete (the partial unique index, enforced by the embedded server); the admin's
"deleted" filter and actions; the daily purge."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.db import IntegrityError, connection
from django.test import override_settings
from django.utils import timezone

from content.models import Campaign, Component, Pipeline, Template, Ticket
from events.models import AuditLog, Webhook, WebhookDelivery
from events.services import webhooks
from knowledge.models import Agent, Conversation, KnowledgeChunk, KnowledgeCollection, SyncHistory
from knowledge.services import sync
from requestdesk import soft_delete, tasks
from requestdesk.db.base import index_keys
from requestdesk.db.pipeline import rewrite
from scraping.models import Project, Result, Target
from scraping.services import jobs
from tests import flushing
from tests.conftest import shared_world
from tests.support.isolation_factories import Owner
from tests.support.knowledge import (  # noqa: F401
    TEST_KEY,
    FakeAPIs,
    knowledge_settings,
    make_agent,
    make_collection,
    make_provider,
)
from tests.support.scraping import fast_scraping, make_project, make_target, system_presets  # noqa: F401

pytestmark = pytest.mark.django_db

ROUTES = {
    Ticket: "content/tickets",
    Campaign: "content/campaigns",
    Template: "content/templates",
    Component: "content/components",
    Pipeline: "content/pipelines",
    Agent: "knowledge/agents",
    KnowledgeCollection: "knowledge/collections",
    Conversation: "knowledge/conversations",
    Project: "scraping/projects",
    Target: "scraping/targets",
    Webhook: "webhooks",
}


def url(model, pk=None, action="") -> str:
    base = f"/api/v1/{ROUTES[model]}/"
    return base if pk is None else f"{base}{pk}/{action + '/' if action else ''}"


@pytest.fixture
def owner(world, fake_apis):  # noqa: F811
    return Owner(world, fake_url=fake_apis.url)


def listed(api, model) -> tuple[set, int | None]:
    body = api.get(url(model), {"page_size": 100}).json()
    return {row["id"] for row in body["results"]}, body.get("count")


def test_every_soft_deletable_model_is_covered():
    assert set(soft_delete.soft_deletable_models()) == set(ROUTES)


@pytest.mark.parametrize("model", list(ROUTES), ids=lambda m: m.__name__)
def test_delete_hides_everywhere_and_restore_brings_back(api, world, owner, model):
    obj = owner.get(model)
    pk = str(obj.pk)
    api.as_user(world.user("a", "company_admin"))
    ids, count = listed(api, model)
    assert pk in ids

    assert api.delete(url(model, pk)).status_code == 204
    assert api.get(url(model, pk)).status_code == 404
    after_ids, after_count = listed(api, model)
    assert pk not in after_ids and (count is None or after_count == count - 1)
    assert not model.objects.filter(pk=obj.pk).exists()
    row = model.all_objects.get(pk=obj.pk)
    assert row.is_deleted and row.deleted_at is not None
    assert api.delete(url(model, pk)).status_code == 404  # gone for the API: not deleted twice

    api.as_user(world.user("b", "company_admin"))  # another company cannot restore it
    assert api.post(url(model, pk, "restore")).status_code == 404
    assert model.all_objects.get(pk=obj.pk).is_deleted

    api.as_user(world.user("a", "company_admin"))
    response = api.post(url(model, pk, "restore"))
    assert response.status_code == 200, response.content
    assert response.json()["id"] == pk
    assert api.get(url(model, pk)).status_code == 200
    assert pk in listed(api, model)[0]
    assert api.post(url(model, pk, "restore")).status_code == 404  # a live row has nothing to restore
    label = model._meta.model_name
    events = set(AuditLog.objects.filter(object_id=pk).values_list("event_type", flat=True))
    assert {e for e in events if e.endswith((".deleted", ".restored"))}, (label, events)


def test_restore_needs_the_role_delete_needs(api, world):
    ticket = Ticket.objects.create(company=world.a, title="t", created_by=world.user("a", "client"))
    soft_delete.soft_delete(ticket)
    assert api.as_user(world.user("a", "client")).post(url(Ticket, ticket.pk, "restore")).status_code == 403
    assert api.as_user(world.user("a", "content_manager")).post(url(Ticket, ticket.pk, "restore")).status_code == 200


def test_targets_follow_their_project_but_not_those_deleted_before(api, world):
    project = make_project(world.a, name="Watch")
    early, kept = make_target(project, "http://127.0.0.1:9/early"), make_target(project, "http://127.0.0.1:9/kept")
    api.as_user(world.user("a", "company_admin"))
    assert api.delete(url(Target, early.pk)).status_code == 204
    assert api.delete(url(Project, project.pk)).status_code == 204
    assert not Target.objects.filter(project=project.pk).exists()
    assert str(kept.pk) not in listed(api, Target)[0]
    assert jobs.run_project(project_id=project.pk) is None  # a deleted project is not scraped

    assert api.post(url(Project, project.pk, "restore")).status_code == 200
    assert list(Target.objects.filter(project=project.pk).values_list("pk", flat=True)) == [kept.pk]
    assert Target.all_objects.get(pk=early.pk).is_deleted


def test_a_job_of_a_project_deleted_after_queueing_scrapes_nothing(world):
    project = make_project(world.a, name="Watch")
    make_target(project, "http://127.0.0.1:9/page")
    job = jobs.create_job(project=project)
    soft_delete.soft_delete(project)
    done = jobs.run_job(job_id=job.pk)
    assert done.status == "failed" and done.pages_fetched == 0 and not Result.objects.exists()


def test_conversations_follow_their_agent(api, world, owner):
    conversation = owner.get(Conversation)
    agent = owner.get(Agent)
    api.as_user(world.user("a", "company_admin"))
    assert api.delete(url(Agent, agent.pk)).status_code == 204
    assert api.get(url(Conversation, conversation.pk)).status_code == 404
    assert api.get("/api/v1/knowledge/messages/").json()["results"] == []
    assert api.post(url(Agent, agent.pk, "restore")).status_code == 200
    assert api.get(url(Conversation, conversation.pk)).status_code == 200


def test_a_deleted_collection_is_not_searched_and_its_chunks_are_hidden(api, world, owner):
    collection = owner.get(KnowledgeCollection)
    api.as_user(world.user("a", "company_admin"))

    def hits():
        response = api.post(
            "/api/v1/knowledge/search/", {"query": "private pricing sheet", "mode": "keyword"}, format="json"
        )
        assert response.status_code == 200, response.content
        return response.json()["results"]

    def chunks():
        return api.get("/api/v1/knowledge/chunks/").json()["results"]

    assert hits() and chunks()
    assert api.delete(url(KnowledgeCollection, collection.pk)).status_code == 204
    assert hits() == [] and chunks() == []
    assert KnowledgeChunk.objects.filter(collection=collection.pk).exists()  # kept for the restore
    assert api.post(url(KnowledgeCollection, collection.pk, "restore")).status_code == 200
    assert hits() and chunks()


def test_a_deleted_webhook_gets_no_deliveries(world, owner):
    webhook = owner.get(Webhook)
    [pending] = webhooks.emit_event(company=world.a, event_type="scrape.completed", data={})
    soft_delete.soft_delete(webhook)
    assert webhooks.emit_event(company=world.a, event_type="scrape.completed", data={}) == []
    assert webhooks.deliver(pending.pk) is None  # one queued before the delete is closed, not sent
    pending.refresh_from_db()
    assert pending.status == WebhookDelivery.FAILED and pending.attempts == []


def test_the_store_collections_of_a_deleted_agent_are_not_synced(world, fake_apis):  # noqa: F811
    provider = make_provider(world.a, url=fake_apis.url)
    shop = make_agent(world.a, url=fake_apis.url, provider=provider, name="shop")
    blog = make_collection(world.a, source_type="wordpress", provider=provider, agent=shop, name="blog")
    history = sync.new_history(collection=blog, trigger="api")
    soft_delete.soft_delete(shop)
    done = sync.run_sync(collection_id=blog.pk, history_id=history.pk)
    assert done.status == SyncHistory.FAILED and "agent was deleted" in done.error_message
    assert not KnowledgeChunk.objects.filter(collection=blog.pk).exists()


def test_a_deleted_targets_url_can_be_reused_and_restore_refuses_a_duplicate(api, world):
    project = make_project(world.a, name="Watch")
    first = make_target(project, "http://127.0.0.1:9/same")
    with pytest.raises(IntegrityError):  # the partial unique index holds among live rows
        Target.objects.create(company=world.a, project=project, url="http://127.0.0.1:9/same")
    api.as_user(world.user("a", "company_admin"))
    body = {"project": str(project.pk), "url": "http://127.0.0.1:9/same"}
    assert api.post(url(Target), body, format="json").status_code == 400
    assert api.delete(url(Target, first.pk)).status_code == 204
    again = api.post(url(Target), body, format="json")
    assert again.status_code == 201, again.content

    refused = api.post(url(Target, first.pk, "restore"))
    assert refused.status_code == 400 and "url" in refused.json()
    assert Target.all_objects.get(pk=first.pk).is_deleted
    assert api.delete(url(Target, again.json()["id"])).status_code == 204
    assert api.post(url(Target, first.pk, "restore")).status_code == 200


def test_the_admin_hides_deleted_rows_unless_asked_and_has_the_actions(client, world):
    gone = Campaign.objects.create(company=world.a, name="Gone campaign")
    live = Campaign.objects.create(company=world.a, name="Live campaign")
    client.force_login(world.user("a", "company_admin"))
    changelist = "/admin/content/campaign/"
    response = client.post(changelist, {"action": "soft_delete", "_selected_action": [gone.pk]})
    assert response.status_code == 302
    assert Campaign.all_objects.get(pk=gone.pk).is_deleted
    page = client.get(changelist).content.decode()
    assert "Live campaign" in page and "Gone campaign" not in page
    page = client.get(changelist, {"deleted": "yes"}).content.decode()
    assert "Gone campaign" in page and "Live campaign" not in page
    page = client.get(changelist, {"deleted": "all"}).content.decode()
    assert "Gone campaign" in page and "Live campaign" in page
    assert client.get(f"{changelist}{gone.pk}/change/").status_code == 200  # a deleted row still opens
    client.post(f"{changelist}?deleted=yes", {"action": "restore", "_selected_action": [gone.pk]})
    assert Campaign.objects.filter(pk=gone.pk).exists() and Campaign.objects.filter(pk=live.pk).exists()
    assert AuditLog.objects.filter(object_id=str(gone.pk), event_type__endswith=".restored").exists()


def test_purge_removes_rows_deleted_past_the_retention_with_their_children(world, settings):
    settings.SOFT_DELETE_RETENTION_DAYS = 30
    old, recent, live = (make_project(world.a, name=n) for n in ("old", "recent", "live"))
    old_target = make_target(old, "http://127.0.0.1:9/old")
    recent_target = make_target(recent, "http://127.0.0.1:9/recent")
    make_target(live, "http://127.0.0.1:9/live")
    soft_delete.soft_delete(old)
    soft_delete.soft_delete(recent)
    long_ago = timezone.now() - timedelta(days=31)
    for model, pk in ((Project, old.pk), (Target, old_target.pk)):
        model.all_objects.filter(pk=pk).update(deleted_at=long_ago)

    removed = tasks.purge_soft_deleted()
    assert removed["scraping.Project"] == 1 and removed["scraping.Target"] == 1
    assert not Project.all_objects.filter(pk=old.pk).exists()
    assert not Target.all_objects.filter(pk=old_target.pk).exists()
    assert Project.all_objects.get(pk=recent.pk).is_deleted and Target.all_objects.filter(pk=recent_target.pk).exists()
    assert Project.objects.filter(pk=live.pk).exists() and Target.objects.filter(project=live.pk).exists()


def test_the_purge_runs_daily_from_beat():
    entry = settings.CELERY_BEAT_SCHEDULE["purge-soft-deleted"]
    assert entry["task"] == tasks.purge_soft_deleted.name and entry["schedule"] == 86400.0


@pytest.fixture(scope="class")
def every_model(django_db_setup, django_db_blocker):
    """(world, owner) with an object of every routed model, made once for the tests of a class,
    which only read them (the knowledge fixtures' settings, as `knowledge_settings` gives a test)."""
    server = FakeAPIs()

    def build():
        with override_settings(FIELD_ENCRYPTION_KEY=TEST_KEY, KNOWLEDGE_LLM_MAX_RETRIES=0):
            world = shared_world()
            owner = Owner(world, fake_url=server.url)
            owner.build_all(ROUTES)
        return world, owner

    try:
        yield from flushing.shared(django_db_blocker, build)
    finally:
        server.stop()


class TestLiveFilter:
    """Plans of lists over one object of every routed model."""

    @pytest.mark.parametrize("model", list(ROUTES), ids=lambda m: m.__name__)
    def test_the_live_filter_is_planned_on_the_company_index(self, every_model, model):
        """A list's filter `{company_id, is_deleted: false}` is sent as the company part first (what an
        index answers) and `is_deleted` after it, so hiding deleted rows adds no collection scan."""
        world, owner = every_model
        owner.get(model)  # the collection and its indexes exist
        collection = connection.get_collection(model._meta.db_table)
        first, *rest = rewrite([{"$match": {"company_id": world.a.pk, "is_deleted": False}}], index_keys(collection))
        assert any(keys[0] == "company_id" for keys in index_keys(collection))
        assert first == {"$match": {"company_id": world.a.pk}} and rest == [{"$match": {"is_deleted": False}}]

"""seed_demo: every role in two companies, printed credentials that work, every app's demo data
visible through the API to a demo user, idempotent."""

import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from content.models import Batch, Campaign, Component, Context, Pipeline, Template, Ticket
from events.models import Notification
from knowledge.models import Agent, Conversation, KnowledgeChunk, KnowledgeCollection, Message
from scraping.models import Project, Result, ScrapeJob, Target
from tenants.models import Company, User
from tenants.roles import Role
from tenants.seed import DEMO_PASSWORD
from tests.support.scraping import system_presets  # noqa: F401


def _seed(**options):
    out = StringIO()
    call_command("seed_demo", stdout=out, **options)
    return out.getvalue()


def test_seed_creates_every_role_and_working_credentials(db, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    output = _seed(users=4)
    assert Company.objects.count() == 2
    for company in Company.objects.all():
        roles = set(User.objects.filter(company=company).values_list("role", flat=True))
        assert roles == set(Role.values) - {Role.SUPERADMIN}
        assert User.objects.filter(company=company).count() == 4 + 4
    assert User.objects.get(username="demo-superadmin").is_superuser
    assert Notification.objects.filter(type="welcome").count() == 16

    # The printed password signs in, and the printed key lists only its company's users.
    tokens = APIClient().post("/api/v1/auth/token/", {"username": "acme-client", "password": DEMO_PASSWORD})
    assert tokens.status_code == 200
    key = re.search(r"acme-company_admin\s+API key: (\S+)", output).group(1)
    listed = APIClient().get("/api/v1/users/?page_size=100", HTTP_X_API_KEY=key).json()
    assert listed["count"] == 8 and all(u["username"].startswith("acme-") for u in listed["results"])


def test_seed_again_changes_nothing(db):
    _seed(users=2)
    counts = (User.objects.count(), Company.objects.count(), Notification.objects.count())
    output = _seed(users=2)
    assert (User.objects.count(), Company.objects.count(), Notification.objects.count()) == counts
    assert "API key:" not in output  # keys are shown only when created


def test_negative_users_is_a_one_line_error(db):
    with pytest.raises(CommandError, match="--users must be 0 or more"):
        _seed(users=-1)


def _counts() -> dict:
    models = [
        Company,
        User,
        Notification,
        Project,
        Target,
        ScrapeJob,
        Result,
        KnowledgeCollection,
        KnowledgeChunk,
        Agent,
        Conversation,
        Message,
        Template,
        Component,
        Pipeline,
        Batch,
        Context,
        Campaign,
        Ticket,
    ]
    return {model.__name__: model.objects.count() for model in models}


def _all(api, url) -> list[dict]:
    response = api.get(url)
    assert response.status_code == 200, response.content
    return response.json()["results"]


def test_seed_shows_every_app_to_a_demo_user_and_a_second_run_adds_nothing(db):
    output = _seed(users=0, projects=1, results=10)
    for app in ("results of Acme Corp / Demo reviews 1", "knowledge", "content"):
        assert re.search(rf"^  {re.escape(app)} .*\] 2/2$|^  {re.escape(app)} .*\] 10/10$", output, re.M), output
    admin = APIClient()
    admin.credentials(HTTP_X_API_KEY=re.search(r"acme-company_admin\s+API key: (\S+)", output).group(1))

    # scraping: a completed job per project, holding the project's results
    [job] = _all(admin, "/api/v1/scraping/jobs/")
    assert (job["status"], job["trigger"], job["results_created"], job["targets_done"]) == (
        "completed",
        "system",
        10,
        2,
    )
    assert len(_all(admin, f"/api/v1/scraping/results/?job={job['id']}&page_size=50")) == 10

    # knowledge: agents, a collection whose chunks are embedded (search finds a seeded page)
    assert {a["name"] for a in _all(admin, "/api/v1/knowledge/agents/")} == {"Support assistant", "Content writer"}
    [collection] = _all(admin, "/api/v1/knowledge/collections/")
    assert collection["chunk_count"] >= 6 and collection["embedding_dimensions"] == 384
    for mode in ("vector", "keyword", "hybrid"):
        found = admin.post(
            "/api/v1/knowledge/search/", {"query": "how to descale a kettle with vinegar", "mode": mode}, format="json"
        )
        assert found.status_code == 200 and found.json()["results"][0]["title"] == "Kettle care and descaling", mode

    # conversations with messages, seen by the customer who had them
    client = APIClient()
    token = client.post("/api/v1/auth/token/", {"username": "acme-client", "password": DEMO_PASSWORD}).json()["access"]
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    listed = _all(client, "/api/v1/knowledge/conversations/")
    chats = {c["contact_id"]: c for c in listed}
    assert len(listed) == 3  # the customer's own, not Globex's
    assert {k: c["status"] for k, c in chats.items()} == {
        "demo-contact-1": "ended",
        "demo-contact-2": "active",
        "demo-contact-3": "active",
    }
    messages = _all(client, f"/api/v1/knowledge/conversations/{chats['demo-contact-1']['id']}/messages/")
    assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant"]
    assert messages[1]["metadata"]["citations"][0]["title"] == "Kettle care and descaling"
    asked = _all(client, f"/api/v1/knowledge/conversations/{chats['demo-contact-3']['id']}/messages/")
    assert [(m["role"], m["status"]) for m in asked] == [("user", "sent"), ("assistant", "failed")]
    assert "No active LLM provider" in asked[1]["ai_metadata"]["error"]

    # content: templates, components, pipelines, batches in three states with their contexts
    assert len(_all(admin, "/api/v1/content/templates/")) == 1
    assert len(_all(admin, "/api/v1/content/components/")) == 3 + 2  # and the reference pipeline's
    assert {p["name"] for p in _all(admin, "/api/v1/content/pipelines/")} == {
        "Article Generation Pipeline",
        "Article Brief Pipeline",
        "Sentiment report",
    }
    batches = {b["name"]: b for b in _all(admin, "/api/v1/content/batches/")}
    assert {name: b["status"] for name, b in batches.items()} == {
        "Spring briefs": "completed",
        "Spring articles": "failed",
        "Summer articles": "pending",
    }
    for name, status in (("Spring briefs", "completed"), ("Spring articles", "failed"), ("Summer articles", "pending")):
        contexts = _all(admin, f"/api/v1/content/contexts/?batch={batches[name]['id']}")
        assert len(contexts) == batches[name]["context_count"] > 1
        assert {c["status"] for c in contexts} == {status}
    listed = _all(admin, f"/api/v1/content/contexts/?batch={batches['Spring briefs']['id']}")[0]
    brief = admin.get(f"/api/v1/content/contexts/{listed['id']}/").json()
    sections = brief["data"]["template"]["sections"]
    assert sections[0]["instructions"] == f"Provide a technical introduction to {brief['data']['title']}"
    failed = _all(admin, f"/api/v1/content/contexts/?batch={batches['Spring articles']['id']}")[0]
    assert "No active LLM provider" in failed["error"], failed["error"]
    assert len(_all(admin, "/api/v1/content/tickets/")) == 5

    counts = _counts()
    assert counts["Conversation"] == 6 and counts["Batch"] == 6 and counts["ScrapeJob"] == 2
    _seed(users=0, projects=1, results=10)
    assert _counts() == counts

"""Responding to a scraped result in one step (monitoring.services.responding): a ticket about
it or a pipeline run whose context carries it, both linking back to it, through
`POST /api/v1/scraping/results/{id}/respond/` and the result admin's two actions. Bad input is
a 400 naming the field, another company's result a 404, the queue down a 503 with nothing
stored; a real worker runs the context against the fake OpenAI server."""

from __future__ import annotations

import pytest

from content.models import Context, ContextStatus, Ticket
from events.models import AuditLog
from requestdesk.celery import app as celery_app
from scraping.models import Result
from scraping.services import ingest
from scraping.services.extraction import Item
from tenants import services
from tenants.models import ApiKey
from tests import flushing
from tests.conftest import SharedWorld
from tests.support.celery_worker import wait_until
from tests.support.content import (
    TEST_KEY,
    content_settings,
    make_agent,
    make_component,
    make_pipeline,
    make_provider,
    queued,
)
from tests.support.scraping import make_project, make_target

pytestmark = pytest.mark.django_db

COMPLAINT = "The kettle leaked boiling water on day two and support never answered my emails."


def respond_url(result) -> str:
    return f"/api/v1/scraping/results/{result.pk}/respond/"


def make_result(company, title="Leaky kettle", text=COMPLAINT) -> Result:
    project = make_project(company, name=f"Reviews of {company.name}")
    target = make_target(project, "http://127.0.0.1:9/products/kettle")
    ingest.ingest(
        target=target,
        platform="review",
        items=[Item(title=title, text=text, author="Ann", url=f"http://127.0.0.1:9/reviews/{company.name}")],
    )
    return Result.objects.get(target=target)


def reply_pipeline(company, llm=None, **fields):
    """ai_generator (no template: it writes from data.instructions) -> transformer."""
    config = {"model": "gpt-test", "max_tokens": 300}
    if llm is not None:
        config["provider_id"] = str(make_provider(company, llm).pk)
    generator = make_component(company, "ai_generator", config)
    transformer = make_component(company, "transformer", {"format": "markdown"})
    return make_pipeline(company, [(generator, {}), (transformer, {})], name=fields.pop("name", "Replies"), **fields)


@pytest.fixture
def result(world):
    return make_result(world.a)


# --- a ticket ---------------------------------------------------------------------------------------


def test_a_ticket_from_a_result_links_it_and_is_audited(api, world, result):
    manager, writer = world.user("a", "content_manager"), world.user("a", "content_writer")
    response = api.as_user(manager).post(
        respond_url(result), {"action": "ticket", "assigned_to": str(writer.pk), "priority": "high"}, format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["title"] == "Respond to: Leaky kettle"
    assert body["links"] == [
        {"kind": "scraping.result", "id": str(result.pk), "url": result.content.url, "title": "Leaky kettle"}
    ]
    assert (body["assigned_to"], body["priority"], body["created_by"]) == (str(writer.pk), "high", str(manager.pk))
    ticket = Ticket.objects.get(pk=body["id"])
    assert ticket.company_id == world.a.pk and ticket.links[0]["id"] == str(result.pk)
    assert "Leaky kettle" in ticket.description and result.content.url in ticket.description
    entry = AuditLog.objects.get(event_type="ticket.created", object_id=body["id"])
    assert entry.source == "api" and entry.actor_id == manager.pk

    titled = api.post(respond_url(result), {"action": "ticket", "title": "Call Ann back"}, format="json")
    assert titled.status_code == 201 and titled.json()["title"] == "Call Ann back"
    assert titled.json()["priority"] == "medium"


def test_a_client_opens_a_ticket_but_may_not_assign_it_as_on_the_tickets_api(api, world, result):
    client = api.as_user(world.user("a", "client"))
    refused = client.post(
        respond_url(result),
        {"action": "ticket", "assigned_to": str(world.user("a", "content_writer").pk)},
        format="json",
    )
    assert refused.status_code == 400
    assert refused.json() == {"assigned_to": ["Only content managers and admins assign tickets."]}
    assert not Ticket.objects.exists()
    own = client.post(respond_url(result), {"action": "ticket"}, format="json")
    assert own.status_code == 201 and own.json()["created_by"] == str(world.user("a", "client").pk)


def test_a_read_only_api_key_is_refused_as_on_the_tickets_api(api, world, result):
    manager = world.user("a", "content_manager")
    _, raw_key = services.create_api_key(user=manager, company=world.a, name="read", permissions=[ApiKey.READ])
    api.credentials(HTTP_X_API_KEY=raw_key)
    on_tickets = api.post("/api/v1/content/tickets/", {"title": "x"}, format="json")
    response = api.post(respond_url(result), {"action": "ticket"}, format="json")
    assert on_tickets.status_code == response.status_code == 403
    assert response.json() == {"detail": "This API key lacks the 'write' permission."}
    assert not Ticket.objects.exists()


@pytest.fixture(scope="class")
def kept_result(kept_world, django_db_blocker):
    """A result of the class's world, made once for the tests of a class, which only read it."""
    yield from flushing.shared(django_db_blocker, lambda: make_result(kept_world.a))


class TestBadInput(SharedWorld):
    """Refused responses store nothing: one world and one result for them all."""

    @pytest.fixture
    def result(self, kept_result):
        return kept_result

    @pytest.mark.parametrize(
        "body, field",
        [
            ({}, "action"),
            ({"action": "archive"}, "action"),
            ({"action": "ticket", "priority": "whenever"}, "priority"),
            ({"action": "ticket", "title": "x" * 301}, "title"),
            ({"action": "pipeline"}, "pipeline"),
            ({"action": "pipeline", "pipeline": "nope"}, "pipeline"),
        ],
    )
    def test_bad_input_is_a_400_naming_the_field_and_stores_nothing(self, api, world, result, body, field):
        response = api.as_user(world.user("a", "content_manager")).post(respond_url(result), body, format="json")
        assert response.status_code == 400 and field in response.json(), response.content
        assert not Ticket.objects.exists() and not Context.objects.exists()


def test_another_companys_result_is_a_404_and_its_pipeline_agent_or_assignee_a_400(api, world, result):
    theirs = make_result(world.b, title="B's kettle")
    b_pipeline = reply_pipeline(world.b)
    manager = api.as_user(world.user("a", "company_admin"))
    for body in ({"action": "ticket"}, {"action": "pipeline", "pipeline": str(reply_pipeline(world.a).pk)}):
        assert manager.post(respond_url(theirs), body, format="json").status_code == 404
    foreign = {
        "pipeline": {"action": "pipeline", "pipeline": str(b_pipeline.pk)},
        "agent": {"action": "pipeline", "pipeline": str(reply_pipeline(world.a, name="Mine").pk), "agent": "x"},
        "assigned_to": {"action": "ticket", "assigned_to": str(world.user("b", "content_writer").pk)},
    }
    b_agent = make_agent(world.b, make_provider(world.b, _Unreachable()))
    foreign["agent"]["agent"] = str(b_agent.pk)
    for field, body in foreign.items():
        response = manager.post(respond_url(result), body, format="json")
        assert response.status_code == 400 and list(response.json()) == [field], response.content
    assert not Ticket.objects.exists() and not Context.objects.exists()


class _Unreachable:
    base_url = "http://127.0.0.1:9/v1"


# --- a pipeline run ---------------------------------------------------------------------------------


def test_a_run_from_a_result_carries_it_links_it_and_is_queued_and_audited(api, world, result, queued):
    pipeline = reply_pipeline(world.a)
    writer = world.user("a", "content_writer")
    response = api.as_user(writer).post(
        respond_url(result),
        {"action": "pipeline", "pipeline": str(pipeline.pk), "priority": 80, "instructions": "Offer a refund."},
        format="json",
    )
    assert response.status_code == 202, response.content
    body = response.json()
    assert (body["status"], body["priority"], body["pipeline"], body["user"]) == (
        "pending",
        80,
        str(pipeline.pk),
        str(writer.pk),
    )
    link = {"kind": "scraping.result", "id": str(result.pk), "url": result.content.url, "title": "Leaky kettle"}
    assert body["links"] == [link]
    data = Context.objects.get(pk=body["id"]).data
    assert data["title"] == "Respond to: Leaky kettle"
    assert data["result"] == {
        "id": str(result.pk),
        "url": result.content.url,
        "title": "Leaky kettle",
        "text": COMPLAINT,
        "platform": "review",
        "published_at": result.published_at.isoformat(),
        "sentiment": {"label": result.sentiment.label, "compound": result.sentiment.compound},
    }
    assert data["sources"] == [{**link, "text": COMPLAINT}]
    assert data["instructions"].startswith("Offer a refund.") and COMPLAINT in data["sources"][0]["text"]
    assert queued == [(body["id"], None)]
    entry = AuditLog.objects.get(event_type="context.created", object_id=body["id"])
    assert entry.source == "api" and entry.actor_id == writer.pk


def test_an_inactive_pipeline_is_a_400_and_the_queue_down_a_503_with_nothing_stored(
    api, world, result, queued, monkeypatch
):
    manager = api.as_user(world.user("a", "content_manager"))
    idle = reply_pipeline(world.a, name="Idle", is_active=False)
    response = manager.post(respond_url(result), {"action": "pipeline", "pipeline": str(idle.pk)}, format="json")
    assert response.status_code == 400 and "not active" in response.json()["pipeline"][0]

    monkeypatch.setitem(celery_app.conf, "broker_url", "redis://127.0.0.1:1/0")  # nothing listens there
    monkeypatch.setitem(celery_app.conf, "broker_write_url", "redis://127.0.0.1:1/0")
    pipeline = reply_pipeline(world.a)
    down = manager.post(respond_url(result), {"action": "pipeline", "pipeline": str(pipeline.pk)}, format="json")
    assert down.status_code == 503 and down.json()["code"] == "queue_unavailable"
    assert not Context.objects.exists() and queued == []
    assert not AuditLog.objects.filter(event_type="context.created").exists()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_worker_runs_the_response_and_the_prompt_quotes_the_result(api, world, llm, celery_worker):
    result = make_result(world.a)
    pipeline = reply_pipeline(world.a, llm)
    worker = celery_worker("respond", env={"FIELD_ENCRYPTION_KEY": TEST_KEY, "KNOWLEDGE_LLM_MAX_RETRIES": "0"})
    response = api.as_user(world.user("a", "content_manager")).post(
        respond_url(result), {"action": "pipeline", "pipeline": str(pipeline.pk)}, format="json"
    )
    assert response.status_code == 202, response.content
    context_id = response.json()["id"]
    finished = (ContextStatus.COMPLETED, ContextStatus.FAILED)
    assert wait_until(
        lambda: Context.objects.get(pk=context_id).status in finished or not worker.alive(), timeout=90
    ), worker.log()
    done = Context.objects.get(pk=context_id)
    assert done.status == ContextStatus.COMPLETED, (done.error, worker.log())
    [chat] = llm.chats
    prompt = "\n".join(m["content"] for m in chat["messages"] if m["role"] == "user")
    assert COMPLAINT in prompt and "Respond to: Leaky kettle" in prompt
    assert done.links[0]["id"] == str(result.pk) and done.data["result"]["id"] == str(result.pk)
    assert "text for Respond to: Leaky kettle" in done.data["formatted_content"]["content"]


# --- the admin --------------------------------------------------------------------------------------


@pytest.fixture
def staff(client):
    def sign_in(user):
        client.force_login(user)
        return client

    return sign_in


def test_the_admin_opens_a_ticket_from_results_and_links_both_ways(staff, world, result):
    other = make_result(world.a, title="Lid broke", text="The lid broke off.")
    client = staff(world.user("a", "content_manager"))
    page = client.post(
        "/admin/scraping/result/",
        {"action": "open_ticket", "_selected_action": [str(result.pk), str(other.pk)]},
        follow=True,
    )
    assert page.status_code == 200
    tickets = {t.links[0]["id"]: t for t in Ticket.objects.all()}
    assert set(tickets) == {str(result.pk), str(other.pk)}
    ticket = tickets[str(result.pk)]
    assert ticket.title == "Respond to: Leaky kettle" and ticket.created_by_id == world.user("a", "content_manager").pk
    message = page.content.decode()
    assert "Opened 2 ticket(s)" in message and f"/admin/content/ticket/{ticket.pk}/change/" in message
    assert AuditLog.objects.filter(event_type="ticket.created", source="admin").count() == 2

    change = client.get(f"/admin/content/ticket/{ticket.pk}/change/").content.decode()
    assert f'href="/admin/scraping/result/{result.pk}/change/"' in change  # opened from: the result's admin page
    assert f'href="{result.content.url}"' in change


def test_the_admin_drafts_a_response_with_a_chosen_pipeline(staff, world, result, queued):
    pipeline = reply_pipeline(world.a)
    reply_pipeline(world.a, name="Retired", is_active=False)
    reply_pipeline(world.b, name="B's pipeline")
    client = staff(world.user("a", "company_admin"))
    chooser = client.post("/admin/scraping/result/", {"action": "draft_response", "_selected_action": [str(result.pk)]})
    assert chooser.status_code == 200
    page = chooser.content.decode()
    assert "Replies" in page and "Retired" not in page and "B&#x27;s pipeline" not in page
    assert not Context.objects.exists()

    done = client.post(
        "/admin/scraping/result/",
        {
            "action": "draft_response",
            "_selected_action": [str(result.pk)],
            "index": "0",
            "apply": "yes",
            "pipeline": str(pipeline.pk),
            "instructions": "Apologise.",
        },
        follow=True,
    )
    [context] = Context.objects.all()
    assert context.pipeline_id == pipeline.pk and context.links[0]["id"] == str(result.pk)
    assert context.data["instructions"].startswith("Apologise.") and queued == [(str(context.pk), None)]
    assert f"/admin/content/context/{context.pk}/change/" in done.content.decode()
    assert AuditLog.objects.filter(event_type="context.created", source="admin", object_id=str(context.pk)).exists()
    shown = client.get(f"/admin/content/context/{context.pk}/change/").content.decode()
    assert f'href="/admin/scraping/result/{result.pk}/change/"' in shown


def test_the_admin_refuses_a_foreign_pipeline_and_foreign_results(staff, world, result, queued):
    theirs = make_result(world.b, title="B's kettle")
    b_pipeline = reply_pipeline(world.b)
    client = staff(world.user("a", "company_admin"))
    page = client.post(
        "/admin/scraping/result/",
        {
            "action": "draft_response",
            "_selected_action": [str(result.pk)],
            "index": "0",
            "apply": "yes",
            "pipeline": str(b_pipeline.pk),
        },
    )
    assert page.status_code == 200 and "Select a valid choice" in page.content.decode()
    client.post("/admin/scraping/result/", {"action": "open_ticket", "_selected_action": [str(theirs.pk)]})
    assert not Context.objects.exists() and not Ticket.objects.exists() and queued == []


def test_the_ticket_admin_shows_links_of_unknown_kinds_as_text(staff, world):
    ticket = Ticket.objects.create(
        company=world.a,
        title="From elsewhere",
        links=[{"kind": "somewhere.thing", "id": "42", "url": "javascript:alert(1)", "title": "<b>odd</b>"}],
    )
    page = staff(world.user("a", "content_manager")).get(f"/admin/content/ticket/{ticket.pk}/change/")
    html = page.content.decode()
    assert "somewhere.thing: &lt;b&gt;odd&lt;/b&gt;" in html and "javascript:alert" not in html
    assert "<b>odd</b>" not in html


# --- what was opened from a result --------------------------------------------------------------------


def test_a_results_responses_list_what_links_it_as_each_role_sees_tickets(api, world, result, queued):
    other = make_result(world.a, title="Lid broke", text="The lid broke off.")
    manager, writer = world.user("a", "content_manager"), world.user("a", "content_writer")
    as_manager = api.as_user(manager)
    ticket = as_manager.post(respond_url(result), {"action": "ticket"}, format="json").json()
    pipeline = reply_pipeline(world.a)
    run = as_manager.post(respond_url(result), {"action": "pipeline", "pipeline": str(pipeline.pk)}, format="json")
    as_manager.post(respond_url(other), {"action": "ticket"}, format="json")  # links the other result only

    url = f"/api/v1/scraping/results/{result.pk}/responses/"
    seen = as_manager.get(url).json()
    assert [t["id"] for t in seen["tickets"]] == [ticket["id"]]
    assert [c["id"] for c in seen["contexts"]] == [run.json()["id"]] and seen["more"] is False
    by_writer = api.as_user(writer).get(url).json()  # a writer sees the tickets assigned to them only
    assert by_writer["tickets"] == [] and len(by_writer["contexts"]) == 1
    assert api.as_user(world.user("b", "company_admin")).get(url).status_code == 404


def test_the_responses_query_is_one_index_scan_on_the_link(result):
    from monitoring.selectors import responses

    plans = [str(responses.linking(model, result).explain()) for model in (Ticket, Context)]
    assert all("IXSCAN" in plan and "COLLSCAN" not in plan for plan in plans), plans
    assert "ticket_company_link" in plans[0] and "context_company_link" in plans[1]

"""Company B never reads, lists, changes, deletes, cancels or retries company A's content:
every content endpoint answers 404 for A's ids, lists never include them, and B's writes
cannot point at A's pipelines, agents or users."""

import pytest

from content.models import Campaign, Context, Ticket
from content.services import batches
from tests.support.content import article_setup, content_settings, make_agent, make_provider, queued  # noqa: F401

pytestmark = pytest.mark.django_db
BASE = "/api/v1/content"


@pytest.fixture
def a_objects(world):
    setup = article_setup(world.a)
    batch = batches.create_batch(pipeline=setup.pipeline, items=[{"data": {"title": "A's"}}])
    ticket = Ticket.objects.create(company=world.a, title="A's ticket", created_by=world.user("a", "client"))
    campaign = Campaign.objects.create(company=world.a, name="A's campaign")
    return {
        "tickets": ticket.pk,
        "campaigns": campaign.pk,
        "templates": setup.template.pk,
        "components": setup.components["template"].pk,
        "pipelines": setup.pipeline.pk,
        "contexts": batch.context_ids[0],
        "batches": batch.pk,
    }


EDITABLE = ["tickets", "campaigns", "templates", "components", "pipelines"]
RUNS = ["contexts", "batches"]


@pytest.mark.parametrize("endpoint", EDITABLE + RUNS)
def test_company_b_gets_404_on_company_a(api, world, a_objects, endpoint):
    api.as_user(world.user("b", "company_admin"))
    target = a_objects[endpoint]
    url = f"{BASE}/{endpoint}/{target}/"
    listed = api.get(f"{BASE}/{endpoint}/").json()["results"]
    assert str(target) not in {row["id"] for row in listed}
    assert api.get(url).status_code == 404
    if endpoint in EDITABLE:
        assert api.patch(url, {"name": "hijacked", "title": "hijacked"}, format="json").status_code == 404
        assert api.put(url, {"name": "hijacked", "title": "hijacked"}, format="json").status_code == 404
        assert api.delete(url).status_code == 404
    else:
        assert api.post(f"{url}cancel/").status_code == 404
        assert api.post(f"{url}retry/").status_code == 404
        # No edits or deletes on runs at all: the same answer for any id, A's or none.
        assert api.patch(url, {}, format="json").status_code == 405
        assert api.delete(f"{BASE}/{endpoint}/000000000000000000000000/").status_code == 405
    if endpoint == "batches":
        assert api.get(f"{url}summary/").status_code == 404


def test_nothing_of_company_a_changed_by_company_b(api, world, a_objects):
    api.as_user(world.user("b", "company_admin"))
    for endpoint, target in a_objects.items():
        url = f"{BASE}/{endpoint}/{target}/"
        api.patch(url, {"name": "x", "title": "x", "status": "closed"}, format="json")
        api.delete(url)
        api.post(f"{url}cancel/")
    assert Ticket.objects.get(pk=a_objects["tickets"]).title == "A's ticket"
    assert not Ticket.all_objects.get(pk=a_objects["tickets"]).is_deleted
    assert Campaign.objects.get(pk=a_objects["campaigns"]).name == "A's campaign"
    assert Context.objects.get(pk=a_objects["contexts"]).status == "pending"


def test_b_cannot_use_a_s_pipelines_agents_templates_or_users(api, world, a_objects, llm):
    agent = make_agent(world.a, make_provider(world.a, llm))
    b_setup = article_setup(world.b)
    api.as_user(world.user("b", "company_admin"))
    on_a_pipeline = api.post(f"{BASE}/contexts/", {"pipeline": str(a_objects["pipelines"]), "data": {}}, format="json")
    assert on_a_pipeline.status_code == 400 and "pipeline" in on_a_pipeline.json()
    with_a_agent = api.post(
        f"{BASE}/contexts/", {"pipeline": str(b_setup.pipeline.pk), "data": {}, "agent": str(agent.pk)}, format="json"
    )
    assert with_a_agent.status_code == 400 and "agent" in with_a_agent.json()
    batch = api.post(
        f"{BASE}/batches/", {"pipeline": str(a_objects["pipelines"]), "contexts": [{"data": {}}]}, format="json"
    )
    assert batch.status_code == 400 and "pipeline" in batch.json()
    step = {
        "component_id": str(a_objects["components"]),
        "config_overrides": {"template_id": str(a_objects["templates"])},
    }
    pipeline = api.post(f"{BASE}/pipelines/", {"name": "P", "components": [step]}, format="json")
    assert pipeline.status_code == 400 and "unknown component" in pipeline.json()["components"][0]
    component = api.post(
        f"{BASE}/components/",
        {"name": "c", "type": "template", "config": {"template_id": str(a_objects["templates"])}},
        format="json",
    )
    assert component.status_code == 400 and "No template" in component.json()["config"][0]
    ticket = api.post(
        f"{BASE}/tickets/",
        {"title": "t", "assigned_to": str(world.user("a", "content_writer").pk), "agent": str(agent.pk)},
        format="json",
    )
    assert ticket.status_code == 400 and {"assigned_to", "agent"} <= set(ticket.json())
    assert Context.objects.filter(company=world.b).count() == 0


def test_created_content_is_stamped_with_the_callers_company(api, world):
    api.as_user(world.user("b", "content_manager"))
    response = api.post(f"{BASE}/tickets/", {"title": "mine", "company": str(world.a.pk)}, format="json")
    assert response.status_code == 201
    assert Ticket.objects.get(title="mine").company_id == world.b.pk

"""The content admin: pages render for company staff, a context's processing timeline shows
each attempt's components, cancel/retry and soft delete/restore actions work, definitions
are validated as in the API, and nothing crosses companies."""

import re

import pytest

from content.models import Batch, Context, Pipeline, Template, Ticket
from content.services import batches, runner
from tests.support.content import article_setup, content_settings, fresh, make_template, new_context, queued  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client):
    def sign_in(user):
        client.force_login(user)
        return client

    return sign_in


@pytest.fixture
def ran(world, llm):
    """A batch of two contexts in company A: one completed after a retry, one pending."""
    setup = article_setup(world.a, llm)
    batch = batches.create_batch(
        pipeline=setup.pipeline, name="Daily", items=[{"data": {"title": "Done"}}, {"data": {"title": "Waiting"}}]
    )
    llm.script = [("status", 429)]
    assert runner.process_context(context_id=batch.context_ids[0]) == runner.RETRY
    assert runner.process_context(context_id=batch.context_ids[0]) == runner.COMPLETED
    Ticket.objects.create(company=world.a, title="A ticket", is_deleted=True)
    return setup, batch


def test_content_pages_render_for_company_staff(staff, world, ran):
    setup, batch = ran
    client = staff(world.user("a", "content_manager"))
    for model in ("ticket", "campaign", "template", "component", "pipeline", "context", "batch"):
        assert client.get(f"/admin/content/{model}/").status_code == 200, model
    for model in ("ticket", "campaign", "template", "component", "pipeline"):
        assert client.get(f"/admin/content/{model}/add/").status_code == 200, model
    done = client.get(f"/admin/content/context/{batch.context_ids[0]}/change/").content.decode()
    assert "Processing timeline" in done and "ai_generator" in done
    summary = client.get(f"/admin/content/batch/{batch.pk}/change/").content.decode()
    assert "<td>completed</td><td>1</td>" in summary and "<td>pending</td><td>1</td>" in summary
    pipeline = client.get(f"/admin/content/pipeline/{setup.pipeline.pk}/change/").content.decode()
    assert str(setup.components["ai_generator"].pk) in pipeline
    assert "A ticket" in client.get("/admin/content/ticket/?deleted=yes").content.decode()


def test_the_context_changelist_filters_by_the_types_of_recent_contexts(staff, world, ran):
    setup, _ = ran
    new_context(setup, type="summary")
    client = staff(world.user("a", "company_admin"))
    page = client.get("/admin/content/context/").content.decode()
    assert "?type=article" in page and "?type=summary" in page
    filtered = client.get("/admin/content/context/?type=summary")
    assert filtered.status_code == 200 and filtered.context["cl"].result_count == 1


def test_the_processing_timeline_view(staff, world, ran):
    _, batch = ran
    client = staff(world.user("a", "company_admin"))
    response = client.get(f"/admin/content/context/{batch.context_ids[0]}/timeline/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Attempt 1" in html and "Attempt 2" in html
    assert html.count("HTTP 429") == 1 and "Retry 1 in 0 s" in html
    bars = re.findall(r'class="timeline-bar( error)?"\s+style="left: ([\d.]+)%; width: ([\d.]+)%"', html)
    # Template and the failed ai_generator, then (the template's output kept) ai_generator and transformer.
    assert [bool(error) for error, _, _ in bars] == [False, True, False, False]
    assert all(0 <= float(left) <= 100 and 0 < float(width) <= 100 for _, left, width in bars)
    pending = client.get(f"/admin/content/context/{batch.context_ids[1]}/timeline/").content.decode()
    assert "Not processed yet." in pending


def test_cancel_and_retry_actions(staff, world, ran):
    _, batch = ran
    client = staff(world.user("a", "content_manager"))
    waiting, done = batch.context_ids[1], batch.context_ids[0]
    response = client.post(
        "/admin/content/context/", {"action": "cancel", "_selected_action": [waiting, done]}, follow=True
    )
    assert "Cancelled 1." in response.content.decode() and "can be cancelled" in response.content.decode()
    assert Context.objects.get(pk=waiting).status == "cancelled"
    assert Batch.objects.get(pk=batch.pk).status == "completed"
    client.post("/admin/content/context/", {"action": "retry", "_selected_action": [waiting]})
    assert Context.objects.get(pk=waiting).status == "pending"
    assert Batch.objects.get(pk=batch.pk).status == "processing"


def test_ticket_soft_delete_and_restore_actions(staff, world):
    ticket = Ticket.objects.create(company=world.a, title="Keep me")
    client = staff(world.user("a", "content_manager"))
    client.post("/admin/content/ticket/", {"action": "soft_delete", "_selected_action": [ticket.pk]})
    assert Ticket.all_objects.get(pk=ticket.pk).is_deleted and not Ticket.objects.filter(pk=ticket.pk).exists()
    client.post("/admin/content/ticket/?deleted=yes", {"action": "restore", "_selected_action": [ticket.pk]})
    assert Ticket.objects.filter(pk=ticket.pk).exists()
    bad = client.post(
        f"/admin/content/ticket/{ticket.pk}/change/",
        {"title": "Keep me", "status": "completed", "priority": "medium", "tags": ""},
    )
    assert bad.status_code == 200 and "Cannot change status from “open” to “completed”" in bad.content.decode()


def test_definitions_are_validated_in_the_admin(staff, world):
    setup = article_setup(world.a)
    client = staff(world.user("a", "content_manager"))
    template = client.post(
        "/admin/content/template/add/",
        {
            "name": "Bad",
            "version": "1.0.0",
            "structure": '{"sections": [{"id": "a", "word_range": [5, 1]}]}',
            "metadata": "{}",
            "is_active": "on",
        },
    )
    assert "the minimum (5) is greater than the maximum (1)" in template.content.decode()
    component = client.post(
        "/admin/content/component/add/",
        {"name": "c", "type": "ai_generator", "config": '{"temperature": 9}', "metadata": "{}"},
    )
    assert "temperature: must be a number between 0 and 2." in component.content.decode()
    form = {
        "name": "P",
        "default_context_type": "article",
        "metadata": "{}",
        "is_active": "on",
        "components-TOTAL_FORMS": "1",
        "components-INITIAL_FORMS": "0",
        "components-0-component_id": str(setup.components["template"].pk),
        "components-0-name": "tpl",
        "components-0-order": "1",
        "components-0-config_overrides": "{}",
    }
    refused = client.post("/admin/content/pipeline/add/", form)
    assert "A template component needs a template_id." in refused.content.decode()
    form["components-0-config_overrides"] = f'{{"template_id": "{setup.template.pk}"}}'
    accepted = client.post("/admin/content/pipeline/add/", form)
    assert accepted.status_code == 302, accepted.content.decode()[:3000]
    created = Pipeline.objects.get(name="P")
    assert created.company_id == world.a.pk and created.components[0].config_overrides["template_id"]
    assert Template.objects.filter(name="Bad").count() == 0


def test_a_structure_change_in_the_admin_bumps_the_version(staff, world):
    template = make_template(world.a)
    client = staff(world.user("a", "content_manager"))
    response = client.post(
        f"/admin/content/template/{template.pk}/change/",
        {
            "name": template.name,
            "version": "1.0.0",
            "metadata": "{}",
            "is_active": "on",
            "structure": '{"sections": [{"id": "only", "word_range": [1, 2]}]}',
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    changed = fresh(template)
    assert changed.version == "1.1.0" and changed.history[0]["version"] == "1.0.0"


def test_staff_see_only_their_company(staff, world, ran):
    _, batch = ran
    client = staff(world.user("b", "company_admin"))
    assert str(batch.context_ids[0]) not in client.get("/admin/content/context/").content.decode()
    assert client.get(f"/admin/content/context/{batch.context_ids[0]}/timeline/").status_code == 404
    assert client.get(f"/admin/content/batch/{batch.pk}/change/").status_code == 302
    client.post("/admin/content/context/", {"action": "cancel", "_selected_action": [batch.context_ids[1]]})
    assert Context.objects.get(pk=batch.context_ids[1]).status == "pending"

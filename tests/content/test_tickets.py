"""Tickets and campaigns through the API: the status workflows, who sees which tickets,
filters, assignment rules, soft delete; bad input is a 400 with field messages and stores
nothing."""

from datetime import UTC, datetime, timezone

import pytest

from content.models import TICKET_FLOW, Campaign, Ticket, TicketStatus
from content.models.workflow import InvalidTransition
from content.services import tickets
from events.models import AuditLog
from tests.support.content import content_settings, queued  # noqa: F401

pytestmark = pytest.mark.django_db
URL = "/api/v1/content/tickets/"
S = TicketStatus


def _ticket(world, title="Write a post", *, by=("a", "client"), **fields):
    creator = world.user(*by)
    return Ticket.objects.create(company=creator.company, title=title, created_by=creator, **fields)


def test_a_client_files_a_ticket_and_sees_only_their_own(api, world):
    client = world.user("a", "client")
    response = api.as_user(client).post(
        URL,
        {
            "title": "Landing page copy",
            "priority": "high",
            "tags": ["web", " web ", "copy"],
            "due_date": "2030-01-02T10:00:00Z",
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "open" and body["created_by"] == str(client.pk) and body["tags"] == ["web", "copy"]
    _ticket(world, "someone else's", by=("a", "content_manager"))
    assert [t["title"] for t in api.get(URL).json()["results"]] == ["Landing page copy"]
    assert AuditLog.objects.filter(event_type="ticket.created", object_id=body["id"]).exists()


def test_writers_see_their_assigned_tickets_and_managers_all(api, world):
    writer = world.user("a", "content_writer")
    mine = _ticket(world, "mine", assigned_to=writer)
    _ticket(world, "unassigned")
    _ticket(world, "in B", by=("b", "client"))
    assert [t["title"] for t in api.as_user(writer).get(URL).json()["results"]] == ["mine"]
    assert api.get(f"{URL}{mine.pk}/").status_code == 200
    titles = {t["title"] for t in api.as_user(world.user("a", "content_manager")).get(URL).json()["results"]}
    assert titles == {"mine", "unassigned"}


@pytest.mark.parametrize(
    "old, new, allowed",
    [
        (S.OPEN, S.IN_PROGRESS, True),
        (S.IN_PROGRESS, S.REVIEW, True),
        (S.REVIEW, S.COMPLETED, True),
        (S.COMPLETED, S.CLOSED, True),
        (S.REVIEW, S.IN_PROGRESS, True),
        (S.IN_PROGRESS, S.OPEN, True),
        (S.OPEN, S.CLOSED, True),
        (S.CLOSED, S.OPEN, True),
        (S.COMPLETED, S.IN_PROGRESS, True),
        (S.OPEN, S.REVIEW, False),
        (S.OPEN, S.COMPLETED, False),
        (S.IN_PROGRESS, S.COMPLETED, False),
        (S.CLOSED, S.COMPLETED, False),
        (S.CLOSED, S.IN_PROGRESS, False),
        (S.COMPLETED, S.OPEN, False),
    ],
)
def test_status_transitions_are_enforced(api, world, old, new, allowed):
    ticket = _ticket(world, status=old)
    response = api.as_user(world.user("a", "content_manager")).patch(f"{URL}{ticket.pk}/", {"status": new})
    stored = Ticket.objects.get(pk=ticket.pk).status
    if allowed:
        assert response.status_code == 200 and stored == new
    else:
        assert response.status_code == 400
        assert response.json()["status"] == [
            f"Cannot change status from “{old}” to “{new}”; allowed: {', '.join(TICKET_FLOW.allowed(old))}."
        ]
        assert stored == old
    # The service enforces the same table.
    fresh = Ticket.objects.get(pk=ticket.pk)
    if not allowed:
        with pytest.raises(InvalidTransition):
            tickets.update_ticket(ticket=fresh, status=new)


def test_the_whole_workflow_and_unknown_statuses(api, world):
    writer = world.user("a", "content_writer")
    ticket = _ticket(world, assigned_to=writer)
    api.as_user(writer)
    for status in (S.IN_PROGRESS, S.REVIEW, S.IN_PROGRESS, S.REVIEW, S.COMPLETED):
        assert api.patch(f"{URL}{ticket.pk}/", {"status": status}).status_code == 200, status
    bogus = api.patch(f"{URL}{ticket.pk}/", {"status": "archived"})
    assert bogus.status_code == 400 and "status" in bogus.json()
    new = api.post(URL, {"title": "born closed", "status": "closed"})
    assert new.status_code == 400 and new.json() == {"status": ["A new ticket is open."]}
    assert not Ticket.all_objects.filter(title="born closed").exists()


def test_clients_may_only_close_or_reopen(api, world):
    client = world.user("a", "client")
    ticket = _ticket(world)
    api.as_user(client)
    refused = api.patch(f"{URL}{ticket.pk}/", {"status": "in_progress"})
    assert refused.status_code == 400 and refused.json()["status"] == ["A client may only close or reopen a ticket."]
    assert api.patch(f"{URL}{ticket.pk}/", {"status": "closed"}).status_code == 200
    assert api.patch(f"{URL}{ticket.pk}/", {"status": "open"}).status_code == 200


def test_assignment_rules(api, world, make_user):
    ticket = _ticket(world)
    writer, manager = world.user("a", "content_writer"), world.user("a", "content_manager")
    by_client = api.as_user(world.user("a", "client")).patch(f"{URL}{ticket.pk}/", {"assigned_to": str(writer.pk)})
    assert by_client.status_code == 400 and "Only content managers" in by_client.json()["assigned_to"][0]
    api.as_user(manager)
    other_company = api.patch(f"{URL}{ticket.pk}/", {"assigned_to": str(world.user("b", "content_writer").pk)})
    assert other_company.status_code == 400 and "assigned_to" in other_company.json()
    client_assignee = api.patch(f"{URL}{ticket.pk}/", {"assigned_to": str(world.user("a", "client").pk)})
    assert client_assignee.json() == {"assigned_to": ["Assign an active writer, manager or admin of this company."]}
    assert Ticket.objects.get(pk=ticket.pk).assigned_to_id is None
    ok = api.patch(f"{URL}{ticket.pk}/", {"assigned_to": str(writer.pk)})
    assert ok.status_code == 200 and Ticket.objects.get(pk=ticket.pk).assigned_to_id == writer.pk


def test_filters(api, world):
    writer = world.user("a", "content_writer")
    _ticket(
        world,
        "urgent web",
        priority="urgent",
        tags=["web"],
        assigned_to=writer,
        due_date=datetime(2030, 1, 5, tzinfo=UTC),
    )
    _ticket(
        world, "low print", priority="low", tags=["print"], status=S.REVIEW, due_date=datetime(2030, 3, 1, tzinfo=UTC)
    )
    _ticket(world, "no due", tags=["web", "print"])
    api.as_user(world.user("a", "company_admin"))

    def titles(query):
        response = api.get(f"{URL}?{query}")
        assert response.status_code == 200, response.content
        return sorted(t["title"] for t in response.json()["results"])

    assert titles("status=review") == ["low print"]
    assert titles("priority=urgent") == ["urgent web"]
    assert titles(f"assigned_to={writer.pk}") == ["urgent web"]
    assert titles("tag=web") == ["no due", "urgent web"]
    assert titles("due_after=2030-01-01T00:00:00Z&due_before=2030-02-01T00:00:00Z") == ["urgent web"]
    assert titles("search=print") == ["low print"]
    assert api.get(f"{URL}?assigned_to=nope").status_code == 400
    assert api.get(f"{URL}?status=bogus").status_code == 400


def test_delete_is_soft_and_for_managers(api, world):
    ticket = _ticket(world)
    assert api.as_user(world.user("a", "client")).delete(f"{URL}{ticket.pk}/").status_code == 403
    api.as_user(world.user("a", "content_manager"))
    assert api.delete(f"{URL}{ticket.pk}/").status_code == 204
    assert api.get(f"{URL}{ticket.pk}/").status_code == 404
    assert api.get(URL).json()["count"] == 0
    kept = Ticket.all_objects.get(pk=ticket.pk)
    assert kept.is_deleted and kept.deleted_at is not None
    assert AuditLog.objects.filter(event_type="ticket.deleted", object_id=str(ticket.pk)).exists()


def test_bad_ticket_input_is_refused_with_field_messages(api, world):
    api.as_user(world.user("a", "content_manager"))
    response = api.post(
        URL, {"title": "", "priority": "whenever", "tags": "not-a-list", "due_date": "soon", "agent": "123"}
    )
    assert response.status_code == 400
    assert {"title", "priority", "tags", "due_date", "agent"} <= set(response.json())
    assert Ticket.all_objects.count() == 0


# --- campaigns ------------------------------------------------------------------------------

CAMPAIGNS = "/api/v1/content/campaigns/"


def test_campaign_lifecycle_dates_and_roles(api, world):
    manager = world.user("a", "content_manager")
    api.as_user(manager)
    created = api.post(
        CAMPAIGNS,
        {
            "name": "Spring",
            "start_date": "2030-03-01T00:00:00Z",
            "end_date": "2030-05-31T00:00:00Z",
            "settings": {"channels": ["blog"]},
        },
    )
    assert created.status_code == 201, created.content
    url = f"{CAMPAIGNS}{created.json()['id']}/"
    assert created.json()["status"] == "draft" and created.json()["created_by"] == str(manager.pk)
    skipped = api.patch(url, {"status": "completed"})
    assert skipped.status_code == 400 and "allowed: active" in skipped.json()["status"][0]
    for status in ("active", "paused", "active", "completed"):
        assert api.patch(url, {"status": status}).status_code == 200, status
    assert api.patch(url, {"status": "active"}).json()["status"] == [
        "Cannot change status from “completed” to “active”; allowed: none (final)."
    ]
    backwards = api.patch(url, {"end_date": "2030-01-01T00:00:00Z"})
    assert backwards.status_code == 400 and backwards.json() == {"end_date": ["The end date is before the start date."]}
    assert api.post(CAMPAIGNS, {"name": "x", "settings": [1]}).json() == {"settings": ["Must be an object."]}
    writer = api.as_user(world.user("a", "content_writer"))
    assert writer.get(url).status_code == 200
    assert writer.patch(url, {"name": "mine now"}).status_code == 403
    assert api.as_user(world.user("a", "client")).get(CAMPAIGNS).status_code == 403
    assert Campaign.objects.get().name == "Spring"

"""In-app notifications: each user reads, marks read and dismisses their own, in
the company the request acts for; kept 30 days."""

import pytest
from django.db import connection

from events.models import AuditLog, Notification
from events.services.notifications import notify, notify_company_admins


@pytest.fixture
def inbox(world):
    """Two notifications for a-client, one for another user of A, one for a user of B."""
    me = world.user("a", "client")
    return {
        "me": me,
        "mine": [
            notify(user=me, type="ticket", title="Ticket answered"),
            notify(user=me, type="sync", title="Sync finished", metadata={"run": 7}),
        ],
        "colleague": notify(user=world.user("a", "content_writer"), type="ticket", title="Not yours"),
        "other_company": notify(user=world.user("b", "client"), type="ticket", title="Not your company"),
    }


def _ids(response):
    assert response.status_code == 200, response.content
    return {n["id"] for n in response.json()["results"]}


def test_list_shows_only_own_notifications(api, inbox):
    response = api.as_user(inbox["me"]).get("/api/v1/notifications/")
    assert _ids(response) == {str(n.pk) for n in inbox["mine"]}
    first = response.json()["results"][0]  # newest first
    assert first["title"] == "Sync finished" and first["metadata"] == {"run": 7} and first["read"] is False
    assert "user" not in first and "company" not in first


def test_other_users_notifications_are_not_found(api, inbox):
    api.as_user(inbox["me"])
    for note in (inbox["colleague"], inbox["other_company"]):
        assert api.get(f"/api/v1/notifications/{note.pk}/").status_code == 404
        assert api.post(f"/api/v1/notifications/{note.pk}/read/").status_code == 404
        assert api.delete(f"/api/v1/notifications/{note.pk}/").status_code == 404
        note.refresh_from_db()
        assert note.read is False
    assert api.get("/api/v1/notifications/nonsense/").status_code == 404


def test_mark_read_is_idempotent(api, inbox):
    note = inbox["mine"][0]
    api.as_user(inbox["me"])
    first = api.post(f"/api/v1/notifications/{note.pk}/read/")
    assert first.status_code == 200 and first.json()["read"] is True and first.json()["read_at"]
    again = api.post(f"/api/v1/notifications/{note.pk}/read/")
    assert again.status_code == 200 and again.json()["read_at"] == first.json()["read_at"]
    note.refresh_from_db()
    assert note.read and note.read_at is not None
    assert not Notification.objects.get(pk=inbox["mine"][1].pk).read


def test_read_all_counts_and_touches_only_own(api, inbox):
    api.as_user(inbox["me"])
    assert api.get("/api/v1/notifications/unread-count/").json() == {"unread": 2}
    api.post(f"/api/v1/notifications/{inbox['mine'][0].pk}/read/")
    assert api.get("/api/v1/notifications/unread-count/").json() == {"unread": 1}
    response = api.post("/api/v1/notifications/read-all/")
    assert response.status_code == 200 and response.json() == {"updated": 1}
    assert api.post("/api/v1/notifications/read-all/").json() == {"updated": 0}
    assert api.get("/api/v1/notifications/unread-count/").json() == {"unread": 0}
    assert Notification.objects.filter(read=False).count() == 2  # the colleague's and company B's


def test_filters(api, inbox):
    api.as_user(inbox["me"])
    ticket, sync = inbox["mine"]
    api.post(f"/api/v1/notifications/{sync.pk}/read/")
    assert _ids(api.get("/api/v1/notifications/?read=true")) == {str(sync.pk)}
    assert _ids(api.get("/api/v1/notifications/?read=false")) == {str(ticket.pk)}
    assert _ids(api.get("/api/v1/notifications/?type=ticket")) == {str(ticket.pk)}
    assert _ids(api.get("/api/v1/notifications/?type=sync&read=false")) == set()


def test_dismiss_deletes_without_an_audit_entry(api, inbox):
    note = inbox["mine"][0]
    assert api.as_user(inbox["me"]).delete(f"/api/v1/notifications/{note.pk}/").status_code == 204
    assert not Notification.objects.filter(pk=note.pk).exists()
    assert _ids(api.get("/api/v1/notifications/")) == {str(inbox["mine"][1].pk)}
    assert not AuditLog.objects.exists()


def test_notifications_are_not_created_or_edited_through_the_api(api, inbox):
    api.as_user(inbox["me"])
    note = inbox["mine"][0]
    assert api.post("/api/v1/notifications/", {"type": "x", "title": "forged"}).status_code == 405
    assert api.patch(f"/api/v1/notifications/{note.pk}/", {"title": "forged"}).status_code == 405
    assert Notification.objects.filter(title="forged").count() == 0


def test_every_role_has_an_inbox(api, world):
    for role in ("client", "content_writer", "content_manager", "company_admin", "superadmin"):
        user = world.user("a", role)
        notify(user=user, type="hello", title=f"hi {role}")
        assert api.as_user(user).get("/api/v1/notifications/unread-count/").json() == {"unread": 1}


def test_scoped_to_the_company_the_request_acts_for(api, world):
    guest = world.user("a", "content_manager")
    guest.guest_companies = [world.b.pk]
    guest.save()
    home = notify(user=guest, type="x", title="in A")
    away = notify(user=guest, type="x", title="in B", company=world.b)
    api.as_user(guest)
    assert _ids(api.get("/api/v1/notifications/")) == {str(home.pk)}
    assert _ids(api.get("/api/v1/notifications/", HTTP_X_COMPANY_ID=str(world.b.pk))) == {str(away.pk)}
    assert api.post("/api/v1/notifications/read-all/", HTTP_X_COMPANY_ID=str(world.b.pk)).json() == {"updated": 1}
    home.refresh_from_db()
    assert home.read is False


def test_notify_company_admins_writes_one_per_active_admin(world, make_user):
    second = make_user(world.a, "company_admin")
    make_user(world.a, "company_admin", is_active=False)
    notes = notify_company_admins(company=world.a, type="quota", title="Quota reached", metadata={"used": 100})
    assert len(notes) == 2
    stored = Notification.objects.filter(type="quota")
    assert sorted(n.user_id for n in stored) == sorted([world.user("a", "company_admin").pk, second.pk])
    assert {(n.company_id, n.title, n.metadata["used"]) for n in stored} == {(world.a.pk, "Quota reached", 100)}


def test_ttl_and_compound_indexes():
    indexes = connection.get_collection("notifications").index_information()
    keys = {tuple(spec["key"]): spec for spec in indexes.values()}
    assert keys[(("created_at", 1),)]["expireAfterSeconds"] == 2592000
    assert (("user_id", 1), ("created_at", -1)) in keys
    assert (("user_id", 1), ("read", 1)) in keys


def test_notification_admin_lists_own_company(client, world):
    notify(user=world.user("a", "client"), type="x", title="visible-to-a")
    notify(user=world.user("b", "client"), type="x", title="visible-to-b")
    client.force_login(world.user("a", "company_admin"))
    page = client.get("/admin/events/notification/?q=visible").content.decode()
    assert "visible-to-a" in page and "visible-to-b" not in page

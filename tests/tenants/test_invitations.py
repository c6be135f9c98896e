"""Invitations: company admins add people by invitation, never by creating accounts, so
nothing they do tells them whether a username or an email exists in another company.
Mails go through Django's SMTP backend to a real SMTP server (the `smtp` fixture)."""

import hashlib
import re
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from events.models import AuditLog
from events.services import audit
from requestdesk.api.throttling import ScopedRateThrottle
from tenants.models import Invitation, User
from tenants.services.invitations import INVALID

ACCEPT = "/api/v1/auth/invitations/accept/"
PASSWORD = "a-Long-passw0rd-for-tests"
TOKEN = re.compile(r"token to /api/v1/auth/invitations/accept/: (\S+)")


@pytest.fixture
def admin_api(api, world):
    return api.as_user(world.user("a", "company_admin"))


def invite(client, email, role="content_writer", **headers):
    return client.post("/api/v1/invitations/", {"email": email, "role": role}, format="json", **headers)


def token_in(message) -> str:
    found = TOKEN.search(message.get_payload())
    assert found, message.get_payload()
    return found.group(1)


def accept(token, username="newcomer", password=PASSWORD):
    return APIClient().post(ACCEPT, {"token": token, "username": username, "password": password}, format="json")


# --- hole 10: nothing about other companies' users ------------------------------------------


def test_hole10_inviting_another_companys_user_answers_as_a_fresh_address(world, admin_api, smtp):
    theirs = world.user("b", "client")
    before = User.objects.filter(pk=theirs.pk).values().get()
    users = User.objects.count()

    fresh, taken = invite(admin_api, "fresh@example.com"), invite(admin_api, theirs.email.upper())

    assert fresh.status_code == taken.status_code == 202
    fresh_body, taken_body = fresh.json(), taken.json()
    assert set(fresh_body) == set(taken_body)
    varying = {"id", "email", "created_at", "expires_at"}
    assert {k: v for k, v in fresh_body.items() if k not in varying} == {
        k: v for k, v in taken_body.items() if k not in varying
    }
    assert taken_body["status"] == "pending" and "token" not in taken_body and "token_hash" not in taken_body
    assert User.objects.count() == users
    assert User.objects.filter(pk=theirs.pk).values().get() == before  # B's user untouched
    listed = admin_api.get("/api/v1/invitations/").json()["results"]
    assert sorted(i["status"] for i in listed) == ["pending", "pending"]

    # The address's owner is told instead, and gets no link: that invitation cannot be accepted.
    [(to_fresh, fresh_mail), (to_taken, taken_mail)] = smtp.messages
    assert to_fresh == ["fresh@example.com"] and to_taken == ["B-CLIENT@example.com"]  # the domain lowercased
    assert "already belongs to a requestdesk account" in taken_mail.get_payload()
    assert not TOKEN.search(taken_mail.get_payload()) and "token=" not in taken_mail.get_payload()
    assert fresh_mail["Subject"] == taken_mail["Subject"]
    assert accept(token_in(fresh_mail)).status_code == 201


def test_hole10_company_admin_cannot_create_users_directly(world, admin_api):
    new = {"username": "direct", "email": "direct@example.com", "password": PASSWORD, "role": "client"}
    refused = admin_api.post("/api/v1/users/", new)
    assert refused.status_code == 403
    assert "/api/v1/invitations/" in refused.json()["detail"]
    taken = admin_api.post("/api/v1/users/", {**new, "username": world.user("b", "client").username})
    assert taken.status_code == 403 and taken.json() == refused.json()  # refused before any check
    assert not User.objects.filter(username="direct").exists()


def test_hole10_company_admin_cannot_change_another_users_email(world, admin_api, api):
    target = world.user("a", "client")
    url = f"/api/v1/users/{target.pk}/"
    to_theirs = admin_api.patch(url, {"email": world.user("b", "client").email})
    to_fresh = admin_api.patch(url, {"email": "brand-new@example.com"})
    assert to_theirs.status_code == to_fresh.status_code == 400
    assert (
        to_theirs.json()
        == to_fresh.json()
        == {"email": ["Only the user changes their email address (PATCH /api/v1/users/me/)."]}
    )
    target.refresh_from_db()
    assert target.email == "a-client@example.com"
    assert admin_api.patch(url, {"email": "A-Client@example.com", "first_name": "Al"}).status_code == 200  # unchanged

    # The user changes their own: a clash is about the address they typed, their own.
    me = api.as_user(target)
    assert me.patch("/api/v1/users/me/", {"email": "mine@example.com"}).json()["email"] == "mine@example.com"
    clash = me.patch("/api/v1/users/me/", {"email": world.user("a", "content_writer").email})
    assert clash.status_code == 400 and clash.json() == {"email": ["This email address is not available."]}
    target.refresh_from_db()
    assert target.email == "mine@example.com"


def test_superadmin_still_creates_users_and_changes_emails(world, api):
    api.as_user(world.user("a", "superadmin"))
    new = {"username": "direct", "email": "direct@example.com", "password": PASSWORD, "role": "client"}
    created = api.post("/api/v1/users/", new, HTTP_X_COMPANY_ID=str(world.b.pk))
    assert created.status_code == 201, created.content
    user = User.objects.get(username="direct")
    assert user.company_id == world.b.pk
    changed = api.patch(f"/api/v1/users/{user.pk}/", {"email": "moved@example.com"}, HTTP_X_COMPANY_ID=str(world.b.pk))
    assert changed.status_code == 200 and changed.json()["email"] == "moved@example.com"


# --- inviting --------------------------------------------------------------------------------


def test_accept_end_to_end_reads_the_token_from_the_mail(world, admin_api, smtp, settings):
    settings.INVITATION_ACCEPT_URL = "https://app.example.com/join?token={token}"
    response = invite(admin_api, "Newcomer@Example.COM", role="content_manager")
    assert response.status_code == 202, response.content
    [(to, mail)] = smtp.messages
    assert to == ["Newcomer@example.com"] and mail["Subject"] == "Your invitation to A on requestdesk"
    token = token_in(mail)
    assert f"https://app.example.com/join?token={token}" in mail.get_payload()
    stored = Invitation.objects.get(pk=response.json()["id"])
    assert token not in str(Invitation.objects.filter(pk=stored.pk).values().get())  # only its hash is kept
    lifetime = stored.expires_at - stored.created_at
    assert abs(lifetime - timedelta(days=settings.INVITATION_DAYS)) < timedelta(seconds=5)

    accepted = accept(token)
    assert accepted.status_code == 201, accepted.content
    body = accepted.json()
    assert {"access", "refresh", "token_type", "expires_in"} <= set(body)
    user = User.objects.get(username="newcomer")
    assert (user.company_id, user.role, user.email) == (world.a.pk, "content_manager", "Newcomer@example.com")
    assert body["user"] == {
        "id": str(user.pk),
        "username": "newcomer",
        "email": "Newcomer@example.com",
        "role": "content_manager",
        "company": str(world.a.pk),
    }
    me = APIClient()
    me.credentials(HTTP_AUTHORIZATION=f"Bearer {body['access']}")
    assert me.get("/api/v1/users/me/").json()["username"] == "newcomer"
    signin = APIClient().post("/api/v1/auth/token/", {"username": "newcomer", "password": PASSWORD}, format="json")
    assert signin.status_code == 200

    assert admin_api.get(f"/api/v1/invitations/{stored.pk}/").json()["status"] == "accepted"
    again = accept(token, username="second")
    assert again.status_code == 400 and again.json() == {"detail": INVALID}
    assert not User.objects.filter(username="second").exists()


def test_accept_errors(world, admin_api, smtp):
    invite(admin_api, "new@example.com")
    token = token_in(smtp.messages[-1][1])
    taken = accept(token, username=world.user("b", "client").username)
    assert taken.status_code == 400 and taken.json() == {"username": ["This username is not available."]}
    weak = accept(token, password="123")
    assert weak.status_code == 400 and set(weak.json()) == {"password"}
    bad_name = accept(token, username="no spaces allowed")
    assert bad_name.status_code == 400 and set(bad_name.json()) == {"username"}
    unknown = accept("not-a-token")
    assert unknown.status_code == 400 and unknown.json() == {"detail": INVALID}
    assert not User.objects.filter(email="new@example.com").exists()
    assert accept(token).status_code == 201  # failed attempts leave it usable


def test_expired_and_revoked_invitations_cannot_be_accepted(world, admin_api, smtp):
    invite(admin_api, "late@example.com")
    invite(admin_api, "revoked@example.com")
    late, revoked = (token_in(mail) for _, mail in smtp.messages)
    Invitation.objects.filter(email="late@example.com").update(expires_at=timezone.now())
    pk = Invitation.objects.get(email="revoked@example.com").pk
    assert admin_api.delete(f"/api/v1/invitations/{pk}/").status_code == 204
    assert Invitation.objects.filter(pk=pk).exists()  # revoked, the record kept
    assert accept(late).json() == accept(revoked, username="other").json() == {"detail": INVALID}
    statuses = {i["email"]: i["status"] for i in admin_api.get("/api/v1/invitations/").json()["results"]}
    assert statuses == {"late@example.com": "expired", "revoked@example.com": "revoked"}
    assert not User.objects.filter(email__in=["late@example.com", "revoked@example.com"]).exists()


def test_inviting_again_replaces_the_pending_invitation(world, admin_api, smtp):
    invite(admin_api, "twice@example.com")
    invite(admin_api, "twice@example.com", role="client")
    first, second = (token_in(mail) for _, mail in smtp.messages)
    assert accept(first).json() == {"detail": INVALID}
    assert accept(second).status_code == 201
    assert User.objects.get(username="newcomer").role == "client"


def test_own_company_address_and_roles(world, admin_api, api, smtp):
    own = invite(admin_api, world.user("a", "client").email.upper())
    assert own.status_code == 400 and own.json() == {
        "email": ["A user of your company already has this email address."]
    }
    above = invite(admin_api, "boss@example.com", role="superadmin")
    assert above.status_code == 400 and set(above.json()) == {"role"}
    assert invite(admin_api, "not-an-email").status_code == 400
    no_role = admin_api.post("/api/v1/invitations/", {"email": "plain@example.com"}, format="json")
    assert no_role.status_code == 202 and no_role.json()["role"] == "client"  # the least role unless told
    Invitation.objects.all().delete()
    smtp.messages.clear()
    for role in ("client", "content_writer", "content_manager"):
        assert invite(api.as_user(world.user("a", role)), "x@example.com").status_code == 403
    assert not Invitation.objects.exists() and smtp.messages == []
    boss = invite(
        api.as_user(world.user("a", "superadmin")), "boss@example.com", "superadmin", HTTP_X_COMPANY_ID=str(world.b.pk)
    )
    assert boss.status_code == 202 and boss.json()["company"] == str(world.b.pk)


def test_mail_server_down_stores_nothing(world, admin_api, smtp):
    smtp.refuse = True
    response = invite(admin_api, "nobody@example.com")
    assert response.status_code == 503
    assert not Invitation.objects.exists() and not AuditLog.objects.filter(event_type="invitation.created").exists()


def test_invitations_are_audited(world, admin_api, smtp):
    admin = world.user("a", "company_admin")
    invite(admin_api, "audited@example.com")
    invite(admin_api, "dropped@example.com")
    token = token_in(smtp.messages[0][1])
    dropped = Invitation.objects.get(email="dropped@example.com")
    admin_api.delete(f"/api/v1/invitations/{dropped.pk}/")
    admin_api.delete(f"/api/v1/invitations/{dropped.pk}/")  # revoking twice records it once
    accept(token)
    user = User.objects.get(username="newcomer")
    entries = list(AuditLog.objects.filter(event_type__startswith="invitation.").order_by("created_at"))
    assert [(e.event_type, e.actor_id, e.company_id) for e in entries] == [
        ("invitation.created", admin.pk, world.a.pk),
        ("invitation.created", admin.pk, world.a.pk),
        ("invitation.revoked", admin.pk, world.a.pk),
        ("invitation.accepted", user.pk, world.a.pk),
    ]
    token_hash = hashlib.sha256(token.encode()).hexdigest()
    for entry in entries:
        assert token not in str(entry.changes) and token_hash not in str(entry.changes)
    assert entries[0].changes["token_hash"] == {"old": None, "new": audit.MASK}


def test_company_b_cannot_see_or_revoke_company_a_invitations(world, admin_api, api, smtp):
    invite(admin_api, "private@example.com")
    pk = Invitation.objects.get().pk
    other = api.as_user(world.user("b", "company_admin"))
    assert other.get("/api/v1/invitations/").json()["results"] == []
    assert other.get(f"/api/v1/invitations/{pk}/").status_code == 404
    assert other.delete(f"/api/v1/invitations/{pk}/").status_code == 404
    assert Invitation.objects.get(pk=pk).revoked_at is None


# --- the admin ----------------------------------------------------------------------------------


def test_admin_add_user_is_for_superadmins_and_emails_are_read_only_for_company_admins(client, world):
    client.force_login(world.user("a", "company_admin"))
    assert client.get("/admin/tenants/user/add/").status_code == 403
    target = world.user("a", "client")
    form = client.get(f"/admin/tenants/user/{target.pk}/change/").content.decode()
    assert 'name="email"' not in form and target.email in form
    own = client.get(f"/admin/tenants/user/{world.user('a', 'company_admin').pk}/change/").content.decode()
    assert 'name="email"' in own
    client.force_login(world.user("a", "superadmin"))
    assert client.get("/admin/tenants/user/add/").status_code == 200


def test_invitations_count_against_the_accounts_rate(world, admin_api, smtp, monkeypatch):
    monkeypatch.setitem(ScopedRateThrottle.THROTTLE_RATES, "accounts", "2/min")
    statuses = [invite(admin_api, f"rate-{n}@example.com").status_code for n in range(3)]
    assert statuses == [202, 202, 429] and len(smtp.messages) == 2
    assert admin_api.get("/api/v1/invitations/").status_code == 200  # reads are not counted

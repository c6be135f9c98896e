"""Audit log: who did what to which object in which company, from the API, the
admin and tasks; kept one year; read-only for company admins."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from events.models import AuditLog
from events.services import audit
from tenants.models import ApiKey, RefreshToken, User
from tests.conftest import PASSWORD

NEW_PASSWORD = "another-Long-pw-88"


def _only(event_type, **filters):
    entries = list(AuditLog.objects.filter(event_type=event_type, **filters))
    assert len(entries) == 1, [str(e) for e in AuditLog.objects.all()]
    return entries[0]


def _assert_no_secret_values(entry, *secrets):
    stored = str(entry.changes) + str(entry.metadata)
    for secret in secrets:
        assert secret not in stored


# --- API --------------------------------------------------------------------------------


def test_api_user_create_update_delete_are_audited(api, world):
    admin = world.user("a", "superadmin")  # creates users and changes their email (company admins invite)
    api.as_user(admin)
    created = api.post(
        "/api/v1/users/", {"username": "newbie", "email": "newbie@example.com", "role": "client", "password": PASSWORD}
    )
    assert created.status_code == 201, created.content
    user_id = created.json()["id"]

    entry = _only("user.created")
    assert (entry.company_id, entry.actor_id, entry.actor_repr, entry.source) == (
        world.a.pk,
        admin.pk,
        admin.username,
        "api",
    )
    assert (entry.object_type, entry.object_id, entry.object_repr) == ("tenants.user", user_id, "newbie")
    assert entry.changes["username"] == {"old": None, "new": "newbie"}
    assert entry.changes["password"] == {"old": None, "new": audit.MASK}
    assert entry.metadata == {"ip": "127.0.0.1", "auth": "session"}

    hashed_before = User.objects.get(pk=user_id).password
    updated = api.patch(f"/api/v1/users/{user_id}/", {"email": "renamed@example.com", "password": NEW_PASSWORD})
    assert updated.status_code == 200, updated.content
    entry = _only("user.updated")
    assert entry.changes == {
        "email": {"old": "newbie@example.com", "new": "renamed@example.com"},
        "password": {"old": audit.MASK, "new": audit.MASK},
    }
    _assert_no_secret_values(entry, hashed_before, User.objects.get(pk=user_id).password, NEW_PASSWORD)

    assert api.delete(f"/api/v1/users/{user_id}/").status_code == 204
    entry = _only("user.deleted")
    assert (entry.object_id, entry.object_repr, entry.actor_id, entry.company_id) == (
        user_id,
        "newbie",
        admin.pk,
        world.a.pk,
    )
    assert entry.changes["email"] == {"old": "renamed@example.com", "new": None}
    assert entry.changes["password"]["old"] == audit.MASK


def test_refused_writes_are_not_audited(api, world):
    manager, superadmin = world.user("a", "content_manager"), world.user("a", "superadmin")
    response = api.as_user(world.user("a", "company_admin")).delete(f"/api/v1/users/{superadmin.pk}/")
    assert response.status_code == 403
    assert api.as_user(manager).patch(f"/api/v1/users/{manager.pk}/", {"first_name": "x"}).status_code == 403
    assert not AuditLog.objects.exists()


def test_api_key_create_update_revoke_and_delete_are_audited(api, world):
    owner = world.user("a", "content_writer")
    api.as_user(owner)
    created = api.post("/api/v1/api-keys/", {"name": "ci"}, format="json").json()
    entry = _only("apikey.created")
    assert (entry.company_id, entry.actor_id, entry.object_id) == (world.a.pk, owner.pk, created["id"])
    assert entry.changes["key_hash"] == {"old": None, "new": audit.MASK}
    assert entry.changes["name"] == {"old": None, "new": "ci"}
    _assert_no_secret_values(entry, created["key"], ApiKey.objects.get(pk=created["id"]).key_hash)

    assert api.patch(f"/api/v1/api-keys/{created['id']}/", {"name": "ci-2"}).status_code == 200
    assert _only("apikey.updated").changes == {"name": {"old": "ci", "new": "ci-2"}}

    assert api.post(f"/api/v1/api-keys/{created['id']}/revoke/").status_code == 200
    revoked = _only("apikey.revoked")
    assert revoked.object_id == created["id"] and revoked.changes["revoked_at"]["old"] is None
    assert api.post(f"/api/v1/api-keys/{created['id']}/revoke/").status_code == 200  # again: nothing changes
    assert api.delete(f"/api/v1/api-keys/{created['id']}/").status_code == 204
    assert AuditLog.objects.filter(event_type="apikey.revoked").count() == 1

    other = api.post("/api/v1/api-keys/", {"name": "tmp"}, format="json").json()
    assert api.delete(f"/api/v1/api-keys/{other['id']}/").status_code == 204  # DELETE revokes, keeps the record
    assert _only("apikey.revoked", object_id=other["id"]).actor_id == owner.pk


def test_metadata_names_the_api_key_or_jwt_used(api, world):
    admin = world.user("a", "company_admin")
    key = api.as_user(admin).post("/api/v1/api-keys/", {"name": "ci"}, format="json").json()
    target = world.user("a", "client")
    client = APIClient()
    assert (
        client.patch(f"/api/v1/users/{target.pk}/", {"first_name": "Key"}, HTTP_X_API_KEY=key["key"]).status_code == 200
    )
    entry = _only("user.updated")
    assert entry.metadata == {"ip": "127.0.0.1", "auth": "api_key", "api_key_prefix": key["prefix"]}
    assert entry.actor_id == admin.pk and entry.changes == {"first_name": {"old": "", "new": "Key"}}

    access = client.post("/api/v1/auth/token/", {"username": admin.username, "password": PASSWORD}).json()["access"]
    assert (
        client.patch(
            f"/api/v1/users/{target.pk}/", {"first_name": "Jwt"}, HTTP_AUTHORIZATION=f"Bearer {access}"
        ).status_code
        == 200
    )
    latest = AuditLog.objects.filter(event_type="user.updated").order_by("-created_at").first()
    assert latest.metadata == {"ip": "127.0.0.1", "auth": "jwt"}


def test_company_update_is_audited_in_that_company(api, world):
    admin = world.user("a", "company_admin")
    assert api.as_user(admin).patch(f"/api/v1/companies/{world.a.pk}/", {"domain": "a.example"}).status_code == 200
    entry = _only("company.updated")
    assert (entry.company_id, entry.object_id, entry.changes) == (
        world.a.pk,
        str(world.a.pk),
        {"domain": {"old": "", "new": "a.example"}},
    )


def test_superadmin_creating_a_company_is_audited_in_the_new_company(api, world):
    created = api.as_user(world.user("a", "superadmin")).post("/api/v1/companies/", {"name": "C"}).json()
    entry = _only("company.created")
    assert str(entry.company_id) == created["id"] == entry.object_id


# --- Admin ------------------------------------------------------------------------------


@pytest.fixture
def admin_client(client, world):
    client.force_login(world.user("a", "company_admin"))
    return client


def test_admin_add_change_delete_are_audited(admin_client, world):
    superadmin = world.user("a", "superadmin")  # adds users in the admin (company admins invite)
    admin_client.force_login(superadmin)
    response = admin_client.post(
        "/admin/tenants/user/add/",
        {
            "username": "from-admin",
            "email": "from-admin@example.com",
            "role": "content_writer",
            "company": str(world.a.pk),
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    user = User.objects.get(username="from-admin")
    entry = _only("user.created")
    assert (entry.source, entry.company_id, entry.actor_id, entry.object_id) == (
        "admin",
        world.a.pk,
        superadmin.pk,
        str(user.pk),
    )
    assert entry.changes["password"] == {"old": None, "new": audit.MASK}
    assert entry.metadata["ip"] == "127.0.0.1"
    admin_client.force_login(world.user("a", "company_admin"))  # who changes and deletes it

    response = admin_client.post(
        f"/admin/tenants/user/{user.pk}/change/",
        {
            "username": "from-admin",
            "email": "from-admin@example.com",
            "first_name": "Ada",
            "last_name": "",
            "role": "content_manager",
            "status": "active",
            "is_active": "on",
            "plugin_keys": "{}",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    entry = _only("user.updated", source="admin")
    assert entry.changes == {
        "first_name": {"old": "", "new": "Ada"},
        "role": {"old": "content_writer", "new": "content_manager"},
        "is_staff": {"old": False, "new": True},
    }  # follows the role (User.save)

    old_hash = User.objects.get(pk=user.pk).password
    response = admin_client.post(
        f"/admin/tenants/user/{user.pk}/password/",
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"},
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    password_entry = AuditLog.objects.filter(event_type="user.updated").order_by("-created_at").first()
    assert password_entry.changes == {"password": {"old": audit.MASK, "new": audit.MASK}}
    _assert_no_secret_values(password_entry, old_hash, User.objects.get(pk=user.pk).password, NEW_PASSWORD)

    response = admin_client.post(f"/admin/tenants/user/{user.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not User.objects.filter(pk=user.pk).exists()
    entry = _only("user.deleted")
    assert (entry.source, entry.company_id, entry.object_id, entry.object_repr) == (
        "admin",
        world.a.pk,
        str(user.pk),
        "from-admin",
    )


def test_admin_api_key_added_by_company_admin_is_audited_in_their_company(admin_client, world):
    response = admin_client.post(
        "/admin/tenants/apikey/add/",
        {"name": "from-admin", "user": str(world.user("a", "client").pk), "permissions": ["read"]},
    )
    assert response.status_code == 302
    entry = _only("apikey.created", source="admin")
    assert entry.company_id == world.a.pk
    assert entry.object_id == str(ApiKey.objects.get(name="from-admin").pk)


def test_admin_revoke_action_writes_one_entry_per_key(admin_client, world):
    from tenants import services

    keys = [services.create_api_key(user=world.user("a", "client"), company=world.a, name=f"k{i}")[0] for i in range(3)]
    services.revoke_api_key(keys[2])
    response = admin_client.post(
        "/admin/tenants/apikey/", {"action": "revoke", "_selected_action": [str(k.pk) for k in keys]}
    )
    assert response.status_code == 302
    entries = AuditLog.objects.filter(event_type="apikey.revoked")
    assert sorted(e.object_id for e in entries) == sorted(str(k.pk) for k in keys[:2])  # not the revoked one
    assert {(e.source, e.company_id, e.actor_id) for e in entries} == {
        ("admin", world.a.pk, world.user("a", "company_admin").pk)
    }
    assert all(e.changes["revoked_at"]["old"] is None and e.changes["revoked_at"]["new"] for e in entries)
    assert ApiKey.objects.filter(revoked_at=None).count() == 0


def test_admin_refresh_token_revoke_is_audited_in_the_users_company(client, world):
    from tenants import services

    services.issue_tokens(world.user("b", "client"))
    superadmin = world.user("a", "superadmin")
    client.force_login(superadmin)
    token = RefreshToken.objects.get()
    response = client.post("/admin/tenants/refreshtoken/", {"action": "revoke", "_selected_action": [str(token.pk)]})
    assert response.status_code == 302
    entry = _only("refreshtoken.revoked")
    assert (entry.source, entry.company_id, entry.actor_id, entry.object_id) == (
        "admin",
        world.b.pk,
        superadmin.pk,
        str(token.pk),
    )
    assert token.token_hash not in str(entry.changes)
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_admin_audit_log_is_read_only_and_scoped(admin_client, world):
    mine = audit.record(company=world.a, source="task", event_type="sync.finished-for-a")
    audit.record(company=world.b, source="task", event_type="sync.finished-for-b")
    page = admin_client.get("/admin/events/auditlog/").content.decode()
    assert "sync.finished-for-a" in page and "sync.finished-for-b" not in page
    assert admin_client.get("/admin/events/auditlog/add/").status_code == 403
    assert admin_client.post(f"/admin/events/auditlog/{mine.pk}/delete/", {"post": "yes"}).status_code == 403
    detail = admin_client.post(f"/admin/events/auditlog/{mine.pk}/change/", {"event_type": "forged"})
    assert detail.status_code == 403
    mine.refresh_from_db()
    assert mine.event_type == "sync.finished-for-a"


# --- Reading ----------------------------------------------------------------------------


def test_company_admins_see_only_their_company(api, world):
    a_entry = audit.record(company=world.a, actor=world.user("a", "client"), source="task", event_type="x.done")
    b_entry = audit.record(company=world.b, source="task", event_type="x.done")
    api.as_user(world.user("b", "company_admin"))
    listed = api.get("/api/v1/audit-logs/").json()
    assert [e["id"] for e in listed["results"]] == [str(b_entry.pk)]
    assert api.get(f"/api/v1/audit-logs/{a_entry.pk}/").status_code == 404
    shown = api.as_user(world.user("a", "company_admin")).get(f"/api/v1/audit-logs/{a_entry.pk}/").json()
    assert (shown["event_type"], shown["actor"], shown["actor_repr"]) == (
        "x.done",
        str(world.user("a", "client").pk),
        "a-client",
    )


def test_roles_below_company_admin_are_refused(api, world):
    entry = audit.record(company=world.a, source="task", event_type="x.done")
    for role in ("content_manager", "client"):
        api.as_user(world.user("a", role))
        assert api.get("/api/v1/audit-logs/").status_code == 403
        assert api.get(f"/api/v1/audit-logs/{entry.pk}/").status_code == 403


def test_endpoint_is_read_only(api, world):
    entry = audit.record(company=world.a, source="task", event_type="x.done")
    api.as_user(world.user("a", "company_admin"))
    assert api.post("/api/v1/audit-logs/", {"event_type": "forged"}).status_code == 405
    assert api.put(f"/api/v1/audit-logs/{entry.pk}/", {"event_type": "forged"}).status_code == 405
    assert api.patch(f"/api/v1/audit-logs/{entry.pk}/", {"event_type": "forged"}).status_code == 405
    assert api.delete(f"/api/v1/audit-logs/{entry.pk}/").status_code == 405
    entry.refresh_from_db()
    assert entry.event_type == "x.done"


def test_filters_and_ordering(api, world):
    actor = world.user("a", "client")
    old = audit.record(company=world.a, actor=actor, source="api", event_type="user.updated", obj=actor)
    AuditLog.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=10))
    task = audit.record(company=world.a, source="task", event_type="sync.finished")
    admin = audit.record(
        company=world.a,
        actor=world.user("a", "company_admin"),
        source="admin",
        event_type="company.updated",
        obj=world.a,
    )
    api.as_user(world.user("a", "company_admin"))

    def ids(query):
        response = api.get(f"/api/v1/audit-logs/?{query}")
        assert response.status_code == 200, response.content
        return [e["id"] for e in response.json()["results"]]

    assert ids("event_type=user.updated") == [str(old.pk)]
    assert ids("source=task") == [str(task.pk)]
    assert ids(f"actor={actor.pk}") == [str(old.pk)]
    assert ids("object_type=tenants.company") == [str(admin.pk)]
    assert ids(f"object_id={actor.pk}") == [str(old.pk)]
    since = (timezone.now() - timedelta(days=1)).isoformat()
    assert set(ids(f"created_after={since.replace('+', '%2B')}")) == {str(task.pk), str(admin.pk)}
    assert ids(f"created_before={since.replace('+', '%2B')}") == [str(old.pk)]
    assert ids("ordering=created_at")[0] == str(old.pk)
    assert ids("ordering=-created_at")[-1] == str(old.pk)
    assert api.get("/api/v1/audit-logs/?actor=nonsense").status_code == 400


# --- Retention, tasks, helpers ------------------------------------------------------------


def test_ttl_index_keeps_entries_one_year():
    indexes = connection.get_collection("audit_logs").index_information()
    ttl = [spec for spec in indexes.values() if spec["key"] == [("created_at", 1)]]
    assert len(ttl) == 1 and ttl[0]["expireAfterSeconds"] == 31536000


def test_record_from_a_task_needs_no_actor(world):
    key = ApiKey.objects.create(
        user=world.user("a", "client"), company=world.a, name="ci", prefix="abcd1234", key_hash="f" * 64
    )
    entry = audit.record(
        company=world.a, source="task", event_type="apikey.expired", obj=key, metadata={"task": "expire_keys"}
    )
    entry.refresh_from_db()
    assert (entry.actor_id, entry.actor_repr, entry.source, entry.company_id) == (None, "", "task", world.a.pk)
    assert (entry.object_type, entry.object_id, entry.object_repr) == ("tenants.apikey", str(key.pk), str(key))
    assert entry.metadata == {"task": "expire_keys"} and entry.changes == {}
    assert str(entry) == f"apikey.expired {key} by system"


def test_field_changes_list_only_changed_fields_and_mask_secrets(world):
    user = world.user("a", "client")
    before = audit.snapshot(user)
    user.first_name = "Grace"
    user.plugin_keys = {"wp": {"key": "plugin-secret"}}
    user.set_password(NEW_PASSWORD)
    changes = audit.field_changes(before, user)
    assert changes == {
        "first_name": {"old": "", "new": "Grace"},
        "password": {"old": audit.MASK, "new": audit.MASK},
        "plugin_keys": {"old": {}, "new": audit.MASK},
    }
    assert audit.field_changes(user, user) == {}
    assert all(audit.is_secret(name) for name in ("password", "key_hash", "secret", "token", "token_hash"))

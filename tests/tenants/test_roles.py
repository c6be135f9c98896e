"""Role permissions: each endpoint names the least role for reading and for writing."""

import pytest

from tenants.models import Invitation, User

NEW_USER = {"username": "fresh", "email": "fresh@example.com", "password": "a-Long-password-77", "role": "client"}


@pytest.mark.parametrize(
    "role, status",
    [
        ("client", 403),
        ("content_writer", 403),
        ("content_manager", 200),
        ("company_admin", 200),
        ("superadmin", 200),
    ],
)
def test_who_may_list_users(api, world, role, status):
    assert api.as_user(world.user("a", role)).get("/api/v1/users/").status_code == status


@pytest.mark.parametrize(
    "role, status",
    [
        ("client", 403),
        ("content_writer", 403),
        ("content_manager", 403),
        ("company_admin", 403),  # company admins invite (POST /api/v1/invitations/)
        ("superadmin", 201),
    ],
)
def test_who_may_create_users(api, world, role, status):
    response = api.as_user(world.user("a", role)).post("/api/v1/users/", NEW_USER)
    assert response.status_code == status, response.content
    assert User.objects.filter(username="fresh").exists() == (status == 201)


def test_company_admin_cannot_grant_superadmin(api, world):
    client = api.as_user(world.user("a", "company_admin"))
    response = client.post("/api/v1/invitations/", {"email": NEW_USER["email"], "role": "superadmin"})
    assert response.status_code == 400
    assert "role" in response.json()
    target = world.user("a", "client")
    assert client.patch(f"/api/v1/users/{target.pk}/", {"role": "superadmin"}).status_code == 400
    assert not Invitation.objects.exists() and User.objects.get(pk=target.pk).role == "client"


def test_company_admin_cannot_change_or_delete_a_superadmin(api, world):
    api.as_user(world.user("a", "company_admin"))
    boss = world.user("a", "superadmin")
    assert api.patch(f"/api/v1/users/{boss.pk}/", {"first_name": "x"}).status_code == 403
    assert api.delete(f"/api/v1/users/{boss.pk}/").status_code == 403
    assert User.objects.filter(pk=boss.pk, first_name="").exists()


def test_only_superadmin_grants_guest_access(api, world):
    target = world.user("b", "content_writer")
    url = f"/api/v1/users/{target.pk}/"
    refused = api.as_user(world.user("b", "company_admin")).patch(url, {"guest_companies": [str(world.a.pk)]})
    assert refused.status_code == 400 and "guest_companies" in refused.json()
    granted = api.as_user(world.user("b", "superadmin")).patch(url, {"guest_companies": [str(world.a.pk)]})
    assert granted.status_code == 200, granted.content
    target.refresh_from_db()
    assert target.guest_companies == [world.a.pk]


def test_guest_role_is_capped(api, world, make_user):
    outsider_admin = make_user(world.b, "company_admin", username="outsider", guest_companies=[world.a.pk])
    api.as_user(outsider_admin)
    # As a guest in A, a company admin of B acts as a content manager: may read users, not create.
    assert api.get("/api/v1/users/", HTTP_X_COMPANY_ID=str(world.a.pk)).status_code == 200
    response = api.post("/api/v1/users/", NEW_USER, HTTP_X_COMPANY_ID=str(world.a.pk))
    assert response.status_code == 403


def test_companies_visible_and_editable(api, world, make_user):
    api.as_user(world.user("a", "client"))
    assert [c["name"] for c in api.get("/api/v1/companies/").json()["results"]] == ["A"]
    assert api.patch(f"/api/v1/companies/{world.a.pk}/", {"name": "Z"}).status_code == 403
    api.as_user(world.user("a", "company_admin"))
    assert api.patch(f"/api/v1/companies/{world.a.pk}/", {"name": "A2"}).status_code == 200
    assert api.post("/api/v1/companies/", {"name": "New"}).status_code == 403
    api.as_user(world.user("a", "superadmin"))
    assert {c["name"] for c in api.get("/api/v1/companies/").json()["results"]} == {"A2", "B"}
    assert api.post("/api/v1/companies/", {"name": "New"}).status_code == 201


def test_me_for_every_role(api, world):
    for role in ("client", "content_writer", "superadmin"):
        user = world.user("a", role)
        body = api.as_user(user).get("/api/v1/users/me/").json()
        assert body["username"] == user.username and body["role"] == role
        assert "password" not in body


def test_anonymous_is_refused(api, world):
    response = api.get("/api/v1/users/")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Api-Key"

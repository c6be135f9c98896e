"""A user of company B can never read, list, update or delete company A's objects: 404."""

import pytest

from tenants import services
from tenants.models import ApiKey, User, UserSettings


@pytest.fixture
def a_objects(world):
    admin_a = world.user("a", "company_admin")
    key, _ = services.create_api_key(user=admin_a, company=world.a, name="a-key")
    return {
        "companies": world.a.pk,
        "users": world.user("a", "client").pk,
        "api-keys": key.pk,
    }


@pytest.mark.parametrize("endpoint", ["companies", "users", "api-keys"])
def test_company_b_cannot_see_or_touch_company_a(api, world, a_objects, endpoint):
    api.as_user(world.user("b", "company_admin"))
    target = a_objects[endpoint]
    url = f"/api/v1/{endpoint}/{target}/"

    listed = api.get(f"/api/v1/{endpoint}/").json()["results"]
    assert str(target) not in {row["id"] for row in listed}
    assert api.get(url).status_code == 404
    assert api.patch(url, {"name": "hijacked", "first_name": "hijacked"}).status_code == 404
    assert api.put(url, {"name": "hijacked"}).status_code == 404
    assert api.delete(url).status_code == 404
    if endpoint == "api-keys":
        assert api.post(f"{url}revoke/").status_code == 404


def test_nothing_of_company_a_changed_by_company_b(api, world, a_objects):
    api.as_user(world.user("b", "company_admin"))
    for endpoint, target in a_objects.items():
        api.patch(f"/api/v1/{endpoint}/{target}/", {"name": "x", "first_name": "x"})
        api.delete(f"/api/v1/{endpoint}/{target}/")
    world.a.refresh_from_db()
    assert world.a.name == "A"
    assert User.objects.get(pk=a_objects["users"]).first_name == ""
    assert ApiKey.objects.get(pk=a_objects["api-keys"]).revoked_at is None


def test_created_objects_are_stamped_with_the_callers_company(api, world):
    api.as_user(world.user("b", "superadmin"))  # company admins invite; a superadmin's own company is B
    response = api.post(
        "/api/v1/users/",
        {
            "username": "newbie",
            "email": "newbie@example.com",
            "password": "a-Long-password-77",
            "role": "client",
            "company": str(world.a.pk),
        },
    )
    assert response.status_code == 201, response.content
    assert User.objects.get(username="newbie").company_id == world.b.pk


def test_own_settings_are_own_company(api, world):
    user = world.user("b", "client")
    chosen = {"task_manager": {"default_view": "kanban"}}
    response = api.as_user(user).patch(
        "/api/v1/me/settings/", {"plugin_settings": chosen, "company": str(world.a.pk)}, format="json"
    )
    assert response.status_code == 200, response.content
    stored = UserSettings.objects.get(user=user)
    assert stored.company_id == world.b.pk
    assert stored.plugin_settings == chosen


def test_unknown_and_malformed_ids_are_404(api, world):
    api.as_user(world.user("a", "company_admin"))
    assert api.get("/api/v1/users/000000000000000000000000/").status_code == 404
    assert api.get("/api/v1/users/not-an-id/").status_code == 404
    assert api.get("/api/v1/nowhere/").json() == {"detail": "Not found."}


def test_guest_company_only_by_explicit_choice(api, world, make_user):
    guest = make_user(world.b, "content_writer", username="agency-writer", guest_companies=[world.a.pk])
    api.as_user(guest)
    own = api.get("/api/v1/api-keys/")
    assert own.status_code == 200
    services.create_api_key(user=guest, company=world.a, name="in-a")
    # Implicitly the guest acts for company B and sees none of A's keys.
    assert api.get("/api/v1/api-keys/").json()["count"] == 0
    # Explicitly choosing A (header or parameter) shows A's data.
    assert api.get("/api/v1/api-keys/", HTTP_X_COMPANY_ID=str(world.a.pk)).json()["count"] == 1
    assert api.get(f"/api/v1/api-keys/?company_id={world.a.pk}").json()["count"] == 1


def test_choosing_a_company_without_access_is_refused(api, world):
    api.as_user(world.user("b", "company_admin"))
    response = api.get("/api/v1/users/", HTTP_X_COMPANY_ID=str(world.a.pk))
    assert response.status_code == 403
    assert "no access" in response.json()["detail"]
    assert api.get("/api/v1/users/", HTTP_X_COMPANY_ID="garbage").status_code == 400


def test_superadmin_may_choose_any_company(api, world):
    api.as_user(world.user("b", "superadmin"))
    usernames = {u["username"] for u in api.get("/api/v1/users/", HTTP_X_COMPANY_ID=str(world.a.pk)).json()["results"]}
    assert usernames and all(name.startswith("a-") for name in usernames)

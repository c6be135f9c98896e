"""API keys: shown once, stored hashed, found by prefix, revocable, read/write permissions."""

import hashlib

import pymongo
from django.conf import settings
from rest_framework.test import APIClient

from tenants.models import ApiKey


def _create(api, user, **data):
    response = api.as_user(user).post("/api/v1/api-keys/", {"name": "ci", **data}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_key_shown_once_and_stored_hashed(api, world):
    created = _create(api, world.user("a", "company_admin"))
    raw = created["key"]
    assert raw.startswith(f"rd_{created['prefix']}_")
    stored = ApiKey.objects.get(pk=created["id"])
    assert stored.key_hash == hashlib.sha256(raw.encode()).hexdigest()
    # The plaintext is nowhere in the database document, and never shown again.
    document = pymongo.MongoClient(settings.DATABASES["default"]["HOST"])[
        settings.DATABASES["default"]["NAME"]
    ].api_keys.find_one({"prefix": created["prefix"]})
    assert raw not in str(document)
    again = api.get(f"/api/v1/api-keys/{created['id']}/").json()
    assert "key" not in again and "key_hash" not in again


def test_key_lists_only_its_companys_users(api, world):
    raw = _create(api, world.user("a", "company_admin"))["key"]
    curl = APIClient()
    for header in ({"HTTP_X_API_KEY": raw}, {"HTTP_AUTHORIZATION": f"Api-Key {raw}"}):
        response = curl.get("/api/v1/users/", **header)
        assert response.status_code == 200
        names = {u["username"] for u in response.json()["results"]}
        assert names == {u.username for (c, _), u in world.users.items() if c == "a"}
    assert ApiKey.objects.get(prefix=raw.split("_")[1]).last_used_at is not None


def test_key_cannot_switch_company(api, world):
    raw = _create(api, world.user("a", "superadmin"))["key"]
    response = APIClient().get("/api/v1/users/", HTTP_X_API_KEY=raw, HTTP_X_COMPANY_ID=str(world.b.pk))
    assert response.status_code == 403


def test_revoked_key_is_refused(api, world):
    created = _create(api, world.user("a", "company_admin"))
    curl = APIClient()
    assert curl.get("/api/v1/users/", HTTP_X_API_KEY=created["key"]).status_code == 200
    revoked = api.post(f"/api/v1/api-keys/{created['id']}/revoke/")
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    response = curl.get("/api/v1/users/", HTTP_X_API_KEY=created["key"])
    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]


def test_delete_revokes_but_keeps_the_record(api, world):
    created = _create(api, world.user("a", "client"))
    assert api.delete(f"/api/v1/api-keys/{created['id']}/").status_code == 204
    assert ApiKey.objects.get(pk=created["id"]).revoked_at is not None
    assert APIClient().get("/api/v1/users/me/", HTTP_X_API_KEY=created["key"]).status_code == 401


def test_wrong_secret_with_valid_prefix_is_refused(api, world):
    raw = _create(api, world.user("a", "company_admin"))["key"]
    forged = raw[:-4] + ("AAAA" if not raw.endswith("AAAA") else "BBBB")
    assert APIClient().get("/api/v1/users/", HTTP_X_API_KEY=forged).status_code == 401
    assert APIClient().get("/api/v1/users/", HTTP_X_API_KEY="nonsense").status_code == 401


def test_read_only_key_cannot_write(api, world):
    raw = _create(api, world.user("a", "company_admin"), permissions=["read"])["key"]
    curl = APIClient()
    assert curl.get("/api/v1/users/", HTTP_X_API_KEY=raw).status_code == 200
    response = curl.post(
        "/api/v1/users/", {"username": "x", "email": "x@example.com", "password": "a-Long-pw-77"}, HTTP_X_API_KEY=raw
    )
    assert response.status_code == 403
    assert "write" in response.json()["detail"]


def test_non_admins_see_only_their_own_keys(api, world):
    _create(api, world.user("a", "company_admin"))
    mine = _create(api, world.user("a", "client"))
    listed = api.as_user(world.user("a", "client")).get("/api/v1/api-keys/").json()["results"]
    assert [k["id"] for k in listed] == [mine["id"]]
    assert api.as_user(world.user("a", "company_admin")).get("/api/v1/api-keys/").json()["count"] == 2


def test_bad_permissions_rejected(api, world):
    response = api.as_user(world.user("a", "client")).post(
        "/api/v1/api-keys/", {"name": "x", "permissions": ["root"]}, format="json"
    )
    assert response.status_code == 400 and "permissions" in response.json()
    response = api.post("/api/v1/api-keys/", {"name": "x", "permissions": []}, format="json")
    assert response.status_code == 400
    assert ApiKey.objects.count() == 0

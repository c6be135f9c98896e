"""JWT: access + refresh; refresh tokens are stored server-side, rotate, and can be revoked."""

from datetime import timedelta

import jwt
from django.conf import settings
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from tenants.models import RefreshToken
from tests.conftest import PASSWORD


def _login(client, username, password=PASSWORD):
    return client.post("/api/v1/auth/token/", {"username": username, "password": password})


def test_login_then_use_access_token(world):
    client = APIClient()
    user = world.user("a", "content_manager")
    tokens = _login(client, user.username).json()
    assert set(tokens) == {"access", "refresh", "token_type", "expires_in"}
    me = client.get("/api/v1/users/me/", HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert me.status_code == 200 and me.json()["username"] == user.username
    # email works as login too
    assert _login(client, user.email).status_code == 200


def test_wrong_password_is_401_and_issues_nothing(world):
    response = _login(APIClient(), world.user("a", "client").username, "wrong")
    assert response.status_code == 401
    assert RefreshToken.objects.count() == 0


def test_refresh_rotates_and_reuse_revokes_the_family(world):
    client = APIClient()
    first = _login(client, world.user("a", "client").username).json()
    second = client.post("/api/v1/auth/token/refresh/", {"refresh": first["refresh"]})
    assert second.status_code == 200
    second = second.json()
    assert second["refresh"] != first["refresh"]
    # The first refresh token was used: presenting it again is refused and revokes the newer one too.
    reuse = client.post("/api/v1/auth/token/refresh/", {"refresh": first["refresh"]})
    assert reuse.status_code == 401
    assert client.post("/api/v1/auth/token/refresh/", {"refresh": second["refresh"]}).status_code == 401


def test_revoke_signs_out(world):
    client = APIClient()
    tokens = _login(client, world.user("a", "client").username).json()
    assert client.post("/api/v1/auth/token/revoke/", {"refresh": tokens["refresh"]}).status_code == 204
    assert client.post("/api/v1/auth/token/refresh/", {"refresh": tokens["refresh"]}).status_code == 401
    stored = RefreshToken.objects.get()
    assert stored.revoked_at is not None
    assert stored.token_hash != tokens["refresh"]


def test_expired_tokens_are_refused(world):
    client = APIClient()
    user = world.user("a", "client")
    tokens = _login(client, user.username).json()
    RefreshToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert client.post("/api/v1/auth/token/refresh/", {"refresh": tokens["refresh"]}).status_code == 401
    expired = jwt.encode(
        {"sub": str(user.pk), "type": "access", "exp": timezone.now() - timedelta(seconds=5)},
        settings.JWT_SIGNING_KEY,
        algorithm="HS256",
    )
    response = client.get("/api/v1/users/me/", HTTP_AUTHORIZATION=f"Bearer {expired}")
    assert response.status_code == 401 and "expired" in response.json()["detail"]
    forged = jwt.encode(
        {"sub": str(user.pk), "type": "access", "exp": timezone.now() + timedelta(minutes=5)},
        "not-the-key",
        algorithm="HS256",
    )
    assert client.get("/api/v1/users/me/", HTTP_AUTHORIZATION=f"Bearer {forged}").status_code == 401


def test_inactive_user_cannot_refresh(world):
    client = APIClient()
    user = world.user("a", "client")
    tokens = _login(client, user.username).json()
    user.is_active = False
    user.save()
    assert client.post("/api/v1/auth/token/refresh/", {"refresh": tokens["refresh"]}).status_code == 401


def test_refresh_tokens_expire_by_ttl_index(db):
    indexes = connection.get_collection("refresh_tokens").index_information()
    ttl = [spec for spec in indexes.values() if "expireAfterSeconds" in spec]
    assert ttl == [{"v": 2, "key": [("expires_at", 1)], "expireAfterSeconds": 0}]


def test_missing_fields_give_field_errors(db):
    response = APIClient().post("/api/v1/auth/token/", {})
    assert response.status_code == 400
    assert set(response.json()) == {"username", "password"}

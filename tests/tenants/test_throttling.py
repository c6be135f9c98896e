from django.core.cache import cache
from rest_framework.throttling import ScopedRateThrottle

from requestdesk.embedded import free_port


def test_sign_in_is_throttled(client, db, monkeypatch):
    cache.clear()
    monkeypatch.setitem(ScopedRateThrottle.THROTTLE_RATES, "auth", "3/min")
    statuses = [client.post("/api/v1/auth/token/", {"username": "x", "password": "y"}).status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]


def test_redis_down_does_not_break_reads(api, world, settings):
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": f"redis://127.0.0.1:{free_port()}/0"}}
    response = api.as_user(world.user("a", "company_admin")).get("/api/v1/users/")
    assert response.status_code == 200
    assert response.json()["count"] == 5

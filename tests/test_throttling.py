from django.core.cache import cache
from rest_framework.throttling import ScopedRateThrottle


def test_sign_in_is_throttled(client, db, monkeypatch):
    cache.clear()
    monkeypatch.setitem(ScopedRateThrottle.THROTTLE_RATES, "auth", "3/min")
    statuses = [client.post("/api/v1/auth/token/", {"username": "x", "password": "y"}).status_code
                for _ in range(4)]
    assert statuses == [401, 401, 401, 429]

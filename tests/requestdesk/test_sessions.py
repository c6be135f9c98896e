"""requestdesk.sessions: a signed-in admin page reads its session from the cache (no database
round trip); sign-out removes the cached copy; with Redis unreachable, signing in, pages and
signing out keep working from the database."""

import pytest
import redis
from django.core.cache import cache

from requestdesk import sessions
from requestdesk.embedded import free_port
from tests.support.round_trips import round_trips  # noqa: F401


@pytest.fixture(autouse=True)
def _cache_usable():
    sessions.cache_down.down_until = 0.0
    yield
    sessions.cache_down.down_until = 0.0


def test_a_signed_in_page_reads_its_session_from_the_cache(client, world, round_trips):
    client.force_login(world.user("a", "company_admin"))
    assert client.get("/admin/tenants/company/").status_code == 200
    with round_trips() as seen:
        assert client.get("/admin/tenants/company/").status_code == 200
    assert seen.commands and "django_session" not in {collection for _, collection in seen.commands}


def test_a_session_is_cached_at_most_cached_seconds(client, world, settings):
    client.force_login(world.user("a", "company_admin"))
    key = cache.make_key(sessions.SessionStore.cache_key_prefix + client.session.session_key)
    ttl = redis.Redis.from_url(settings.REDIS_URL).ttl(key)
    assert 0 < ttl <= sessions.CACHED_SECONDS  # Django's own store keeps it the session's age (2 weeks)


def test_signing_out_ends_the_session_the_cache_held(client, world):
    client.force_login(world.user("a", "company_admin"))
    assert client.get("/admin/tenants/company/").status_code == 200
    old = client.cookies["sessionid"].value
    assert client.post("/admin/logout/").status_code == 200
    client.cookies["sessionid"] = old  # a copy of the signed-out cookie
    response = client.get("/admin/tenants/company/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_with_the_cache_down_sessions_work_from_the_database(client, world, settings, caplog):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    client.force_login(world.user("a", "company_admin"))
    assert client.get("/admin/tenants/company/").status_code == 200
    assert client.get("/admin/tenants/company/").status_code == 200
    assert client.post("/admin/logout/").status_code == 200
    response = client.get("/admin/tenants/company/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    warnings = [r.getMessage() for r in caplog.records if r.name == "requestdesk.sessions"]
    assert len(warnings) == 1 and "sessions read from the database" in warnings[0]


def test_calls_the_store_does_not_guard_reach_the_cache(db):
    store = sessions.SessionStore()
    store["seen"] = 1
    store.save()
    assert store._cache.has_key(store.cache_key)  # not guarded: passed through
    assert callable(store._cache.aget)  # the async calls of an ASGI server

import pytest

from requestdesk.embedded import free_port


def test_health_reports_versions_and_latency_to_staff(client, world):
    assert client.get("/health/").json() == {"status": "ok"}
    client.force_login(world.user("a", "content_manager"))
    body = client.get("/health/db/").json()
    assert body["status"] == "ok"
    assert body["mongodb"]["status"] == "up" and body["mongodb"]["version"]
    assert body["redis"]["status"] == "up" and body["redis"]["version"]
    assert body["mongodb"]["latency_ms"] >= 0


def test_hole11_health_shows_anonymous_callers_the_status_only(client, world):
    assert client.get("/health/db/").json() == {"status": "ok", "mongodb": {"status": "up"}, "redis": {"status": "up"}}
    client.force_login(world.user("a", "client"))  # not staff
    assert "version" not in client.get("/health/db/").json()["mongodb"]


@pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")
def test_database_down_is_503(client, settings):
    dead = f"mongodb://127.0.0.1:{free_port()}/?directConnection=true"
    settings.DATABASES = {**settings.DATABASES, "default": {**settings.DATABASES["default"], "HOST": dead}}
    response = client.get("/health/db/")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "degraded"
    assert body["mongodb"] == {"status": "down"}  # the error's name is for staff only
    assert body["redis"]["status"] == "up"


def test_redis_down_is_503(client, settings):
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    response = client.get("/health/db/")
    assert response.status_code == 503
    assert response.json()["redis"]["status"] == "down"

import pytest
from django.conf import settings

from requestdesk.embedded import free_port


def test_health_reports_versions_and_latency(client, db):
    assert client.get("/health/").json() == {"status": "ok"}
    body = client.get("/health/db/").json()
    assert body["status"] == "ok"
    assert body["mongodb"]["status"] == "up" and body["mongodb"]["version"]
    assert body["redis"]["status"] == "up" and body["redis"]["version"]
    assert body["mongodb"]["latency_ms"] >= 0


@pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")
def test_database_down_is_503(client, settings):
    dead = f"mongodb://127.0.0.1:{free_port()}/?directConnection=true"
    settings.DATABASES = {**settings.DATABASES, "default": {**settings.DATABASES["default"], "HOST": dead}}
    response = client.get("/health/db/")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "degraded"
    assert body["mongodb"]["status"] == "down" and body["mongodb"]["error"]
    assert body["redis"]["status"] == "up"


def test_redis_down_is_503(client, settings):
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    response = client.get("/health/db/")
    assert response.status_code == 503
    assert response.json()["redis"]["status"] == "down"

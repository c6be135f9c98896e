"""GET /health/ (the process answers) and /health/db/ (MongoDB and Redis answer; 503 when either
is down). Anyone may read the statuses; only staff (an admin session) also see the servers'
versions, latency and errors, which would tell an attacker what to aim at."""

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

import pymongo
import redis
from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

if TYPE_CHECKING:
    from tenants.models import User

HEALTH_TIMEOUT_S = 2
Details = dict[str, Any]  # a check's figures, as answered
_mongo_clients: dict[str, pymongo.MongoClient[Details]] = {}


def _mongo_client(uri: str) -> pymongo.MongoClient[Details]:
    client = _mongo_clients.get(uri)
    if client is None:
        timeout_ms = HEALTH_TIMEOUT_S * 1000
        client = _mongo_clients[uri] = pymongo.MongoClient(
            uri, serverSelectionTimeoutMS=timeout_ms, connectTimeoutMS=timeout_ms, socketTimeoutMS=timeout_ms
        )
    return client


def _timed(check: Callable[[], Details]) -> tuple[bool, Details]:
    start = time.perf_counter()
    try:
        details = check()
        ok = True
    except Exception as exc:  # any failure means "down"; the class name says which
        details = {"error": exc.__class__.__name__}
        ok = False
    details["status"] = "up" if ok else "down"
    details["latency_ms"] = round((time.perf_counter() - start) * 1000, 2)
    return ok, details


def check_mongo() -> Details:
    client = _mongo_client(settings.DATABASES["default"]["HOST"])
    client.admin.command("ping")
    info = client.server_info()
    return {"version": info.get("version"), "embedded": settings.EMBEDDED_MONGO}


def check_redis() -> Details:
    conn = redis.Redis.from_url(
        settings.REDIS_URL, socket_timeout=HEALTH_TIMEOUT_S, socket_connect_timeout=HEALTH_TIMEOUT_S
    )
    try:
        conn.ping()
        return {"version": conn.info("server").get("redis_version")}
    finally:
        conn.close()


@never_cache
@require_GET
def health(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def _is_staff(request: HttpRequest) -> bool:
    try:
        return request.user.is_authenticated and cast("User", request.user).is_staff
    except Exception:  # the session's user is read from the database, which may be the one down
        return False


@never_cache
@require_GET
def health_db(request: HttpRequest) -> JsonResponse:
    mongo_ok, mongo = _timed(check_mongo)
    redis_ok, redis_details = _timed(check_redis)
    ok = mongo_ok and redis_ok
    if not _is_staff(request):
        mongo, redis_details = {"status": mongo["status"]}, {"status": redis_details["status"]}
    return JsonResponse(
        {"status": "ok" if ok else "degraded", "mongodb": mongo, "redis": redis_details},
        status=200 if ok else 503,
    )

"""Shared by the tests/scraping/ files: a real HTTP site on loopback (the fake server
of tests/fakes/http.py) serving the fixture pages of tests/fixtures/scraping, with scripted
misbehaviour (429/500 then success, a slow page, a huge page, a redirect loop, conditional
GET), and helpers that create projects and targets through the services.

Import the fixtures you use: `from tests.support.scraping import site, fast_scraping  # noqa`;
importing `system_presets` (autouse) gives every test of the module the system presets.
"""

from __future__ import annotations

import importlib
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.apps import apps

from scraping import tasks
from scraping.services import projects
from tests.fakes.http import FakeServer, Response
from tests.paths import FIXTURES as ALL_FIXTURES

FIXTURES = ALL_FIXTURES / "scraping"

HTML, XML = "text/html; charset=utf-8", "application/rss+xml; charset=utf-8"
FAST = {"rate_limit_per_minute": 6000, "timeout_seconds": 2, "max_retries": 2, "concurrency": 2}


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    content_type: str = HTML
    headers: dict = field(default_factory=dict)
    delay: float = 0.0
    stream_bytes: int = 0  # send this many bytes in chunks, without Content-Length


class Site(FakeServer):
    """A fake HTTP server (tests/fakes/http.py) keeping connections open (HTTP/1.1).
    `route(path, *replies)` scripts GETs of a path: each request takes the next reply, the
    last one repeats; a reply with an ETag answers 304 to a request that sends it back."""

    protocol = "HTTP/1.1"
    not_found = Response(404, b"not found", "text/plain")

    def __init__(self):
        super().__init__()
        self._defaults()

    def url(self, path: str) -> str:
        return self.base + path

    def route(self, path: str, *replies: Reply) -> str:
        script = list(replies)
        super().route("GET", path, lambda request: self._answer(request, script))
        return self.url(path)

    def _defaults(self):
        self.route("/robots.txt", Reply(body=fixture("robots.txt"), content_type="text/plain"))
        self.route("/blog/solar-lantern", Reply(body=fixture("article.html")))
        self.route("/private/secret", Reply(body=fixture("article.html")))
        self.route("/products/kettle", Reply(body=fixture("reviews.html")))
        self.route("/feed.xml", Reply(body=fixture("feed.xml"), content_type=XML))
        self.route("/atom.xml", Reply(body=fixture("atom.xml"), content_type="application/atom+xml"))
        self.route("/forum/thread", Reply(body=fixture("custom.html")))
        self.route("/loop-a", Reply(302, headers={"Location": "/loop-b"}))
        self.route("/loop-b", Reply(302, headers={"Location": "/loop-a"}))
        self.route("/slow", Reply(body=fixture("article.html"), delay=3))
        self.route("/huge", Reply(stream_bytes=3 * 1024 * 1024))

    def _answer(self, request: dict, script: list[Reply]) -> Response:
        with self.lock:
            reply = script.pop(0) if len(script) > 1 else script[0]
        time.sleep(reply.delay)
        etag = reply.headers.get("ETag")
        if etag and request["headers"].get("If-None-Match") == etag:
            return Response(304, content_type=reply.content_type, headers={"ETag": etag})
        if reply.stream_bytes:
            chunk = b"<p>" + b"x" * 65530 + b"</p>"
            chunks = (chunk for _ in range(reply.stream_bytes // len(chunk) + 1))
            return Response(reply.status, content_type=reply.content_type, headers=reply.headers, chunks=chunks)
        return Response(reply.status, reply.body, reply.content_type, reply.headers)


@pytest.fixture
def site():
    with Site() as server:
        yield server


@pytest.fixture(autouse=True)
def fast_scraping(settings):
    """Short backoffs and no lingering leases, so the tests run in seconds."""
    settings.SCRAPING_RETRY_BASE_SECONDS = 0.05
    settings.SCRAPING_MAX_RETRY_AFTER_SECONDS = 5
    settings.SCRAPING_ROBOTS_CACHE_SECONDS = 1


_SEEDED: list[dict] = []  # the system presets' documents as migration 0002 wrote them (once)


@pytest.fixture(autouse=True)
def system_presets(db):
    """The system presets, as migration 0002 writes them: the test database is emptied
    after each test that wrote presets, reference data included, so each test gets them back
    the same way (`seed_system_presets`)."""
    seed_system_presets()


def seed_system_presets() -> None:
    """The system presets as migration 0002 writes them. The migration's writes (about ten
    round trips) run at most once per process; a test finds their documents still there when
    the one before wrote no preset (one read), or gets them back in one insert. (The first
    test finds them as the database's migration wrote them, or none: a test that writes
    presets has them emptied after it.) A class fixture whose kept() rows include presets
    calls it inside kept(), so that its tests find them and write none."""
    from django.db import connection

    from scraping.models import Preset

    collection = connection.database[Preset._meta.db_table]
    present = list(collection.find({"is_system": True}).sort("_id"))
    if not _SEEDED and present:
        _SEEDED[:] = present
    if _SEEDED and present == _SEEDED:
        return
    if _SEEDED and not present:
        collection.insert_many([dict(document) for document in _SEEDED])
        return
    seed = importlib.import_module("scraping.migrations.0002_system_presets").Migration.operations[0]
    seed.code(apps, None)
    _SEEDED[:] = collection.find({"is_system": True}).sort("_id")


@pytest.fixture
def queued(request, monkeypatch):
    """Jobs the services queue, recorded instead of sent to the broker (`slow` tests send)."""
    calls = []
    if request.node.get_closest_marker("slow") is None:
        monkeypatch.setattr(tasks.run_job, "delay", calls.append)
    return calls


def make_project(company, name="Monitoring", preset=None, **config):
    return projects.create_project(company=company, name=name, preset=preset, config={**FAST, **config})


def make_target(project, url, **fields):
    return projects.create_target(project=project, url=url, **fields)

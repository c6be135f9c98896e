"""Shared by the tests/test_scraping_*.py files: a real HTTP site on loopback serving the
fixture pages of tests/fixtures/scraping, with scripted misbehaviour (429/500 then success,
a slow page, a huge page, a redirect loop, conditional GET), and helpers that create
projects and targets through the services.

Import the fixtures you use: `from tests.scraping_support import site, fast_scraping  # noqa`;
importing `system_presets` (autouse) gives every test of the module the system presets.
"""

from __future__ import annotations

import importlib
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.apps import apps

from scraping import tasks
from scraping.services import projects

FIXTURES = Path(__file__).parent / "fixtures" / "scraping"
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


class Site:
    """A ThreadingHTTPServer on 127.0.0.1. `route(path, *replies)` scripts a path: each
    request takes the next reply, the last one repeats. Every request is recorded."""

    def __init__(self):
        self.routes: dict[str, list[Reply]] = {}
        self.requests: list[dict] = []
        self.in_flight = self.max_in_flight = 0
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self._defaults()

    def url(self, path: str) -> str:
        return self.base + path

    def route(self, path: str, *replies: Reply) -> str:
        self.routes[path] = list(replies)
        return self.url(path)

    def hits(self, path: str) -> list[dict]:
        return [r for r in self.requests if r["path"] == path]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

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

    def _reply(self, path: str) -> Reply | None:
        with self._lock:
            script = self.routes.get(path)
            if not script:
                return None
            return script.pop(0) if len(script) > 1 else script[0]

    def _handler(self):
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                path = self.path.split("?", 1)[0]
                with site._lock:
                    site.requests.append({"path": path, "headers": dict(self.headers), "at": time.monotonic()})
                    site.in_flight += 1
                    site.max_in_flight = max(site.max_in_flight, site.in_flight)
                try:
                    self._answer(path)
                finally:
                    with site._lock:
                        site.in_flight -= 1

            def _answer(self, path):
                reply = site._reply(path) or Reply(404, b"not found", "text/plain")
                time.sleep(reply.delay)
                etag = reply.headers.get("ETag")
                if etag and self.headers.get("If-None-Match") == etag:
                    reply = Reply(304, headers={"ETag": etag})
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", reply.content_type)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    if reply.stream_bytes:
                        self.send_header("Connection", "close")
                        self.end_headers()
                        chunk = b"<p>" + b"x" * 65530 + b"</p>"
                        for _ in range(reply.stream_bytes // len(chunk) + 1):
                            self.wfile.write(chunk)
                        return
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    if reply.status != 304:
                        self.wfile.write(reply.body)
                except OSError:
                    pass  # the client gave up (size cap, timeout)

            def log_message(self, *args):
                pass

        return Handler


@pytest.fixture
def site():
    server = Site()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def fast_scraping(settings):
    """Short backoffs and no lingering leases, so the tests run in seconds."""
    settings.SCRAPING_RETRY_BASE_SECONDS = 0.05
    settings.SCRAPING_MAX_RETRY_AFTER_SECONDS = 5
    settings.SCRAPING_ROBOTS_CACHE_SECONDS = 1


@pytest.fixture(autouse=True)
def system_presets(db):
    """The system presets, as migration 0002 writes them: the test database is emptied
    after each test, reference data included, so each test gets them back the same way."""
    seed = importlib.import_module("scraping.migrations.0002_system_presets").Migration.operations[0]
    seed.code(apps, None)


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

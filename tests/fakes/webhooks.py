"""A webhook receiver for the tests: a fake HTTP server (tests/fakes/http.py) whose POSTs to
`url` (/hooks) answer with the scripted status codes in order (200 once the script runs out),
optionally after a delay. `requests` holds every request it was sent, whatever the method.

Test modules import the fixture by name: `from tests.fakes.webhooks import receiver`."""

from __future__ import annotations

import time

import pytest

from tests.fakes.http import FakeServer, Response


class Receiver(FakeServer):
    def __init__(self):
        super().__init__()
        self._script: list[tuple[int, float]] = []
        self.url = f"{self.base}/hooks"
        self.route("POST", "/hooks", self._answer)

    def answer(self, *statuses: int, delay: float = 0) -> None:
        with self.lock:
            self._script.extend((status, delay) for status in statuses)

    def _answer(self, request: dict) -> Response:
        with self.lock:
            status, delay = self._script.pop(0) if self._script else (200, 0)
        time.sleep(delay)
        return Response(status, b"ok", "text/plain")


@pytest.fixture
def receiver():
    with Receiver() as server:
        yield server

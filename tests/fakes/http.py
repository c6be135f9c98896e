"""The one fake HTTP server of the tests: a stdlib ThreadingHTTPServer on 127.0.0.1 (a free
port), serving in a daemon thread, with routes registered per method and path and every
request recorded.

`FakeServer.route(method, path, handler)` registers `handler(request) -> Response`; `path` is
an exact path (the query aside) or a compiled pattern (fullmatch; its match is
`request["match"]`). A request no route takes is answered `not_found`. `base` is the server's URL
(scheme, host and port). Every request is
recorded first, in `requests`, as a dict: method, path (without the query), target (the path
as sent, query included), query (first value of each parameter), headers (case-insensitive), body (bytes), at
(time.monotonic()). `in_flight` / `max_in_flight` count requests being answered at once.

A `Response` is sent with its Content-Length, or, when it has `chunks`, written chunk by chunk
(flushed each time) without one: server-sent events, an endless page, a stream that stalls.
A client that gives up mid-answer is not an error of the server.

`FakeServer(tls=context)` wraps the listening socket in that server-side TLS context.
"""

from __future__ import annotations

import json
import re
import ssl
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

JSON = "application/json"


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    content_type: str = JSON
    headers: dict = field(default_factory=dict)
    chunks: Iterable[bytes] | None = None  # streamed instead of body, the connection then closes


def json_response(status: int, data: Any, headers: dict | None = None) -> Response:
    return Response(status, json.dumps(data).encode(), JSON, dict(headers or {}))


def body_json(request: dict) -> Any:
    """The request's body read as JSON ({} when empty)."""
    return json.loads(request["body"] or b"{}")


Handler = Callable[[dict], Response]


class FakeServer:
    protocol = "HTTP/1.0"  # "HTTP/1.1" keeps connections open between requests
    not_found = Response(404, b'{"error": "not found"}')

    def __init__(self, *, tls: ssl.SSLContext | None = None):
        self.requests: list[dict] = []
        self.in_flight = self.max_in_flight = 0
        self.lock = threading.Lock()
        self._routes: list[tuple[str, str | re.Pattern, Handler]] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self.server.daemon_threads = True
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.base = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        # serve_forever looks for shutdown() every poll_interval: its default 0.5 s made every
        # test that stopped a server wait half a second in its teardown.
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()

    def route(self, method: str, path: str | re.Pattern, handler: Handler) -> None:
        """Answer `method` requests to `path` with `handler`; a later route for the same path wins."""
        self._routes.insert(0, (method.upper(), path, handler))

    def hits(self, path: str) -> list[dict]:
        """The requests made to `path` (the query aside)."""
        return [r for r in self.requests if r["path"] == path]

    def paths(self, prefix: str = "") -> list[str]:
        """The targets (path and query, as sent) of the requests whose target starts with `prefix`."""
        return [r["target"] for r in self.requests if r["target"].startswith(prefix)]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def _dispatch(self, request: dict) -> Response:
        for method, path, handler in self._routes:
            if method != request["method"]:
                continue
            if isinstance(path, re.Pattern):
                match = path.fullmatch(request["path"])
                if match:
                    return handler({**request, "match": match})
            elif path == request["path"]:
                return handler(request)
        return self.not_found

    def _handler_class(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = fake.protocol

            def log_message(self, *args):
                pass

            def _serve(self):
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                request = {
                    "method": self.command,
                    "path": parts.path,
                    "target": self.path,
                    "query": {k: v[0] for k, v in parse_qs(parts.query).items()},
                    "headers": httpx.Headers(list(self.headers.items())),
                    "body": self.rfile.read(length) if length else b"",
                    "at": time.monotonic(),
                }
                with fake.lock:
                    fake.requests.append(request)
                    fake.in_flight += 1
                    fake.max_in_flight = max(fake.max_in_flight, fake.in_flight)
                try:
                    self._send(fake._dispatch(request))
                except OSError:
                    pass  # the client gave up (a timeout, a size cap, a killed worker)
                finally:
                    with fake.lock:
                        fake.in_flight -= 1

            def _send(self, response: Response) -> None:
                self.send_response(response.status)
                self.send_header("Content-Type", response.content_type)
                for name, value in response.headers.items():
                    self.send_header(name, value)
                if response.chunks is not None:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                    self.end_headers()
                    for chunk in response.chunks:
                        self.wfile.write(chunk)
                        self.wfile.flush()
                    return
                self.send_header("Content-Length", str(len(response.body)))
                self.end_headers()
                if response.status != 304 and self.command != "HEAD":
                    self.wfile.write(response.body)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve

        return Handler

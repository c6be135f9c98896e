"""Shared pieces of the knowledge tests: one local HTTP server speaking the documented JSON
of the WordPress REST API, the Shopify Admin REST API and the OpenAI API, and factories.

Test modules import the fixtures they use by name (`from tests.knowledge_support import
fake_apis, knowledge_settings`); `knowledge_settings` is autouse there.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest

from knowledge.models import Agent, KnowledgeCollection, LLMProvider
from knowledge.services import cache, crypto

TEST_KEY = "7zV1P3sGQmW0b3B2cFq3QnZJd3pQeU9lYWR0c1JyS3k="  # a Fernet key for the tests only
OPENAI_KEY = "sk-test-Zq8RwXx4a8b3c2d1e0f9"
SHOPIFY_TOKEN = "shpat_0123456789abcdef0123456789abcdef"
WORDPRESS_KEY = "editor:abcd efgh ijkl mnop qrst uvwx"
EMBED_DIMENSIONS = 64
API = "/admin/api/2024-01"


def fake_embedding(text: str) -> list[float]:
    """A deterministic bag-of-words vector: texts sharing words point the same way."""
    vector = np.zeros(EMBED_DIMENSIONS, dtype=np.float64)
    for word in re.findall(r"\w+", text.lower()):
        vector[int(hashlib.md5(word.encode()).hexdigest(), 16) % EMBED_DIMENSIONS] += 1
    norm = np.linalg.norm(vector) or 1.0
    return [round(float(x), 6) for x in vector / norm]


def wp_post(pk: int, title: str, html: str, kind: str = "post", base: str = "https://blog.example") -> dict:
    return {
        "id": pk,
        "type": kind,
        "slug": f"{kind}-{pk}",
        "link": f"{base}/{kind}-{pk}/",
        "modified_gmt": "2026-01-01T00:00:00",
        "title": {"rendered": title},
        "content": {"rendered": html, "protected": False},
    }


def shopify_product(pk: int, title: str, html: str, price: str = "19.99") -> dict:
    handle = re.sub(r"\W+", "-", title.lower()).strip("-")
    return {
        "id": pk,
        "title": title,
        "body_html": html,
        "handle": handle,
        "vendor": "Acme",
        "product_type": "Gear",
        "tags": "outdoor",
        "updated_at": "2026-01-01T00:00:00-00:00",
        "variants": [{"id": pk * 10, "title": "Default Title", "price": price}],
    }


def minimal_pdf(text: str) -> bytes:
    """A one-page PDF whose page shows `text` (Helvetica), with a correct xref table."""
    return pdf_with_content(f"BT /F1 12 Tf 20 100 Td ({text}) Tj ET".encode())


def pdf_with_content(stream: bytes, *, flate: bool = False) -> bytes:
    """A one-page PDF whose page content is `stream` (deflated with `flate`), with a correct
    xref table."""
    data = zlib.compress(stream, 9) if flate else stream
    head = b"<< /Length %d%s >>\nstream\n" % (len(data), b" /Filter /FlateDecode" if flate else b"")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 200] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        head + data + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


@pytest.fixture
def queued(monkeypatch):
    """The sync tasks the services queue, recorded instead of sent (their apply_async kwargs)."""
    from knowledge import tasks

    calls = []
    monkeypatch.setattr(tasks.sync_collection, "apply_async", lambda **kw: calls.append(kw))
    return calls


@pytest.fixture
def manager(api, world):
    """An API client signed in as company A's content manager."""
    return api.as_user(world.user("a", "content_manager"))


class FakeAPIs:
    """WordPress, Shopify and OpenAI on one loopback port, recording what they are asked."""

    def __init__(self):
        self.wp: dict[str, list[dict]] = {"posts": [], "pages": []}
        self.products: list[dict] = []
        self.blogs: list[dict] = [{"id": 7, "handle": "news", "title": "News"}]
        self.articles: dict[int, list[dict]] = {7: []}
        self.custom_collections: list[dict] = []
        self.smart_collections: list[dict] = []
        self.requests: list[tuple[str, str]] = []
        self.embedded: list[str] = []  # every text sent to /v1/embeddings
        self.chats: list[dict] = []  # every chat completion request body
        self.script: list[tuple] = []  # ("status", code) | ("delay", seconds) | ("break", chunks, seconds)
        self.reply = "You can return any item within 30 days [1]."
        self.embed_delay = 0.0  # seconds each /v1/embeddings answer takes (a slow provider)
        self.fail_on = ""  # a GET whose path contains this answers HTTP 500
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def paths(self, prefix: str = "") -> list[str]:
        return [p for _, p in self.requests if p.startswith(prefix)]

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _json(self, status: int, body, headers: dict | None = None):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                with fake.lock:
                    fake.requests.append(("GET", self.path))
                if fake.fail_on and fake.fail_on in self.path:
                    return self._json(500, {"code": "internal_server_error", "message": "Boom"})
                if parts.path.startswith("/wp-json/wp/v2/"):
                    return self._wordpress(parts.path.rsplit("/", 1)[-1], query)
                if parts.path.startswith(API):
                    return self._shopify(parts.path[len(API) :], query)
                self._json(404, {"error": "not found"})

            def _wordpress(self, kind, query):
                if kind not in fake.wp:
                    return self._json(404, {"code": "rest_no_route", "message": "No route was found."})
                if self.headers.get("Authorization") != "Basic " + base64.b64encode(WORDPRESS_KEY.encode()).decode():
                    return self._json(
                        401, {"code": "rest_not_logged_in", "message": "You are not currently logged in."}
                    )
                rows = fake.wp[kind]
                per_page, page = int(query.get("per_page", 10)), int(query.get("page", 1))
                pages = max(1, -(-len(rows) // per_page))
                if page > pages:
                    return self._json(
                        400,
                        {
                            "code": "rest_post_invalid_page_number",
                            "message": "The page number requested is larger than the number of pages available.",
                            "data": {"status": 400},
                        },
                    )
                self._json(
                    200,
                    rows[(page - 1) * per_page : page * per_page],
                    {"X-WP-Total": str(len(rows)), "X-WP-TotalPages": str(pages)},
                )

            def _shopify(self, path, query):
                if self.headers.get("X-Shopify-Access-Token") != SHOPIFY_TOKEN:
                    return self._json(
                        401, {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}
                    )
                match = re.fullmatch(r"/blogs/(\d+)/articles\.json", path)
                listings = {
                    "/products.json": ("products", fake.products),
                    "/blogs.json": ("blogs", fake.blogs),
                    "/custom_collections.json": ("custom_collections", fake.custom_collections),
                    "/smart_collections.json": ("smart_collections", fake.smart_collections),
                }
                key, rows = (
                    ("articles", fake.articles.get(int(match[1]), [])) if match else listings.get(path, (None, None))
                )
                if key is None:
                    return self._json(404, {"errors": "Not Found"})
                limit = int(query.get("limit", 50))
                start = int(base64.urlsafe_b64decode(query["page_info"]).decode()) if "page_info" in query else 0
                links = []
                if start + limit < len(rows):
                    token = base64.urlsafe_b64encode(str(start + limit).encode()).decode()
                    links.append(f'<{fake.url}{API}{path}?limit={limit}&page_info={token}>; rel="next"')
                if start:
                    token = base64.urlsafe_b64encode(str(max(0, start - limit)).encode()).decode()
                    links.insert(0, f'<{fake.url}{API}{path}?limit={limit}&page_info={token}>; rel="previous"')
                self._json(200, {key: rows[start : start + limit]}, {"Link": ", ".join(links)} if links else {})

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                with fake.lock:
                    fake.requests.append(("POST", self.path))
                if self.headers.get("Authorization") != f"Bearer {OPENAI_KEY}":
                    return self._json(
                        401,
                        {
                            "error": {
                                "message": "Incorrect API key provided: sk-wron*****.",
                                "type": "invalid_request_error",
                                "param": None,
                                "code": "invalid_api_key",
                            }
                        },
                    )
                if self.path == "/v1/embeddings":
                    return self._embeddings(body)
                if self.path == "/v1/chat/completions":
                    return self._chat(body)
                self._json(404, {"error": {"message": "Unknown path", "type": "invalid_request_error"}})

            def _embeddings(self, body):
                texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
                time.sleep(fake.embed_delay)
                with fake.lock:
                    fake.embedded.extend(texts)
                self._json(
                    200,
                    {
                        "object": "list",
                        "model": body["model"],
                        "data": [
                            {"object": "embedding", "index": i, "embedding": fake_embedding(t)}
                            for i, t in enumerate(texts)
                        ],
                        "usage": {"prompt_tokens": len(texts), "total_tokens": len(texts)},
                    },
                )

            def _chat(self, body):
                with fake.lock:
                    fake.chats.append(body)
                    step = fake.script.pop(0) if fake.script else None
                if step and step[0] == "status":
                    code = step[1]
                    errors = {
                        401: ("Incorrect API key provided.", "invalid_api_key"),
                        429: ("Rate limit reached for requests.", "rate_limit_exceeded"),
                    }
                    message, err_code = errors.get(code, ("The server had an error.", "server_error"))
                    return self._json(
                        code, {"error": {"message": message, "type": "requests", "param": None, "code": err_code}}
                    )
                if step and step[0] == "delay":
                    time.sleep(step[1])
                words = fake.reply.split(" ")
                usage = {"prompt_tokens": 42, "completion_tokens": len(words), "total_tokens": 42 + len(words)}
                base = {"id": "chatcmpl-1", "created": 1700000000, "model": body["model"]}
                if not body.get("stream"):
                    return self._json(
                        200,
                        {
                            **base,
                            "object": "chat.completion",
                            "usage": usage,
                            "choices": [
                                {
                                    "index": 0,
                                    "message": {"role": "assistant", "content": fake.reply},
                                    "finish_reason": "stop",
                                }
                            ],
                        },
                    )
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                chunk = {**base, "object": "chat.completion.chunk"}
                for n, word in enumerate(words):
                    if step and step[0] == "break" and n == step[1]:
                        time.sleep(step[2])  # stalls past the client's timeout
                        return
                    delta = {"content": word if n == 0 else f" {word}", **({"role": "assistant"} if n == 0 else {})}
                    self._event({**chunk, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]})
                self._event({**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
                if (body.get("stream_options") or {}).get("include_usage"):
                    self._event({**chunk, "choices": [], "usage": usage})
                self.wfile.write(b"data: [DONE]\n\n")

            def _event(self, data):
                self.wfile.write(f"data: {json.dumps(data)}\n\n".encode())
                self.wfile.flush()

        return Handler


@pytest.fixture
def fake_apis():
    server = FakeAPIs()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def knowledge_settings(settings):
    settings.FIELD_ENCRYPTION_KEY = TEST_KEY
    settings.KNOWLEDGE_LLM_MAX_RETRIES = 0
    settings.KNOWLEDGE_LLM_TIMEOUT_SECONDS = 5
    settings.KNOWLEDGE_CONNECTOR_TIMEOUT_SECONDS = 5
    cache.clear()
    return settings


# --- factories -------------------------------------------------------------------------


def make_provider(company, *, url: str, api_key: str = OPENAI_KEY, **fields) -> LLMProvider:
    provider = LLMProvider(
        company=company,
        name=fields.pop("name", "fake openai"),
        provider="custom",
        base_url=f"{url}/v1",
        models=["gpt-test", "text-embedding-test"],
        **fields,
    )
    crypto.set_secret(provider, "api_key", api_key)
    provider.save()
    return provider


def make_agent(company, *, url: str = "", provider=None, collections=(), **fields) -> Agent:
    agent = Agent(
        company=company,
        name=fields.pop("name", "helper"),
        model="gpt-test",
        provider=provider,
        system_prompt="You are the Acme helper.",
        knowledge_collection_ids=[c.pk for c in collections],
        shopify_enabled=bool(url),
        shopify_store_url=url,
        wordpress_enabled=bool(url),
        wordpress_site_url=url,
        **fields,
    )
    crypto.set_secret(agent, "shopify_api_key", SHOPIFY_TOKEN)
    crypto.set_secret(agent, "wordpress_api_key", WORDPRESS_KEY)
    agent.save()
    return agent


def make_collection(company, *, source_type="manual", provider=None, agent=None, **fields) -> KnowledgeCollection:
    return KnowledgeCollection.objects.create(
        company=company,
        name=fields.pop("name", f"{source_type} collection"),
        source_type=source_type,
        agent=agent,
        embedding_provider=provider,
        embedding_model="text-embedding-test" if provider else "all-MiniLM-L6-v2",
        **fields,
    )

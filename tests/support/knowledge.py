"""Shared pieces of the knowledge tests: one local HTTP server speaking the documented JSON
of the WordPress REST API and the Shopify Admin REST API beside the fake OpenAI API
(tests/fakes/openai.py), and factories.

Test modules import the fixtures they use by name (`from tests.support.knowledge import
fake_apis, knowledge_settings`); `knowledge_settings` is autouse there.
"""

from __future__ import annotations

import base64
import re
import zlib

import pytest

from knowledge.models import Agent, KnowledgeCollection, LLMProvider
from knowledge.services import cache, crypto
from tests.fakes.http import Response, json_response
from tests.fakes.openai import API_KEY as OPENAI_KEY
from tests.fakes.openai import EMBED_DIMENSIONS, FakeOpenAI, fake_embedding

TEST_KEY = "7zV1P3sGQmW0b3B2cFq3QnZJd3pQeU9lYWR0c1JyS3k="  # a Fernet key for the tests only
SHOPIFY_TOKEN = "shpat_0123456789abcdef0123456789abcdef"
WORDPRESS_KEY = "editor:abcd efgh ijkl mnop qrst uvwx"
API = "/admin/api/2024-01"


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


class FakeAPIs(FakeOpenAI):
    """WordPress, Shopify and OpenAI on one loopback port, recording what they are asked.
    `fail_on`: a GET whose target contains it answers HTTP 500."""

    def __init__(self):
        super().__init__(api_key=OPENAI_KEY)
        self.wp: dict[str, list[dict]] = {"posts": [], "pages": []}
        self.products: list[dict] = []
        self.blogs: list[dict] = [{"id": 7, "handle": "news", "title": "News"}]
        self.articles: dict[int, list[dict]] = {7: []}
        self.custom_collections: list[dict] = []
        self.smart_collections: list[dict] = []
        self.fail_on = ""
        self.url = self.base
        self.route("GET", re.compile(r"/wp-json/wp/v2/(\w+)"), self._wordpress)
        self.route("GET", re.compile(re.escape(API) + r"(/.*)"), self._shopify)

    def _dispatch(self, request: dict) -> Response:
        if request["method"] == "GET" and self.fail_on and self.fail_on in request["target"]:
            return json_response(500, {"code": "internal_server_error", "message": "Boom"})
        return super()._dispatch(request)

    def _wordpress(self, request: dict) -> Response:
        kind, query = request["match"][1], request["query"]
        if kind not in self.wp:
            return json_response(404, {"code": "rest_no_route", "message": "No route was found."})
        if request["headers"].get("Authorization") != "Basic " + base64.b64encode(WORDPRESS_KEY.encode()).decode():
            return json_response(401, {"code": "rest_not_logged_in", "message": "You are not currently logged in."})
        rows = self.wp[kind]
        per_page, page = int(query.get("per_page", 10)), int(query.get("page", 1))
        pages = max(1, -(-len(rows) // per_page))
        if page > pages:
            return json_response(
                400,
                {
                    "code": "rest_post_invalid_page_number",
                    "message": "The page number requested is larger than the number of pages available.",
                    "data": {"status": 400},
                },
            )
        page_rows = rows[(page - 1) * per_page : page * per_page]
        return json_response(200, page_rows, {"X-WP-Total": str(len(rows)), "X-WP-TotalPages": str(pages)})

    def _shopify(self, request: dict) -> Response:
        path, query = request["match"][1], request["query"]
        if request["headers"].get("X-Shopify-Access-Token") != SHOPIFY_TOKEN:
            return json_response(
                401, {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}
            )
        match = re.fullmatch(r"/blogs/(\d+)/articles\.json", path)
        listings = {
            "/products.json": ("products", self.products),
            "/blogs.json": ("blogs", self.blogs),
            "/custom_collections.json": ("custom_collections", self.custom_collections),
            "/smart_collections.json": ("smart_collections", self.smart_collections),
        }
        key, rows = ("articles", self.articles.get(int(match[1]), [])) if match else listings.get(path, (None, None))
        if key is None:
            return json_response(404, {"errors": "Not Found"})
        limit = int(query.get("limit", 50))
        start = int(base64.urlsafe_b64decode(query["page_info"]).decode()) if "page_info" in query else 0
        links = []
        if start + limit < len(rows):
            token = base64.urlsafe_b64encode(str(start + limit).encode()).decode()
            links.append(f'<{self.url}{API}{path}?limit={limit}&page_info={token}>; rel="next"')
        if start:
            token = base64.urlsafe_b64encode(str(max(0, start - limit)).encode()).decode()
            links.insert(0, f'<{self.url}{API}{path}?limit={limit}&page_info={token}>; rel="previous"')
        return json_response(200, {key: rows[start : start + limit]}, {"Link": ", ".join(links)} if links else {})


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

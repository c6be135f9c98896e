"""Outbound connections pinned to the
address that was checked, IPv6 wrappers of private addresses refused, bad input answered
with a 400 and a message (never a 500), and an API that answers JSON and refuses what it
cannot honour."""

import ipaddress
import socket
import ssl

import httpx
import pytest
import trustme
from cryptography.fernet import Fernet

from events.models import Webhook, WebhookDelivery
from events.services import webhooks
from requestdesk import outbound
from scraping.services.fetching import Fetcher, FetchPolicy
from tests.fakes.http import FakeServer, Response

PUBLIC = "93.184.216.34"


class Resolver:
    """socket.getaddrinfo with scripted answers for some names: each name answers the next
    of its scripted lists (the last one again once they run out); other names resolve
    for real. `asked` counts the look-ups per name."""

    def __init__(self, monkeypatch, **answers):
        self.answers = {name.replace("_", "."): list(lists) for name, lists in answers.items()}
        self.asked: dict[str, int] = {}
        self.real = socket.getaddrinfo
        monkeypatch.setattr(socket, "getaddrinfo", self)

    def __call__(self, host, port, *args, **kwargs):
        if host not in self.answers:
            return self.real(host, port, *args, **kwargs)
        turn = self.asked.get(host, 0)
        self.asked[host] = turn + 1
        addresses = self.answers[host][min(turn, len(self.answers[host]) - 1)]
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in addresses
        ]


@pytest.fixture(autouse=True)
def _encryption_key(settings):
    """Webhook secrets are encrypted at rest: a key for this test run."""
    settings.FIELD_ENCRYPTION_KEY = settings.FIELD_ENCRYPTION_KEY or Fernet.generate_key().decode()


# --- hole 3: DNS rebinding ------------------------------------------------------------------


def test_hole3_dns_rebinding_connects_to_checked_address(world, receiver, settings, monkeypatch):
    """The guard's look-up answers a public address, every later one loopback: before, the
    webhook was checked against the first answer and sent to the second (127.0.0.1)."""
    port = receiver.server.server_address[1]
    hook = webhooks.create_webhook(company=world.a, name="h", url=receiver.url, events=["*"])
    Webhook.objects.filter(pk=hook.pk).update(url=f"http://rebind.test:{port}/hooks")
    settings.OUTBOUND_ALLOW_LOOPBACK = False
    Resolver(monkeypatch, rebind_test=[[PUBLIC], ["127.0.0.1"]])
    monkeypatch.setattr("events.tasks.deliver_webhook.delay", lambda *a, **k: None)

    [delivery] = webhooks.emit_event(company=world.a, event_type="scrape.completed", data={})
    webhooks.deliver(delivery.pk)

    assert receiver.requests == []
    attempt = WebhookDelivery.objects.get(pk=delivery.pk).attempts[0]
    assert attempt.status_code is None and "loopback" in attempt.error


def test_hole3_scrape_target_rebinding_never_reaches_loopback(receiver, settings, monkeypatch):
    port = receiver.server.server_address[1]
    settings.OUTBOUND_ALLOW_LOOPBACK = False
    Resolver(monkeypatch, rebind_test=[[PUBLIC], ["127.0.0.1"]])
    fetcher = Fetcher(FetchPolicy(timeout=2, max_retries=0, respect_robots=False), sleep=lambda s: None)

    page = fetcher.fetch(f"http://rebind.test:{port}/page")

    assert receiver.requests == [] and page.status_code is None
    assert "loopback" in page.error


def test_hole3_llm_call_rebinding_never_reaches_loopback(world, receiver, settings, monkeypatch):
    import openai

    from knowledge.models import LLMProvider
    from knowledge.services import llm

    port = receiver.server.server_address[1]
    settings.OUTBOUND_ALLOW_LOOPBACK = False
    settings.KNOWLEDGE_LLM_MAX_RETRIES = 0
    Resolver(monkeypatch, rebind_test=[[PUBLIC], ["127.0.0.1"]])
    provider = LLMProvider(company=world.a, provider="custom", base_url=f"http://rebind.test:{port}/v1")

    with pytest.raises(openai.APIConnectionError) as raised:
        llm.client_for(provider).embeddings.create(model="m", input=["hello"])

    assert receiver.requests == []
    assert "loopback" in str(raised.value.__cause__)


def test_hole3_client_connects_to_the_one_address_it_vetted(receiver, monkeypatch):
    """One look-up per connection, and the socket goes to its answer; the Host header keeps the name."""
    port = receiver.server.server_address[1]
    resolver = Resolver(monkeypatch, pinned_test=[["127.0.0.1"], ["10.0.0.1"]])
    with outbound.http_client(timeout=5) as client:
        response = client.post(f"http://pinned.test:{port}/hooks", content=b"{}")
    assert response.status_code == 200 and resolver.asked == {"pinned.test": 1}
    [request] = receiver.requests
    assert request["headers"]["Host"] == f"pinned.test:{port}"


@pytest.fixture
def tls_server(monkeypatch):
    """An HTTPS server on 127.0.0.1 whose certificate names only pinned.test (a test CA the
    outbound TLS context is made to trust); it records the SNI names it is sent."""
    authority = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("pinned.test").configure_cert(server_context)
    names = []
    server_context.sni_callback = lambda sock, name, context: names.append(name)

    server = FakeServer(tls=server_context)
    server.route("GET", "/", lambda request: Response(200, b"ok", "text/plain"))
    client_context = ssl.create_default_context()
    authority.configure_trust(client_context)
    monkeypatch.setattr(outbound, "_tls", lambda: client_context)
    with server:
        yield server.port, names


def test_hole3_pinned_tls_keeps_host_name_for_sni_and_certificate(tls_server, monkeypatch):
    port, names = tls_server
    Resolver(monkeypatch, pinned_test=[["127.0.0.1"]], other_test=[["127.0.0.1"]])
    with outbound.http_client(timeout=5) as client:
        assert client.get(f"https://pinned.test:{port}/").text == "ok"
        assert names == ["pinned.test"]
        # Same address, but a name the certificate does not carry: verification still refuses.
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED|doesn't match|mismatch"):
            client.get(f"https://other.test:{port}/")


def test_hole3_llm_and_connector_clients_are_pinned(settings):
    from knowledge.services.connectors import base

    for client in (base.client(), outbound.http_client(timeout=1)):
        assert isinstance(client._transport, outbound.PinnedTransport)
        assert isinstance(client._transport._pool._network_backend, outbound.PinnedBackend)


# --- hole 9: IPv6 wrappers of private addresses -----------------------------------------


@pytest.mark.parametrize(
    "address, wrapped",
    [
        ("2002:7f00:1::", "127.0.0.1"),  # 6to4
        ("2002:a00:1::", "10.0.0.1"),  # 6to4
        ("2002:a9fe:a9fe::", "169.254.169.254"),  # 6to4 of the metadata address
        ("2001:0:4136:e378:8000:63bf:80ff:fffe", "127.0.0.1"),  # Teredo, client 127.0.0.1
        ("64:ff9b::c0a8:1", "192.168.0.1"),  # NAT64
    ],
)
def test_hole9_ipv6_wrapping_a_private_address_is_refused(settings, address, wrapped):
    settings.OUTBOUND_ALLOW_LOOPBACK = True  # loopback wrapped in IPv6 leaves the host: never allowed
    with pytest.raises(outbound.UnsafeURL, match=wrapped.replace(".", r"\.")):
        outbound.check_url(f"http://[{address}]/")


def test_hole9_6to4_of_a_public_address_still_passes(settings):
    assert outbound.refusal(ipaddress.ip_address("2002:5db8:d822::")) is None
    outbound.check_url("http://[2002:5db8:d822::]/")


# --- hole 8: bad input is a 400 with a message, never a 500 -------------------------------

CAMPAIGNS = "/api/v1/content/campaigns/"


def _raw_post(api, url, body: str):
    return api.post(url, data=body.encode("utf-8", "surrogatepass"), content_type="application/json")


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize(
    "body, reason",
    [
        ('{"name": "deep", "settings": %s}' % _nested(10_000), "nested"),
        ('{"name": "deep", "settings": {"a": %s}}' % _nested(1_000), "nested"),
        ('{"name": "big", "settings": {"n": %d}}' % 2**63, "64-bit"),
        ('{"name": "big", "settings": {"n": %d}}' % -(2**63 + 1), "64-bit"),
        ('{"name": "big", "settings": {"n": %d}}' % 10**30, "64-bit"),
        ('{"name": "nul", "settings": {"a\\u0000b": 1}}', "NUL"),
        ('{"name": "surrogate", "settings": {"\\ud800": 1}}', "surrogate"),
        ('{"name": "surrogate", "settings": {"k": "\\udc00"}}', "surrogate"),
    ],
)
def test_hole8_unstorable_json_is_a_400(api, world, body, reason):
    api.as_user(world.user("a", "company_admin"))
    response = _raw_post(api, CAMPAIGNS, body)
    assert response.status_code == 400, response.content
    assert reason in response.json()["detail"]
    assert api.get(CAMPAIGNS).json()["count"] == 0


def test_hole8_deep_json_to_the_token_endpoint_is_a_400(api, world):
    response = _raw_post(api, "/api/v1/auth/token/", _nested(10_000))
    assert response.status_code == 400 and "nested" in response.json()["detail"]


def test_hole8_json_field_posted_as_a_form_is_validated(api, world):
    api.as_user(world.user("a", "company_admin"))
    for settings_text, reason in [
        ('{"a\\u0000b": 1}', "NUL"),
        ('{"n": %d}' % 2**64, "64-bit"),
        ('{"a": %s}' % _nested(5_000), "Nested"),
    ]:
        response = api.post(CAMPAIGNS, {"name": "form", "settings": settings_text}, format="multipart")
        assert response.status_code == 400, response.content
        assert reason in response.json()["settings"][0]
    ok = api.post(
        CAMPAIGNS, {"name": "form", "settings": '{"n": %d, "d": %s}' % (2**63 - 1, _nested(20))}, format="multipart"
    )
    assert ok.status_code == 201, ok.content
    assert ok.json()["settings"]["n"] == 2**63 - 1


@pytest.mark.parametrize("path", [CAMPAIGNS, "/api/v1/content/tickets/", "/api/v1/users/"])
def test_hole8_page_number_beyond_64_bits_is_a_404_not_a_500(api, world, path):
    api.as_user(world.user("a", "company_admin"))
    for page in (str(2**70), "9" * 5_000):
        response = api.get(path, {"page": page})
        assert response.status_code == 404 and response.json() == {"detail": "Invalid page."}


def test_hole8_jwt_whose_subject_is_not_an_id_is_refused(api, world, settings):
    import time

    import jwt

    token = jwt.encode(
        {"sub": "not-an-object-id", "type": "access", "exp": int(time.time()) + 60},
        settings.JWT_SIGNING_KEY,
        algorithm="HS256",
    )
    response = api.get("/api/v1/users/me/", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 401 and response.json()["detail"]


# --- item 6: the API answers JSON and refuses what it cannot honour ---------------------


@pytest.mark.parametrize("path", ["/api/v1/no-such-thing/", "/api/v1/no/such/thing", "/api/v1/users/x/y/z/"])
def test_item6_unknown_api_route_is_json_404(api, world, path, settings):
    settings.DEBUG = True  # Django's own 404 page (HTML, listing routes) is what DEBUG used to show
    api.as_user(world.user("a", "company_admin"))
    response = api.get(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json" and response.json() == {"detail": "Not found."}


def test_item6_known_route_without_slash_still_redirects(api, world):
    api.as_user(world.user("a", "company_admin"))
    response = api.get("/api/v1/users")
    assert response.status_code == 301 and response["Location"].endswith("/api/v1/users/")


def test_item6_unknown_ordering_is_a_400(api, world):
    api.as_user(world.user("a", "company_admin"))
    response = api.get(CAMPAIGNS, {"ordering": "nonexistent"})
    assert response.status_code == 400
    assert "nonexistent" in response.json()["ordering"][0]
    assert api.get(CAMPAIGNS, {"ordering": "-name"}).status_code == 200


@pytest.mark.parametrize("value", ["abc", "0", "-5", "1.5"])
def test_item6_bad_page_size_is_a_400(api, world, value):
    api.as_user(world.user("a", "company_admin"))
    for path in (CAMPAIGNS, "/api/v1/audit-logs/"):  # numbered and cursor pages
        response = api.get(path, {"page_size": value})
        assert response.status_code == 400, (path, response.content)
        assert "page_size" in response.json()
    assert api.get(CAMPAIGNS, {"page_size": "500"}).status_code == 200  # capped at 100, as documented


def test_item6_agent_without_a_usable_provider_is_a_400(api, world):
    from knowledge.models import Agent, LLMProvider

    api.as_user(world.user("a", "company_admin"))
    agents = "/api/v1/knowledge/agents/"
    response = api.post(agents, {"name": "mute"}, format="json")
    assert response.status_code == 400 and "provider" in response.json()
    inactive = LLMProvider.objects.create(company=world.a, provider="openai", is_active=False)
    custom = LLMProvider.objects.create(company=world.a, provider="custom", base_url="")
    for provider in (inactive, custom):
        response = api.post(agents, {"name": "mute", "provider": str(provider.pk)}, format="json")
        assert response.status_code == 400 and "provider" in response.json()
    assert Agent.objects.count() == 0
    usable = LLMProvider.objects.create(company=world.a, provider="openai")
    assert api.post(agents, {"name": "talks"}, format="json").status_code == 201
    named = api.post(agents, {"name": "talks", "provider": str(usable.pk)}, format="json")
    assert named.status_code == 201
    LLMProvider.objects.filter(pk=usable.pk).update(is_active=False)  # later: renaming still works
    assert api.patch(f"{agents}{named.json()['id']}/", {"name": "renamed"}, format="json").status_code == 200

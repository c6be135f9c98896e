"""Contract fuzzing: every operation of the OpenAPI schema (/api/v1/schema/) is called with
generated input, valid and invalid, as a company admin (JWT bearer), in-process through the WSGI
app. Every response must be free of server errors and match the schema: a documented status
code, a documented content type, and a body that validates against the response schema.

Bounded and deterministic: a few examples per operation (FUZZ_MAX_EXAMPLES, default 5),
derandomized generation, no example database; FUZZ_COVERAGE=1 adds schemathesis's boundary
cases, FUZZ_REPORT=1 prints the statuses each operation answered. Detail paths hit real
documents: a generated well-formed id is swapped for the id of a document of that resource in
the admin's company (seeded here, or created by the POSTs before). Deletes run in a test of
their own, on fresh data. The last tests pin what the fuzzing found, whatever it generates.

    .venv/bin/pytest -q tests/proof/test_schemathesis.py
"""

import collections
import os
import re

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from django.utils import timezone
from rest_framework.test import APIClient
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from content.models import Campaign, Ticket
from content.services import batches
from events.services import notifications, webhooks
from knowledge.models import Conversation, SourceType
from knowledge.services import chat, ingest, sync
from knowledge.services.connectors.base import SourceItem
from scraping.services import ingest as scraping_ingest
from scraping.services import jobs, projects
from scraping.services.extraction import Item
from tenants import services as tenant_services
from tests.support.content import article_setup, new_context
from tests.support.knowledge import FakeAPIs, make_agent, make_collection, make_provider

MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "5"))  # per operation; raise it to dig deeper
COVERAGE = os.environ.get("FUZZ_COVERAGE") == "1"  # add schemathesis's coverage phase (boundary cases)
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
OBJECT_ID = re.compile(r"[0-9a-f]{24}")
REFERENCES = {  # request body field -> where the documents it refers to are listed
    "pipeline": "/api/v1/content/pipelines/",
    "agent": "/api/v1/knowledge/agents/",
    "provider": "/api/v1/knowledge/providers/",
    "embedding_provider": "/api/v1/knowledge/providers/",
    "project": "/api/v1/scraping/projects/",
    "assigned_to": "/api/v1/users/",
}
PROVIDERS = {"provider", "embedding_provider"}

CONFIG = schemathesis.Config.from_dict(
    {
        "generation": {
            "mode": "all",  # valid input and invalid input
            "max-examples": MAX_EXAMPLES,
            "deterministic": True,
            "database": "none",
            "with-security-parameters": False,  # every call carries the admin's JWT (below)
        },
        "phases": {"examples": {"enabled": False}, "coverage": {"enabled": COVERAGE}, "stateful": {"enabled": False}},
        "suppress-health-check": ["all"],
    }
)


class Fuzzed:
    """The seeded company, its admin's JWT, and what must survive the fuzzing."""

    def __init__(self, world, apis: FakeAPIs):
        self.apis = apis  # OpenAI (embeddings, chat), WordPress and Shopify on a loopback port
        self.company = world.a
        self.admin = world.user("a", "company_admin")
        tenant_services.create_api_key(user=self.admin, company=self.company, name="spare")
        access = tenant_services.issue_tokens(self.admin)["access"]
        self.headers = {"Authorization": f"Bearer {access}"}
        self.protected = {str(self.company.pk), str(self.admin.pk)}
        self.seed()
        self.protected.add(str(self.provider.pk))  # kept pointing at the fake OpenAI: no 502 from a fuzzed base_url
        self.client = APIClient()
        self.statuses = collections.defaultdict(collections.Counter)  # operation -> status -> calls

    def seed(self) -> None:
        """A document of every resource of company A, so detail paths have something to hit."""
        company, admin = self.company, self.admin
        webhooks.create_webhook(company=company, name="all", url="http://127.0.0.1:9/hook", events=["*"])
        setup = article_setup(company)  # template, components, pipeline
        new_context(setup)  # announced: a webhook delivery too
        batches.create_batch(pipeline=setup.pipeline, items=[{"data": {"title": "Batch item"}}], name="fuzz")
        self.provider = make_provider(company, url=self.apis.url)
        agent = make_agent(company, provider=self.provider)
        collection = make_collection(company, agent=agent)
        ingest.ingest_items(
            collection=collection,
            source_type=SourceType.MANUAL,
            full=False,
            items=[SourceItem(source_id="doc-1", title="Returns", text="Returns are free within 30 days.")],
        )
        synced = make_collection(company, source_type="wordpress", agent=make_agent(company, url=self.apis.url))
        sync.new_history(collection=synced, trigger="api")
        sync.set_schedule(collection=synced, interval_seconds=3600)
        conversation = Conversation.objects.create(company=company, agent=agent, user=admin, started_at=timezone.now())
        chat.post_user_message(conversation=conversation, user=admin, content="Where is my order?")
        notifications.notify(user=admin, type="info", title="Welcome")
        project = projects.create_project(company=company, name="Monitoring")
        target = projects.create_target(project=project, url="http://127.0.0.1:9/reviews")
        job = jobs.create_job(project=project, target=target)
        scraping_ingest.ingest(
            target=target,
            job=job,
            platform="generic",
            items=[Item(title="Great", text="Loved it, fast delivery.", url="http://127.0.0.1:9/r/1")],
        )
        projects.set_schedule(project=project, enabled=True)
        projects.create_preset(company=company, user=admin, name="Reviews")
        Campaign.objects.create(company=company, name="Launch")
        Ticket.objects.create(company=company, title="Write the launch post")

    def live_id(self, collection: str, method: str = "GET") -> str | None:
        """The id of a document listed at `collection`, if there is one (a write never gets
        the admin's own user or company, nor the seeded provider)."""
        response = self.client.get(collection, {"page_size": 50}, HTTP_AUTHORIZATION=self.headers["Authorization"])
        if response.status_code != 200:
            return None
        body = response.json()
        rows = body.get("results", body) if isinstance(body, dict) else body
        for row in rows if isinstance(rows, list) else []:
            pk = str(row.get("id", ""))
            if method == "GET" or pk not in self.protected:
                return pk
        return None

    def aim(self, case) -> None:
        """Point well-formed generated ids at live documents: the path's id, and the ids a
        request body refers to; URLs at a loopback address the outbound guard lets through in
        tests. Malformed values (the invalid-input cases) are left as they are."""
        pk = (case.path_parameters or {}).get("id")
        if isinstance(pk, str) and OBJECT_ID.fullmatch(pk):
            case.path_parameters["id"] = self.live_id(case.operation.path.split("{id}")[0], case.method.upper()) or pk
        if isinstance(case.body, dict):
            for field, collection in REFERENCES.items():
                value = case.body.get(field)
                if isinstance(value, str) and OBJECT_ID.fullmatch(value):
                    # Providers: the seeded one, which answers (one made here may point anywhere).
                    live = str(self.provider.pk) if field in PROVIDERS else self.live_id(collection)
                    case.body[field] = live or value
            url = case.body.get("url")
            if isinstance(url, str) and re.match(r"https?://[^/\s]+", url):
                case.body["url"] = "http://127.0.0.1:9/fuzz"


@pytest.fixture
def fuzzed(world, settings):
    settings.FIELD_ENCRYPTION_KEY = "Mi94bn1PebHo1MPpIwXi_-BxXOWHcrveYCkpAVrXyWA="  # provider keys are encrypted
    apis = FakeAPIs()
    fuzzed = Fuzzed(world, apis)
    yield fuzzed
    apis.stop()
    calls = sum(sum(c.values()) for c in fuzzed.statuses.values())
    ok = sum(1 for c in fuzzed.statuses.values() if any(code < 300 for code in c))
    by_class = collections.Counter(f"{code // 100}xx" for c in fuzzed.statuses.values() for code in c.elements())
    print(
        f"\nfuzzed {len(fuzzed.statuses)} operations, {calls} calls {dict(sorted(by_class.items()))}, "
        f"{ok} operations answered 2xx at least once"
    )
    if os.environ.get("FUZZ_REPORT"):
        for label, codes in sorted(fuzzed.statuses.items()):
            print(f"  {label:60} {dict(sorted(codes.items()))}")


def _load_schema(request, *, children_first=False):
    # schemathesis 4.32's lazy runner renames the node through `_nodeid`, which pytest 9 dropped.
    request.node._nodeid = request.node.nodeid
    app = get_wsgi_application()
    if not children_first:
        return schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", app, config=CONFIG)
    # Paths in reverse order: /projects/{id}/schedule/ before /projects/{id}/, /targets/ before
    # /projects/, so a delete does not take away (by cascade) what a later one was to delete.
    raw = APIClient().get("/api/v1/schema/?format=json").json()
    raw["paths"] = dict(reversed(raw["paths"].items()))
    loaded = schemathesis.openapi.from_dict(raw, config=CONFIG)
    loaded.app = app
    return loaded


@pytest.fixture
def api_schema(request, fuzzed):
    return _load_schema(request)


@pytest.fixture
def api_schema_children_first(request, fuzzed):
    return _load_schema(request, children_first=True)


schema = schemathesis.pytest.from_fixture("api_schema")
deletes = schemathesis.pytest.from_fixture("api_schema_children_first").include(method="DELETE")


def _call_and_validate(case, fuzzed):
    fuzzed.aim(case)
    response = case.call(headers=fuzzed.headers)
    fuzzed.statuses[case.operation.label][response.status_code] += 1
    assert response.status_code < 500, response.text  # also a check below, named here
    case.validate_response(response, checks=CHECKS, headers=fuzzed.headers)  # raises on a violation


@schema.exclude(method="DELETE").parametrize()
def test_api_conforms_to_its_schema(case, fuzzed):
    _call_and_validate(case, fuzzed)


@deletes.parametrize()
def test_deletes_conform_to_the_schema(case, fuzzed):
    """Deletes run on their own, on freshly seeded data (so the other operations have documents
    to hit), children first."""
    _call_and_validate(case, fuzzed)


# --- What the fuzzing found, pinned ---------------------------------------------------------


def test_schema_documents_errors_and_object_ids(client, db):
    paths = client.get("/api/v1/schema/?format=json").json()["paths"]
    operations = [(path, method, op) for path, ops in paths.items() for method, op in ops.items()]
    assert len(operations) > 150
    for path, method, op in operations:
        assert {"401", "403", "429"} <= set(op["responses"]), (method, path)
        if "{id}" in path:
            assert "404" in op["responses"], (method, path)
            [param] = [p for p in op["parameters"] if p["in"] == "path"]
            assert param["schema"] == {"type": "string", "pattern": "^[0-9a-f]{24}$"}, (method, path)
        if method != "get":
            assert "400" in op["responses"], (method, path)
    sse = paths["/api/v1/knowledge/conversations/{id}/messages/"]["post"]["responses"]
    assert sse["404"]["content"]["text/event-stream"]["schema"]["$ref"].endswith("/SSEEvent")


def test_bad_search_is_a_field_error(api, world):
    response = api.as_user(world.user("a", "company_admin")).get("/api/v1/users/", {"search": "a\x00b"})
    assert response.status_code == 400
    assert list(response.json()) == ["search"]


def test_partial_collection_settings_are_checked_as_stored(api, world):
    client = api.as_user(world.user("a", "company_admin"))
    created = client.post(
        "/api/v1/knowledge/collections/",
        {"name": "Docs", "source_type": "manual", "settings": {"chunk_size": 400, "chunk_overlap": 100}},
        format="json",
    )
    assert created.status_code == 201, created.content
    url = f"/api/v1/knowledge/collections/{created.json()['id']}/"
    too_much = client.patch(url, {"settings": {"chunk_overlap": 300}}, format="json")
    assert too_much.status_code == 400
    assert too_much.json() == {"settings": {"chunk_overlap": ["At most half the chunk size."]}}
    fine = client.patch(url, {"settings": {"chunk_overlap": 150}}, format="json")
    assert fine.status_code == 200, fine.content
    assert fine.json()["settings"] == {"chunk_size": 400, "chunk_overlap": 150}

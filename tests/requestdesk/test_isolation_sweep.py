"""Tenant isolation sweep: every API route under /api/v1/ and every admin view,
found by walking the URL resolvers and `admin.site._registry` (nothing listed by hand), is
tried by company B against company A's objects, one of each routed or registered model
(tests/support/isolation_factories.py; a model without a factory fails the sweep).

Company B's strongest tenant role (company_admin, signed in) and an API key of B must get
none of A: lists, searches (?search=, ?q=, POST search), exports and every id filter
without A's ids or markers; detail, PUT, PATCH, DELETE and every custom detail action 404
with A's object unchanged in the database; id filters answer the same for A's ids as for
ids that exist nowhere (no existence oracle). In the admin, B's company admin sees none of
A in changelists and admin search, and every object view of A's objects is 302/403/404.
Nothing of company A changes and no task is queued while B tries. The same probes run
first as A's company admin and must find A's objects (so the sweep can fail), and a
superadmin must see A's objects too.

The totals are printed (`isolation sweep: N endpoints x M operations = K checks, 0 leaks`)
and written to the test's tmp dir.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest
from bson import ObjectId
from celery.app.task import Task
from django.apps import apps
from django.contrib import admin
from django.db import connection
from django.db.models import ForeignKey
from django.test import Client, RequestFactory
from django.urls import URLResolver, get_resolver, reverse
from django_filters.rest_framework import DjangoFilterBackend
from django_mongodb_backend.fields import ObjectIdField
from rest_framework.filters import SearchFilter
from rest_framework.test import APIClient

from content.models import Ticket
from requestdesk.api import urls as api_urls
from requestdesk.api.filters import ObjectIdFilter
from tenants import services
from tenants.api.viewsets import TenantViewSetMixin
from tenants.models import ApiKey
from tests.support.isolation_factories import Owner
from tests.support.knowledge import knowledge_settings  # noqa: F401
from tests.support.scraping import fast_scraping, system_presets  # noqa: F401

API_PREFIX = "api/v1/"
WRITE_METHODS = ("put", "patch", "post", "delete")
HIDDEN = {404}  # what another tenant's object answers on the API
ADMIN_HIDDEN = {302, 403, 404}  # the admin redirects "doesn't exist" to its index
LIST_QUERY_VARIANTS = [{"q": "{term}", "search": "{term}"}, {"as": "csv"}, {"as": "jsonl"}]


# --- what the sweep walks -------------------------------------------------------------------------------


@dataclass
class Route:
    name: str
    pattern: str
    view: type
    actions: dict | None  # method -> viewset action; None for a plain APIView

    @property
    def detail(self) -> bool:
        return "<pk>" in self.pattern

    @property
    def model(self):
        queryset = getattr(self.view, "queryset", None)
        return None if queryset is None else queryset.model

    def url(self, pk=None) -> str:
        return reverse(self.name, kwargs={"pk": str(pk)} if self.detail else {})


def api_routes() -> list[Route]:
    """Every route under /api/v1/ (router registry and extra urlpatterns), format-suffix twins dropped."""
    found, seen = [], set()

    def walk(patterns, prefix):
        for entry in patterns:
            if isinstance(entry, URLResolver):
                walk(entry.url_patterns, prefix + str(entry.pattern))
                continue
            route = prefix + str(entry.pattern)
            if not route.startswith(API_PREFIX) or "(?P<format>" in route or entry.name in seen:
                continue
            seen.add(entry.name)
            view = getattr(entry.callback, "cls", None)
            assert view is not None, f"{route}: not a DRF view; the sweep cannot classify it"
            actions = getattr(entry.callback, "actions", None)  # DRF adds head for get: the same action
            actions = None if actions is None else {m: a for m, a in actions.items() if m not in ("head", "options")}
            found.append(Route(entry.name, route, view, actions))

    walk(get_resolver().url_patterns, "")
    return found


def id_filters(view, model) -> dict[str, str]:
    """Filter name -> model field for every declared filterset field that takes an id."""
    backend = next((b for b in getattr(view, "filter_backends", ()) if issubclass(b, DjangoFilterBackend)), None)
    if backend is None:
        return {}
    filterset = backend().get_filterset_class(view(), view.queryset)
    if filterset is None:
        return {}
    result = {}
    for name, spec in filterset.base_filters.items():
        try:
            model_field = model._meta.get_field(spec.field_name.split("__")[0])
        except Exception:
            model_field = None
        takes_id = (
            isinstance(spec, ObjectIdFilter)
            or isinstance(model_field, (ForeignKey, ObjectIdField))
            or name == "id"
            or name.endswith("_id")
        )
        if takes_id and model_field is not None:
            result[name] = model_field
    return result


def is_searchable(view) -> bool:
    backends = getattr(view, "filter_backends", ())
    return any(issubclass(b, SearchFilter) for b in backends) and bool(getattr(view, "search_fields", None))


# --- database views of company A ----------------------------------------------------------------------


def raw(obj):
    return connection.get_collection(obj._meta.db_table).find_one({"_id": obj.pk})


def company_documents(company) -> dict:
    """Every document of every tenant model that belongs to `company` (the company itself included)."""
    docs = {}
    for model in apps.get_models():
        field = getattr(model, "TENANT_FIELD", None)
        if field is None or model._meta.abstract:
            continue
        column = "_id" if field == "pk" else model._meta.get_field(field).column
        rows = connection.get_collection(model._meta.db_table).find({column: company.pk}).sort("_id")
        docs[model._meta.db_table] = list(rows)
    return docs


def body_of(response) -> str:
    data = b"".join(response.streaming_content) if getattr(response, "streaming", False) else response.content
    return data.decode(errors="replace")


# --- the sweep ---------------------------------------------------------------------------------------------


@dataclass
class Sweep:
    owner: Owner
    needles: set = field(default_factory=set)
    checks: Counter = field(default_factory=Counter)
    endpoints: set = field(default_factory=set)
    leaks: list = field(default_factory=list)
    unexpected: list = field(default_factory=list)
    controls: list = field(default_factory=list)  # positive controls that failed
    public: set = field(default_factory=set)  # unauthenticated sign-in routes

    def check(self, op, endpoint, who, response, *, expect=None, obj=None, before=None):
        """One check: no needle of company A in a successful body, the expected status, `obj` unchanged."""
        self.checks[op] += 1
        self.endpoints.add(endpoint)
        where = f"{who} {op} {response.request['REQUEST_METHOD']} {endpoint}"
        status = response.status_code
        if 200 <= status < 300:
            body = body_of(response)
            found = sorted(n for n in self.needles if n in body)
            if found:
                self.leaks.append(f"{where}: {status} shows company A's {found[:3]}")
        if expect is not None and status not in expect:
            target = self.leaks if 200 <= status < 300 else self.unexpected
            target.append(f"{where}: answered {status}, expected {sorted(expect)}")
        if obj is not None and raw(obj) != before:
            self.leaks.append(f"{where}: changed company A's {obj._meta.label} {obj.pk}")

    def control(self, ok, what):
        if not ok:
            self.controls.append(what)


def hijack_payload(owner_view: dict, owner: Owner, a_values: dict) -> dict:
    """The owner's own representation with every marker text replaced: valid enough to be saved."""
    payload = {k: ("hijacked" if isinstance(v, str) and "sweep-" in v else v) for k, v in owner_view.items()}
    return {
        **payload,
        **a_values,
        "name": "hijacked",
        "title": "hijacked",
        "query": "hijacked",
        "content": "hijacked",
        "text": "hijacked",
        "emoji": "\N{THUMBS UP SIGN}",
        "interval_seconds": 60,
        "enabled": False,
        "company": str(owner.company.pk),
    }


def query(params: dict, term: str) -> str:
    return "?" + "&".join(f"{k}={v.format(term=term)}" for k, v in params.items())


class ApiProbe:
    """Runs every route's operations for one principal against company A's objects."""

    def __init__(self, sweep, routes, owner_views, a_values):
        self.sweep, self.routes, self.owner_views, self.a_values = sweep, routes, owner_views, a_values
        self.o = sweep.owner

    def run(self, client, who):
        for route in self.routes:
            if route.actions is None:
                self.plain_view(client, who, route)
            elif route.detail:
                self.detail_route(client, who, route)
            else:
                self.collection_route(client, who, route)

    def target(self, route):
        return self.o.get(route.model)

    def detail_route(self, client, who, route):
        obj = self.target(route)
        url = route.url(obj.pk)
        payload = hijack_payload(self.owner_views.get(route.model, {}), self.o, self.a_values)
        for method, action in route.actions.items():
            op = {"retrieve": "detail", "update": "put", "partial_update": "patch", "destroy": "delete"}.get(
                action, "action"
            )
            before = raw(obj)
            if method == "get":
                response = client.get(url)
            elif method == "delete":
                response = client.delete(
                    url + "?" + "&".join(f"{k}={v}" for k, v in self.a_values.items()), payload, format="json"
                )
            else:
                response = getattr(client, method)(url, payload, format="json")
            self.sweep.check(op, route.name, who, response, expect=HIDDEN, obj=obj, before=before)

    def collection_route(self, client, who, route):
        term = self.o.term(route.model)
        for method, action in route.actions.items():
            if action == "create":
                continue  # creating is stamped with the caller's company (per-app isolation tests)
            base = route.url()
            if action == "list":
                self.sweep.check("list", route.name, who, client.get(base + "?page_size=100"))
                if is_searchable(route.view):
                    self.sweep.check("search", route.name, who, client.get(base + f"?search={term}"))
                self.filters(client, who, route, base)
            elif method == "get":
                for params in LIST_QUERY_VARIANTS:
                    self.sweep.check(
                        "export" if "as" in params else "search",
                        route.name,
                        who,
                        client.get(base + query(params, term)),
                    )
                self.filters(client, who, route, base, extra=f"&q={term}")
            else:
                self.sweep.check("collection-action", route.name, who, getattr(client, method)(base, {}, format="json"))

    def filters(self, client, who, route, base, extra=""):
        model, obj = route.model, self.target(route)
        for name, value in self.filter_values(route, obj).items():
            answer = client.get(f"{base}?{name}={value}{extra}")
            self.sweep.check("filter", route.name, who, answer)
            nowhere = client.get(f"{base}?{name}={ObjectId() if ObjectId.is_valid(value) else 'sweep-nowhere'}{extra}")
            self.sweep.checks["filter-oracle"] += 1
            if answer.status_code != nowhere.status_code:
                self.sweep.leaks.append(
                    f"{who} filter-oracle {route.name}?{name}=: {model._meta.label} of company A "
                    f"answers {answer.status_code}, an unknown id {nowhere.status_code}"
                )

    def filter_values(self, route, obj) -> dict:
        values = {"id": obj.pk, "company": self.o.company.pk, "company_id": self.o.company.pk}
        for name, model_field in id_filters(route.view, route.model).items():
            value = getattr(obj, model_field.attname, None)
            if value in (None, "") and model_field.is_relation:
                value = self.o.get(model_field.related_model).pk
            if value not in (None, ""):
                values[name] = value
        return {name: str(value) for name, value in values.items()}

    def plain_view(self, client, who, route):
        """An APIView outside the router: a public sign-in view is no tenant data; any other
        is read with the search term and written with a payload naming company A."""
        if route.view.authentication_classes == []:
            self.sweep.public.add(route.name)  # sign-in: no tenant data, nothing to probe
            self.sweep.endpoints.add(route.name)
            return
        term = self.o.term(route.model) if route.model is not None else "sweep"
        for method in ("get", *WRITE_METHODS):
            if not hasattr(route.view, method):
                continue
            if method == "get":
                response = client.get(route.url() + f"?q={term}&search={term}")
            else:
                payload = {
                    "query": term,
                    "company": str(self.o.company.pk),
                    "plugin_settings": {"task_manager": {"default_view": "list"}},
                }
                response = getattr(client, method)(route.url(), payload, format="json")
            self.sweep.check("search" if method == "post" else "read", route.name, who, response)


# --- positive controls: company A's own admin finds what B must not -------------------------------------


def owner_controls(sweep, routes, client) -> dict:
    """A's company admin lists, reads, searches and filters A's objects; returns the detail views."""
    views = {}
    o = sweep.owner
    for route in routes:
        if route.model is None:
            continue
        obj = o.get(route.model)
        pk = str(obj.pk)
        actions = route.actions or {}
        if route.detail and actions.get("get") == "retrieve":
            response = client.get(route.url(obj.pk))
            sweep.control(response.status_code == 200, f"owner detail {route.name}: {response.status_code}")
            if response.status_code == 200:
                views[route.model] = response.json()
        elif not route.detail and actions.get("get") == "list":
            listed = body_of(client.get(route.url() + "?page_size=100"))
            sweep.control(pk in listed, f"owner list {route.name} lacks {route.model._meta.label}")
            if is_searchable(route.view):
                found = body_of(client.get(route.url() + f"?search={o.term(route.model)}"))
                sweep.control(pk in found, f"owner search {route.name} does not find {o.term(route.model)}")
            for name, model_field in id_filters(route.view, route.model).items():
                value = getattr(obj, model_field.attname, None)
                if value in (None, ""):
                    continue
                found = body_of(client.get(route.url() + f"?{name}={value}"))
                sweep.control(pk in found, f"owner filter {route.name}?{name}= does not find A's object")
        if route.actions is None and issubclass(route.view, TenantViewSetMixin) and hasattr(route.view, "post"):
            found = body_of(client.post(route.url(), {"query": o.term(route.model)}, format="json"))
            sweep.control(any(n in found for n in sweep.needles), f"owner search {route.name} finds nothing")
    return views


def seen_by_owner_in_list_actions(routes, client, o) -> set:
    """Names of list-level GET actions (search, export...) whose answer shows A's object to its owner."""
    seen = set()
    for route in routes:
        if route.actions is None or route.detail or route.actions.get("get") in (None, "list"):
            continue
        pk, text = str(o.get(route.model).pk), o.text(route.model)
        for params in LIST_QUERY_VARIANTS:
            body = body_of(client.get(route.url() + query(params, o.term(route.model))))
            if pk in body or text in body:
                seen.add(f"{route.name}{query(params, '')}")
    return seen


# --- the admin ----------------------------------------------------------------------------------------


def admin_base(model) -> str:
    return f"/admin/{model._meta.app_label}/{model._meta.model_name}/"


def object_paths(model_admin, pk) -> list[tuple[str, str]]:
    """(url name, path) of every admin view of one object: change, delete, history and custom views."""
    paths = []
    for pattern in model_admin.get_urls():
        route = str(pattern.pattern)
        if "<path:object_id>" in route:
            paths.append(
                (pattern.name or "redirect", admin_base(model_admin.model) + route.replace("<path:object_id>", str(pk)))
            )
    return paths


def admin_sweep(sweep, client, objects_client, b_admin):
    o = sweep.owner
    registry = list(admin.site._registry.items())
    # Pages first: a refused object view leaves a "doesn't exist" message naming the id for the next page.
    for model, _model_admin in registry:
        base = admin_base(model)
        sweep.check("admin-changelist", base, "admin:B", client.get(base), expect={200, 403})
        sweep.check("admin-search", base, "admin:B", client.get(base + f"?q={o.term(model)}"), expect={200, 403})
    request = RequestFactory().get("/admin/")
    request.user = b_admin
    for model, model_admin in registry:
        obj = o.get(model)
        paths = object_paths(model_admin, obj.pk)
        for name, path in paths:
            sweep.check("admin-object-view", f"admin:{name}", "admin:B", objects_client.get(path), expect=ADMIN_HIDDEN)
        for name, path in sorted(paths, key=lambda p: p[0].endswith("_delete")):  # change before delete
            if name.endswith(("_change", "_delete")):
                before = raw(obj)
                response = objects_client.post(path, {"post": "yes", "name": "hijacked", "title": "hijacked"})
                sweep.check(
                    "admin-object-post",
                    f"admin:{name}",
                    "admin:B",
                    response,
                    expect=ADMIN_HIDDEN,
                    obj=obj,
                    before=before,
                )
        for action in model_admin.get_actions(request):
            before = raw(obj)
            response = client.post(
                admin_base(model), {"action": action, "_selected_action": [str(obj.pk)], "index": "0", "post": "yes"}
            )
            sweep.check("admin-action", f"{admin_base(model)}#{action}", "admin:B", response, obj=obj, before=before)


def admin_owner_controls(sweep, client):
    """A's company admin sees A's objects in its changelists, by admin search, and opens them."""
    o = sweep.owner
    for model, model_admin in admin.site._registry.items():
        base, pk = admin_base(model), str(o.get(model).pk)
        page = client.get(base)
        if page.status_code == 403:
            continue  # not for company admins (refresh tokens): the superadmin control covers it
        sweep.control(pk in body_of(page), f"owner admin changelist {base} lacks A's object")
        if model_admin.get_search_fields(page.wsgi_request):
            found = body_of(client.get(base + f"?q={o.term(model)}"))
            sweep.control(pk in found, f"owner admin search {base} does not find {o.term(model)}")
        change = client.get(f"{base}{pk}/change/")
        sweep.control(change.status_code == 200, f"owner admin change view {base}: {change.status_code}")


# --- the test ----------------------------------------------------------------------------------------------


@pytest.fixture
def enqueued(monkeypatch):
    """Every Celery task sent, recorded instead (the sweep asserts B sends none)."""
    calls = []

    def send(task, *args, **kwargs):
        calls.append(task.name)
        return SimpleNamespace(id="sweep-not-sent")

    monkeypatch.setattr(Task, "apply_async", send)
    return calls


def test_company_b_gets_nothing_of_company_a_anywhere(world, fake_apis, enqueued, capsys, tmp_path):
    routes = api_routes()
    routed = {route.view for route in routes}
    unrouted = [prefix for prefix, viewset, _ in api_urls.router.registry if viewset not in routed]
    assert not unrouted, f"router registry entries the resolver walk missed: {unrouted}"

    owner = Owner(world, fake_url=fake_apis.url)
    models = {route.model for route in routes if route.actions is not None} | set(admin.site._registry)
    plain = [r for r in routes if r.actions is None and r.model is not None]
    models |= {r.model for r in plain if issubclass(r.view, TenantViewSetMixin)}
    missing = owner.build_all(sorted(models, key=lambda m: m._meta.label))
    assert not missing, f"routed or admin-registered models without an isolation-sweep factory: {missing}"

    sweep = Sweep(owner)
    sweep.needles = {owner.text(model) for model in owner.markers} | {str(obj.pk) for obj in owner.objects.values()}
    sweep.needles |= {str(user.pk) for (c, _), user in world.users.items() if c == "a"} | {str(owner.company.pk)}
    a_values = {
        name: value
        for obj in owner.objects.values()
        for name, value in vars(obj).items()
        if name.endswith("_id") and isinstance(value, str) and "sweep-" in value
    }  # source_id=, contact_id=...

    # Company A's own admin finds everything the probes look for (else the sweep proves nothing).
    owner_api = APIClient()
    owner_api.force_authenticate(owner.admin)
    owner_views = owner_controls(sweep, routes, owner_api)
    list_actions_seen = seen_by_owner_in_list_actions(routes, owner_api, owner)
    owner_admin = Client()
    owner_admin.force_login(owner.admin)
    admin_owner_controls(sweep, owner_admin)
    assert not sweep.controls, "positive controls failed:\n" + "\n".join(sweep.controls)
    assert {
        "scraping-result-search?q=&search=",
        "scraping-result-export?as=csv",
        "scraping-result-export?as=jsonl",
    } <= list_actions_seen, list_actions_seen

    # A superadmin may see everything: the same kind of probe finds A's objects.
    superadmin = APIClient()
    superadmin.force_authenticate(world.user("b", "superadmin"))
    ticket = owner.get(Ticket)
    tickets = body_of(superadmin.get(reverse("content-ticket-list"), HTTP_X_COMPANY_ID=str(owner.company.pk)))
    assert str(ticket.pk) in tickets and owner.text(Ticket) in tickets
    super_staff = Client()
    super_staff.force_login(world.user("b", "superadmin"))
    assert owner.text(Ticket) in body_of(super_staff.get(admin_base(Ticket) + f"?q={owner.term(Ticket)}"))
    assert super_staff.get(f"{admin_base(Ticket)}{ticket.pk}/change/").status_code == 200

    before, enqueued[:] = company_documents(owner.company), []

    # Company B: its company admin signed in, and an API key of B.
    b_admin = world.user("b", "company_admin")
    probe = ApiProbe(sweep, routes, owner_views, a_values)
    as_user = APIClient()
    as_user.force_authenticate(b_admin)
    probe.run(as_user, "user:B-company_admin")
    _, raw_key = services.create_api_key(
        user=b_admin, company=world.b, name="sweep", permissions=[ApiKey.READ, ApiKey.WRITE]
    )
    as_key = APIClient()
    as_key.credentials(HTTP_X_API_KEY=raw_key)
    probe.run(as_key, "apikey:B")
    pages, objects = Client(), Client()  # objects' "doesn't exist" messages (naming A's ids) stay apart
    pages.force_login(b_admin)
    objects.force_login(b_admin)
    admin_sweep(sweep, pages, objects, b_admin)

    after = company_documents(owner.company)
    changed = sorted(table for table in set(before) | set(after) if before.get(table) != after.get(table))
    sweep.checks["company-A-unchanged"] += 1
    sweep.checks["no-task-queued"] += 1
    if changed:
        sweep.leaks.append(f"company A's documents changed while B probed: {changed}")
    if enqueued:
        sweep.leaks.append(f"tasks queued while B probed: {enqueued}")

    total = sum(sweep.checks.values())
    api = {r.name for r in routes} & sweep.endpoints
    line = (
        f"isolation sweep: {len(sweep.endpoints)} endpoints x {len(sweep.checks)} operations = {total} checks, "
        f"{len(sweep.leaks)} leaks, {len(sweep.unexpected)} unexpected answers"
    )
    detail = (
        f"{len(api)} API routes ({len(sweep.public)} public sign-in routes not probed: "
        f"{', '.join(sorted(sweep.public))}), {len(sweep.endpoints - api)} admin views of "
        f"{len(admin.site._registry)} models; 2 API principals (B company_admin, B API key), "
        f"{len(sweep.owner.objects)} company-A objects; checks: "
        + ", ".join(f"{op} {n}" for op, n in sorted(sweep.checks.items()))
    )
    (tmp_path / "isolation_sweep.txt").write_text(
        f"{line}\n{detail}\n"
        + "".join(f"LEAK {x}\n" for x in sweep.leaks)
        + "".join(f"UNEXPECTED {x}\n" for x in sweep.unexpected)
    )
    with capsys.disabled():  # shown without -s
        print(f"\n{line}\n  ({detail})\n  written to {tmp_path / 'isolation_sweep.txt'}")

    unprobed = {r.name for r in routes} - sweep.endpoints
    unprobed |= {admin_base(model) for model in admin.site._registry} - sweep.endpoints
    assert not unprobed, f"endpoints left unprobed: {sorted(unprobed)}"
    core = {
        "list",
        "detail",
        "put",
        "patch",
        "delete",
        "action",
        "search",
        "export",
        "filter",
        "filter-oracle",
        "admin-changelist",
        "admin-search",
        "admin-object-view",
        "admin-object-post",
        "admin-action",
    }
    assert core <= {op for op, n in sweep.checks.items() if n}, sweep.checks
    assert not sweep.leaks, f"{len(sweep.leaks)} leaks:\n" + "\n".join(sweep.leaks)
    assert not sweep.unexpected, "unexpected answers:\n" + "\n".join(sweep.unexpected)

"""The product's URLs plus the baselines of bench.lists_bench: one bare DRF APIView per list
(results, tickets, audit log) that reads the same 20 rows of the request's company with raw
pymongo and returns them as plain dicts.

Each view pays what any DRF endpoint of the product pays (the default authentication: the
X-API-Key header; the default permission, which resolves the tenant and checks the role;
the throttles; the renderer) and no more: its query is a find on
`{company_id: X, <date>: {$gte: lo, $lt: hi}}` sorted by the date, newest first, limit 20,
where [lo, hi) is the window the bench put in WINDOWS (it knows the seeded dates: about 40
rows of the company). `?page=2` skips the first 20 of the window. A condition beyond the
company and the date (tickets: not deleted) is checked here on the window's rows, which
come in one batch: on SecantusDB such a filter is planned as a collection scan.

`bench/lists/unbudgeted/results/` is the product's results list itself, read without the
pages' time budget (LIST_READ_SECONDS None): what a filter no index serves cost before it."""

import itertools
from datetime import datetime

from bson import ObjectId
from django.db import connection
from django.test import override_settings
from django.urls import path
from rest_framework.response import Response
from rest_framework.views import APIView

from requestdesk.urls import handler404
from requestdesk.urls import urlpatterns as product_urlpatterns
from scraping.api.views import ResultViewSet
from tenants.roles import Role
from tenants.scoping import resolve_tenant

__all__ = ["handler404", "urlpatterns", "WINDOWS", "SOURCES"]

PAGE = 20
# kind -> (collection, date field, projection, extra filter): what the product's list reads.
SOURCES = {
    "results": ("results", "published_at", {"terms": 0, "search": 0}, {}),  # the API defers both
    "tickets": ("tickets", "created_at", None, {"is_deleted": False}),  # the API lists live tickets
    "audit": ("audit_logs", "created_at", None, {}),
}
# kind -> {company ObjectId: (lo, hi)}, set by bench.lists_bench after each seeding.
WINDOWS: dict[str, dict] = {kind: {} for kind in SOURCES}


def plain(value):
    """The trivial conversion of a raw document to JSON-ready values."""
    if isinstance(value, dict):
        return {("id" if key == "_id" else key): plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    if isinstance(value, ObjectId):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


class BareList(APIView):
    """DRF's defaults (authentication, RolePermission, throttles); one raw find."""

    kind = ""
    read_role = Role.CLIENT

    def get(self, request):
        company_id = resolve_tenant(request).company.pk  # resolved by the permission check already
        table, field, projection, extra = SOURCES[self.kind]
        lo, hi = WINDOWS[self.kind][company_id]
        page = max(1, int(request.query_params.get("page", 1)))
        query = {"company_id": company_id, field: {"$gte": lo, "$lt": hi}}
        if not extra:
            cursor = connection.database[table].find(query, projection).sort(field, -1).skip((page - 1) * PAGE)
            return Response({"results": [plain(doc) for doc in cursor.limit(PAGE)]})
        # The window's rows in one batch, filtered here: SecantusDB plans a filter with a field
        # beyond its index (is_deleted) as a collection scan.
        rows = (
            doc
            for doc in connection.database[table].find(query, projection).sort(field, -1)
            if all(doc.get(key) == value for key, value in extra.items())
        )
        return Response({"results": [plain(doc) for doc in itertools.islice(rows, (page - 1) * PAGE, page * PAGE)]})


def unbudgeted(view):
    def read_whole(request, *args, **kwargs):
        with override_settings(LIST_READ_SECONDS=None):
            return view(request, *args, **kwargs)

    return read_whole


urlpatterns = [
    *product_urlpatterns,
    path("bench/lists/unbudgeted/results/", unbudgeted(ResultViewSet.as_view({"get": "list"}))),
    path("bench/lists/results/", BareList.as_view(kind="results")),
    path("bench/lists/tickets/", BareList.as_view(kind="tickets")),
    path("bench/lists/audit/", BareList.as_view(kind="audit", read_role=Role.COMPANY_ADMIN)),  # as the API
]

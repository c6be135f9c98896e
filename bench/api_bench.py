"""API benchmark: latency of an API list endpoint against a bare Django view, both requested
through Django's test client in the same process (the same handler and middleware, no
socket), timed in turn.

    .venv/bin/python -m bench.api_bench --tickets 200 --requests 300

Starts its own SecantusDB and Redis, migrates a fresh database, creates a company, its
company admin, an API key and --tickets tickets, then times --requests GETs of
/api/v1/content/tickets/?page_size=20 with X-API-Key (authentication, role and tenant
checks, throttle, filters, a bounded count and a page of 20 from MongoDB, serialization) against GETs of
a view returning HttpResponse("ok") (bench/urls.py). Real HTTP under concurrency is another
matter: bench/http_load.py.
"""

from __future__ import annotations

import sys

from bench import harness
from bench.table import Row

LIST_URL = "/api/v1/content/tickets/?page_size=20"
BARE_URL = "/bench/bare/"


def add_arguments(parser):
    parser.add_argument("--tickets", type=int, default=200, help="tickets in the listed company (default 200)")
    parser.add_argument("--requests", type=int, default=300, help="requests timed per endpoint (default 300)")


def rows(args, log=harness.log) -> list[Row]:
    from django.test import Client, override_settings

    from content.models import Ticket
    from tenants import services
    from tenants.models import Company, User
    from tenants.roles import Role

    company = Company.objects.create(name="bench-api")
    admin = User.objects.create(username="bench-api-admin", role=Role.COMPANY_ADMIN, company=company)
    _, key = services.create_api_key(user=admin, company=company, name="bench")
    Ticket.objects.bulk_create(
        [
            Ticket(company=company, title=f"Ticket {n}", description="Bench ticket " * 20, created_by=admin)
            for n in range(args.tickets)
        ]
    )
    client = Client(headers={"X-API-Key": key})

    def get(url, check):
        response = client.get(url)
        if response.status_code != 200 or not check(response):
            raise RuntimeError(f"GET {url}: {response.status_code} {response.content[:300]!r}")

    def page_ok(page):
        # The count is exact, or where the server counts by reading (the embedded one) a lower
        # bound: the rows up to the page and one more (requestdesk.db.pages).
        counted = (
            page["count"] == args.tickets
            if page["count_exact"]
            else len(page["results"]) < page["count"] <= args.tickets
        )
        return counted and len(page["results"]) == min(20, args.tickets)

    def api(_):
        get(LIST_URL, lambda r: page_ok(r.json()))

    def bare(_):
        get(BARE_URL, lambda r: r.content == b"ok")

    with override_settings(ROOT_URLCONF="bench.urls"):
        for _ in range(5):  # warm: imports, url resolvers, connections
            api(None), bare(None)
        product, baseline = harness.interleaved(api, bare, range(args.requests))
    log(
        f"api        {args.requests} GETs each, Django test client: {LIST_URL} {harness.p50_p95(product)}; "
        f"bare view {harness.p50_p95(baseline)}"
    )
    return [
        Row(
            "api GET tickets list p50 (API key, page of 20)",
            harness.ms_p50(product),
            "ms",
            "bare Django view (HttpResponse)",
            harness.ms_p50(baseline),
        )
    ]


if __name__ == "__main__":
    harness.main(sys.modules[__name__], storage=":memory:")

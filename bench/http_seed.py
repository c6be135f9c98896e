"""The data bench.http_load (and bench.search_cost) runs on: `seed` migrates and runs seed_demo
(--rows results over two projects per company), adds --rows/10 tickets (their created_at spread
over the last days: `spread_created_at`) and 60 knowledge
collections to Acme and an API key of its company admin, and tops each company's results up
to --results with raw clones (`top_up_results`); the ticket-create row's tickets are counted
and removed with `load_tickets` and `remove_load_tickets`."""

from __future__ import annotations

import io
import time


def seed(rows: int, results_per_company: int = 0) -> dict:
    """Migrate and seed (then top the results up to results_per_company per company); returns
    the API key and the ids the endpoints use."""
    import django

    django.setup()
    from django.core.management import call_command

    from content.models import Ticket
    from knowledge.models import KnowledgeCollection
    from scraping.models import Result
    from tenants import services
    from tenants.models import Company, User

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    call_command("seed_demo", users=0, projects=2, results=max(1, rows // 2), stdout=io.StringIO())
    company = Company.objects.get(name="Acme Corp")
    admin = User.objects.get(username="acme-company_admin")
    tickets = Ticket.objects.bulk_create(
        [
            Ticket(company=company, title=f"Seeded ticket {n}", description="bench.http_load", created_by=admin)
            for n in range(max(1, rows // 10))
        ]
    )
    spread_created_at(Ticket, [ticket.pk for ticket in tickets])
    KnowledgeCollection.objects.bulk_create(
        [
            KnowledgeCollection(company=company, user=admin, name=f"Collection {n:02d}", description="bench.http_load")
            for n in range(60)
        ]
    )
    _, key = services.create_api_key(user=admin, company=company, name="http-load")
    results, total = Result.objects.for_company(company).count(), Result.objects.count()
    if results_per_company:  # counted here, not after: counting 100k results takes the server seconds
        added = top_up_results(results_per_company)
        results, total = results + added.get(company.pk, 0), total + sum(added.values())
    # What beat's upkeep has done by the time anyone searches: the batches folded, segments merged.
    from scraping.services import search_index

    kept = search_index.keep()
    ids = [
        str(pk)
        for pk in Result.objects.for_company(company).order_by("-published_at").values_list("pk", flat=True)[:50]
    ]
    print(
        f"seeded     {results} results for Acme ({total} in all), "
        f"{Ticket.objects.for_company(company).count()} tickets, 60 collections "
        f"({time.perf_counter() - started:.1f}s with migrate; search index upkeep {kept})",
        flush=True,
    )
    return {"key": key, "result_ids": ids}


def spread_created_at(model, pks: list) -> None:
    """The rows' created_at spread over the last days (seeding.spread_times), as people write
    them, instead of bulk_create's one instant: the embedded server's list pages read dates
    to the millisecond, and ~50 tickets written in the same millisecond are read whole by every
    page whose window holds it (server 8 ms a tickets page against 4 ms, and the tickets list
    at 87-92 req/s against 129-142 under http_load, by how many fell in the newest one)."""
    import random

    from django.db import connection
    from pymongo import UpdateOne

    from bench import seeding

    times = seeding.spread_times(random.Random(7), len(pks), set(), end_ms=seeding.now_ms() - 60_000)
    connection.database[model._meta.db_table].bulk_write(
        [UpdateOne({"_id": pk}, {"$set": {"created_at": seeding.at_ms(ms)}}) for pk, ms in zip(pks, times, strict=True)]
    )


def top_up_results(per_company: int) -> dict:
    """Each company's results up to `per_company`: its seeded results (raw, as the ORM wrote
    them) cloned in turn with bench.seeding.clone_raw, indexed as ingest indexes them;
    returns {company id: clones added}."""
    import random

    from django.db import connection

    from bench import seeding
    from scraping.models import Result
    from tenants.models import Company

    collection = connection.database[Result._meta.db_table]
    rnd, end, added = random.Random(11), seeding.now_ms() - 60_000, {}
    started = time.perf_counter()
    for company in Company.objects.all():
        templates = list(collection.find({"company_id": company.pk}).limit(5000))
        missing = per_company - Result.objects.for_company(company).count()
        if not templates or missing <= 0:
            continue
        fields = tuple(f for f in ("published_at", "created_at", "updated_at") if f in templates[0])
        times = seeding.spread_times(rnd, missing, set(), end_ms=end)
        added[company.pk] = seeding.clone_raw(
            collection, templates, times, date_fields=fields, vary=seeding.vary_result, after=seeding.as_ingested
        )
    print(
        f"cloned     {sum(added.values())} results raw (up to {per_company} per company) in "
        f"{time.perf_counter() - started:.1f}s",
        flush=True,
    )
    return added


def load_tickets() -> tuple[int, int]:
    """(tickets the create row stored, distinct titles among them)."""
    from content.models import Ticket

    titles = list(Ticket.all_objects.filter(title__startswith="Load ticket c").values_list("title", flat=True))
    return len(titles), len(set(titles))


def remove_load_tickets() -> int:
    from content.models import Ticket

    return Ticket.all_objects.filter(title__startswith="Load ticket").delete()[0]

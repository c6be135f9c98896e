"""The lists benchmark's tenants and rows (bench/lists_bench.py): a company with its admin, API
key, project and targets, one result, ticket and audit entry written through the ORM and
read back raw as templates, then topped up to N rows of each by raw clones."""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bench.seeding import as_ingested, at_ms, clone_raw, raw_of, spread_times, vary_result

WINDOW = 40  # the bare views read the newest WINDOW seeded rows' range


@dataclass
class Tenant:
    company: object
    admin: object
    key: str
    templates: dict  # kind -> raw document (results: a list, one per target)
    times: dict  # kind -> set of epoch ms seeded


def make_tenant(name: str, n: int) -> Tenant:
    """A company, its company admin and API key, a project with targets, and one result,
    ticket and audit entry written through the ORM: read back raw, then removed (their
    clones are the rows)."""
    from django.db import connection

    from content.models import Ticket
    from events.services import audit
    from scraping.models import Analysis, Project, Result, ResultContent, SearchTerms, Sentiment, Target
    from tenants import services
    from tenants.models import Company, User
    from tenants.roles import Role

    company = Company.objects.create(name=name)
    admin = User.objects.create(
        username=f"bench-lists-admin-{n}",
        email=f"bench-lists-admin-{n}@example.com",
        role=Role.COMPANY_ADMIN,
        company=company,
    )
    _, key = services.create_api_key(user=admin, company=company, name="bench-lists")
    project = Project.objects.create(company=company, name="bench lists", created_by=admin)
    targets = [
        Target.objects.create(
            company=company, project=project, url=f"https://bench.example/{n}/feed/{t}", platform=Target.FEED
        )
        for t in range(4)
    ]
    text = (
        "The lantern arrived quickly and the battery lasts all night. Great value and excellent quality, "
        "though the handle feels a little cheap."
    )
    words = sorted(set(text.lower().replace(",", "").replace(".", "").split()))
    published = datetime.now(UTC)
    results = [
        Result.objects.create(
            company=company,
            project=project,
            target=target,
            platform=Target.FEED,
            item_key=f"https://bench.example/{n}/item",
            content=ResultContent(
                title="Bright lantern, long battery",
                text=text,
                author="A. Reviewer",
                date=published,
                url=f"https://bench.example/{n}/item",
            ),
            analysis=Analysis(
                sentiment=Sentiment(label="positive", compound=0.87, positive=0.31, neutral=0.62, negative=0.07)
            ),
            published_at=published,
            content_hash=secrets.token_hex(32),
            terms=[f"15:{w}" for w in ("bright", "lantern", "long", "battery")] + [f"5:{w}" for w in words],
            search=SearchTerms(title=["bright", "lantern", "long", "battery"], text=words),
        )
        for target in targets
    ]
    ticket = Ticket.objects.create(
        company=company,
        title="Write the lantern launch post",
        description="A 600-word post on the new lantern: battery life, weight, price. Link the review roundup.",
        priority="high",
        created_by=admin,
        tags=["launch", "lantern"],
    )
    entry = audit.record(
        company=company,
        actor=admin,
        source="api",
        event_type="content.ticket.updated",
        obj=ticket,
        changes={"status": {"old": "open", "new": "in_progress"}},
        metadata={"auth": "api_key", "ip": "127.0.0.1", "api_key_prefix": key.split("_")[1]},
    )
    templates = {"results": [raw_of(r) for r in results], "tickets": [raw_of(ticket)], "audit": [raw_of(entry)]}
    for _kind, objects in (("results", results), ("tickets", [ticket]), ("audit", [entry])):
        connection.database[objects[0]._meta.db_table].delete_many({"_id": {"$in": [o.pk for o in objects]}})
    return Tenant(company, admin, key, templates, {kind: set() for kind in templates})


def top_up(tenant: Tenant, size: int, rnd: random.Random, end: int) -> int:
    """Clone each kind of row of the tenant up to `size`; returns the documents inserted."""
    from django.db import connection

    from bench.lists_urls import SOURCES, WINDOWS

    inserted = 0
    for kind, (table, _field, _, _) in SOURCES.items():
        taken = tenant.times[kind]
        times = spread_times(rnd, max(0, size - len(taken)), taken, end_ms=end)
        template = tenant.templates[kind][0]
        fields = tuple(f for f in ("published_at", "created_at", "updated_at") if f in template)
        results = kind == "results"
        inserted += clone_raw(
            connection.database[table],
            tenant.templates[kind],
            times,
            date_fields=fields,
            vary=vary_result if results else None,
            after=as_ingested if results else None,
        )
        newest = sorted(taken, reverse=True)[:WINDOW]
        # [lo, hi): the 40 newest seeded rows (and anything written since, up to a day ahead).
        WINDOWS[kind][tenant.company.pk] = (at_ms(newest[-1]), at_ms(end) + timedelta(days=1))
    return inserted

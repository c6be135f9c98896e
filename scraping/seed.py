"""Demo data of the scraping app, for `manage.py seed_demo --projects N --results N`: per
company, N projects with two targets each and N results per project, spread over the last
eight weeks, stored by the ingest service (so they have sentiment and search terms) under
one completed scrape job per project (trigger "system"), whose counters say what it stored.

Idempotent: projects are found by name, targets by URL, the job by its project and
trigger, and results are deduplicated by their content hash, so running it again adds
nothing. Demo targets point at `.example` hosts, which never resolve: they are created paused and are never fetched.
"""

from __future__ import annotations

import random
from datetime import timedelta

from django.utils import timezone

from .models import Project, ScrapeJob, Target
from .services import ingest, jobs, projects
from .services.extraction import Item

PRODUCTS = ["kettle", "lantern", "headphones", "backpack", "coffee grinder", "desk lamp", "blender", "umbrella"]
OPINIONS = {
    "positive": [
        "I love this {p}, it works beautifully.",
        "Great {p}: excellent quality and fast delivery.",
        "Fantastic {p}, my family is delighted with it.",
        "The best {p} I have owned. Highly recommended!",
    ],
    "negative": [
        "Terrible {p}, it broke after two days.",
        "I hate this {p}; the support was useless.",
        "Awful {p}. Cheap plastic and a horrible smell.",
        "The worst {p} ever, a complete waste of money.",
    ],
    "neutral": [
        "The {p} arrived on Tuesday in a brown box.",
        "This {p} comes in three colours.",
        "The {p} weighs about two kilograms.",
        "I bought the {p} for the kitchen.",
    ],
}
AUTHORS = ["Alice", "Bob", "Carol", "Dan", "Erin", "Frank", "Grace", "Heidi"]


def demo_items(*, count: int, seed: str, now) -> list[Item]:
    """`count` deterministic reviews (the same `seed` gives the same items)."""
    rnd = random.Random(seed)
    items = []
    for n in range(count):
        product = rnd.choice(PRODUCTS)
        label = rnd.choices(list(OPINIONS), weights=[5, 3, 2])[0]
        text = rnd.choice(OPINIONS[label]).format(p=product)
        items.append(
            Item(
                title=f"Review #{n + 1}: {product}",
                text=text,
                author=rnd.choice(AUTHORS),
                date=now - timedelta(days=rnd.randrange(56), hours=rnd.randrange(24)),
                rating=float({"positive": 5, "negative": 1, "neutral": 3}[label]),
            )
        )
    return items


def _seed_job(project, *, targets: int) -> ScrapeJob:
    """The project's seeding job: the one from an earlier run (finished), else a new one,
    running, that the results are stored under and that is finished once they are."""
    job = ScrapeJob.objects.for_company(project.company_id).filter(project=project, trigger="system").first()
    if job is None:
        job = jobs.create_job(project=project, trigger="system")
        job.status, job.started_at, job.targets_total = ScrapeJob.RUNNING, timezone.now(), targets
        job.save(update_fields=["status", "started_at", "targets_total", "updated_at"])
    return job


def seed(*, companies, projects_per_company: int, results_per_project: int, progress) -> list[dict]:
    """Create the demo projects of each company; returns one summary row per project."""
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    summary = []
    for company in companies:
        slug = company.name.split()[0].lower()
        for number in range(1, projects_per_company + 1):
            name = f"Demo reviews {number}"
            project = Project.objects.filter(company=company, name=name).first() or projects.create_project(
                company=company, name=name, description="Demo data created by seed_demo."
            )
            targets = [
                Target.objects.get_or_create(
                    company=company,
                    project=project,
                    url=f"https://{kind}.{slug}.example/{number}",
                    defaults={"platform": platform, "status": Target.PAUSED},
                )[0]
                for kind, platform in (("reviews", Target.REVIEWS), ("news", Target.FEED))
            ]
            items = demo_items(count=results_per_project, seed=f"{company.name}/{name}", now=now)
            job = _seed_job(project, targets=len(targets))
            created = 0
            for index, target in enumerate(targets):
                share = items[index :: len(targets)]
                stats = ingest.ingest(target=target, items=share, platform=target.platform, job=job)
                created += stats.created
                if job.status == ScrapeJob.RUNNING:
                    job.targets_done += 1
                    job.items_found += stats.found
                    job.results_created += stats.created
                    job.duplicates += stats.duplicates
                progress(f"results of {company.name} / {name}", min(len(items), (index + 1) * len(share)), len(items))
            if job.status == ScrapeJob.RUNNING:
                job.save(update_fields=[*ScrapeJob.COUNTERS, "updated_at"])
                jobs.finish(job)
            summary.append({"company": company.name, "project": name, "created": created})
    return summary

"""Demo data of the content app, for `manage.py seed_demo`: per company, an article
pipeline (a template, its three components and the pipeline), a brief pipeline (the
template step alone: it runs without an LLM), three batches of contexts, a campaign and
a few tickets in every status, assigned to the company's writers.

The batches are created by the batch service and run by the content runner, as a worker
would: "Spring briefs" on the brief pipeline completes; "Spring articles" on the
article pipeline fails without an LLM provider (its contexts say why; with one it is
really generated); "Summer articles" is left pending (not queued: a worker's
process_pending beat task takes it up).

Idempotent: everything is found by name or title first, so running it again adds nothing.
The ai_generator component names no provider: contexts use the company's first active LLM
provider (add one under knowledge/providers to run them).
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from tenants.models import User
from tenants.roles import Role

from .models import Batch, Campaign, Component, Pipeline, PipelineStep, Template, Ticket, TicketStatus
from .services import batches, runner

SECTIONS = [
    {
        "id": "introduction",
        "type": "text",
        "name": "Introduction",
        "instructions": "Provide a technical introduction to {title}",
        "word_range": [150, 300],
    },
    {
        "id": "main_content",
        "type": "sections",
        "name": "Main Content",
        "min_sections": 2,
        "max_sections": 5,
        "section_template": {
            "type": "text",
            "name": "Aspect",
            "instructions": "Expand on a specific aspect of the topic",
            "word_range": [300, 600],
        },
    },
    {
        "id": "conclusion",
        "type": "text",
        "name": "Conclusion",
        "instructions": "Summarize key points and provide next steps",
        "word_range": [150, 300],
    },
]
TICKETS = [
    ("Write the spring launch post", TicketStatus.OPEN, "high"),
    ("Product page copy for the kettle", TicketStatus.IN_PROGRESS, "medium"),
    ("Newsletter: March edition", TicketStatus.REVIEW, "urgent"),
    ("FAQ refresh", TicketStatus.COMPLETED, "low"),
    ("Old press release", TicketStatus.CLOSED, "low"),
]


# (batch name, pipeline key, context titles, run now?)
BATCHES = [
    ("Spring briefs", "brief", ["Choosing a kettle", "Camping lights compared", "Caring for headphones"], True),
    ("Spring articles", "article", ["Ten uses for a lantern", "The quiet kitchen"], True),
    ("Summer articles", "article", ["Summer travel checklist", "Desk setups that work"], False),
]


def _pipelines(company) -> dict[str, Pipeline]:
    """The article pipeline, and the brief pipeline: its template step alone, which lays out
    the sections to write with their instructions (no LLM needed)."""
    article = _article_pipeline(company)
    template_step = article.steps()[0]
    brief, _ = Pipeline.objects.get_or_create(
        company=company,
        name="Article Brief Pipeline",
        defaults={
            "description": "The sections of a technical article and what each should say, for a writer",
            "default_context_type": "brief",
            "components": [
                PipelineStep(
                    component_id=template_step.component_id,
                    name=template_step.name,
                    order=1,
                    config_overrides=template_step.config_overrides,
                )
            ],
        },
    )
    return {"article": article, "brief": brief}


def _batches(company, pipelines: dict[str, Pipeline], user) -> None:
    for name, key, titles, run in BATCHES:
        if Batch.objects.for_company(company).filter(name=name).exists():
            continue
        batch = batches.create_batch(
            pipeline=pipelines[key],
            name=name,
            user=user,
            queue=False,
            description="Demo batch created by seed_demo.",
            items=[{"data": {"title": title}} for title in titles],
        )
        if run:
            for context_id in batch.context_ids:
                runner.process_context(context_id=context_id, worker="seed_demo")


def _article_pipeline(company) -> Pipeline:
    template, _ = Template.objects.get_or_create(
        company=company,
        name="Technical Article Template",
        defaults={
            "description": "Template for technical articles with structured sections.",
            "structure": {"sections": SECTIONS},
            "metadata": {"tags": ["technical", "article", "documentation"], "category": "educational"},
        },
    )
    specs = [
        ("Article Template", "template", {}, {"template_id": str(template.pk)}),
        (
            "Article Generator",
            "ai_generator",
            {"model": "gpt-4o-mini", "temperature": 0.7, "max_tokens": 2000},
            {"temperature": 0.65},
        ),
        ("Markdown Transformer", "transformer", {"format": "markdown"}, {"add_table_of_contents": True}),
    ]
    steps = []
    for order, (name, kind, config, overrides) in enumerate(specs, start=1):
        component, _ = Component.objects.get_or_create(
            company=company, name=name, defaults={"type": kind, "config": config}
        )
        steps.append(PipelineStep(component_id=component.pk, name=name, order=order, config_overrides=overrides))
    pipeline, _ = Pipeline.objects.get_or_create(
        company=company,
        name="Article Generation Pipeline",
        defaults={"description": "Pipeline for generating technical articles", "components": steps},
    )
    return pipeline


def seed(*, companies, progress) -> None:
    companies = list(companies)
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    for done, company in enumerate(companies, start=1):
        pipelines = _pipelines(company)
        Campaign.objects.get_or_create(
            company=company,
            name="Spring launch",
            defaults={
                "description": "Demo campaign created by seed_demo.",
                "status": "active",
                "start_date": now,
                "end_date": now + timedelta(days=60),
                "settings": {"channels": ["blog", "newsletter"]},
            },
        )
        writers = list(User.objects.for_company(company).filter(role=Role.CONTENT_WRITER).order_by("username")[:3])
        client = User.objects.for_company(company).filter(role=Role.CLIENT).order_by("username").first()
        for n, (title, status, priority) in enumerate(TICKETS):
            if not Ticket.all_objects.filter(company=company, title=title).exists():
                Ticket.objects.create(
                    company=company,
                    title=title,
                    status=status,
                    priority=priority,
                    created_by=client,
                    assigned_to=writers[n % len(writers)] if writers else None,
                    due_date=now + timedelta(days=7 * (n + 1)),
                    tags=["demo"],
                )
        _batches(company, pipelines, writers[0] if writers else None)
        progress("content", done, len(companies))

"""Shared pieces of the content tests: settings, the queue recorder, the local LLM server and
factories for providers, templates, components and pipelines.

Test modules import what they use by name (`from tests.support.content import ...`);
`content_settings` and `queued` are autouse there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.utils import timezone

from content import tasks as content_tasks
from content.models import Batch, Component, Context, Pipeline, PipelineStep, Template
from content.services import batches, runner
from events import tasks as tenant_tasks
from events.models import WebhookDelivery
from events.services import webhooks
from knowledge.models import Agent, LLMProvider
from knowledge.services import crypto
from tests.fakes.openai import API_KEY, FakeOpenAI, section_answer

TEST_KEY = "Mi94bn1PebHo1MPpIwXi_-BxXOWHcrveYCkpAVrXyWA="  # a Fernet key for the tests only

SECTIONS = [
    {
        "id": "introduction",
        "type": "text",
        "name": "Introduction",
        "instructions": "Introduce {title} for {target_audience}",
        "word_range": [50, 100],
    },
    {
        "id": "main_content",
        "type": "sections",
        "name": "Main Content",
        "min_sections": 2,
        "max_sections": 3,
        "section_template": {
            "type": "text",
            "name": "Part",
            "instructions": "Expand on one aspect",
            "word_range": [100, 200],
        },
    },
    {"id": "conclusion", "type": "text", "name": "Conclusion", "instructions": "Summarize", "word_range": [50, 100]},
]
SECTION_IDS = ["introduction", "main_content_1", "main_content_2", "conclusion"]


@pytest.fixture(autouse=True)
def content_settings(settings):
    settings.FIELD_ENCRYPTION_KEY = TEST_KEY
    settings.KNOWLEDGE_LLM_MAX_RETRIES = 0
    settings.KNOWLEDGE_LLM_TIMEOUT_SECONDS = 5
    settings.CONTENT_RETRY_BASE_SECONDS = 0
    settings.CONTENT_MAX_RETRIES = 3
    settings.CONTENT_LEASE_SECONDS = 300
    return settings


@pytest.fixture(autouse=True)
def queued(request, monkeypatch):
    """Tasks the services queue, recorded instead of sent (a `slow` test uses the broker):
    [(context_id, countdown)]."""
    calls = []
    if request.node.get_closest_marker("slow") is None:
        monkeypatch.setattr(
            content_tasks.process_context,
            "apply_async",
            lambda args, countdown=None: calls.append((args[0], countdown)),
        )
        monkeypatch.setattr(tenant_tasks.deliver_webhook, "delay", lambda delivery_id: None)
    return calls


@pytest.fixture
def llm():
    """The fake OpenAI API answering each section with "<Section> text for <title>."."""
    with FakeOpenAI(reply=section_answer, prompt_tokens=30) as server:
        yield server


def make_provider(company, llm: FakeOpenAI, *, api_key: str = API_KEY, **fields) -> LLMProvider:
    provider = LLMProvider(
        company=company,
        name=fields.pop("name", "local llm"),
        provider="custom",
        base_url=llm.base_url,
        models=["gpt-test"],
        **fields,
    )
    crypto.set_secret(provider, "api_key", api_key)
    provider.save()
    return provider


def make_agent(company, provider, **fields) -> Agent:
    return Agent.objects.create(
        company=company,
        name=fields.pop("name", "writer"),
        model="gpt-agent",
        provider=provider,
        system_prompt="You write for Acme.",
        **fields,
    )


def make_template(company, sections=None, **fields) -> Template:
    return Template.objects.create(
        company=company, name=fields.pop("name", "Article"), structure={"sections": sections or SECTIONS}, **fields
    )


def make_component(company, type: str, config: dict | None = None, **fields) -> Component:
    return Component.objects.create(
        company=company, name=fields.pop("name", f"{type} component"), type=type, config=config or {}, **fields
    )


def make_pipeline(company, steps: list[tuple[Component, dict]], **fields) -> Pipeline:
    components = [
        PipelineStep(component_id=c.pk, name=c.name, order=n, config_overrides=overrides)
        for n, (c, overrides) in enumerate(steps, start=1)
    ]
    return Pipeline.objects.create(
        company=company, name=fields.pop("name", "Articles"), components=components, **fields
    )


@dataclass
class Setup:
    provider: LLMProvider | None
    template: Template
    components: dict
    pipeline: Pipeline


def article_setup(company, llm: FakeOpenAI | None = None, *, fmt: str = "markdown", toc: bool = True) -> Setup:
    """The article pipeline: template -> ai_generator -> transformer."""
    provider = make_provider(company, llm) if llm else None
    template = make_template(company)
    components = {
        "template": make_component(company, "template"),
        "ai_generator": make_component(
            company,
            "ai_generator",
            {
                "model": "gpt-test",
                "temperature": 0.7,
                "max_tokens": 500,
                **({"provider_id": str(provider.pk)} if provider else {}),
            },
        ),
        "transformer": make_component(company, "transformer", {"format": fmt}),
    }
    pipeline = make_pipeline(
        company,
        [
            (components["template"], {"template_id": str(template.pk)}),
            (components["ai_generator"], {"temperature": 0.65}),
            (components["transformer"], {"add_table_of_contents": toc}),
        ],
    )
    return Setup(provider, template, components, pipeline)


def new_context(setup: Setup, title: str = "Microservices", **fields) -> Context:
    from content.services import contexts

    data = {"title": title, "target_audience": "developers", "tone": "technical", **fields.pop("data", {})}
    [context] = contexts.create_contexts(pipeline=setup.pipeline, items=[{"data": data, **fields}])
    return context


def subscribe(company) -> None:
    """A webhook for every event of `company`, so emitted events leave delivery rows."""
    webhooks.create_webhook(company=company, name="all", url="http://127.0.0.1:9/hook", events=["*"])


def events(event_type: str, company=None) -> list[dict]:
    rows = WebhookDelivery.objects.filter(event_type=event_type)
    if company is not None:
        rows = rows.filter(company_id=company.pk)
    return [row.payload["data"] for row in rows]


def fresh(obj):
    return type(obj).objects.get(pk=obj.pk)


def age(model, pks, days):
    model.objects.filter(pk__in=pks).update(created_at=timezone.now() - timedelta(days=days))


@pytest.fixture
def aged(world, llm):
    """An old finished batch of 2, an old pending context, a recent finished batch of 1."""
    setup = article_setup(world.a, llm)
    old = batches.create_batch(pipeline=setup.pipeline, items=[{"data": {"title": "old"}}] * 2)
    recent = batches.create_batch(pipeline=setup.pipeline, items=[{"data": {"title": "new"}}])
    runner.process_pending()
    waiting = batches.create_batch(pipeline=setup.pipeline, items=[{"data": {"title": "waiting"}}])
    age(Batch, [old.pk, waiting.pk], 120)
    age(Context, old.context_ids + waiting.context_ids, 120)
    age(Context, recent.context_ids, 30)
    age(Batch, [recent.pk], 30)
    return old, recent, waiting

"""The reference pipeline "Sentiment report": every company has one, ready to run.

Its steps: `insights` (monitoring.services.insights: a project's sentiment for a date range,
with its most positive and most negative results as sources) then `ai_generator` (a short
report citing those sources as [n]). A context for it carries `data["project_id"]` and, if it
wants another range than the last DEFAULT_DAYS days, `data["from"]` / `data["to"]`.

The pipeline and its two components are marked `metadata["reference"] = REFERENCE`, one of
each per company: migration monitoring 0004 creates them for the companies that existed then
(with its own frozen copy of this definition), `company_created` (a post_save receiver of
tenants.Company, connected in monitoring.apps) for each company created since. They are
ordinary documents afterwards: the company may edit, deactivate or delete them, and nothing
here recreates one that exists, deleted or not.
"""

from __future__ import annotations

import logging
from typing import Any

from bson import ObjectId

from content.models import Component, ComponentType, Pipeline, PipelineStep
from tenants.models import Company

from .insights import DEFAULT_DAYS, DEFAULT_TOP

logger = logging.getLogger(__name__)

REFERENCE = "sentiment_report"
NAME = "Sentiment report"
DESCRIPTION = (
    "A short report on what customers say about a scraping project: its sentiment over a date range, "
    "the trend, and the most positive and most negative results, citing them. Give the context "
    "`data.project_id` (and `data.from` / `data.to` for another range than the last 7 days)."
)
SYSTEM_PROMPT = (
    "You are an analyst writing a short sentiment report about what customers say online. "
    "Use only the numbers and sources you are given, and cite the source of each statement as [n]. "
    "Say how sentiment stands and how it moved against the previous period, what the most negative "
    "and the most positive results are about, and suggest one or two actions. "
    "At most 250 words, in Markdown, without a title."
)
COMPONENTS: list[dict[str, Any]] = [
    {
        "name": "Sentiment insights",
        "type": ComponentType.INSIGHTS.value,
        "description": "The project's sentiment over the range: counts, trend, top results.",
        "config": {"days": DEFAULT_DAYS, "top": DEFAULT_TOP},
    },
    {
        "name": "Sentiment report writer",
        "type": ComponentType.AI_GENERATOR.value,
        "description": "Writes the report from the insights, citing its sources.",
        "config": {"system_prompt": SYSTEM_PROMPT, "temperature": 0.3},
    },
]
CONTEXT_TYPE = "report"


def find(company_id: ObjectId) -> Pipeline | None:
    """The company's reference pipeline, deleted or not."""
    return Pipeline.all_objects.for_company(company_id).filter(metadata__reference=REFERENCE).first()


def ensure(company_id: ObjectId) -> Pipeline:
    """The company's reference pipeline, created with its components when it has none."""
    existing = find(company_id)
    if existing is not None:
        return existing
    metadata = {"reference": REFERENCE}
    steps = []
    for order, spec in enumerate(COMPONENTS, start=1):
        component = Component.objects.create(company_id=company_id, metadata=metadata, **spec)
        steps.append(PipelineStep(component_id=component.pk, name=component.name, order=order))
    return Pipeline.objects.create(
        company_id=company_id,
        name=NAME,
        description=DESCRIPTION,
        components=steps,
        default_context_type=CONTEXT_TYPE,
        metadata=metadata,
    )


def company_created(sender: type[Company], instance: Company, created: bool, raw: bool = False, **kwargs: Any) -> None:
    """post_save of tenants.Company: a new company gets its reference pipeline. A failure is
    logged, not raised: the company is created without it."""
    if not created or raw:
        return
    try:
        ensure(instance.pk)
    except Exception:
        logger.exception("company %s: the reference pipeline “%s” was not created", instance.pk, NAME)

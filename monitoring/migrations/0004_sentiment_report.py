"""The reference pipeline "Sentiment report" (insights -> ai_generator) for every company that
exists now; companies created later get theirs from monitoring.services.sentiment_report.

A frozen copy of that module's definition, as migrations keep theirs, written with the
historical models the way content's services create components and pipelines (version
1.0.0 and an empty history from the fields' defaults; steps numbered from 1). Idempotent:
a company that has a reference pipeline (marked `metadata.reference`, deleted or not) gets
no second one.

Reversed, it removes the reference pipelines nobody touched since: version 1.0.0, no history,
never saved after their creation and never run (no daily run statistics), and their
components when these are untouched too and no other pipeline uses them. The others stay.
"""

from datetime import timedelta

from django.db import migrations

REFERENCE = "sentiment_report"
SYSTEM_PROMPT = (
    "You are an analyst writing a short sentiment report about what customers say online. "
    "Use only the numbers and sources you are given, and cite the source of each statement as [n]. "
    "Say how sentiment stands and how it moved against the previous period, what the most negative "
    "and the most positive results are about, and suggest one or two actions. "
    "At most 250 words, in Markdown, without a title."
)
PIPELINE = {
    "name": "Sentiment report",
    "description": (
        "A short report on what customers say about a scraping project: its sentiment over a date range, "
        "the trend, and the most positive and most negative results, citing them. Give the context "
        "`data.project_id` (and `data.from` / `data.to` for another range than the last 7 days)."
    ),
    "default_context_type": "report",
}
COMPONENTS = [
    {
        "name": "Sentiment insights",
        "type": "insights",
        "description": "The project's sentiment over the range: counts, trend, top results.",
        "config": {"days": 7, "top": 3},
    },
    {
        "name": "Sentiment report writer",
        "type": "ai_generator",
        "description": "Writes the report from the insights, citing its sources.",
        "config": {"system_prompt": SYSTEM_PROMPT, "temperature": 0.3},
    },
]
UNTOUCHED = timedelta(seconds=1)  # created_at and updated_at of one save differ by microseconds


def create_reference_pipelines(apps, schema_editor):
    Company = apps.get_model("tenants", "Company")
    Component = apps.get_model("content", "Component")
    Pipeline = apps.get_model("content", "Pipeline")
    # The step class the historical field checks its items against.
    PipelineStep = Pipeline._meta.get_field("components").base_field.embedded_model

    metadata = {"reference": REFERENCE}
    present = set(Pipeline.objects.filter(metadata__reference=REFERENCE).values_list("company_id", flat=True))
    for company_id in Company.objects.values_list("pk", flat=True):
        if company_id in present:
            continue
        steps = []
        for order, spec in enumerate(COMPONENTS, start=1):
            component = Component.objects.create(company_id=company_id, metadata=metadata, **spec)
            steps.append(PipelineStep(component_id=component.pk, name=component.name, order=order))
        Pipeline.objects.create(company_id=company_id, components=steps, metadata=metadata, **PIPELINE)


def _untouched(row) -> bool:
    return row.version == "1.0.0" and not row.history and row.updated_at - row.created_at < UNTOUCHED


def remove_untouched_reference_pipelines(apps, schema_editor):
    Component = apps.get_model("content", "Component")
    Pipeline = apps.get_model("content", "Pipeline")
    PipelineStats = apps.get_model("content", "PipelineStats")

    removed = []
    for pipeline in Pipeline.objects.filter(metadata__reference=REFERENCE):
        ran = PipelineStats.objects.filter(company_id=pipeline.company_id, pipeline_id=pipeline.pk).exists()
        if _untouched(pipeline) and not ran:
            removed.append(pipeline)
            pipeline.delete()
    for pipeline in removed:
        used = {
            step.component_id
            for other in Pipeline.objects.filter(company_id=pipeline.company_id)
            for step in other.components
        }
        for step in pipeline.components:
            component = Component.objects.filter(
                company_id=pipeline.company_id, pk=step.component_id, metadata__reference=REFERENCE
            ).first()
            if component is not None and _untouched(component) and component.pk not in used:
                component.delete()


class Migration(migrations.Migration):
    dependencies = [("monitoring", "0003_response_link_indexes")]

    operations = [
        migrations.RunPython(create_reference_pipelines, remove_untouched_reference_pipelines, elidable=False),
    ]

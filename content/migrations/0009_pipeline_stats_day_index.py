"""The unique (company, pipeline, day) constraint of the pipeline statistics becomes a plain
unique index: the backend writes a UniqueConstraint as a partial index, which the embedded
server never plans, so each run's `$inc` upsert and each statistics window read every
document of the collection. The plain index refuses duplicates and serves both."""

from django.db import migrations

from requestdesk.db.migrations import CreateIndex


class Migration(migrations.Migration):
    dependencies = [
        ("content", "0008_ticket_status_created_index"),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="pipelinestats", name="pipeline_stats_day_uniq"),
        CreateIndex(
            "content.PipelineStats", [("company_id", 1), ("pipeline_id", 1), ("day", 1)], "pipeline_stats_day_uniq",
            unique=True,
        ),
    ]

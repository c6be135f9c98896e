"""Indexes a project's new and changed results are read by, a bounded range each: the
incremental sync of a knowledge collection sourced from a scraping project reads the
results created, and those changed, since its previous sync."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("scraping", "0013_rollup_unique_index"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="result",
            index=models.Index(fields=["company", "project", "-created_at"], name="result_company_project_created"),
        ),
        migrations.AddIndex(
            model_name="result",
            index=models.Index(fields=["company", "project", "-changed_at"], name="result_company_project_changed"),
        ),
    ]

"""The search index of results on servers without text indexes (scraping.services.search_index):
posting segments, the batches ingest writes, and each company's index state. Every company's
index starts stale (one
change, none built): the index's upkeep (scraping.tasks.keep_search_index, beat) builds it
from the stored results, and until then the search walks the results themselves."""

import django.db.models.deletion
import django_mongodb_backend.fields
from django.db import migrations, models

from requestdesk.db.migrations import CreateIndex


def mark_stale(apps, schema_editor):
    connection = schema_editor.connection
    companies = connection.get_collection(apps.get_model("tenants", "Company")._meta.db_table)
    states = connection.get_collection("scraping_search_index")
    for company in companies.find({}, {"_id": 1}):
        states.update_one(
            {"company_id": company["_id"]},
            {
                "$setOnInsert": {
                    "changes": 1,
                    "built": 0,
                    "superseded": 0,
                    "segments": 0,
                    "batches": 0,
                    "lease_until": None,
                }
            },
            upsert=True,
        )


class Migration(migrations.Migration):
    dependencies = [
        ("scraping", "0015_company_indexes"),
        ("tenants", "0016_company_indexes"),
    ]

    operations = [
        migrations.CreateModel(
            name="SearchIndex",
            fields=[
                (
                    "id",
                    django_mongodb_backend.fields.ObjectIdAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True, db_index=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                ("changes", models.PositiveIntegerField(default=0)),
                ("built", models.PositiveIntegerField(default=0)),
                ("superseded", models.PositiveIntegerField(default=0)),
                ("segments", models.PositiveIntegerField(default=0)),
                ("batches", models.PositiveIntegerField(default=0)),
                ("lease_until", models.DateTimeField(blank=True, null=True)),
                (
                    "company",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="tenants.company",
                    ),
                ),
            ],
            options={
                "db_table": "scraping_search_index",
            },
        ),
        migrations.CreateModel(
            name="PostingBatch",
            fields=[
                (
                    "id",
                    django_mongodb_backend.fields.ObjectIdAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True, db_index=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "terms",
                    django_mongodb_backend.fields.ArrayField(base_field=models.CharField(max_length=64), default=list),
                ),
                ("postings", models.JSONField(default=dict)),
                (
                    "company",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="tenants.company",
                    ),
                ),
            ],
            options={
                "db_table": "scraping_posting_batches",
                "indexes": [models.Index(fields=["company", "terms"], name="posting_batch_company_terms")],
            },
        ),
        migrations.CreateModel(
            name="PostingSegment",
            fields=[
                (
                    "id",
                    django_mongodb_backend.fields.ObjectIdAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True, db_index=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                ("term", models.CharField(max_length=64)),
                ("weight", models.PositiveIntegerField()),
                ("n", models.PositiveIntegerField()),
                ("data", models.BinaryField()),
                (
                    "company",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="tenants.company",
                    ),
                ),
            ],
            options={
                "db_table": "scraping_posting_segments",
                "indexes": [models.Index(fields=["company", "term", "weight"], name="segment_company_term")],
            },
        ),
        CreateIndex("scraping.SearchIndex", [("company_id", 1)], "search_index_company_uniq", unique=True),
        migrations.RunPython(mark_stale, migrations.RunPython.noop, elidable=False),
    ]

"""Sentiment alert rules and their alerts (monitoring.models.alerts). One alert per rule and
window is a plain unique index on (company, rule, window_start), not a UniqueConstraint (the
backend writes that as a partial index, which the embedded server never plans): it refuses
the second worker's alert of a window and serves the evaluation's "fired already?" lookup."""

import django.core.validators
import django.db.models.deletion
import django_mongodb_backend.fields
from django.conf import settings
from django.db import migrations, models

from requestdesk.db.migrations import CreateIndex


class Migration(migrations.Migration):
    dependencies = [
        ("content", "0010_links_retrieval_insights"),
        ("monitoring", "0001_initial"),
        ("scraping", "0013_rollup_unique_index"),
        ("tenants", "0015_invitation"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="AlertRule",
            fields=[
                (
                    "id",
                    django_mongodb_backend.fields.ObjectIdAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True, db_index=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                ("name", models.CharField(max_length=200)),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("negative_share", "Negative share above a threshold"),
                            ("compound_drop", "Average compound dropping"),
                            ("watched_word", "A watched word appearing"),
                        ],
                        max_length=20,
                    ),
                ),
                (
                    "window_hours",
                    models.PositiveIntegerField(
                        default=24,
                        help_text="The window's length; windows are aligned to it from the epoch (UTC).",
                        validators=[
                            django.core.validators.MinValueValidator(1),
                            django.core.validators.MaxValueValidator(744),
                        ],
                    ),
                ),
                (
                    "threshold",
                    models.FloatField(
                        blank=True,
                        help_text="negative_share: fire above this share of negative results (0..1).",
                        null=True,
                        validators=[
                            django.core.validators.MinValueValidator(0.0),
                            django.core.validators.MaxValueValidator(1.0),
                        ],
                    ),
                ),
                (
                    "min_results",
                    models.PositiveIntegerField(
                        default=5,
                        help_text="negative_share and compound_drop: fewer results in a window never fire.",
                        validators=[django.core.validators.MinValueValidator(1)],
                    ),
                ),
                (
                    "drop",
                    models.FloatField(
                        blank=True,
                        help_text="compound_drop: fire when the average compound falls by more than this against the previous window.",
                        null=True,
                        validators=[
                            django.core.validators.MinValueValidator(0.0),
                            django.core.validators.MaxValueValidator(2.0),
                        ],
                    ),
                ),
                (
                    "word",
                    models.CharField(
                        blank=True,
                        help_text="watched_word: a word or phrase (case and plurals folded).",
                        max_length=200,
                    ),
                ),
                (
                    "open_ticket",
                    models.BooleanField(default=False, help_text="Open a ticket linking the results that fired it."),
                ),
                (
                    "ticket_priority",
                    models.CharField(
                        choices=[("low", "Low"), ("medium", "Medium"), ("high", "High"), ("urgent", "Urgent")],
                        default="medium",
                        max_length=10,
                    ),
                ),
                ("enabled", models.BooleanField(default=True)),
                (
                    "company",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to="tenants.company"
                    ),
                ),
                (
                    "created_by",
                    models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "project",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="scraping.project",
                    ),
                ),
                (
                    "ticket_assignee",
                    models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "db_table": "monitoring_alert_rules",
                "ordering": ["-created_at"],
            },
        ),
        migrations.CreateModel(
            name="Alert",
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
                    "kind",
                    models.CharField(
                        choices=[
                            ("negative_share", "Negative share above a threshold"),
                            ("compound_drop", "Average compound dropping"),
                            ("watched_word", "A watched word appearing"),
                        ],
                        max_length=20,
                    ),
                ),
                ("window_start", models.DateTimeField()),
                ("window_end", models.DateTimeField()),
                (
                    "value",
                    models.FloatField(
                        help_text="The measure: the negative share, the average compound, or the matches."
                    ),
                ),
                (
                    "baseline",
                    models.FloatField(blank=True, help_text="compound_drop: the previous window's average.", null=True),
                ),
                (
                    "limit",
                    models.FloatField(blank=True, help_text="The rule's threshold or drop when it fired.", null=True),
                ),
                ("count", models.PositiveIntegerField(help_text="Results in the window.")),
                (
                    "result_ids",
                    django_mongodb_backend.fields.ArrayField(
                        base_field=django_mongodb_backend.fields.ObjectIdField(), blank=True, default=list, max_size=20
                    ),
                ),
                ("title", models.CharField(max_length=300)),
                ("notifications", models.PositiveIntegerField(default=0, help_text="Company admins notified.")),
                (
                    "deliveries",
                    django_mongodb_backend.fields.ArrayField(
                        base_field=django_mongodb_backend.fields.ObjectIdField(),
                        blank=True,
                        default=list,
                        help_text="The webhook deliveries of its event.",
                    ),
                ),
                (
                    "company",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to="tenants.company"
                    ),
                ),
                (
                    "project",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="scraping.project",
                    ),
                ),
                (
                    "ticket",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="content.ticket",
                    ),
                ),
                (
                    "rule",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="monitoring.alertrule",
                    ),
                ),
            ],
            options={
                "db_table": "monitoring_alerts",
                "ordering": ["-created_at"],
            },
        ),
        migrations.AddIndex(
            model_name="alertrule",
            index=models.Index(fields=["company", "project"], name="alert_rule_company_project"),
        ),
        migrations.AddIndex(
            model_name="alertrule",
            index=models.Index(fields=["company", "-created_at"], name="alert_rule_company_created"),
        ),
        migrations.AddIndex(
            model_name="alertrule",
            index=models.Index(fields=["enabled"], name="alert_rule_enabled"),
        ),
        migrations.AddIndex(
            model_name="alert",
            index=models.Index(fields=["company", "-created_at"], name="alert_company_created"),
        ),
        migrations.AddIndex(
            model_name="alert",
            index=models.Index(fields=["company", "project", "-created_at"], name="alert_company_project"),
        ),
        migrations.AddIndex(
            model_name="alert",
            index=models.Index(fields=["company", "rule", "-created_at"], name="alert_company_rule"),
        ),
        CreateIndex(
            "monitoring.Alert",
            [("company_id", 1), ("rule_id", 1), ("window_start", 1)],
            "alert_rule_window_uniq",
            unique=True,
        ),
    ]

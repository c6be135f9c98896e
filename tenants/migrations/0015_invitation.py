"""Invitations (tenants.models.Invitation). The token's hash gets a plain unique index: the
backend writes a UniqueConstraint as a partial index, which the embedded server does not plan
with, so a token's lookup would read every invitation."""

import django.db.models.deletion
import django_mongodb_backend.fields
from django.conf import settings
from django.db import migrations, models

from requestdesk.db.migrations import CreateIndex


class Migration(migrations.Migration):
    dependencies = [
        ("tenants", "0014_move_events_to_events_app"),
    ]

    operations = [
        migrations.CreateModel(
            name="Invitation",
            fields=[
                (
                    "id",
                    django_mongodb_backend.fields.ObjectIdAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True, db_index=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                ("email", models.EmailField(max_length=254)),
                (
                    "role",
                    models.CharField(
                        choices=[
                            ("superadmin", "Superadmin"),
                            ("company_admin", "Company admin"),
                            ("content_manager", "Content manager"),
                            ("content_writer", "Content writer"),
                            ("client", "Client"),
                        ],
                        default="client",
                        max_length=20,
                    ),
                ),
                ("token_hash", models.CharField(editable=False, max_length=64)),
                ("expires_at", models.DateTimeField()),
                ("accepted_at", models.DateTimeField(blank=True, editable=False, null=True)),
                ("revoked_at", models.DateTimeField(blank=True, editable=False, null=True)),
                (
                    "company",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to="tenants.company"
                    ),
                ),
                (
                    "invited_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "db_table": "invitations",
                "ordering": ["-created_at"],
                "indexes": [
                    models.Index(fields=["company", "created_at"], name="invitation_company_created"),
                    models.Index(fields=["company", "email"], name="invitation_company_email"),
                ],
            },
        ),
        CreateIndex("tenants.Invitation", [("token_hash", 1)], "invitation_token_uniq", unique=True),
    ]

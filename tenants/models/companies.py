"""Companies and their per-day usage counter."""

from __future__ import annotations

from bson import ObjectId
from django.core.exceptions import ValidationError
from django.db import models
from django_mongodb_backend.fields import ObjectIdField

from tenants.scoping import TenantQuerySet, Timestamped


class Plan(models.TextChoices):
    """A company's plan: the defaults of its quotas (tenants.services.plans)."""

    FREE = "free", "Free"
    STANDARD = "standard", "Standard"
    PROFESSIONAL = "professional", "Professional"
    ENTERPRISE = "enterprise", "Enterprise"


class Company(Timestamped):
    TENANT_FIELD = "pk"  # a company is its own tenant

    name = models.CharField(max_length=200)
    domain = models.CharField(max_length=253, blank=True, db_index=True)
    plan = models.CharField(
        max_length=20,
        choices=Plan.choices,
        default=Plan.ENTERPRISE,
        help_text="Sets the default quotas (tenants.plans); superadmins change it.",
    )
    # The quota keys (max_contexts_per_day, max_batch_size, allowed_models,
    # default_pipeline_id) override the plan's; other keys are the company's own.
    settings = models.JSONField(default=dict, blank=True)
    owner = models.ForeignKey("tenants.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    is_active = models.BooleanField(default=True)

    objects = TenantQuerySet.as_manager()

    owner_id: ObjectId | None  # the foreign key's column (typed here: see User.company_id)

    def clean(self) -> None:
        """The quota keys of `settings` are checked as in the API (the admin form's path)."""
        from tenants.services.plans import settings_errors

        super().clean()
        errors = settings_errors(self.settings) if isinstance(self.settings, dict) else ["A JSON object."]
        if errors:
            raise ValidationError({"settings": errors})

    class Meta:
        db_table = "companies"
        ordering = ["name"]
        verbose_name_plural = "companies"

    def __str__(self) -> str:
        return self.name


class CompanyDailyUsage(models.Model):
    """Contexts a company created on a UTC day: one counter moved by `$inc` (tenants.services.plans)."""

    company_id = ObjectIdField()
    day = models.CharField(max_length=10)  # YYYY-MM-DD (UTC)
    contexts = models.IntegerField(default=0)

    class Meta:
        db_table = "company_daily_usage"
        constraints = [models.UniqueConstraint(fields=["company_id", "day"], name="company_day_unique")]

    def __str__(self) -> str:
        return f"{self.company_id} {self.day}: {self.contexts}"

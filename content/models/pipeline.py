"""The generative pipeline: templates, components, pipelines, contexts, batches.

Every document carries its company (`company_id`). A pipeline lists its
components in order with per-step config overrides (embedded); a context is one piece of
content to produce: its input and outputs live in `data`, its run in `processing`
(per-component timings and a timeline of attempts), and the claim fields (`status`,
`lease_until`, `worker`, `attempt`) make exactly one worker run it at a time
(content.services.claiming).

References between these documents are ids without cascades (no foreign keys;
the application validates them): deleting a pipeline never rewrites 90 days of contexts; a
context whose pipeline or agent is gone fails with that reason.

Indexes (tenant key first where a tenant query uses them):
contexts (status, created_at) and (priority, status, created_at) for worker polling,
batch_id, user_id, company_id, type, created_at (retention); templates company_id,
is_active and, by migration, metadata.tags; components type, company_id, is_active;
pipelines company_id, is_active, default_context_type; batches (company, -created_at) and
created_at (retention).
"""

from django.db import models
from django_mongodb_backend.fields import ArrayField, EmbeddedModelArrayField, EmbeddedModelField, ObjectIdField
from django_mongodb_backend.models import EmbeddedModel

from requestdesk.soft_delete import SoftDeletable
from tenants.scoping import TenantScoped

DEFAULT_PRIORITY = 5


def _created_by():
    return models.ForeignKey(
        "tenants.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )


def _reference(model, **kwargs):
    """An id of another document, not enforced and never cascaded (see the module doc)."""
    return models.ForeignKey(model, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+", **kwargs)


class Template(SoftDeletable, TenantScoped):
    """Reusable content structure: `structure = {"sections": [...]}` (validated by
    content.services.components.template.validate_structure). Changing the structure bumps
    `version` and keeps the previous one in `history`."""

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    version = models.CharField(max_length=20, default="1.0.0")
    created_by = _created_by()
    structure = models.JSONField(default=dict)
    metadata = models.JSONField(default=dict, blank=True)
    is_active = models.BooleanField(default=True)
    history = models.JSONField(default=list, blank=True, editable=False)

    class Meta:
        db_table = "templates"
        ordering = ["name"]
        indexes = [models.Index(fields=["company", "name"], name="template_company_name")]

    def __str__(self):
        return f"{self.name} v{self.version}"

    def clean(self):
        from django.core.exceptions import ValidationError

        from ..services.components.template import validate_structure

        errors = validate_structure(self.structure)
        if errors:
            raise ValidationError({"structure": errors})


class ComponentType(models.TextChoices):
    TEMPLATE = "template", "Template"
    AI_GENERATOR = "ai_generator", "AI generator"
    TRANSFORMER = "transformer", "Transformer"
    RETRIEVAL = "retrieval", "Knowledge retrieval"
    INSIGHTS = "insights", "Sentiment insights"  # implemented by the monitoring app


class Component(SoftDeletable, TenantScoped):
    """A configured step: its type says what runs, `config` how (see services/components).
    Changing the type or config bumps `version` and keeps the previous ones in `history`
    (content.services.versions)."""

    name = models.CharField(max_length=200)
    # No index of its own: a company's few components are read by id or name.
    type = models.CharField(max_length=20, choices=ComponentType.choices)
    description = models.TextField(blank=True)
    version = models.CharField(max_length=20, default="1.0.0", editable=False)
    created_by = _created_by()
    config = models.JSONField(default=dict, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    is_active = models.BooleanField(default=True)
    history = models.JSONField(default=list, blank=True, editable=False)

    class Meta:
        db_table = "components"
        ordering = ["name"]
        indexes = [models.Index(fields=["company", "name"], name="component_company_name")]

    def __str__(self):
        return f"{self.name} ({self.type})"


class PipelineStep(EmbeddedModel):
    component_id = ObjectIdField()
    name = models.CharField(max_length=200, blank=True)
    order = models.PositiveIntegerField(default=0)
    config_overrides = models.JSONField(default=dict, blank=True)

    def __str__(self):
        return self.name or str(self.component_id)


class Pipeline(SoftDeletable, TenantScoped):
    """Its steps in order. Changing the steps bumps `version` and keeps the previous ones in
    `history` (content.services.versions); its run statistics are PipelineStats."""

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    version = models.CharField(max_length=20, default="1.0.0", editable=False)
    created_by = _created_by()
    components = EmbeddedModelArrayField(PipelineStep, default=list)
    default_context_type = models.CharField(max_length=50, default="article")
    metadata = models.JSONField(default=dict, blank=True)
    is_active = models.BooleanField(default=True)
    history = models.JSONField(default=list, blank=True, editable=False)

    class Meta:
        db_table = "pipelines"
        ordering = ["name"]
        indexes = [models.Index(fields=["company", "name"], name="pipeline_company_name")]

    def __str__(self):
        return self.name

    def steps(self) -> list[PipelineStep]:
        return sorted(self.components, key=lambda step: step.order)


class BatchStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    PROCESSING = "processing", "Processing"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"  # it ended with no context completed and at least one failed
    CANCELLED = "cancelled", "Cancelled"


class Batch(TenantScoped):
    """Contexts created together. The counters move by $inc as each context finishes; the
    batch completes (once) when completed + failed + cancelled reach context_count.
    `remaining_count` (context_count less the three) moves with them, so that a context
    that is not among the last to finish is counted in one guarded update
    (content.services.batches.context_finished)."""

    name = models.CharField(max_length=200, blank=True)
    description = models.TextField(blank=True)
    created_by = _created_by()
    status = models.CharField(max_length=20, choices=BatchStatus.choices, default=BatchStatus.PENDING)
    pipeline = _reference("content.Pipeline", db_index=False)
    priority = models.SmallIntegerField(default=DEFAULT_PRIORITY)
    context_ids = ArrayField(ObjectIdField(), default=list, blank=True)
    context_count = models.PositiveIntegerField(default=0)
    completed_count = models.PositiveIntegerField(default=0)
    failed_count = models.PositiveIntegerField(default=0)
    cancelled_count = models.PositiveIntegerField(default=0)
    remaining_count = models.IntegerField(default=0)
    processing_started_at = models.DateTimeField(null=True, blank=True)
    processing_completed_at = models.DateTimeField(null=True, blank=True)
    total_duration_ms = models.FloatField(null=True, blank=True)
    metadata = models.JSONField(default=dict, blank=True)

    COUNTERS = ("context_count", "completed_count", "failed_count", "cancelled_count")

    class Meta:
        db_table = "batches"
        ordering = ["-created_at"]
        verbose_name_plural = "batches"
        indexes = [models.Index(fields=["company", "-created_at"], name="batch_company_created")]

    def __str__(self):
        return self.name or f"batch {self.pk}"

    @property
    def finished_count(self) -> int:
        return self.completed_count + self.failed_count + self.cancelled_count


class Processing(EmbeddedModel):
    """The run of a context: first claim to completion, what ran and how long,
    and `timeline`: one entry per component run or attempt outcome, for the admin view."""

    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.FloatField(null=True, blank=True)
    completed_components = ArrayField(models.CharField(max_length=100), default=list, blank=True)
    component_timings = models.JSONField(default=dict, blank=True)
    timeline = models.JSONField(default=list, blank=True)


class ContextStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


FINISHED = (ContextStatus.COMPLETED, ContextStatus.FAILED, ContextStatus.CANCELLED)


class Context(TenantScoped):
    # Filtered within a company only (the API's and the admin's filters), where the company-led
    # indexes serve it; an index of its own would cost each of a run's writes.
    type = models.CharField(max_length=50, default="article")
    status = models.CharField(max_length=20, choices=ContextStatus.choices, default=ContextStatus.PENDING)
    pipeline = _reference("content.Pipeline", db_index=False)
    agent = _reference("knowledge.Agent", null=True, blank=True, db_index=False)
    # Read by batch through (company, batch, created_at), or by the batch's own context_ids.
    batch = _reference("content.Batch", null=True, blank=True, db_index=False)
    user = models.ForeignKey("tenants.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    priority = models.SmallIntegerField(default=DEFAULT_PRIORITY, help_text="Lower runs sooner.")
    data = models.JSONField(default=dict, blank=True)
    # What the run was started from: [{"kind": "scraping.result", "id", "url", "title"}].
    links = models.JSONField(default=list, blank=True)
    processing = EmbeddedModelField(Processing, default=Processing, blank=True)
    error = models.TextField(blank=True)
    retry_count = models.PositiveSmallIntegerField(default=0)
    next_retry_at = models.DateTimeField(null=True, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    # The claim: who runs it, until when, and which claim this is (a zombie's writes are refused).
    lease_until = models.DateTimeField(null=True, blank=True)
    worker = models.CharField(max_length=200, blank=True)
    attempt = models.PositiveIntegerField(default=0)

    class Meta:
        db_table = "contexts"
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "created_at"], name="ctx_status_created"),
            models.Index(fields=["company", "-created_at"], name="ctx_company_created"),
            models.Index(fields=["company", "batch", "-created_at"], name="ctx_company_batch_created"),
            models.Index(fields=["company", "user", "-created_at"], name="ctx_company_user_created"),
            models.Index(fields=["priority", "status", "created_at"], name="ctx_priority_poll"),
        ]

    def __str__(self):
        title = (self.data or {}).get("title") if isinstance(self.data, dict) else None
        return f"{self.type} “{title}”" if title else f"{self.type} {self.pk}"


class PipelineStats(TenantScoped):
    """One pipeline's finished runs of one UTC day, counted as each run ends
    (content.services.stats): runs, completed and failed, the sum of durations and their
    histogram (`durations`: {bucket: count}, buckets 10% wide; see stats.bucket), and the
    tokens the AI generator steps used (`tokens_in`: prompt, `tokens_out`: completion).
    A window of N days reads N small documents however many contexts ran. Removed with their
    pipeline when it is purged (content.apps)."""

    # Created raw by migration, not as a UniqueConstraint (a partial index, which the embedded
    # server never plans): the run's upsert and the window's read are index scans on it.
    UNIQUE_INDEXES = {"pipeline_stats_day_uniq": ("company", "pipeline", "day")}

    pipeline = _reference("content.Pipeline", db_index=False)
    day = models.DateTimeField()
    runs = models.PositiveIntegerField(default=0)
    completed = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    duration_ms_sum = models.FloatField(default=0)
    durations = models.JSONField(default=dict)
    tokens_in = models.PositiveBigIntegerField(default=0)
    tokens_out = models.PositiveBigIntegerField(default=0)

    class Meta:
        db_table = "pipeline_stats"
        ordering = ["-day"]
        verbose_name_plural = "pipeline stats"

    def __str__(self):
        return f"{self.pipeline_id} {self.day:%Y-%m-%d}"

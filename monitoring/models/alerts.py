"""Sentiment alert rules and the alerts they fire (monitoring.services.alerts).

A rule watches one scraping project over windows of `window_hours`, aligned from the epoch
(a 6-hour rule's windows start at 00:00, 06:00, 12:00, 18:00 UTC). It measures the results
published in the current window, and fires:

* `negative_share`: when the share of negative results is above `threshold` (0..1), once at
  least `min_results` results are in the window (1 negative of 1 is no shift);
* `compound_drop`: when the average compound score is lower than the previous window's by
  more than `drop`, both windows holding at least `min_results` results;
* `watched_word`: when `word` (a word or a phrase) appears in a result's title or text,
  compared word by word, case and plurals folded (requestdesk.text).

An alert is one rule's firing in one window: at most one per (company, rule, window_start),
however many workers evaluate the rule at once (a unique index refuses the second insert).
Alerts point at their rule, project and ticket by id without cascades: deleting a rule keeps
its history.
"""

from __future__ import annotations

from typing import Any, ClassVar

from bson import ObjectId
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django_mongodb_backend.fields import ArrayField, ObjectIdField

from content.models import TicketPriority
from tenants.scoping import TenantScoped

MAX_WINDOW_HOURS = 24 * 31
MAX_ALERT_RESULTS = 20  # the results an alert keeps (and its ticket links)
MAX_DROP = 2.0  # compound scores run from -1 to 1


class AlertKind(models.TextChoices):
    NEGATIVE_SHARE = "negative_share", "Negative share above a threshold"
    COMPOUND_DROP = "compound_drop", "Average compound dropping"
    WATCHED_WORD = "watched_word", "A watched word appearing"


# What each kind needs besides the window, with the message when it is missing.
REQUIRED: dict[str, dict[str, str]] = {
    AlertKind.NEGATIVE_SHARE: {"threshold": "A negative-share rule needs a threshold between 0 and 1."},
    AlertKind.COMPOUND_DROP: {"drop": f"A compound-drop rule needs a drop between 0 and {MAX_DROP:g}."},
    AlertKind.WATCHED_WORD: {"word": "A watched-word rule needs a word or phrase to watch."},
}


def rule_errors(*, kind: str, threshold: float | None, drop: float | None, word: str) -> dict[str, str]:
    """{field: message} for what `kind` needs and was not given (the API and the admin both
    ask this)."""
    given: dict[str, Any] = {"threshold": threshold, "drop": drop, "word": (word or "").strip()}
    return {field: message for field, message in REQUIRED.get(kind, {}).items() if given[field] in (None, "")}


class AlertRule(TenantScoped):
    project = models.ForeignKey("scraping.Project", on_delete=models.CASCADE, related_name="+", db_index=False)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=AlertKind.choices)
    window_hours = models.PositiveIntegerField(
        default=24,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_WINDOW_HOURS)],
        help_text="The window's length; windows are aligned to it from the epoch (UTC).",
    )
    threshold = models.FloatField(
        null=True,
        blank=True,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="negative_share: fire above this share of negative results (0..1).",
    )
    min_results = models.PositiveIntegerField(
        default=5,
        validators=[MinValueValidator(1)],
        help_text="negative_share and compound_drop: fewer results in a window never fire.",
    )
    drop = models.FloatField(
        null=True,
        blank=True,
        validators=[MinValueValidator(0.0), MaxValueValidator(MAX_DROP)],
        help_text="compound_drop: fire when the average compound falls by more than this against the previous window.",
    )
    word = models.CharField(
        max_length=200, blank=True, help_text="watched_word: a word or phrase (case and plurals folded)."
    )
    open_ticket = models.BooleanField(default=False, help_text="Open a ticket linking the results that fired it.")
    ticket_assignee = models.ForeignKey(
        "tenants.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    ticket_priority = models.CharField(max_length=10, choices=TicketPriority.choices, default=TicketPriority.MEDIUM)
    enabled = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        "tenants.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    # The foreign keys' columns (the plugin cannot type them: see TenantScoped.company_id).
    project_id: ObjectId
    ticket_assignee_id: ObjectId | None

    class Meta:
        db_table = "monitoring_alert_rules"
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["company", "project"], name="alert_rule_company_project"),
            models.Index(fields=["company", "-created_at"], name="alert_rule_company_created"),
            # Beat's tick reads the enabled rules of every company.
            models.Index(fields=["enabled"], name="alert_rule_enabled"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """What the kind needs, and a project and an assignee of the rule's own company (the
        admin of a superadmin offers every company's)."""
        super().clean()
        errors = rule_errors(kind=self.kind, threshold=self.threshold, drop=self.drop, word=self.word)
        company = self.company_id  # None until the admin stamps a staff member's own company
        if company is not None:
            if self.project_id and self.project.company_id != company:
                errors["project"] = "Choose a project of the rule's company."
            assignee = self.ticket_assignee
            if assignee is not None and assignee.company_id != company:
                errors["ticket_assignee"] = "Choose a user of the rule's company."
        if errors:
            raise ValidationError(errors)


def _reference(model: str, **kwargs: Any) -> Any:
    """An id of another document, not enforced and never cascaded (see the module doc)."""
    return models.ForeignKey(
        model, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+", db_index=False, **kwargs
    )


class Alert(TenantScoped):
    # Created raw by migration, not as a UniqueConstraint (a partial index, which the embedded
    # server never plans): it refuses a second alert of a rule's window, and the evaluation's
    # "already fired?" lookup is an index scan on it.
    UNIQUE_INDEXES: ClassVar[dict[str, tuple[str, ...]]] = {
        "alert_rule_window_uniq": ("company", "rule", "window_start")
    }

    rule = _reference("monitoring.AlertRule")
    project = _reference("scraping.Project")
    kind = models.CharField(max_length=20, choices=AlertKind.choices)
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    value = models.FloatField(help_text="The measure: the negative share, the average compound, or the matches.")
    baseline = models.FloatField(null=True, blank=True, help_text="compound_drop: the previous window's average.")
    limit = models.FloatField(null=True, blank=True, help_text="The rule's threshold or drop when it fired.")
    count = models.PositiveIntegerField(help_text="Results in the window.")
    result_ids = ArrayField(ObjectIdField(), default=list, blank=True, max_size=MAX_ALERT_RESULTS)
    title = models.CharField(max_length=300)
    ticket = _reference("content.Ticket", null=True, blank=True)
    notifications = models.PositiveIntegerField(default=0, help_text="Company admins notified.")
    deliveries = ArrayField(ObjectIdField(), default=list, blank=True, help_text="The webhook deliveries of its event.")
    # Firing (ticket, notification, event) runs under a lease (requestdesk.db.leases): a worker
    # that dies half-way leaves `fired_at` empty and its lease running out, and the next
    # evaluation of the rule takes the firing over from where it stopped.
    fired_at = models.DateTimeField(
        null=True, blank=True, help_text="When its ticket, notification and event were all out."
    )
    lease_until = models.DateTimeField(null=True, blank=True, editable=False)
    firer = models.CharField(max_length=64, blank=True, editable=False)
    rule_id: ObjectId
    project_id: ObjectId
    ticket_id: ObjectId | None

    class Meta:
        db_table = "monitoring_alerts"
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["company", "-created_at"], name="alert_company_created"),
            models.Index(fields=["company", "project", "-created_at"], name="alert_company_project"),
            models.Index(fields=["company", "rule", "-created_at"], name="alert_company_rule"),
        ]
        # And the UNIQUE_INDEXES above, by migration.

    def __str__(self) -> str:
        return self.title

"""Tickets, tenant-scoped.

Tickets move through a fixed workflow (TICKET_FLOW) and are soft-deleted
(requestdesk.soft_delete): `objects` hides deleted tickets, `all_objects` shows them (admin). Indexes: company_id (the
TenantScoped key), assigned_to, status, plus (company, status, -created_at) for listings.
"""

from django.db import models
from django_mongodb_backend.fields import ArrayField

from requestdesk.soft_delete import SoftDeletable
from tenants.scoping import TenantScoped

from .workflow import Workflow


class TicketStatus(models.TextChoices):
    OPEN = "open", "Open"
    IN_PROGRESS = "in_progress", "In progress"
    REVIEW = "review", "Review"
    COMPLETED = "completed", "Completed"
    CLOSED = "closed", "Closed"


class TicketPriority(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    URGENT = "urgent", "Urgent"


S = TicketStatus
# open -> in_progress -> review -> completed -> closed; review sends work back; any open
# state may be closed (withdrawn); a closed or completed ticket may be reopened.
TICKET_FLOW = Workflow(
    {
        S.OPEN: (S.IN_PROGRESS, S.CLOSED),
        S.IN_PROGRESS: (S.REVIEW, S.OPEN, S.CLOSED),
        S.REVIEW: (S.COMPLETED, S.IN_PROGRESS, S.CLOSED),
        S.COMPLETED: (S.CLOSED, S.IN_PROGRESS),
        S.CLOSED: (S.OPEN,),
    }
)


class Ticket(SoftDeletable, TenantScoped):
    title = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=20, choices=TicketStatus.choices, default=TicketStatus.OPEN)
    priority = models.CharField(max_length=10, choices=TicketPriority.choices, default=TicketPriority.MEDIUM)
    created_by = models.ForeignKey(
        "tenants.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    assigned_to = models.ForeignKey(
        "tenants.User",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The writer working on it.",
    )
    agent = models.ForeignKey(
        "knowledge.Agent",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
        help_text="Optional AI agent for this ticket.",
    )
    due_date = models.DateTimeField(null=True, blank=True)
    tags = ArrayField(models.CharField(max_length=50), default=list, blank=True)
    # What the ticket was opened from: [{"kind": "scraping.result", "id", "url", "title"}].
    links = models.JSONField(default=list, blank=True)

    class Meta:
        db_table = "tickets"
        ordering = ["-created_at"]
        base_manager_name = "all_objects"
        indexes = [
            models.Index(fields=["company", "status", "-created_at"], name="ticket_company_status"),
            models.Index(fields=["company", "-created_at"], name="ticket_company_created"),
            # The all-companies dashboard's count per status walks windows of it (no company).
            models.Index(fields=["status", "-created_at"], name="ticket_status_created"),
        ]

    def __str__(self):
        return self.title

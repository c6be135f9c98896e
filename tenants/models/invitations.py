"""Invitations: how a company admin brings a person into their company. The invitee picks
their username and password; the admin never creates the account, so the admin is never told
whether an address or a name is taken in another company."""

from __future__ import annotations

from typing import ClassVar

from bson import ObjectId
from django.db import models
from django.utils import timezone

from tenants.roles import Role
from tenants.scoping import TenantScoped

from .users import User


class Invitation(TenantScoped):
    """An invitation to `company` with `role`, mailed to `email`. The token in the mail is
    stored only as its SHA-256 hash; it works once, until `expires_at`, unless revoked."""

    PENDING, ACCEPTED, EXPIRED, REVOKED = "pending", "accepted", "expired", "revoked"

    email = models.EmailField()
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.CLIENT)
    token_hash = models.CharField(max_length=64, editable=False)
    invited_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    invited_by_id: ObjectId | None  # the foreign key's column (typed here: see User.company_id)

    # The token's lookup: a plain unique index by migration (a UniqueConstraint would be a
    # partial index, which the embedded server does not plan with).
    UNIQUE_INDEXES: ClassVar[dict[str, tuple[str, ...]]] = {"invitation_token_uniq": ("token_hash",)}

    class Meta:
        db_table = "invitations"
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["company", "created_at"], name="invitation_company_created"),
            models.Index(fields=["company", "email"], name="invitation_company_email"),
        ]

    def __str__(self) -> str:
        return f"invitation of {self.email} ({self.status})"

    @property
    def status(self) -> str:
        if self.accepted_at is not None:
            return self.ACCEPTED
        if self.revoked_at is not None:
            return self.REVOKED
        return self.EXPIRED if self.expires_at <= timezone.now() else self.PENDING

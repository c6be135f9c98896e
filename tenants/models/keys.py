"""API keys and JWT refresh tokens."""

from __future__ import annotations

from bson import ObjectId
from django.db import models
from django.utils import timezone
from django_mongodb_backend.fields import ArrayField

from tenants.scoping import TenantScoped

from .users import User


class ApiKey(TenantScoped):
    """An API key: shown once, stored as a SHA-256 hash, found by its prefix."""

    READ = "read"
    WRITE = "write"
    PERMISSIONS = [(READ, "Read"), (WRITE, "Write")]

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    permissions = ArrayField(models.CharField(max_length=10, choices=PERMISSIONS), default=list)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    # The foreign keys' columns Django adds (typed here: see User.company_id).
    user_id: ObjectId

    class Meta:
        db_table = "api_keys"
        ordering = ["-created_at"]
        # The unique constraint on prefix is a partial index, which the embedded server does
        # not plan with: a key's lookup read every key. This plain one serves it.
        indexes = [
            models.Index(fields=["prefix"], name="apikey_prefix"),
            models.Index(fields=["company", "-created_at"], name="apikey_company_created"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_usable(self) -> bool:
        now = timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)

    def allows(self, permission: str) -> bool:
        return permission in (self.permissions or [])


class RefreshToken(models.Model):
    """A JWT refresh token, stored server-side as a hash; expired ones go by a TTL index."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="refresh_tokens")
    token_hash = models.CharField(max_length=64, unique=True)
    family = models.CharField(max_length=32, db_index=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    user_id: ObjectId  # the foreign key's column (typed here: see User.company_id)

    class Meta:
        db_table = "refresh_tokens"

    def __str__(self) -> str:
        return f"refresh token of {self.user} (expires {self.expires_at:%Y-%m-%d})"

"""Companies, users, per-user settings, API keys and refresh tokens (seeds 000, 002, 003, 004)."""

from __future__ import annotations

import functools
import zoneinfo
from urllib.parse import urlsplit

from django.conf import global_settings
from django.contrib.auth.models import AbstractUser
from django.contrib.auth.models import UserManager as DjangoUserManager
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django_mongodb_backend.fields import ArrayField, EmbeddedModelField, ObjectIdField
from django_mongodb_backend.models import EmbeddedModel

from requestdesk.crypto import EncryptedJSONField

from .plans import Plan
from .roles import STAFF_ROLES, Role
from .scoping import TenantQuerySet, TenantScoped, Timestamped


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
    # The seed's quota keys (max_contexts_per_day, max_batch_size, allowed_models,
    # default_pipeline_id) override the plan's; other keys are the company's own.
    settings = models.JSONField(default=dict, blank=True)
    owner = models.ForeignKey("tenants.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    is_active = models.BooleanField(default=True)

    objects = TenantQuerySet.as_manager()

    def clean(self):
        """The quota keys of `settings` are checked as in the API (the admin form's path)."""
        from .plans import settings_errors

        super().clean()
        errors = settings_errors(self.settings) if isinstance(self.settings, dict) else ["A JSON object."]
        if errors:
            raise ValidationError({"settings": errors})

    class Meta:
        db_table = "companies"
        ordering = ["name"]
        verbose_name_plural = "companies"

    def __str__(self):
        return self.name


@functools.cache
def _zone_names() -> frozenset:
    return frozenset(zoneinfo.available_timezones())  # reads the tz database: once per process


def validate_timezone(value: str) -> None:
    """An IANA zone name the server's zoneinfo knows ("Europe/Paris"), so it can be used as is."""
    if value not in _zone_names():
        raise ValidationError(f"“{value}” is not a known time zone (an IANA name such as Europe/Paris).")


def validate_language(value: str) -> None:
    """A language code Django knows ("en", "pt-br"): checked against its list rather than
    stored as choices, so a Django upgrade that adds languages needs no migration."""
    if value not in dict(global_settings.LANGUAGES):
        raise ValidationError(f"“{value}” is not a known language code (such as en, fr or pt-br).")


def validate_web_url(value: str) -> None:
    """Only http(s) links: an avatar is shown in browsers, where javascript: or data: would run."""
    if value and urlsplit(value).scheme.lower() not in ("http", "https"):
        raise ValidationError("Enter an http:// or https:// address.")


class UserPreferences(EmbeddedModel):
    """How a user reads the product (seed 003 `preferences`): Django's language codes and an
    IANA time zone."""

    language = models.CharField(max_length=15, default="en", validators=[validate_language])
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])


class UserProfile(EmbeddedModel):
    """What others see of a user (seed 004 `profile`)."""

    display_name = models.CharField(max_length=100, blank=True, default="")
    avatar_url = models.URLField(max_length=500, blank=True, default="", validators=[validate_web_url])
    bio = models.TextField(max_length=1000, blank=True, default="")


class CompanyDailyUsage(models.Model):
    """Contexts a company created on a UTC day: one counter moved by `$inc` (tenants.plans)."""

    company_id = ObjectIdField()
    day = models.CharField(max_length=10)  # YYYY-MM-DD (UTC)
    contexts = models.IntegerField(default=0)

    class Meta:
        db_table = "company_daily_usage"
        constraints = [models.UniqueConstraint(fields=["company_id", "day"], name="company_day_unique")]

    def __str__(self):
        return f"{self.company_id} {self.day}: {self.contexts}"


class UserManager(DjangoUserManager):
    def get_queryset(self):
        return TenantQuerySet(self.model, using=self._db)

    def for_company(self, company):
        return self.get_queryset().for_company(company)

    def create_superuser(self, username, email=None, password=None, **extra):
        extra.setdefault("role", Role.SUPERADMIN)
        return super().create_superuser(username, email, password, **extra)


class User(AbstractUser):
    """A person: role in their company, optional guest access to other companies, presence,
    preferences and profile. `last_login` is set by sign-in and by JWT or API-key use (at most
    once a minute, tenants.principals.note_user_seen)."""

    TENANT_FIELD = "company"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        AWAY = "away", "Away"
        BUSY = "busy", "Busy"

    email = models.EmailField(unique=True)
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.CLIENT, db_index=True)
    company = models.ForeignKey(Company, null=True, blank=True, on_delete=models.PROTECT, related_name="users")
    guest_companies = ArrayField(ObjectIdField(), default=list, blank=True)
    plugin_keys = EncryptedJSONField()  # encrypted at rest; write-only in the API, masked in the admin
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    preferences = EmbeddedModelField(UserPreferences, null=True, blank=True)
    profile = EmbeddedModelField(UserProfile, null=True, blank=True)
    # Ids at the sign-in providers ({"google_id": "…", "github_id": "…"}, tenants.oauth): a key is
    # absent, never null, until linked, so the sparse unique indexes skip users without it.
    oauth = models.JSONField(default=dict, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = UserManager()

    REQUIRED_FIELDS = ["email"]

    class Meta:
        db_table = "users"
        ordering = ["username"]

    def save(self, *args, **kwargs):
        # The role is the source of truth for admin access.
        self.is_superuser = self.role == Role.SUPERADMIN
        self.is_staff = self.role in STAFF_ROLES
        password_changed = self._password is not None and not self._state.adding  # set_password()
        super().save(*args, **kwargs)
        if password_changed:
            # A new password signs the user out everywhere, as Django does for sessions: a
            # refresh token taken before would otherwise outlive the change by its 14 days.
            # (A rehash on sign-in does not pass here: check_password clears _password first.)
            # Access tokens carry a stamp of the password (services.password_stamp) and fail
            # on their own. API keys stay: each is a credential of its own, listed, audited and
            # revoked one by one, and a company's integrations must not stop because the person
            # who made the key changed their password.
            from .services import revoke_all_refresh

            revoke_all_refresh(self)

    @property
    def is_superadmin(self) -> bool:
        return self.is_active and self.role == Role.SUPERADMIN

    def company_ids(self) -> list:
        """Companies this user may act for: their own, then their guest companies."""
        ids = [self.company_id] if self.company_id else []
        return ids + [c for c in (self.guest_companies or []) if c not in ids]

    def has_perm(self, perm, obj=None):
        from .admin_permissions import role_has_perm

        return self.is_active and role_has_perm(self.role, perm)

    def has_module_perms(self, app_label):
        from .admin_permissions import role_has_module

        return self.is_active and role_has_module(self.role, app_label)


class NotificationPreferences(EmbeddedModel):
    email_enabled = models.BooleanField(default=True)
    push_enabled = models.BooleanField(default=False)
    digest_frequency = models.CharField(
        max_length=10,
        choices=[("never", "Never"), ("daily", "Daily"), ("weekly", "Weekly")],
        default="daily",
    )


class UserSettings(TenantScoped):
    """Per-user settings (seed 004): plugin settings and notification preferences."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="user_settings")
    plugin_settings = models.JSONField(default=dict, blank=True)
    notification_preferences = EmbeddedModelField(NotificationPreferences, null=True, blank=True)

    class Meta:
        db_table = "settings"
        verbose_name_plural = "user settings"

    def __str__(self):
        return f"settings of {self.user}"


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

    class Meta:
        db_table = "api_keys"
        ordering = ["-created_at"]
        # The unique constraint on prefix is a partial index, which the embedded server does
        # not plan with: a key's lookup read every key. This plain one serves it.
        indexes = [models.Index(fields=["prefix"], name="apikey_prefix")]

    def __str__(self):
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

    class Meta:
        db_table = "refresh_tokens"

    def __str__(self):
        return f"refresh token of {self.user} (expires {self.expires_at:%Y-%m-%d})"

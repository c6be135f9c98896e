"""Users, their preferences and profile, and the validators of
those fields."""

from __future__ import annotations

import functools
import zoneinfo
from typing import Any, ClassVar
from urllib.parse import urlsplit

from bson import ObjectId
from django.conf import global_settings
from django.contrib.auth.models import AbstractUser
from django.contrib.auth.models import UserManager as DjangoUserManager
from django.core.exceptions import ValidationError
from django.db import models
from django_mongodb_backend.fields import ArrayField, EmbeddedModelField, ObjectIdField
from django_mongodb_backend.models import EmbeddedModel

from requestdesk.crypto import EncryptedJSONField
from tenants.roles import STAFF_ROLES, Role
from tenants.scoping import TenantQuerySet

from .companies import Company


@functools.cache
def _zone_names() -> frozenset[str]:
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


# EmbeddedModel comes from django-mongodb-backend, which ships no types: its subclasses' fields
# are annotated by hand (the Django plugin types fields of the models it knows).
class UserPreferences(EmbeddedModel):  # type: ignore[misc]
    """How a user reads the product (`preferences`): Django's language codes and an
    IANA time zone."""

    language: models.CharField[str, str] = models.CharField(max_length=15, default="en", validators=[validate_language])
    timezone: models.CharField[str, str] = models.CharField(
        max_length=64, default="UTC", validators=[validate_timezone]
    )


class UserProfile(EmbeddedModel):  # type: ignore[misc]  # untyped base, as UserPreferences
    """What others see of a user (`profile`)."""

    display_name: models.CharField[str, str] = models.CharField(max_length=100, blank=True, default="")
    avatar_url: models.URLField[str, str] = models.URLField(
        max_length=500, blank=True, default="", validators=[validate_web_url]
    )
    bio: models.TextField[str, str] = models.TextField(max_length=1000, blank=True, default="")


class UserManager(DjangoUserManager["User"]):
    def get_queryset(self) -> TenantQuerySet:
        return TenantQuerySet(self.model, using=self._db)

    def for_company(self, company: object) -> TenantQuerySet:
        return self.get_queryset().for_company(company)

    def create_superuser(
        self, username: str, email: str | None = None, password: str | None = None, **extra: Any
    ) -> User:
        extra.setdefault("role", Role.SUPERADMIN)
        return super().create_superuser(username, email, password, **extra)


class User(AbstractUser):
    """A person: role in their company, optional guest access to other companies, presence,
    preferences and profile. `last_login` is set by sign-in and by JWT or API-key use (at most
    once a minute, tenants.services.principals.note_user_seen)."""

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
    # Ids at the sign-in providers ({"google_id": "…", "github_id": "…"}, tenants.services.oauth): a key is
    # absent, never null, until linked, so the sparse unique indexes skip users without it.
    oauth = models.JSONField(default=dict, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects: ClassVar[UserManager] = UserManager()

    REQUIRED_FIELDS = ["email"]

    class Meta:
        db_table = "users"
        ordering = ["username"]

    # Django adds the foreign key's column as `company_id`; the plugin cannot type it (the
    # primary keys are django-mongodb-backend's ObjectIdAutoField, which ships no types).
    company_id: ObjectId | None
    _password: str | None  # AbstractBaseUser's: the raw password set_password() was given, until saved

    def save(self, *args: Any, **kwargs: Any) -> None:
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
            from tenants.services.accounts import revoke_all_refresh

            revoke_all_refresh(self)

    @property
    def is_superadmin(self) -> bool:
        return self.is_active and self.role == Role.SUPERADMIN

    def company_ids(self) -> list[ObjectId]:
        """Companies this user may act for: their own, then their guest companies."""
        ids = [self.company_id] if self.company_id else []
        return ids + [c for c in (self.guest_companies or []) if c not in ids]

    def has_perm(self, perm: str, obj: object = None) -> bool:
        from tenants.admin.permissions import role_has_perm

        return self.is_active and role_has_perm(self.role, perm)

    def has_module_perms(self, app_label: str) -> bool:
        from tenants.admin.permissions import role_has_module

        return self.is_active and role_has_module(self.role, app_label)

"""The tenants app's models, one module per aggregate: companies, users, invitations, keys and
tokens, per-user settings. Re-exported here, so `from tenants.models import User` works."""

from .companies import Company, CompanyDailyUsage, Plan
from .invitations import Invitation
from .keys import ApiKey, RefreshToken
from .settings import NotificationPreferences, UserSettings
from .users import (
    User,
    UserManager,
    UserPreferences,
    UserProfile,
    validate_language,
    validate_timezone,
    validate_web_url,
)

__all__ = [
    "ApiKey",
    "Company",
    "CompanyDailyUsage",
    "Invitation",
    "NotificationPreferences",
    "Plan",
    "RefreshToken",
    "User",
    "UserManager",
    "UserPreferences",
    "UserProfile",
    "UserSettings",
    "validate_language",
    "validate_timezone",
    "validate_web_url",
    # The platform's events (tenants.events_models), re-exported with the rest.
]

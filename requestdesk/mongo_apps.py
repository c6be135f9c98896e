"""Django's contrib apps (and django-axes) with ObjectId primary keys (their migrations live in migrations_mongo/)."""

from axes.apps import AppConfig as AxesConfig
from django.contrib.admin.apps import AdminConfig
from django.contrib.auth.apps import AuthConfig
from django.contrib.contenttypes.apps import ContentTypesConfig

OBJECT_ID = "django_mongodb_backend.fields.ObjectIdAutoField"


class MongoAdminConfig(AdminConfig):
    default_auto_field = OBJECT_ID
    default_site = "requestdesk.admin_site.AdminSite"  # the dashboard, login message, "View site"


class MongoAuthConfig(AuthConfig):
    default_auto_field = OBJECT_ID


class MongoContentTypesConfig(ContentTypesConfig):
    default_auto_field = OBJECT_ID


# django-axes ships no types: its AppConfig is Any to mypy.
class MongoAxesConfig(AxesConfig):  # type: ignore[misc]
    """django-axes (sign-in lockout); its attempts live in the cache, its models are unused."""

    default_auto_field = OBJECT_ID

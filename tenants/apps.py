from django.apps import AppConfig


class TenantsConfig(AppConfig):
    default_auto_field = "django_mongodb_backend.fields.ObjectIdAutoField"
    name = "tenants"

    def ready(self) -> None:
        from requestdesk.api import schema  # noqa: F401  (registers OpenAPI field mappings)

        from . import checks  # noqa: F401  (registers the tenant index check)
        from .services import principals

        principals.connect_signals()  # cached principals forget changed keys, users, companies

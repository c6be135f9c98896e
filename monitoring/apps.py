from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    default_auto_field = "django_mongodb_backend.fields.ObjectIdAutoField"
    name = "monitoring"

    def ready(self) -> None:
        """Plug this app into the others: each part registers itself here."""

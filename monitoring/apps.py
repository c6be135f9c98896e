from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    default_auto_field = "django_mongodb_backend.fields.ObjectIdAutoField"
    name = "monitoring"

    def ready(self) -> None:
        """Plug this app into the others: each part registers itself here."""
        from scraping.signals import results_ingested

        from .services import alerts

        # Sentiment alerts: a finished scrape job queues the evaluation of its project's rules.
        results_ingested.connect(alerts.queue_project, dispatch_uid="monitoring.alerts")

from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    default_auto_field = "django_mongodb_backend.fields.ObjectIdAutoField"
    name = "monitoring"

    def ready(self) -> None:
        """Plug this app into the others: each part registers itself here."""
        from django.db.models.signals import post_save

        from content.services import components
        from tenants.models import Company

        from .services import insights, sentiment_report

        components.register(insights)
        post_save.connect(sentiment_report.company_created, sender=Company, dispatch_uid="monitoring-sentiment-report")

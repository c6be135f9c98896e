from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    default_auto_field = "django_mongodb_backend.fields.ObjectIdAutoField"
    name = "monitoring"

    def ready(self) -> None:
        """Plug this app into the others: each part registers itself here."""
        from knowledge.services import sources
        from scraping.signals import results_ingested

        from .services import knowledge_source

        sources.register(knowledge_source.ScrapingSource())
        results_ingested.connect(knowledge_source.queue_syncs, dispatch_uid="monitoring-knowledge-syncs")

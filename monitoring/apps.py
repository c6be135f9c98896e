from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    default_auto_field = "django_mongodb_backend.fields.ObjectIdAutoField"
    name = "monitoring"

    def ready(self) -> None:
        """Plug this app into the others: each part registers itself here."""
        from knowledge.services import sources
        from scraping.signals import results_ingested

        from .services import alerts, knowledge_source

        # Scraping into knowledge: a collection may take a project's results as its source,
        # and a finished scrape job queues the sync of every such collection.
        sources.register(knowledge_source.ScrapingSource())
        results_ingested.connect(knowledge_source.queue_syncs, dispatch_uid="monitoring-knowledge-syncs")
        # Sentiment alerts: a finished scrape job queues the evaluation of its project's rules.
        results_ingested.connect(alerts.queue_project, dispatch_uid="monitoring.alerts")

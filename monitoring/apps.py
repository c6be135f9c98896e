from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    default_auto_field = "django_mongodb_backend.fields.ObjectIdAutoField"
    name = "monitoring"

    def ready(self) -> None:
        """Plug this app into the others: each part registers itself here."""
        from django.db.models.signals import post_save

        from content.services import components
        from knowledge.services import sources
        from scraping.signals import results_ingested
        from tenants.models import Company

        from .services import alerts, insights, knowledge_source, sentiment_report

        # Scraping into knowledge: a collection may take a project's results as its source,
        # and a finished scrape job queues the sync of every such collection.
        sources.register(knowledge_source.ScrapingSource())
        results_ingested.connect(knowledge_source.queue_syncs, dispatch_uid="monitoring-knowledge-syncs")
        # Sentiment alerts: a finished scrape job queues the evaluation of its project's rules.
        results_ingested.connect(alerts.queue_project, dispatch_uid="monitoring.alerts")
        # Scraping into generation: the `insights` pipeline component, and every company's
        # reference pipeline "Sentiment report" (migration 0004 for those that existed then).
        components.register(insights)
        post_save.connect(sentiment_report.company_created, sender=Company, dispatch_uid="monitoring-sentiment-report")

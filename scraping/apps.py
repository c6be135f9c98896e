from django.apps import AppConfig
from django.db.models.signals import post_delete


class ScrapingConfig(AppConfig):
    default_auto_field = "django_mongodb_backend.fields.ObjectIdAutoField"
    name = "scraping"

    def ready(self):
        from .models import Project
        from .selectors import search
        from .services.projects import remove_schedule_of_deleted_project
        from .signals import postings_changed, results_ingested

        post_delete.connect(
            remove_schedule_of_deleted_project,
            sender=Project,
            dispatch_uid="scraping.remove_schedule_of_deleted_project",
        )
        # The search's empty posting tiers of a company are asked again once its results change here.
        postings_changed.connect(search.forget, dispatch_uid="scraping.search.forget")
        results_ingested.connect(search.forget, dispatch_uid="scraping.search.forget-ingested")

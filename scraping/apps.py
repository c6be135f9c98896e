from django.apps import AppConfig
from django.db.models.signals import post_delete, pre_delete


class ScrapingConfig(AppConfig):
    default_auto_field = "django_mongodb_backend.fields.ObjectIdAutoField"
    name = "scraping"

    def ready(self):
        from .models import Project, Target
        from .selectors import search
        from .services import rollups, search_index
        from .services.projects import remove_schedule_of_deleted_project
        from .signals import postings_changed, results_ingested

        post_delete.connect(
            remove_schedule_of_deleted_project,
            sender=Project,
            dispatch_uid="scraping.remove_schedule_of_deleted_project",
        )
        # A deleted target's results leave the company-wide rollups (its own rollups are deleted with it).
        pre_delete.connect(rollups.drop_target, sender=Target, dispatch_uid="scraping.rollups.drop_target")
        # Its results leave with it: the company's search index is stale until rebuilt.
        pre_delete.connect(
            search_index.invalidate_target, sender=Target, dispatch_uid="scraping.search_index.invalidate_target"
        )
        # The search's cached pages and empty posting tiers of a company are walked again once its
        # results change: stored, deleted, or gone with their project or target.
        postings_changed.connect(search.forget, dispatch_uid="scraping.search.forget")
        results_ingested.connect(search.forget, dispatch_uid="scraping.search.forget-ingested")
        post_delete.connect(search.forget_deleted, sender=Project, dispatch_uid="scraping.search.forget-project")
        post_delete.connect(search.forget_deleted, sender=Target, dispatch_uid="scraping.search.forget-target")

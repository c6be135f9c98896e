from django.apps import AppConfig
from django.db.models.signals import post_delete


class ScrapingConfig(AppConfig):
    default_auto_field = "django_mongodb_backend.fields.ObjectIdAutoField"
    name = "scraping"

    def ready(self):
        from .models import Project
        from .services.projects import remove_schedule_of_deleted_project

        post_delete.connect(
            remove_schedule_of_deleted_project,
            sender=Project,
            dispatch_uid="scraping.remove_schedule_of_deleted_project",
        )

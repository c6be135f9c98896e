from django.apps import AppConfig


class ContentConfig(AppConfig):
    default_auto_field = "django_mongodb_backend.fields.ObjectIdAutoField"
    name = "content"

    def ready(self):
        from .services import workers

        workers.connect()  # the worker registry's Celery signal handlers

from django.apps import AppConfig


class EventsConfig(AppConfig):
    """The platform's events: audit log, notifications and their email, webhooks and their
    deliveries (one event catalogue), and the schedules of every app's recurring work."""

    default_auto_field = "django_mongodb_backend.fields.ObjectIdAutoField"
    name = "events"

from django.apps import AppConfig


class PluginsConfig(AppConfig):
    """The plugin mechanism itself: the registry, the settings merge and the system check that
    every plugin collection follows the naming and indexing rules."""

    default_auto_field = "django_mongodb_backend.fields.ObjectIdAutoField"
    name = "plugins"

    def ready(self):
        from . import checks  # noqa: F401  (registers the system check)

from django.apps import AppConfig


class KnowledgeConfig(AppConfig):
    default_auto_field = "django_mongodb_backend.fields.ObjectIdAutoField"
    name = "knowledge"

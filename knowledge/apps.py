from django.apps import AppConfig
from django.db.models.signals import post_delete


def _remove_attachment_files(sender, instance, **kwargs):
    """A deleted conversation (by the API, the admin or its company's deletion) takes its
    attachment files with it."""
    from .services import attachments

    attachments.remove_conversation_files(instance)


class KnowledgeConfig(AppConfig):
    default_auto_field = "django_mongodb_backend.fields.ObjectIdAutoField"
    name = "knowledge"

    def ready(self):
        from .services import sources
        from .services.connectors.sources import ShopifySource, WordPressSource
        from .services.sync import remove_schedule_of_deleted_collection

        sources.register(WordPressSource())
        sources.register(ShopifySource())
        post_delete.connect(
            _remove_attachment_files,
            sender=self.get_model("Conversation"),
            dispatch_uid="knowledge-conversation-attachment-files",
        )
        post_delete.connect(
            remove_schedule_of_deleted_collection,
            sender=self.get_model("KnowledgeCollection"),
            dispatch_uid="knowledge-collection-schedule",
        )

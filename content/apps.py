from django.apps import AppConfig


class ContentConfig(AppConfig):
    default_auto_field = "django_mongodb_backend.fields.ObjectIdAutoField"
    name = "content"

    def ready(self):
        from django.db.models.signals import post_delete

        from .services import workers

        workers.connect()  # the worker registry's Celery signal handlers
        post_delete.connect(_drop_pipeline_stats, sender=self.get_model("Pipeline"), dispatch_uid="pipeline-stats")


def _drop_pipeline_stats(sender, instance, **kwargs):
    """A pipeline removed for good (the soft delete's purge) takes its run statistics along."""
    from .models import PipelineStats

    PipelineStats.objects.filter(company=instance.company_id, pipeline=instance.pk).delete()

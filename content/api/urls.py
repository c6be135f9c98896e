"""Routes of the content API under /api/v1/content/: `register` puts the viewsets on the one
router, `urlpatterns` adds the workers list."""

from .views import (
    BatchViewSet,
    CampaignViewSet,
    ComponentViewSet,
    ContextViewSet,
    PipelineViewSet,
    TemplateViewSet,
    TicketViewSet,
    WorkerListView,
)


def register(router):
    router.register("content/tickets", TicketViewSet, basename="content-ticket")
    router.register("content/campaigns", CampaignViewSet, basename="content-campaign")
    router.register("content/templates", TemplateViewSet, basename="content-template")
    router.register("content/components", ComponentViewSet, basename="content-component")
    router.register("content/pipelines", PipelineViewSet, basename="content-pipeline")
    router.register("content/contexts", ContextViewSet, basename="content-context")
    router.register("content/batches", BatchViewSet, basename="content-batch")


def urlpatterns():
    from django.urls import path

    return [path("content/workers/", WorkerListView.as_view(), name="content-workers")]

"""The scraping routes under /api/v1/scraping/, on the one router (requestdesk.api.urls)."""

from .views import (
    PresetViewSet,
    ProjectViewSet,
    ResultViewSet,
    ScheduleViewSet,
    ScrapeJobViewSet,
    TargetViewSet,
)


def register(router):
    router.register("scraping/presets", PresetViewSet, basename="scraping-preset")
    router.register("scraping/projects", ProjectViewSet, basename="scraping-project")
    router.register("scraping/targets", TargetViewSet, basename="scraping-target")
    router.register("scraping/schedules", ScheduleViewSet, basename="scraping-schedule")
    router.register("scraping/jobs", ScrapeJobViewSet, basename="scraping-job")
    router.register("scraping/results", ResultViewSet, basename="scraping-result")

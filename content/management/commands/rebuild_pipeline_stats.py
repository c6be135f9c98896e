"""Recount every pipeline's daily run statistics from the stored finished contexts
(idempotent): after a worker was lost between a run's final write and its count
(content.services.stats)."""

from django.core.management.base import BaseCommand

from content.services import stats


class Command(BaseCommand):
    help = __doc__.splitlines()[0]

    def handle(self, *args, **options):
        written = stats.rebuild()
        self.stdout.write(f"Pipeline statistics rebuilt: {written} pipeline-days.")

"""Recount the daily sentiment rollups from the stored results (idempotent): after a worker
was lost between a bulk insert and its rollup update (scraping.services.rollups)."""

from django.core.management.base import BaseCommand

from scraping.services import rollups


class Command(BaseCommand):
    help = __doc__.splitlines()[0]

    def handle(self, *args, **options):
        read = rollups.rebuild()
        self.stdout.write(f"Rollups rebuilt from {read} results.")

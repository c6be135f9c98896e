"""Enqueue the work of every due schedule now (what beat's tick does), printing what ran."""

import json

from django.core.management.base import BaseCommand, CommandError
from kombu.exceptions import OperationalError

from events.services import scheduling


class Command(BaseCommand):
    help = "Claim due schedules and enqueue their tasks (exactly once across dispatchers)."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="print the ids of the schedules run as JSON")

    def handle(self, **options):
        try:
            ran = scheduling.dispatch_due()
        except OperationalError as exc:
            raise CommandError(f"the Celery broker does not answer: {exc}")
        if options["json"]:
            self.stdout.write(json.dumps([str(s.pk) for s in ran]))
        else:
            self.stdout.write(f"dispatched {len(ran)} schedule(s)")

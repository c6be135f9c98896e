"""manage.py process_contexts [--limit N] [--json]: claim and run due contexts now, by priority
(what the process_pending beat task does), printing the ids it ran."""

import json

from django.core.management.base import BaseCommand

from content.services import runner


class Command(BaseCommand):
    help = "Claim and run pending contexts by priority until none is due (or --limit ran)."

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=None)
        parser.add_argument("--json", action="store_true", help="print the ids as one JSON list")

    def handle(self, limit, **options):
        done = runner.process_pending(limit=limit)
        self.stdout.write(json.dumps(done) if options["json"] else f"processed {len(done)} context(s)")

"""Fill the database with demo data: companies, users of every role, and each app's demo
data. Safe to run again: existing demo objects are kept. Prints the test credentials."""

from django.core.management.base import BaseCommand, CommandError

from requestdesk.progress import progress_printer
from tenants import seed as tenants_seed


class Command(BaseCommand):
    help = "Create demo companies, users of every role and demo data; print the credentials."

    def add_arguments(self, parser):
        parser.add_argument("--users", type=int, default=5, help="extra users per company (default 5)")

    def handle(self, users, **options):
        if users < 0:
            raise CommandError("--users must be 0 or more")
        progress = progress_printer(self.stdout)
        credentials = tenants_seed.seed(users_per_company=users, progress=progress)
        self.stdout.write(f"\nTest credentials (password for all: {tenants_seed.DEMO_PASSWORD}):")
        for row in credentials:
            key = f"   API key: {row['api_key']}" if row.get("api_key") else ""
            self.stdout.write(f"  {row['company']:<10} {row['role']:<16} {row['username']}{key}")

"""Fill the database with demo data: companies, users of every role, and each app's demo
data (scraping projects, jobs and results; knowledge collections, agents and conversations;
content pipelines, batches, campaigns and tickets), one progress line per app and company.
Safe to run again: existing demo objects are kept. Prints the test credentials."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from content import seed as content_seed
from knowledge import seed as knowledge_seed
from requestdesk.progress import progress_printer
from scraping import seed as scraping_seed
from tenants import seed as tenants_seed
from tenants.models import Company


class Command(BaseCommand):
    help = "Create demo companies, users of every role and demo data; print the credentials."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--users", type=int, default=5, help="extra users per company (default 5)")
        parser.add_argument("--projects", type=int, default=2, help="scraping projects per company (default 2)")
        parser.add_argument("--results", type=int, default=50, help="scraping results per project (default 50)")

    def handle(self, *args: Any, **options: Any) -> None:
        users, projects, results = options["users"], options.get("projects", 2), options.get("results", 50)
        if users < 0:
            raise CommandError("--users must be 0 or more")
        if projects < 0 or results < 0:
            raise CommandError("--projects and --results must be 0 or more")
        progress = progress_printer(self.stdout)
        credentials = tenants_seed.seed(users_per_company=users, progress=progress)
        companies = list(Company.objects.filter(name__in=[name for name, _ in tenants_seed.COMPANIES]))
        scraping_seed.seed(
            companies=companies, projects_per_company=projects, results_per_project=results, progress=progress
        )
        knowledge_seed.seed(companies=companies, progress=progress)
        content_seed.seed(companies=companies, progress=progress)
        self.stdout.write(f"\nTest credentials (password for all: {tenants_seed.DEMO_PASSWORD}):")
        for row in credentials:
            key = f"   API key: {row['api_key']}" if row.get("api_key") else ""
            self.stdout.write(f"  {row['company']:<10} {row['role']:<16} {row['username']}{key}")

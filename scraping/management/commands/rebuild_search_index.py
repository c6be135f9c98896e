"""Build the results search index again from the stored results (idempotent): every
company's, or one's (--company ID). After a worker was lost between storing results and
indexing them (scraping.services.search_index); the upkeep rebuilds stale indexes by itself."""

from bson import ObjectId
from django.core.management.base import BaseCommand, CommandError

from scraping.models import SearchIndex
from scraping.services import search_index
from tenants.models import Company


class Command(BaseCommand):
    help = __doc__.splitlines()[0]

    def add_arguments(self, parser):
        parser.add_argument("--company", help="the id of the one company to rebuild")

    def handle(self, *args, company=None, **options):
        if company is not None:
            if not ObjectId.is_valid(company) or not Company.objects.filter(pk=ObjectId(company)).exists():
                raise CommandError(f"No company with id {company!r}.")
            companies = [ObjectId(company)]
        else:
            companies = list(Company.objects.values_list("pk", flat=True))
        for company_id in companies:
            search_index.ensure(company_id)
            read = search_index.rebuild(company_id)
            if read is None:
                self.stdout.write(f"Company {company_id}: skipped, another process is rewriting its index.")
            else:
                self.stdout.write(f"Company {company_id}: index rebuilt from {read} results.")
        self.stdout.write(f"{len(companies)} companies, {SearchIndex.objects.count()} indexes.")

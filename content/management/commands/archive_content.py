"""manage.py archive_content [--days N] [--dir PATH] [--keep] [--no-archive]: data retention now."""

from django.core.management.base import BaseCommand, CommandError

from content.services import retention


class Command(BaseCommand):
    help = (
        "Archive finished contexts and closed batches older than --days (default "
        "CONTENT_RETENTION_DAYS) to a gzip'd JSON-lines file, then delete them."
    )

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=None)
        parser.add_argument(
            "--dir",
            dest="archive_dir",
            default=None,
            help="a local directory instead of the archive storage (STORAGES['archives'])",
        )
        parser.add_argument("--keep", action="store_true", help="write the archive, delete nothing")
        parser.add_argument("--no-archive", action="store_true", help="delete without writing an archive")

    def handle(self, days, archive_dir, keep, no_archive, **options):
        if keep and no_archive:
            raise CommandError("--keep and --no-archive together would do nothing")
        try:
            result = retention.archive_old(
                days=days, archive_dir=archive_dir, remove=not keep, archive=False if no_archive else None
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        counts = result.counts
        action = "archived" if result.where else "found"
        self.stdout.write(
            f"{action} {counts['contexts']} context(s) and {counts['batches']} batch(es)"
            + (f" to {result.where}" if result.where else "")
            + ("; removed from the database" if result.removed else "; kept in the database")
        )

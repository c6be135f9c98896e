"""Dump the whole database into one verified archive; optionally prune old archives."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from pymongo.errors import PyMongoError

from requestdesk.backup import BackupError, create_backup, prune_backups
from requestdesk.progress import progress_printer


class Command(BaseCommand):
    help = "Back up every collection into DIR/requestdesk-<UTC stamp>.tar.gz (BSON + indexes + manifest)."

    def add_arguments(self, parser):
        parser.add_argument("--output-dir", type=Path, default=None,
                            help="where archives go (default: DATA_DIR/backups)")
        parser.add_argument("--retention", type=float, metavar="DAYS", default=None,
                            help="after a successful backup, delete archives older than DAYS days")

    def handle(self, output_dir, retention, **options):
        if retention is not None and retention < 0:
            raise CommandError("--retention must be 0 or more days")
        output_dir = output_dir or settings.DATA_DIR / "backups"
        try:
            connection.ensure_connection()
            result = create_backup(db=connection.database, output_dir=output_dir,
                                   progress=progress_printer(self.stdout))
        except (BackupError, OSError, PyMongoError) as exc:
            raise CommandError(f"backup failed: {exc}")
        self.stdout.write(f"archive: {result.path}")
        self.stdout.write(f"{len(result.collections)} collections, {result.documents} documents")
        if retention is not None:
            pruned = prune_backups(output_dir=output_dir, retention_days=retention, keep=result.path)
            self.stdout.write(f"pruned {len(pruned)} archive(s) older than {retention:g} days")

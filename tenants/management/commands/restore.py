"""Load an archive written by `manage.py backup`, after verifying all of it against its manifest."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from pymongo.errors import PyMongoError

from requestdesk.backup import BackupError, restore_backup
from requestdesk.progress import progress_printer


class Command(BaseCommand):
    help = "Restore a backup archive; the database is untouched unless the whole archive verifies."

    def add_arguments(self, parser):
        parser.add_argument("archive", type=Path)
        parser.add_argument("--drop", action="store_true",
                            help="drop and replace the archive's collections (else refuse non-empty ones)")

    def handle(self, archive, drop, **options):
        try:
            connection.ensure_connection()
            result = restore_backup(db=connection.database, path=archive, drop=drop,
                                    progress=progress_printer(self.stdout))
        except BackupError as exc:
            raise CommandError(str(exc))
        except PyMongoError as exc:
            raise CommandError(f"restore failed, database error: {exc}")
        self.stdout.write(f"restored {len(result.collections)} collections, {result.documents} documents "
                          f"from {result.path}; counts match the manifest")

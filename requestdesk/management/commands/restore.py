"""Load an archive written by `manage.py backup`, after verifying all of it against its manifest."""

from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS
from pymongo.errors import PyMongoError

from requestdesk import archive_storage
from requestdesk.backup import BackupError, restore_backup, stored_backup
from requestdesk.db.base import connection_for
from requestdesk.progress import progress_printer


class Command(BaseCommand):
    help = (
        "Restore a backup archive (a local file, or a name in the archive storage; --latest: the newest "
        "stored); the database is untouched unless the whole archive verifies."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "archive", nargs="?", default=None, help="a local .tar.gz, or the name of a backup in the archive storage"
        )
        parser.add_argument("--latest", action="store_true", help="the newest backup in the archive storage")
        parser.add_argument(
            "--drop",
            action="store_true",
            help="drop and replace the archive's collections (else refuse non-empty ones)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        archive: str | None = options["archive"]
        latest, drop = options["latest"], options["drop"]
        if (archive is None) == (not latest):
            raise CommandError("give an ARCHIVE or --latest (not both)")
        try:
            with self._local(archive) as path:
                connection = connection_for(DEFAULT_DB_ALIAS)
                connection.ensure_connection()
                result = restore_backup(
                    db=connection.database, path=path, drop=drop, progress=progress_printer(self.stdout)
                )
        except BackupError as exc:
            raise CommandError(str(exc))
        except PyMongoError as exc:
            raise CommandError(f"restore failed, database error: {exc}")
        except OSError as exc:
            raise CommandError(f"restore failed, the archive storage: {exc}")
        self.stdout.write(
            f"restored {len(result.collections)} collections, {result.documents} documents "
            f"from {archive or 'the latest backup'}; counts match the manifest"
        )

    @staticmethod
    def _local(archive: str | None) -> AbstractContextManager[Path]:
        """A local path to read: the file itself, or a download of the stored backup."""
        if archive is not None and Path(archive).is_file():
            return nullcontext(Path(archive))
        return archive_storage.downloaded(stored_backup(archive))

"""Dump the whole database into one verified archive, kept in the archive storage; prune old ones."""

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS
from pymongo.errors import PyMongoError

from requestdesk import archive_storage
from requestdesk.backup import BackupError, create_backup, prune_backups, prune_stored_backups, store_backup
from requestdesk.db.base import connection_for
from requestdesk.progress import progress_printer


class Command(BaseCommand):
    help = (
        "Back up every collection into requestdesk-<UTC stamp>.tar.gz (BSON + indexes + manifest) in the "
        "archive storage (STORAGES['archives']: ARCHIVE_ROOT or ARCHIVE_S3_BUCKET), or in --output-dir."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--output-dir", type=Path, default=None, help="a local directory instead of the archive storage"
        )
        parser.add_argument(
            "--retention",
            type=float,
            metavar="DAYS",
            default=None,
            help="after a successful backup, delete archives older than DAYS days (default BACKUP_RETENTION_DAYS, 7)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        output_dir: Path | None = options["output_dir"]
        retention: float = settings.BACKUP_RETENTION_DAYS if options["retention"] is None else options["retention"]
        if retention < 0:
            raise CommandError("--retention must be 0 or more days")
        progress = progress_printer(self.stdout)
        try:
            connection = connection_for(DEFAULT_DB_ALIAS)
            connection.ensure_connection()
            if output_dir is None:
                result, stored = store_backup(db=connection.database, progress=progress)
                where: str | Path = archive_storage.describe(stored)
            else:
                result = create_backup(db=connection.database, output_dir=output_dir, progress=progress)
                where = result.path
        except (BackupError, OSError, PyMongoError) as exc:
            raise CommandError(f"backup failed: {exc}")
        self.stdout.write(f"archive: {where}")
        self.stdout.write(f"{len(result.collections)} collections, {result.documents} documents")
        try:
            if output_dir is None:
                pruned: list[str] | list[Path] = prune_stored_backups(retention_days=retention, keep=stored)
            else:
                pruned = prune_backups(output_dir=output_dir, retention_days=retention, keep=result.path)
        except OSError as exc:
            raise CommandError(f"the backup is stored, but pruning older ones failed: {exc}")
        self.stdout.write(f"pruned {len(pruned)} archive(s) older than {retention:g} days")

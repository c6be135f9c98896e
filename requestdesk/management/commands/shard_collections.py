"""Shard the large collections on a sharded cluster (connected to its mongos)."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS
from pymongo.database import Database
from pymongo.errors import PyMongoError

from requestdesk.db import sharding
from requestdesk.db.base import connection_for
from requestdesk.db.documents import Document


class Command(BaseCommand):
    help = (
        "Through a mongos: enableSharding on the database, then shardCollection for each large collection "
        "by its key (company first; see requestdesk/db/sharding.py). Collections already sharded are "
        "skipped, so it can run after every deploy."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="print the plan and change nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        dry_run: bool = options["dry_run"]
        try:
            shards = sharding.plan()
            connection = connection_for(DEFAULT_DB_ALIAS)
            connection.ensure_connection()
            db: Database[Document] = connection.database
            if dry_run:
                return self._print_plan(db, shards)
            sharding.apply(db, shards, report=self.stdout.write)
        except (sharding.ShardingError, PyMongoError) as exc:
            raise CommandError(str(exc).splitlines()[0])

    def _print_plan(self, db: Database[Document], shards: list[sharding.Shard]) -> None:
        self.stdout.write(f"Shard keys for database {db.name!r}:")
        for shard in shards:
            self.stdout.write(f"  {shard.describe()}")
        where = "a mongos" if sharding.is_mongos(db.client) else "not a mongos: a real run would refuse"
        self.stdout.write(f"Dry run: nothing changed (the server is {where}).")

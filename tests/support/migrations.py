"""Migrations run as an operator runs them, on databases of their own beside the test database
(each dropped after its test).

A migration test starts from a database at the state it needs:

- `fresh_db`: an empty database;
- `migrated_db`: a copy of a database that `manage.py migrate` took from empty to the last
  migration (the template's untouched copy, tests/db_template.py; on a server the tests did
  not start, one migrated here once per process);
- `database_at(app, migration)`: a copy of the migrated database taken back to `app`'s
  `migration`, built once per process for each state and copied for each test (built forward
  from an earlier state of the app that this process built, when that leaves the same
  migrations applied and runs fewer).

`Database.migrate()` runs Django's `migrate` command in this process, with the default
connection pointed at the test's database for the call: the same command `manage.py migrate`
runs (data migrations that use the ORM read and write that database), without starting Django
again for every call (4 s each). `Database.call()` runs any other command the same way (a
`seed_demo`, a `shell -c`), and `Database.using()` points the ORM at the database for a block.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass

import pymongo
import pytest
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import DEFAULT_DB_ALIAS, connections
from pymongo.database import Database as MongoDatabase

from tests import db_template, services


@contextmanager
def _default_on(db_name: str) -> Iterator[None]:
    """The default connection on database `db_name` for the block (the content type cache,
    which holds the ids of one database, emptied on the way in and out)."""
    connection = connections[DEFAULT_DB_ALIAS]
    connection.ensure_connection()
    before = connection.settings_dict["NAME"], connection.database
    connection.settings_dict["NAME"], connection.database = db_name, connection.connection[db_name]
    ContentType.objects.clear_cache()
    try:
        yield
    finally:
        connection.settings_dict["NAME"], connection.database = before
        ContentType.objects.clear_cache()


def _migrate(blocker, db_name: str, *args: str) -> str:
    out = io.StringIO()
    with blocker.unblock(), _default_on(db_name):
        call_command("migrate", *args, interactive=False, stdout=out)
    return out.getvalue()


@dataclass
class Database:
    """A migration test's database: its name and a pymongo handle on it."""

    name: str
    db: MongoDatabase
    _blocker: object

    def migrate(self, *args: str) -> str:
        """`migrate *args` on this database (in this process); its output."""
        return _migrate(self._blocker, self.name, *args)

    def call(self, command: str, *args: str) -> str:
        """`manage.py command *args` on this database, in this process; what it printed."""
        out = io.StringIO()
        with self.using(), redirect_stdout(out):  # `shell -c` prints to sys.stdout
            call_command(command, *args, stdout=out)
        return out.getvalue()

    @contextmanager
    def using(self) -> Iterator[None]:
        """The ORM (the default connection) on this database for the block."""
        with self._blocker.unblock(), _default_on(self.name):
            yield


class _States:
    """The start states of this process: database names by (app, migration), `None` for the
    migrated database; the ones built here are dropped at the end of the session."""

    def __init__(self, client: pymongo.MongoClient, blocker):
        self.client, self.blocker = client, blocker
        self.names: dict[tuple[str, str] | None, str] = {}
        self.built: list[str] = []

    def _new(self, prefix: str) -> str:
        name = f"{prefix}_{uuid.uuid4().hex[:8]}"
        self.built.append(name)
        return name

    def migrated(self) -> str:
        if None not in self.names:
            if services.MIGRATED and db_template.MIGRATED_NAME in self.client.list_database_names():
                self.names[None] = db_template.MIGRATED_NAME
            else:
                name = self._new("migrated")
                _migrate(self.blocker, name)
                self.names[None] = name
        return self.names[None]

    def at(self, app: str, migration: str) -> str:
        if (app, migration) not in self.names:
            name = self._new(f"at_{app}_{migration}")
            db_template.copy_database(self.client, self._start_for(app, migration), name)
            _migrate(self.blocker, name, app, migration)
            self.names[(app, migration)] = name
        return self.names[(app, migration)]

    def _start_for(self, app: str, migration: str) -> str:
        """Where `at(app, migration)` starts: the state of this process at the nearest earlier
        migration of `app` when migrating forward from it leaves exactly the migrations that
        taking the migrated database back would (and runs fewer), else the migrated database.
        Taking the migrated database back to scraping 0007 took 3.5 s on an idle machine,
        0003 -> 0007 forward 1.7 s."""
        from django.db.migrations.loader import MigrationLoader

        loader = MigrationLoader(None, ignore_no_migrations=True)
        graph, everything = loader.graph, set(loader.graph.nodes)

        def key(name: str) -> tuple[str, str]:
            return app, loader.get_migration_by_prefix(app, name).name

        def left_at(at: tuple[str, str]) -> set[tuple[str, str]]:  # what `migrate app name` leaves
            later = [child.key for child in graph.node_map[at].children if child.key[0] == app]
            return everything - {node for child in later for node in graph.backwards_plan(child)}

        target = key(migration)
        needed, wanted = set(graph.forwards_plan(target)), left_at(target)
        best, fewest = self.migrated(), len(everything - wanted)  # unapplied from the migrated one
        for built, name in self.names.items():
            if built is None or built[0] != app or key(built[1]) not in needed - {target}:
                continue
            left = left_at(key(built[1]))
            if left | needed == wanted and len(wanted - left) < fewest:
                best, fewest = name, len(wanted - left)
        return best


@pytest.fixture(scope="session")
def migration_states(django_db_blocker):
    client = pymongo.MongoClient(settings.DATABASES["default"]["HOST"])
    states = _States(client, django_db_blocker)
    yield states
    for name in states.built:
        client.drop_database(name)
    client.close()


@pytest.fixture
def migration_databases(migration_states, django_db_blocker):
    """A factory of databases for one test, copied from `source` (empty without one); all
    dropped after the test."""
    client, made = migration_states.client, []

    def make(prefix: str, source: str | None = None) -> Database:
        name = f"{prefix}_{uuid.uuid4().hex[:8]}"
        made.append(name)
        if source:
            db_template.copy_database(client, source, name)
        return Database(name, client[name], django_db_blocker)

    yield make
    for name in made:
        client.drop_database(name)


@pytest.fixture
def fresh_db(migration_databases) -> Database:
    """An empty database."""
    return migration_databases("fresh")


@pytest.fixture
def migrated_db(migration_databases, migration_states) -> Database:
    """A copy of a database `migrate` took from empty to the last migration."""
    return migration_databases("migrated", migration_states.migrated())


@pytest.fixture
def database_at(migration_databases, migration_states):
    """`database_at(app, migration)`: a copy of the migrated database taken back to `app`'s
    `migration` (what `migrate app migration` leaves)."""

    def at(app: str, migration: str) -> Database:
        return migration_databases("old", migration_states.at(app, migration))

    return at

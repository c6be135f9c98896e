"""After each test, empty the collections this process wrote to, not every collection.

pytest-django's `db` runs each test as a TransactionTestCase when the backend has no
transactions, and its teardown is Django's `flush`: for every collection of every app, an
options read and a `delete_many`, then the post_migrate signal re-creates content types and
permissions. On the embedded server that was 1.5-4 s per test, most of the suite's time.

Here a pymongo command listener records the collections written in this process (inserts,
updates, deletes, findAndModify, `$out`/`$merge`), and the teardown empties just those: what
the test wrote is gone, the rest was never touched. Django's own flush still runs when this
process cannot know what was written: a child process ran during the test or is still
running (a Celery worker, gunicorn, `manage.py` in a subprocess), or content types or
permissions were written (the flush re-creates them). Writes to other databases (the
migration tests' own, tests/support/migrations.py) do not count, nor do children started
under `elsewhere()`, which never touch the test database.

Rows a module- or class-scoped fixture writes for tests that only read them are written
inside `kept()` (`shared()` is such a fixture's body): the teardowns leave their collections alone until `release()`, and a test
that writes to one of them fails at its teardown (it would have emptied the shared rows).

`register()` must run before the first MongoClient is made (the listener is global);
`install()` replaces the teardown.
"""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from pymongo import monitoring

T = TypeVar("T")

_WRITES = {"insert", "update", "delete", "findAndModify", "findandmodify"}
_DJANGO_OWN = {"django_content_type", "auth_permission"}
# What ctypes.util.find_library runs to look for a library (GDAL, on the first import that
# wants it), and platform.processor()'s `uname -p` (the openai client's first request, for its
# X-Stainless headers): never a database writer.
_PROBES = {"ldconfig", "gcc", "cc", "ld", "objdump", "uname"}


class _Written(monitoring.CommandListener):
    def __init__(self):
        self._lock = threading.Lock()
        self._seen: set[tuple[str, str]] = set()

    def started(self, event):
        name, command = event.command_name, event.command
        if name in _WRITES:
            collection = command.get(name)
        elif name == "aggregate":
            last = (command.get("pipeline") or [{}])[-1]
            out = last.get("$out") or last.get("$merge")
            collection = out if isinstance(out, str) else (out or {}).get("coll") or (out or {}).get("into")
        else:
            return
        if isinstance(collection, str):
            with self._lock:
                self._seen.add((event.database_name, collection))

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass

    def take(self) -> set[tuple[str, str]]:
        with self._lock:
            seen, self._seen = self._seen, set()
        return seen

    def put_back(self, seen: set[tuple[str, str]]) -> None:
        with self._lock:
            self._seen |= seen


_written = _Written()
_children: list[subprocess.Popen] = []
_started = 0  # children started since the last teardown
_elsewhere = threading.local()  # .on: children started now work on another database
_kept: set[tuple[str, str]] = set()  # collections holding rows that tests share (`kept`)


def register() -> None:
    """Listen to every MongoClient made from now on, and note every child process started."""
    global _started
    monitoring.register(_written)
    original = subprocess.Popen.__init__

    def tracking(self, *args, **kwargs):
        global _started
        original(self, *args, **kwargs)
        if (
            getattr(_elsewhere, "on", False)
            or os.path.basename(str(self.args[0] if isinstance(self.args, list) else self.args)) in _PROBES
        ):
            return
        _children.append(self)
        _started += 1

    subprocess.Popen.__init__ = tracking


@contextmanager
def elsewhere() -> Iterator[None]:
    """Children started inside this block never write to the test database of their own
    accord (they work on a database of their own, or they are the test database's server):
    they need no flush after the test."""
    _elsewhere.on = True
    try:
        yield
    finally:
        _elsewhere.on = False


@contextmanager
def kept() -> Iterator[set[tuple[str, str]]]:
    """The writes inside this block (a module- or class-scoped fixture's rows) are no test's:
    no teardown empties their collections until `release()` of the set this yields. A child
    process of an earlier test (which may have written anywhere) is waited for and the flush
    a teardown would have made is made first, so no later teardown needs it."""
    if _children_ran():
        _flush_after_children()
    earlier = _written.take()
    collections: set[tuple[str, str]] = set()
    try:
        yield collections
    finally:
        collections |= _written.take()
        _kept.update(collections)
        _written.put_back(earlier)


def shared(blocker: Any, build: Callable[[], T]) -> Iterator[T]:
    """The body of a class- or module-scoped fixture whose rows its tests only read:
    `yield from flushing.shared(django_db_blocker, build)` writes them with `build()` inside
    `kept()`, gives the tests what it returns, and empties their collections (`release()`)
    when the fixture ends."""
    with blocker.unblock(), kept() as collections:
        value = build()
    yield value
    with blocker.unblock():
        release(collections)


def release(collections: set[tuple[str, str]]) -> None:
    """Empty the collections of `kept()` rows (at the end of the fixture that wrote them)."""
    from django.db import connections

    _kept.difference_update(collections)
    for alias in connections:
        database = connections[alias].database
        for name, collection in sorted(collections):
            if name == database.name:
                database[collection].delete_many({})
    # These deletes are no test's writes: left noted, they would count as the next test's, and
    # a kept() made right after this (the next class's) would see its test write its rows.
    _written.put_back(_written.take() - collections)


def _flush_after_children(timeout: float = 30) -> None:
    from django.core.management import call_command
    from django.db import connections

    for child in _children:
        try:
            child.wait(timeout)
        except subprocess.TimeoutExpired:
            pass  # still running: the next teardown flushes again, and says so if rows are kept
    for alias in connections:
        call_command("flush", verbosity=0, interactive=False, database=alias)
    _written.take()


def _children_ran() -> bool:
    global _started
    ran, _started = _started > 0, 0
    _children[:] = [child for child in _children if child.poll() is None]
    return ran or bool(_children)


def forget() -> None:
    """Forget the writes so far (the database's own setup, which no test made)."""
    _written.take()


def install() -> None:
    from django.db import connections
    from django.test import TransactionTestCase

    django_teardown = TransactionTestCase._fixture_teardown

    def teardown(self):
        aliases = self._databases_names(include_mirrors=False)
        names = {connections[alias].database.name for alias in aliases}
        written = {(name, collection) for name, collection in _written.take() if name in names}
        if (
            _children_ran()
            or self.available_apps is not None
            or self.serialized_rollback
            or any(collection in _DJANGO_OWN for _, collection in written)
        ):
            django_teardown(self)
            _written.take()  # the flush's own writes
            assert not _kept, (
                "a flush of every collection emptied the rows the tests around this one share "
                f"(children: {[child.args for child in _children]}, Django's own: {sorted(written)})"
            )
            return
        for alias in aliases:
            database = connections[alias].database
            for collection in sorted(c for name, c in written if name == database.name and not c.startswith("system.")):
                database[collection].delete_many({})
        _written.take()
        shared = sorted(collection for _, collection in written & _kept)
        assert not shared, f"this test wrote to collections whose rows the tests around it share: {shared}"

    TransactionTestCase._fixture_teardown = teardown

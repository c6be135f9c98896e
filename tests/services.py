"""pytest plugin (loaded with -p, before Django reads its settings): starts a throwaway
SecantusDB (on a copy of the migrated template of tests/db_template.py) and a private redis-server on free ports, unless MONGODB_URI or
TEST_REDIS_URL name servers to use, and exports their addresses so settings and any child
process (Celery workers, gunicorn) see the same servers.

Under pytest-xdist each worker starts servers of its own, so workers never share a database,
a Celery queue or a cache; the controller, which runs no test, starts none. (Addresses a process
inherits from a parent that started servers, marked by `_OWNER`, are the parent's.)

The servers start in `pytest_load_initial_conftests`, before pytest-django reads the settings:
that is the first point where the options (`-n`) are known."""

import os
import shutil
import socket
import threading
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from requestdesk import embedded
from tests import db_template, flushing

_processes: list = []
_stores: list[Path] = []
MIGRATED = False  # our server starts on a copy of the migrated template (tests/db_template.py)


class _Database:
    """Our SecantusDB, started while pytest collects: the copy of the template (built first
    when the tree changed: about 15 s of `migrate`) is made in a thread, and the server is
    started on it by `ready()` (in the main thread: a child started from a thread that ends
    would get its parent-death signal then)."""

    def __init__(self, port: int):
        self.port, self.store = port, Path(os.environ.get("TMPDIR", "/tmp")) / f"rd-test-store-{os.getpid()}"
        self.failure: BaseException | None = None
        self.server: embedded.Process | None = None
        self.copying = threading.Thread(target=self._copy, name="test-database-copy", daemon=True)
        self.copying.start()

    def _copy(self) -> None:
        try:
            with flushing.elsewhere():  # the template's build: its own server and migrate
                _stores.append(db_template.copy(self.store))
        except BaseException as exc:  # raised again by ready(), in the main thread
            self.failure = exc

    def ready(self) -> None:
        self.copying.join()
        if self.failure is not None:
            raise self.failure
        if self.server is None:
            with flushing.elsewhere():  # the server itself: it writes nothing of its own
                self.server = embedded.start_mongo(self.port, str(self.store))
            _processes.append(self.server)


_database: _Database | None = None


def _reserved_port() -> int:
    """A free port below Linux's ephemeral range (32768-60999), named in MONGODB_URI before
    the server that will listen on it starts: no bind to port 0 and no outgoing connection
    is given it meanwhile. Where it starts depends on the pid, so two workers start apart."""
    first = 20_000 + (os.getpid() * 7) % 10_000
    for port in range(first, first + 500):
        if not embedded.port_open("127.0.0.1", port, timeout=0.05):
            with socket.socket() as probe:
                try:
                    probe.bind(("127.0.0.1", port))
                except OSError:
                    continue
            return port
    return embedded.free_port()


_OWNER = "REQUESTDESK_TEST_SERVERS_OF"  # the pid whose throwaway servers MONGODB_URI / REDIS_URL name


def _start(servers: bool = True) -> None:
    inherited = os.environ.get(_OWNER)
    if inherited and inherited != str(os.getpid()):  # the servers of the process we were started by
        for name in ("MONGODB_URI", "DATA_DIR"):
            if os.environ.get(f"{_OWNER}_{name}"):
                os.environ.pop(name, None)
    os.environ[_OWNER] = str(os.getpid())
    if servers and not os.environ.get("MONGODB_URI"):
        global MIGRATED, _database
        os.environ[f"{_OWNER}_MONGODB_URI"] = "1"
        port = _reserved_port()
        os.environ["MONGODB_URI"] = embedded.mongo_uri(port)
        MIGRATED = True
        _database = _Database(port)
    redis_url = os.environ.get("TEST_REDIS_URL")
    if servers and not redis_url:
        redis = embedded.start_redis(embedded.free_port())
        _processes.append(redis)
        redis_url = redis.url
    if redis_url:
        os.environ["REDIS_URL"] = redis_url
    os.environ.setdefault("THROTTLE_ANON", "100000/min")
    os.environ.setdefault("THROTTLE_USER", "100000/min")
    os.environ.setdefault("THROTTLE_AUTH", "100000/min")
    os.environ.setdefault("THROTTLE_ACCOUNTS", "100000/min")
    os.environ.setdefault("OUTBOUND_ALLOW_LOOPBACK", "1")
    # Secrets at rest (webhook secrets, plugin keys, LLM keys) need a key; tests run with DEBUG off.
    os.environ.setdefault("FIELD_ENCRYPTION_KEY", Fernet.generate_key().decode())
    if not os.environ.get("DATA_DIR"):
        os.environ[f"{_OWNER}_DATA_DIR"] = "1"
        os.environ["DATA_DIR"] = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"rd-test-{os.getpid()}")


def _xdist_controller(config) -> bool:
    """This process hands the tests to pytest-xdist workers (`-n 2`) and runs none itself."""
    workers = getattr(config.known_args_namespace, "numprocesses", None)
    return bool(workers) and not os.environ.get("PYTEST_XDIST_WORKER")


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_load_initial_conftests(early_config, parser, args):
    _start(servers=not _xdist_controller(early_config))
    flushing.register()  # after our own servers: only the tests' children count
    return (yield)


def pytest_collection_finish(session):
    """The tests are collected: our database server must answer from here on."""
    if _database is not None:
        _database.ready()


def pytest_unconfigure(config):
    if _database is not None:
        _database.copying.join()
    while _processes:
        _processes.pop().stop()
    while _stores:
        shutil.rmtree(_stores.pop(), ignore_errors=True)

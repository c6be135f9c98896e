"""pytest plugin (loaded with -p, before Django reads its settings): starts a throwaway
SecantusDB (on a copy of the migrated template of tests/db_template.py) and a private redis-server on free ports, unless MONGODB_URI or
TEST_REDIS_URL name servers to use, and exports their addresses so settings and any child
process (Celery workers, gunicorn) see the same servers.

Under pytest-xdist each worker starts servers of its own (the addresses it inherits from the
controller are the controller's, marked by `_OWNER`), so workers never share a database,
a Celery queue or a cache."""

import os
import shutil
from pathlib import Path

from cryptography.fernet import Fernet

from requestdesk import embedded
from tests import db_template, flushing

_processes: list = []
_stores: list[Path] = []
MIGRATED = False  # our server started on a copy of the migrated template (tests/db_template.py)


_OWNER = "REQUESTDESK_TEST_SERVERS_OF"  # the pid whose throwaway servers MONGODB_URI / REDIS_URL name


def _start() -> None:
    inherited = os.environ.get(_OWNER)
    if inherited and inherited != str(os.getpid()):  # an xdist worker: the controller's servers
        for name in ("MONGODB_URI", "DATA_DIR"):
            if os.environ.get(f"{_OWNER}_{name}"):
                os.environ.pop(name, None)
    os.environ[_OWNER] = str(os.getpid())
    if not os.environ.get("MONGODB_URI"):
        global MIGRATED
        os.environ[f"{_OWNER}_MONGODB_URI"] = "1"
        store = db_template.copy(Path(os.environ.get("TMPDIR", "/tmp")) / f"rd-test-store-{os.getpid()}")
        _stores.append(store)
        mongo = embedded.start_mongo(embedded.free_port(), str(store))
        _processes.append(mongo)
        os.environ["MONGODB_URI"] = mongo.url
        MIGRATED = True
    redis_url = os.environ.get("TEST_REDIS_URL")
    if not redis_url:
        redis = embedded.start_redis(embedded.free_port())
        _processes.append(redis)
        redis_url = redis.url
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


_start()
flushing.register()  # after our own servers: only the tests' children count


def pytest_unconfigure(config):
    while _processes:
        _processes.pop().stop()
    while _stores:
        shutil.rmtree(_stores.pop(), ignore_errors=True)

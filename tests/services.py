"""pytest plugin (loaded with -p, before Django reads its settings): starts a throwaway
SecantusDB (':memory:') and a private redis-server on free ports, unless MONGODB_URI or
TEST_REDIS_URL name servers to use, and exports their addresses so settings and any child
process (Celery workers, gunicorn) see the same servers."""

import os

from cryptography.fernet import Fernet

from requestdesk import embedded
from tests import flushing

_processes: list = []


def _start() -> None:
    if not os.environ.get("MONGODB_URI"):
        mongo = embedded.start_mongo(embedded.free_port(), ":memory:")
        _processes.append(mongo)
        os.environ["MONGODB_URI"] = mongo.url
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
    os.environ.setdefault("DATA_DIR", os.path.join(os.environ.get("TMPDIR", "/tmp"), f"rd-test-{os.getpid()}"))


_start()
flushing.register()  # after our own servers: only the tests' children count


def pytest_unconfigure(config):
    while _processes:
        _processes.pop().stop()

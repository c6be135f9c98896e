"""`manage.py services` starts SecantusDB on a data folder (kept across restarts) and stops it.

The first start runs `manage.py` in a subprocess (the server it starts outlives it, and is no
child of the tests); the calls after it, the restart on the same data folder included, run the
same command in this process, with the settings the environment gives it (a restart in a
second `manage.py` would only add the ~3 s of a Django process start: how the command
behaves when run is the first start's part)."""

import io
import os
import subprocess
import sys

import pymongo
import pytest
from django.core.management import call_command
from django.test import override_settings

from requestdesk.embedded import Daemons, free_port, port_open
from tests import flushing
from tests.paths import ROOT
from tests.support.celery_worker import wait_until


def _services(action, data_dir, port):
    env = {k: v for k, v in os.environ.items() if k != "MONGODB_URI"}
    env.update(DATA_DIR=str(data_dir), EMBEDDED_MONGO_PORT=str(port))
    with flushing.elsewhere():  # its server has a port and data folder of its own: no flush after the test
        return subprocess.run(
            [sys.executable, "manage.py", "services", action],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )


def _services_here(action, data_dir, port) -> str:
    """`services action` in this process, as `_services` runs it (DATA_DIR, EMBEDDED_MONGO_PORT
    and no MONGODB_URI); its output. A server it starts is this process's child, on a port and
    data folder of its own: no flush after the test."""
    out = io.StringIO()
    with (
        override_settings(
            DATA_DIR=data_dir,
            EMBEDDED_MONGO=True,
            EMBEDDED_MONGO_PORT=port,
            MONGODB_URI=f"mongodb://127.0.0.1:{port}/?directConnection=true",
        ),
        flushing.elsewhere(),
    ):
        call_command("services", action, stdout=out)
    return out.getvalue()


def _listening(port) -> bool:
    """Something accepts connections on the port (a stopped server has closed it; asking a
    closed port for a MongoDB answer would only wait out the driver's selection timeout)."""
    return port_open("127.0.0.1", port)


@pytest.mark.slow
def test_start_keeps_data_across_restart_and_stop(tmp_path):
    port = free_port()
    uri = f"mongodb://127.0.0.1:{port}/?directConnection=true"
    started = _services("start", tmp_path, port)
    assert started.returncode == 0, started.stderr
    assert "mongodb  started" in started.stdout
    try:
        with pymongo.MongoClient(uri) as client:
            client.rd.things.insert_one({"kept": True})  # the server outlived `manage.py`
        assert "mongodb  running" in _services_here("start", tmp_path, port)  # idempotent
        assert "mongo    stopped" in _services_here("stop", tmp_path, port)
        assert not _listening(port)
        assert (tmp_path / "mongo").is_dir()
        assert "mongodb  started" in _services_here("start", tmp_path, port)
        with pymongo.MongoClient(uri) as client:
            assert client.rd.things.find_one({}, {"_id": 0}) == {"kept": True}
    finally:
        Daemons(tmp_path).stop("mongo", timeout=0)  # killed: the stop above was the graceful one, and tmp_path goes
    assert wait_until(lambda: not _listening(port), timeout=10, interval=0.02)


@pytest.mark.slow
def test_port_taken_by_something_else_is_a_one_line_error(tmp_path):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        result = _services("start", tmp_path, sock.getsockname()[1])
    assert result.returncode != 0
    assert "is taken by something that is not MongoDB" in result.stderr
    assert "Traceback" not in result.stderr

"""Real Celery worker processes for the `slow` tests, and a bounded poll loop.

    from tests.support.celery_worker import celery_worker, wait_until  # noqa: F401  (the fixture)

    def test_x(celery_worker, tmp_path):
        worker = celery_worker("scraping", env={"SCRAPING_LEASE_SECONDS": "3"})
        ...
        worker.kill()       # SIGKILL to its process group: no cleanup, no ack
        worker.restart()    # a fresh process, same name prefix, queues and env
        assert wait_until(lambda: ..., timeout=60), worker.log()

A worker runs `celery -A requestdesk worker` on the test database (MONGODB_NAME), the
test broker (REDIS_URL from tests/services.py) and the test's FIELD_ENCRYPTION_KEY, in its own session so that a kill reaches
its children; its output goes to a log file, read with `log()` when an assertion fails.
The fixture purges the queue before the first worker starts and stops every worker it
started (SIGTERM, wait, then SIGKILL to the group) on teardown.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings

from tests.paths import ROOT


def wait_until(predicate, timeout: float, interval: float = 0.2) -> bool:
    """Poll `predicate` until it is true or `timeout` seconds pass; its last answer."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())


class Worker:
    """One Celery worker subprocess (restartable)."""

    def __init__(
        self,
        name: str,
        log_path: Path,
        *,
        queues: list[str] | None = None,
        concurrency: int = 1,
        pool: str = "solo",
        env: dict | None = None,
    ):
        self.name, self.log_path = name, Path(log_path)
        self.queues, self.concurrency, self.pool = queues, concurrency, pool
        self.env = {
            **os.environ,
            "MONGODB_NAME": settings.DATABASES["default"]["NAME"],
            # the key the test stored its secrets with (test settings may change it)
            "FIELD_ENCRYPTION_KEY": getattr(settings, "FIELD_ENCRYPTION_KEY", "") or "",
            **{k: str(v) for k, v in (env or {}).items()},
        }
        self.popen: subprocess.Popen | None = None
        self.starts = 0
        self._log = open(self.log_path, "a+")
        self.start()

    @property
    def pid(self) -> int | None:
        return self.popen.pid if self.popen else None

    def start(self) -> Worker:
        assert not self.alive(), "already running"
        self.starts += 1
        self._log.write(f"\n--- start {self.starts} ---\n")
        self._log.flush()
        cmd = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "requestdesk",
            "worker",
            "--pool",
            self.pool,
            "-c",
            str(self.concurrency),
            "--loglevel",
            "INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-n",
            f"{self.name}-{uuid.uuid4().hex[:8]}@%h",
        ]
        if self.queues:
            cmd += ["-Q", ",".join(self.queues)]
        self.popen = subprocess.Popen(
            cmd, cwd=ROOT, env=self.env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )
        return self

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Send `sig` to the worker's whole process group (SIGKILL: no cleanup, no ack) and
        wait for the main process to exit (not for a catchable signal it may ignore)."""
        if not self.alive():
            return
        os.killpg(self.popen.pid, sig)
        if sig == signal.SIGKILL:
            self.popen.wait(timeout=10)

    def stop(self, timeout: float = 15) -> None:
        """Warm shutdown (SIGTERM); the group is SIGKILLed if it is not gone in `timeout`."""
        if not self.alive():
            return
        self.popen.send_signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=5)

    def restart(self, sig: int | None = None) -> Worker:
        """Stop (warm, or with `sig`), then start a fresh process."""
        if sig is None:
            self.stop()
        else:
            self.kill(sig)
        return self.start()

    def log(self, tail: int = 3000) -> str:
        self._log.flush()
        return self.log_path.read_text()[-tail:]

    def close(self) -> None:
        self.stop()
        self._log.close()


@pytest.fixture
def celery_worker(tmp_path):
    """A factory: `celery_worker(name, queues=None, concurrency=1, pool="solo", env=None)`
    starts a Worker; all are stopped after the test."""
    from requestdesk.celery import app

    started: list[Worker] = []

    def start(name: str = "test", **options) -> Worker:
        if not started:
            app.control.purge()  # nothing left over from other tests
        log_dir = tmp_path if tmp_path.exists() else Path(tempfile.mkdtemp())
        worker = Worker(name, log_dir / f"{name}-{len(started) + 1}.log", **options)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.close()
    if started:
        app.control.purge()

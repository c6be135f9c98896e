"""Embedded services for local use and tests: SecantusDB (MongoDB wire protocol) and Redis.

Both run as separate processes; SecantusDB is GPL-2.0 and is only ever executed, never
imported. The same helpers serve `manage.py services` (a daemon per data folder) and the
test suite (a throwaway server on a free port).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


class ServiceError(RuntimeError):
    """A service could not be started or reached; the message says why in one line."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def port_open(host: str, port: int, timeout: float = 0.3) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def mongo_ping(uri: str, timeout_ms: int = 1000) -> bool:
    import pymongo

    client: pymongo.MongoClient[dict[str, object]] = pymongo.MongoClient(
        uri, serverSelectionTimeoutMS=timeout_ms, connectTimeoutMS=timeout_ms
    )
    try:
        client.admin.command("ping")
        return True
    except Exception:
        return False
    finally:
        client.close()


def redis_ping(url: str, timeout: float = 0.5) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout).ping())
    except Exception:
        return False


def _executable(name: str) -> str:
    beside_python = Path(sys.executable).parent / name
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which(name)
    if not found:
        raise ServiceError(f"{name} not found: install requirements.txt (or the Debian package for redis-server)")
    return found


@dataclass
class Process:
    """A started service: its process, its address and how to stop it."""

    name: str
    popen: subprocess.Popen[bytes]
    url: str

    def stop(self, timeout: float = 10) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()


def _wait(
    ready: Callable[[], bool], popen: subprocess.Popen[bytes], what: str, log_path: Path | None, timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if popen.poll() is not None:
            tail = log_path.read_text()[-400:] if log_path and log_path.exists() else ""
            raise ServiceError(f"{what} exited with code {popen.returncode}: {tail.strip()}")
        if ready():
            return
        time.sleep(0.05)
    popen.kill()
    raise ServiceError(f"{what} did not answer within {timeout:.0f}s")


def _die_with_parent() -> None:
    """In the child: get SIGTERM when the parent dies (Linux), so a killed test run leaves
    no server behind."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _spawn(cmd: list[str], log_path: Path | None, detach: bool) -> subprocess.Popen[bytes]:
    out = open(log_path, "ab") if log_path else subprocess.DEVNULL
    return subprocess.Popen(
        cmd,
        stdout=out,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=detach,
        preexec_fn=None if detach else _die_with_parent,
    )


def mongo_uri(port: int) -> str:
    return f"mongodb://127.0.0.1:{port}/?directConnection=true"


def start_mongo(
    port: int, storage_path: str, log_path: Path | None = None, detach: bool = False, timeout: float = 30
) -> Process:
    """Start SecantusDB on 127.0.0.1:port; ':memory:' gives a throwaway store."""
    if storage_path != ":memory:":
        Path(storage_path).mkdir(parents=True, exist_ok=True)
    cmd = [
        _executable("secantusd-py"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--storage-path",
        storage_path,
        "--log-level",
        "WARNING",
    ]
    popen = _spawn(cmd, log_path, detach)
    uri = mongo_uri(port)
    _wait(lambda: port_open("127.0.0.1", port) and mongo_ping(uri), popen, "SecantusDB", log_path, timeout)
    return Process("mongo", popen, uri)


def start_redis(port: int, log_path: Path | None = None, detach: bool = False, timeout: float = 10) -> Process:
    cmd = [_executable("redis-server"), "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"]
    popen = _spawn(cmd, log_path, detach)
    url = f"redis://127.0.0.1:{port}/0"
    _wait(lambda: redis_ping(url), popen, "redis-server", log_path, timeout)
    return Process("redis", popen, url)


def is_local(url: str) -> bool:
    return (urlparse(url).hostname or "") in LOCAL_HOSTS


def _alive(pid: int) -> bool:
    """Whether the process runs. A daemon that has exited stays a zombie until its parent
    reaps it: the `manage.py` that started it is gone, so that is PID 1, which may take a
    while (1-1.5 s measured in this project's sandbox; never, under a PID 1 that does not
    reap). A zombie answers signal 0 but has stopped: /proc says so (state Z)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc (not Linux): signal 0 is all there is to go by
    return stat.rpartition(")")[2].split()[0] != "Z"


class Daemons:
    """Long-lived services for one project checkout, tracked by pid files under run_dir."""

    def __init__(self, data_dir: Path):
        self.data_dir = Path(data_dir)
        self.run_dir = self.data_dir / "run"

    def _pidfile(self, name: str) -> Path:
        return self.run_dir / f"{name}.pid"

    def _record(self, proc: Process) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._pidfile(proc.name).write_text(str(proc.popen.pid))

    def ensure_mongo(self, port: int) -> tuple[str, bool]:
        """Return (uri, started_now)."""
        uri = mongo_uri(port)
        if port_open("127.0.0.1", port):  # a closed port: no ping (it would wait out its 1 s server selection)
            if mongo_ping(uri):
                return uri, False
            raise ServiceError(f"port {port} is taken by something that is not MongoDB")
        self.run_dir.mkdir(parents=True, exist_ok=True)
        proc = start_mongo(port, str(self.data_dir / "mongo"), self.run_dir / "mongo.log", detach=True)
        self._record(proc)
        return uri, True

    def ensure_redis(self, url: str) -> tuple[str, bool]:
        if redis_ping(url):
            return url, False
        if not is_local(url):
            raise ServiceError(f"Redis at {url} does not answer")
        self.run_dir.mkdir(parents=True, exist_ok=True)
        proc = start_redis(urlparse(url).port or 6379, self.run_dir / "redis.log", detach=True)
        self._record(proc)
        return url, True

    def stop(self, name: str, timeout: float = 15) -> bool:
        """Stop a daemon this checkout started; False when none was running."""
        pidfile = self._pidfile(name)
        if not pidfile.exists():
            return False
        pid = int(pidfile.read_text())
        pidfile.unlink()
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return False
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not _alive(pid):
                return True
            time.sleep(0.02)
        os.kill(pid, signal.SIGKILL)
        return True

    def running(self, name: str) -> int | None:
        pidfile = self._pidfile(name)
        if not pidfile.exists():
            return None
        pid = int(pidfile.read_text())
        return pid if _alive(pid) else None

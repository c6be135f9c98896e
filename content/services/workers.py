"""The registry of live Celery workers: each process that runs tasks heartbeats into Redis.

Every process that executes tasks (each child of a prefork worker, or the worker process
itself with the solo, threads, eventlet or gevent pools) registers when it starts and
then, from a daemon thread, every CONTENT_WORKER_HEARTBEAT_SECONDS, writes its state:

    worker_heartbeat:{worker_id}  hash, expiring after CONTENT_WORKER_EXPIRE_SECONDS
        worker_id, host (the node name, "name@host"), pid, queues, pool, status,
        started_at, last_seen, processing_count, tasks_done, tasks_failed, current_task
    worker_heartbeats             sorted set: worker_id scored by last_seen

A task's start and end write the state at once too (current task, counters). A warm
shutdown removes the entry; a process that dies (SIGKILL, lost host) stops heartbeating:
`live()` shows it `stale` once its last heartbeat is older than
CONTENT_WORKER_STALE_SECONDS, and its hash expires after CONTENT_WORKER_EXPIRE_SECONDS
(60 s by default), after which `live()` drops it from the index (pruned).

Why Redis and not a MongoDB collection: an expiring key is the pruning (no sweeper task,
nothing left behind by a dead host), and N workers beating every few seconds would
otherwise be a steady stream of writes to the embedded database server, which serves one
request at a time. Workers need Redis anyway (the broker). The state is platform data (it
names tasks of every company): only superadmins read it (API and admin).

A Redis error never reaches a task: the registry logs it and tries again on the next beat.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from dataclasses import dataclass, field

import redis
from django.conf import settings

logger = logging.getLogger(__name__)

KEY = "worker_heartbeat:{}"
INDEX = "worker_heartbeats"
ALIVE, BUSY, STALE = "idle", "busy", "stale"


def client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2, decode_responses=True)


@dataclass
class ProcessState:
    """What this process reports about itself."""

    host: str
    queues: list[str]
    pool: str
    pid: int = field(default_factory=os.getpid)
    started_at: float = field(default_factory=time.time)
    tasks_done: int = 0
    tasks_failed: int = 0
    current_task: dict | None = None

    @property
    def worker_id(self) -> str:
        return f"{self.host}:{self.pid}"

    def fields(self, now: float) -> dict:
        return {
            "worker_id": self.worker_id,
            "host": self.host,
            "pid": self.pid,
            "queues": json.dumps(self.queues),
            "pool": self.pool,
            "status": BUSY if self.current_task else ALIVE,
            "started_at": self.started_at,
            "last_seen": now,
            "processing_count": int(self.current_task is not None),
            "tasks_done": self.tasks_done,
            "tasks_failed": self.tasks_failed,
            "current_task": json.dumps(self.current_task),
        }


class Registration:
    """This process in the registry: `beat()` writes its state; `start()` beats from a daemon
    thread until `stop()`, which removes the entry."""

    def __init__(self, state: ProcessState, *, connection: redis.Redis | None = None):
        self.state = state
        self.redis = connection or client()
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.thread: threading.Thread | None = None

    def beat(self) -> bool:
        with self.lock:
            now = time.time()
            key = KEY.format(self.state.worker_id)
            try:
                pipe = self.redis.pipeline()
                pipe.hset(key, mapping=self.state.fields(now))
                pipe.expire(key, settings.CONTENT_WORKER_EXPIRE_SECONDS)
                pipe.zadd(INDEX, {self.state.worker_id: now})
                pipe.execute()
                return True
            except redis.RedisError as exc:
                logger.warning("worker registry: heartbeat of %s not written: %s", self.state.worker_id, exc)
                return False

    def _loop(self) -> None:
        while not self.stopped.wait(settings.CONTENT_WORKER_HEARTBEAT_SECONDS):
            self.beat()

    def start(self) -> Registration:
        self.beat()
        self.thread = threading.Thread(target=self._loop, name="worker-heartbeat", daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopped.set()
        try:
            self.redis.delete(KEY.format(self.state.worker_id))
            self.redis.zrem(INDEX, self.state.worker_id)
        except redis.RedisError as exc:
            logger.warning("worker registry: %s not removed (it expires): %s", self.state.worker_id, exc)

    def task_started(self, *, task_id: str, name: str, args) -> None:
        self.state.current_task = {
            "id": task_id,
            "name": name,
            "args": [str(a)[:100] for a in (args or ())[:3]],
            "started_at": time.time(),
        }
        self.beat()

    def task_finished(self, *, failed: bool) -> None:
        self.state.current_task = None
        if failed:
            self.state.tasks_failed += 1
        else:
            self.state.tasks_done += 1
        self.beat()


def _decode(found: dict, now: float) -> dict:
    last_seen = float(found.get("last_seen") or 0)
    status = found.get("status") or ALIVE
    if now - last_seen > settings.CONTENT_WORKER_STALE_SECONDS:
        status = STALE
    return {
        "worker_id": found.get("worker_id"),
        "host": found.get("host"),
        "pid": int(found.get("pid") or 0),
        "queues": json.loads(found.get("queues") or "[]"),
        "pool": found.get("pool"),
        "status": status,
        "started_at": float(found.get("started_at") or 0),
        "last_heartbeat": last_seen,
        "seconds_since_heartbeat": round(max(0.0, now - last_seen), 1),
        "processing_count": int(found.get("processing_count") or 0),
        "tasks_done": int(found.get("tasks_done") or 0),
        "tasks_failed": int(found.get("tasks_failed") or 0),
        "current_task": json.loads(found.get("current_task") or "null"),
    }


def live(*, connection: redis.Redis | None = None, now: float | None = None) -> list[dict]:
    """Every registered worker process, newest heartbeat first, each with its `status`
    (idle, busy, or stale: no heartbeat for CONTENT_WORKER_STALE_SECONDS). Entries whose
    hash expired are removed from the index here (pruned). Times are Unix seconds."""
    connection = connection or client()
    now = time.time() if now is None else now
    ids = connection.zrevrange(INDEX, 0, -1)
    if not ids:
        return []
    pipe = connection.pipeline()
    for worker_id in ids:
        pipe.hgetall(KEY.format(worker_id))
    found, gone = [], []
    for worker_id, fields in zip(ids, pipe.execute(), strict=True):
        (found.append(_decode(fields, now)) if fields else gone.append(worker_id))
    if gone:
        connection.zrem(INDEX, *gone)
    return found


# --- the Celery side: which process registers, and when -------------------------------------

_node: dict = {}
_registration: Registration | None = None


def _register() -> None:
    global _registration
    if _registration is not None or not _node:
        return
    _registration = Registration(ProcessState(host=_node["host"], queues=_node["queues"], pool=_node["pool"])).start()


def _deregister(**_) -> None:
    global _registration
    if _registration is not None:
        _registration.stop()
        _registration = None


def _after_setup(sender=None, instance=None, **_) -> None:
    """The worker's main process, its queues chosen, before its pool starts: remember what
    every process of it reports; register now unless the tasks run in prefork children."""
    pool = instance.pool_cls
    pool_name = getattr(pool, "__module__", str(pool)).rsplit(".", 1)[-1]
    queues = sorted(instance.app.amqp.queues.consume_from or instance.app.amqp.queues)
    _node.update(host=str(sender), queues=queues, pool=pool_name)
    if pool_name != "prefork":
        _register()


def _process_init(**_) -> None:
    """A prefork child, just forked: its own registration and heartbeat thread."""
    global _registration
    _registration = None  # the parent's (if any) is not this process's
    _register()


def _task_prerun(task_id=None, task=None, args=None, **_) -> None:
    if _registration is not None:
        _registration.task_started(task_id=task_id, name=getattr(task, "name", ""), args=args)


def _task_postrun(state=None, **_) -> None:
    if _registration is not None:
        _registration.task_finished(failed=state == "FAILURE")


def connect() -> None:
    """Hook the registry to Celery's worker signals (harmless in processes that are no worker)."""
    from celery import signals

    signals.celeryd_after_setup.connect(_after_setup, weak=False, dispatch_uid="content-workers-setup")
    signals.worker_process_init.connect(_process_init, weak=False, dispatch_uid="content-workers-init")
    signals.worker_process_shutdown.connect(_deregister, weak=False, dispatch_uid="content-workers-child-exit")
    signals.worker_shutdown.connect(_deregister, weak=False, dispatch_uid="content-workers-exit")
    signals.task_prerun.connect(_task_prerun, weak=False, dispatch_uid="content-workers-prerun")
    signals.task_postrun.connect(_task_postrun, weak=False, dispatch_uid="content-workers-postrun")

"""Content benchmark: contexts claimed and processed per second by Celery workers against the
plain Celery no-op task rate with as many workers.

    .venv/bin/python -m bench.content_bench --contexts 500 [--sections 2]

Starts its own SecantusDB (in memory unless --storage says), a private Redis and a local
OpenAI-compatible server (tests.fakes.openai, answering at once), migrates a fresh database,
then for 1 and 2 Celery worker processes (`--pool solo` each):
- the baseline: N `celery.accumulate` no-op tasks sent and their results joined (Redis);
- N contexts in a batch (template -> ai_generator with one chat completion per section ->
  transformer, markdown with a table of contents), timed from creation to the batch's
  completion.
Then the same pipeline run in one process without Celery (`process_pending`) on
--in-process-contexts contexts with the claim strategy find_and_modify against cas (what
SecantusDB's capabilities pick), forced with settings.DATABASE_CAPABILITIES.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

from pymongo import monitoring

from bench import harness
from bench.table import Row

ROOT = harness.ROOT


class Breakdown(monitoring.CommandListener):
    """Where a context's time goes, in one process: database round trips (a pymongo
    CommandListener, registered at import so that it sees the Django client; it counts only
    while a breakdown is active) and wall time per phase (timers wrapped around the runner's
    parts while active; a phase's time excludes the phases nested in it, and a round trip
    counts in the innermost phase running when it was sent)."""

    # (phase, module, attribute): callables timed as that phase while active.
    PHASES = [
        ("claim", "content.services.claiming", "_claim_next"),
        ("claim", "content.services.runner", "_claim_by_id"),
        ("template", "content.services.components.template", "run"),
        ("LLM call", "openai.resources.chat.completions", "Completions.create"),
        ("ai_generator", "content.services.components.ai_generator", "run"),
        ("transformer", "content.services.components.transformer", "run"),
        ("progress/final writes", "content.services.claiming", "write"),
        ("events", "content.services.contexts", "announce"),
        ("batch counters", "content.services.batches", "context_finished"),
        ("batch start", "content.services.batches", "mark_started"),
        ("run (the rest)", "content.services.runner", "run"),
    ]

    def __init__(self):
        self.active = False
        self.stack: list[list] = []  # [phase, started] of the running phases, innermost last
        self.seconds: Counter = Counter()
        self.trips: Counter = Counter()  # (phase, "command collection") -> round trips
        self.db_seconds: Counter = Counter()  # phase -> seconds waiting on the server
        self.thread = None

    # --- CommandListener (pymongo calls these from the thread that sends the command) ---
    def started(self, event):
        if self.active and threading.get_ident() == self.thread:
            phase = self.stack[-1][0] if self.stack else "outside"
            target = event.command.get(event.command_name)
            what = f"{event.command_name} {target}" if isinstance(target, str) else event.command_name
            self.trips[(phase, what)] += 1

    def succeeded(self, event):
        self._timed(event)

    def failed(self, event):
        self._timed(event)

    def _timed(self, event):
        if self.active and threading.get_ident() == self.thread:
            self.db_seconds[self.stack[-1][0] if self.stack else "outside"] += event.duration_micros / 1e6

    # --- phase timers ---
    def _wrap(self, phase, function):
        breakdown = self

        def timed(*args, **kwargs):
            if not breakdown.active or threading.get_ident() != breakdown.thread:
                return function(*args, **kwargs)
            now = time.perf_counter()
            if breakdown.stack:
                parent = breakdown.stack[-1]
                breakdown.seconds[parent[0]] += now - parent[1]
            breakdown.stack.append([phase, now])
            try:
                return function(*args, **kwargs)
            finally:
                now = time.perf_counter()
                breakdown.seconds[phase] += now - breakdown.stack.pop()[1]
                if breakdown.stack:
                    breakdown.stack[-1][1] = now

        return timed

    @contextmanager
    def measuring(self):
        import importlib

        patched = []
        for phase, module_name, attribute in self.PHASES:
            owner = importlib.import_module(module_name)
            *path, name = attribute.split(".")
            for part in path:
                owner = getattr(owner, part)
            original = owner.__dict__.get(name) if isinstance(owner, type) else getattr(owner, name, None)
            if original is None:
                continue
            patched.append((owner, name, original))
            setattr(owner, name, self._wrap(phase, original))
        self.thread, self.active = threading.get_ident(), True
        try:
            yield self
        finally:
            self.active = False
            for owner, name, original in reversed(patched):
                setattr(owner, name, original)

    def report(self, count: int, elapsed: float, log) -> None:
        trips = sum(self.trips.values())
        log(
            f"  breakdown, one process, {count} contexts, {elapsed / count * 1000:.1f} ms per context "
            f"({trips / count:.1f} database round trips per context, "
            f"{sum(self.db_seconds.values()) / count * 1000:.1f} ms of them waiting on the server):"
        )
        phases = list(dict.fromkeys(phase for phase, *_ in self.PHASES)) + ["outside"]
        rest = elapsed - sum(self.seconds.values())
        for phase in phases:
            seconds = self.seconds.get(phase, 0.0) + (rest if phase == "outside" else 0.0)
            by_command = sorted(
                ((what, n) for (p, what), n in self.trips.items() if p == phase), key=lambda item: -item[1]
            )
            if not seconds and not by_command:
                continue
            round_trips = sum(n for _, n in by_command)
            detail = ", ".join(f"{what} {n / count:.2f}" for what, n in by_command)
            log(
                f"    {phase:<22} {seconds / count * 1000:7.2f} ms  {round_trips / count:5.2f} round trips"
                f" ({self.db_seconds.get(phase, 0.0) / count * 1000:.2f} ms)" + (f": {detail}" if detail else "")
            )


BREAKDOWN = Breakdown()
monitoring.register(BREAKDOWN)


def _pipeline(llm, sections: int):
    from content.models import Component, Pipeline, PipelineStep, Template
    from knowledge.models import LLMProvider
    from knowledge.services import crypto
    from tenants.models import Company

    company = Company.objects.create(name=f"bench-{uuid.uuid4().hex[:6]}")
    provider = LLMProvider(
        company=company, name="local", provider="custom", base_url=llm.base_url, models=["gpt-bench"]
    )
    crypto.set_secret(provider, "api_key", llm.api_key)
    provider.save()
    template = Template.objects.create(
        company=company,
        name="bench",
        structure={
            "sections": [
                {
                    "id": f"s{n}",
                    "type": "text",
                    "name": f"Section {n}",
                    "instructions": "Write",
                    "word_range": [50, 100],
                }
                for n in range(1, sections + 1)
            ]
        },
    )
    steps = [
        ("template", {}, {"template_id": str(template.pk)}),
        ("ai_generator", {"model": "gpt-bench", "provider_id": str(provider.pk)}, {}),
        ("transformer", {"format": "markdown"}, {"add_table_of_contents": True}),
    ]
    components = []
    for n, (kind, config, overrides) in enumerate(steps, start=1):
        component = Component.objects.create(company=company, name=kind, type=kind, config=config)
        components.append(PipelineStep(component_id=component.pk, name=kind, order=n, config_overrides=overrides))
    return Pipeline.objects.create(company=company, name="bench", components=components)


def _start_workers(count: int, tmp: Path) -> list[subprocess.Popen]:
    from requestdesk.celery import app

    workers = []
    for n in range(count):
        log = open(tmp / f"worker-{count}-{n}.log", "w")
        workers.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "requestdesk",
                    "worker",
                    "--pool",
                    "solo",
                    "--loglevel",
                    "WARNING",
                    "--without-gossip",
                    "--without-mingle",
                    "--without-heartbeat",
                    "-n",
                    f"bench{n}-{uuid.uuid4().hex[:6]}@%h",
                ],
                cwd=ROOT,
                env=os.environ.copy(),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
    deadline = time.monotonic() + 60
    while len(app.control.ping(timeout=0.5) or []) < count:
        if time.monotonic() > deadline or any(w.poll() is not None for w in workers):
            raise RuntimeError(f"workers did not start; see {tmp}")
    return workers


def _stop_workers(workers) -> None:
    for worker in workers:
        worker.send_signal(signal.SIGTERM)
    for worker in workers:
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)


def _wait_batch(batch, count: int, timeout: float = 1800) -> float:
    from content.models import Batch

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        current = Batch.objects.get(pk=batch.pk)
        if current.status == "completed":
            if current.completed_count != count:
                raise RuntimeError(f"batch completed with {current.completed_count}/{count} contexts completed")
            return time.perf_counter()
        time.sleep(0.05)
    raise RuntimeError("batch did not complete in time")


def celery_rate(pipeline, count: int, workers: int, tmp: Path) -> float:
    from content.services import batches

    started_workers = _start_workers(workers, tmp)
    try:
        start = time.perf_counter()
        batch = batches.create_batch(pipeline=pipeline, items=[{"data": {"title": f"Doc {n}"}} for n in range(count)])
        return count / (_wait_batch(batch, count) - start)
    finally:
        _stop_workers(started_workers)


def noop_rate(count: int, workers: int, tmp: Path) -> float:
    from celery.result import ResultSet

    from requestdesk.celery import app

    started_workers = _start_workers(workers, tmp)
    try:
        start = time.perf_counter()
        results = ResultSet([app.send_task("celery.accumulate", args=[n]) for n in range(count)])
        results.join(timeout=600, propagate=True)
        return count / (time.perf_counter() - start)
    finally:
        _stop_workers(started_workers)


def in_process_rate(pipeline, count: int, strategy: str) -> float:
    from django.conf import settings

    from content.services import contexts, runner

    chosen = settings.DATABASE_CAPABILITIES
    settings.DATABASE_CAPABILITIES = {**(chosen or {}), "cheap_find_and_modify": strategy == "find_and_modify"}
    try:
        contexts.create_contexts(
            pipeline=pipeline, items=[{"data": {"title": f"Doc {n}"}} for n in range(count)], queue=False
        )
        start = time.perf_counter()
        done = runner.process_pending(limit=count + 1)
        elapsed = time.perf_counter() - start
    finally:
        settings.DATABASE_CAPABILITIES = chosen
    if len(done) != count:
        raise RuntimeError(f"processed {len(done)} of {count}")
    return count / elapsed


def breakdown(pipeline, count: int, log) -> float:
    """What a Celery worker does per context (`process_context` for each context of a batch
    of `count`), in this process and without the broker, under BREAKDOWN; contexts/s."""
    from content.services import batches, runner

    batch = batches.create_batch(
        pipeline=pipeline, items=[{"data": {"title": f"Doc {n}"}} for n in range(count)], queue=False
    )
    BREAKDOWN.__init__()
    with BREAKDOWN.measuring():
        start = time.perf_counter()
        done = [runner.process_context(context_id=str(pk)) for pk in batch.context_ids]
        elapsed = time.perf_counter() - start
    if done.count(runner.COMPLETED) != count:
        raise RuntimeError(f"completed {done.count(runner.COMPLETED)} of {count}")
    BREAKDOWN.report(count, elapsed, log)
    return count / elapsed


def add_arguments(parser):
    parser.add_argument("--contexts", type=int, default=500, help="contexts (and no-op tasks) per run (default 500)")
    parser.add_argument("--sections", type=int, default=2, help="sections (LLM calls) per context (default 2)")
    parser.add_argument(
        "--in-process-contexts",
        type=int,
        default=100,
        help="contexts per claim strategy in the one-process comparison (default 100; "
        "find_and_modify runs ~2-3 contexts/s on SecantusDB)",
    )
    parser.add_argument(
        "--breakdown-contexts",
        type=int,
        default=50,
        help="contexts of one batch run in one process to print where a context's time goes "
        "(round trips and time per phase; default 50, 0 skips)",
    )


def rows(args, log=harness.log) -> list[Row]:
    from django.conf import settings

    from content.models import Context
    from tests.fakes.openai import FakeOpenAI, section_answer

    tmp = Path(settings.DATA_DIR) / "content-bench"
    tmp.mkdir(parents=True, exist_ok=True)
    llm = FakeOpenAI(reply=section_answer)
    try:
        pipeline = _pipeline(llm, args.sections)
        n = args.contexts
        log(
            f"content    {n} contexts, template -> ai_generator ({args.sections} LLM call(s), local server) "
            f"-> transformer; worker logs in {tmp}"
        )
        table = []
        for workers in (1, 2):
            noop = noop_rate(n, workers, tmp)
            contexts = celery_rate(pipeline, n, workers, tmp)
            plural = "es" if workers > 1 else ""
            log(f"  {workers} worker process{plural}: no-op {noop:,.1f} tasks/s, contexts {contexts:.1f}/s")
            table.append(
                Row(
                    f"content contexts via Celery, {workers} worker process{plural}",
                    contexts,
                    "/s",
                    f"Celery no-op tasks, {workers} worker process{plural}",
                    noop,
                )
            )
        if args.breakdown_contexts:
            breakdown(pipeline, args.breakdown_contexts, log)
        m = args.in_process_contexts
        cas = in_process_rate(pipeline, m, "cas")
        find_and_modify = in_process_rate(pipeline, m, "find_and_modify")
        log(
            f"  one process, no broker, {m} contexts each: claim cas {cas:.1f}/s, "
            f"find_and_modify {find_and_modify:.1f}/s"
        )
        table.append(
            Row("content contexts in one process, claim find_and_modify", find_and_modify, "/s", "same, claim cas", cas)
        )
        log(
            f"  ({Context.objects.count()} contexts in the collection at the end; "
            f"LLM requests answered: {len(llm.chats)})"
        )
        return table
    finally:
        llm.stop()


if __name__ == "__main__":
    harness.main(sys.modules[__name__], storage=":memory:")

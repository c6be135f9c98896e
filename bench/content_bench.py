"""Content benchmark: contexts claimed and processed per second by Celery workers against the
plain Celery no-op task rate with as many workers.

    .venv/bin/python -m bench.content_bench --contexts 500 [--sections 2]

Starts its own SecantusDB (in memory unless --storage says), a private Redis and a local
OpenAI-compatible server (tests.fake_llm, answering at once), migrates a fresh database,
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
import time
import uuid
from pathlib import Path

from bench import harness
from bench.table import Row

ROOT = harness.ROOT


def _pipeline(llm, sections: int):
    from content.models import Component, Pipeline, PipelineStep, Template
    from knowledge.models import LLMProvider
    from knowledge.services import crypto
    from tenants.models import Company

    company = Company.objects.create(name=f"bench-{uuid.uuid4().hex[:6]}")
    provider = LLMProvider(company=company, name="local", provider="custom", base_url=llm.base_url,
                           models=["gpt-bench"])
    crypto.set_secret(provider, "api_key", llm.api_key)
    provider.save()
    template = Template.objects.create(company=company, name="bench", structure={"sections": [
        {"id": f"s{n}", "type": "text", "name": f"Section {n}", "instructions": "Write", "word_range": [50, 100]}
        for n in range(1, sections + 1)]})
    steps = [("template", {}, {"template_id": str(template.pk)}),
             ("ai_generator", {"model": "gpt-bench", "provider_id": str(provider.pk)}, {}),
             ("transformer", {"format": "markdown"}, {"add_table_of_contents": True})]
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
        workers.append(subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "requestdesk", "worker", "--pool", "solo", "--loglevel",
             "WARNING", "--without-gossip", "--without-mingle", "--without-heartbeat",
             "-n", f"bench{n}-{uuid.uuid4().hex[:6]}@%h"],
            cwd=ROOT, env=os.environ.copy(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
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
        batch = batches.create_batch(pipeline=pipeline, items=[{"data": {"title": f"Doc {n}"}}
                                                               for n in range(count)])
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
        contexts.create_contexts(pipeline=pipeline, items=[{"data": {"title": f"Doc {n}"}} for n in range(count)],
                                 queue=False)
        start = time.perf_counter()
        done = runner.process_pending(limit=count + 1)
        elapsed = time.perf_counter() - start
    finally:
        settings.DATABASE_CAPABILITIES = chosen
    if len(done) != count:
        raise RuntimeError(f"processed {len(done)} of {count}")
    return count / elapsed


def add_arguments(parser):
    parser.add_argument("--contexts", type=int, default=500, help="contexts (and no-op tasks) per run (default 500)")
    parser.add_argument("--sections", type=int, default=2, help="sections (LLM calls) per context (default 2)")
    parser.add_argument("--in-process-contexts", type=int, default=100,
                        help="contexts per claim strategy in the one-process comparison (default 100; "
                             "find_and_modify runs ~2-3 contexts/s on SecantusDB)")


def rows(args, log=harness.log) -> list[Row]:
    from django.conf import settings

    from content.models import Context
    from tests.fake_llm import FakeLLM

    tmp = Path(settings.DATA_DIR) / "content-bench"
    tmp.mkdir(parents=True, exist_ok=True)
    llm = FakeLLM()
    try:
        pipeline = _pipeline(llm, args.sections)
        n = args.contexts
        log(f"content    {n} contexts, template -> ai_generator ({args.sections} LLM call(s), local server) "
            f"-> transformer; worker logs in {tmp}")
        table = []
        for workers in (1, 2):
            noop = noop_rate(n, workers, tmp)
            contexts = celery_rate(pipeline, n, workers, tmp)
            plural = "es" if workers > 1 else ""
            log(f"  {workers} worker process{plural}: no-op {noop:,.1f} tasks/s, contexts {contexts:.1f}/s")
            table.append(Row(f"content contexts via Celery, {workers} worker process{plural}", contexts, "/s",
                             f"Celery no-op tasks, {workers} worker process{plural}", noop))
        m = args.in_process_contexts
        cas = in_process_rate(pipeline, m, "cas")
        find_and_modify = in_process_rate(pipeline, m, "find_and_modify")
        log(f"  one process, no broker, {m} contexts each: claim cas {cas:.1f}/s, "
            f"find_and_modify {find_and_modify:.1f}/s")
        table.append(Row("content contexts in one process, claim find_and_modify", find_and_modify, "/s",
                         "same, claim cas", cas))
        log(f"  ({Context.objects.count()} contexts in the collection at the end; "
            f"LLM requests answered: {len(llm.requests)})")
        return table
    finally:
        llm.stop()


if __name__ == "__main__":
    harness.main(sys.modules[__name__], storage=":memory:")

"""Benchmark: contexts claimed and processed per second by Celery workers.

    .venv/bin/python -m bench.content_bench --contexts 500 [--sections 2]

Starts its own SecantusDB (in memory), a private Redis and a local OpenAI-compatible server
(tests.fake_llm, answering at once), migrates a fresh database, then for 1 and 2 Celery
worker processes (`--pool solo` each) creates a batch of N contexts (template ->
ai_generator with one chat completion per section -> transformer, markdown with a table of
contents) and times it from creation to the batch's completion. Beside it: the plain
Celery no-op task rate on the same broker (1 worker, `celery.accumulate`, results in
Redis), and the same pipeline run in one process without Celery (`process_pending`) with
each claim strategy.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEST_KEY = "Mi94bn1PebHo1MPpIwXi_-BxXOWHcrveYCkpAVrXyWA="


def _services(tmp: Path):
    from requestdesk import embedded

    mongo = embedded.start_mongo(embedded.free_port(), ":memory:", log_path=tmp / "mongo.log")
    redis = embedded.start_redis(embedded.free_port(), log_path=tmp / "redis.log")
    os.environ.update({
        "MONGODB_URI": mongo.url, "REDIS_URL": redis.url, "MONGODB_NAME": "bench_content",
        "OUTBOUND_ALLOW_LOOPBACK": "1", "FIELD_ENCRYPTION_KEY": TEST_KEY, "KNOWLEDGE_LLM_MAX_RETRIES": "0",
        "DJANGO_SETTINGS_MODULE": "requestdesk.settings", "LOG_LEVEL": "WARNING",
        "DATA_DIR": str(tmp / "data"),
    })
    return [mongo, redis]


def _setup(llm, sections: int):
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


def noop_rate(count: int, tmp: Path) -> float:
    from celery.result import ResultSet

    from requestdesk.celery import app

    workers = _start_workers(1, tmp)
    try:
        start = time.perf_counter()
        results = ResultSet([app.send_task("celery.accumulate", args=[n]) for n in range(count)])
        results.join(timeout=600, propagate=True)
        return count / (time.perf_counter() - start)
    finally:
        _stop_workers(workers)


def in_process_rate(pipeline, count: int, strategy: str) -> float:
    from django.conf import settings

    from content.services import contexts, runner

    settings.CONTENT_CLAIM_STRATEGY = strategy
    contexts.create_contexts(pipeline=pipeline, items=[{"data": {"title": f"Doc {n}"}} for n in range(count)],
                             queue=False)
    start = time.perf_counter()
    done = runner.process_pending(limit=count + 1)
    elapsed = time.perf_counter() - start
    if len(done) != count:
        raise RuntimeError(f"processed {len(done)} of {count}")
    return count / elapsed


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contexts", type=int, default=500)
    parser.add_argument("--sections", type=int, default=2, help="sections (LLM calls) per context")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    tmp = Path(tempfile.mkdtemp(prefix="content-bench-"))
    services = _services(tmp)
    from tests.fake_llm import FakeLLM

    llm = FakeLLM()
    try:
        import django

        django.setup()
        from django.core.management import call_command

        from content.models import Context

        call_command("migrate", verbosity=0)
        pipeline = _setup(llm, args.sections)
        n = args.contexts
        print(f"content pipeline benchmark: {n} contexts, template -> ai_generator ({args.sections} LLM "
              f"call(s), local server) -> transformer; SecantusDB in memory, private Redis; "
              f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs", flush=True)
        runs = [("Celery no-op task (celery.accumulate), 1 worker", "tasks/s", lambda: noop_rate(n, tmp))]
        runs += [(f"contexts via Celery, {w} worker process{'es' if w > 1 else ''}", "contexts/s",
                  lambda w=w: celery_rate(pipeline, n, w, tmp)) for w in (1, 2)]
        runs += [(f"contexts in one process, no broker (claim: {s})", "contexts/s",
                  lambda s=s: in_process_rate(pipeline, n, s)) for s in ("cas", "find_and_modify")]
        width = max(len(label) for label, _, _ in runs)
        for label, unit, measure in runs:
            print(f"  {label:<{width}}  {measure():8.1f} {unit}", flush=True)
        print(f"  ({Context.objects.count()} contexts in the collection at the end; "
              f"LLM requests answered: {len(llm.requests)})")
    finally:
        llm.stop()
        for service in reversed(services):
            service.stop()


if __name__ == "__main__":
    main()

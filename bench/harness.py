"""What every benchmark shares: its own embedded SecantusDB and redis-server on free ports
(or --mongodb-uri), Django set up on a fresh database and migrated, a command line, timing
helpers. A benchmark module exposes `add_arguments(parser)` and `rows(args, log)` (list of
`bench.table.Row`); its own `main()` is `harness.main(module)`, and `python -m bench` runs
several in one process on one server."""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import signal
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Fernet key for the benches' encrypted LLM provider keys; never a real secret.
BENCH_FIELD_KEY = "Mi94bn1PebHo1MPpIwXi_-BxXOWHcrveYCkpAVrXyWA="
ENV_DEFAULTS = {
    "FIELD_ENCRYPTION_KEY": BENCH_FIELD_KEY,
    "OUTBOUND_ALLOW_LOOPBACK": "1",  # the content bench's LLM server is on loopback
    "KNOWLEDGE_LLM_MAX_RETRIES": "0",
    "KNOWLEDGE_VECTOR_CACHE_MB": "2048",  # 100k x 384 vectors and their terms stay cached
    # Throttling is not what is measured (its Redis round trip is still paid per request).
    "THROTTLE_ANON": "1000000/min",
    "THROTTLE_USER": "1000000/min",
    "THROTTLE_AUTH": "1000000/min",
    "LOG_LEVEL": "WARNING",
}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def add_server_arguments(parser: argparse.ArgumentParser, storage: str) -> None:
    parser.add_argument(
        "--storage",
        default=storage,
        help=f"SecantusDB storage path ('' a temporary folder, removed after; default "
        f"{storage or chr(39) * 2}; ':memory:' runs out at about 85k scraping results)",
    )
    parser.add_argument("--mongodb-uri", default="", help="use this MongoDB instead of starting SecantusDB")


class Stack:
    """The running services, and the CPU time spent so far by this process, its finished
    children (Celery workers) and the live services: on a shared machine the wall time
    says little, the CPU seconds say what the run costs (its parts run one after the other)."""

    def __init__(self, tmp: Path, services: list):
        self.tmp, self.services = tmp, services

    def cpu_seconds(self) -> float:
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        total = time.process_time() + children.ru_utime + children.ru_stime
        tick = os.sysconf("SC_CLK_TCK")
        for service in self.services:
            try:
                fields = Path(f"/proc/{service.popen.pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
            except (OSError, IndexError, ValueError):
                pass
        return total


@contextmanager
def django_stack(*, storage: str = "", mongodb_uri: str = ""):
    """Start SecantusDB (unless mongodb_uri) and a private redis-server, point Django at a
    fresh database on them, migrate; stop and remove everything on the way out (SIGTERM too)."""
    from requestdesk import embedded

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sys.path.insert(0, str(ROOT))  # tests.fakes.openai, for the content bench
    tmp = Path(tempfile.mkdtemp(prefix="bench-"))
    services = []
    try:
        uri, where = mongodb_uri, mongodb_uri
        if not uri:
            path = storage or str(tmp / "mongo")
            services.append(embedded.start_mongo(embedded.free_port(), path, log_path=tmp / "mongo.log"))
            uri, where = services[-1].url, f"SecantusDB {'(temporary folder)' if not storage else path}"
        services.append(embedded.start_redis(embedded.free_port(), log_path=tmp / "redis.log"))
        for key, value in ENV_DEFAULTS.items():
            os.environ.setdefault(key, value)
        os.environ.update(
            MONGODB_URI=uri,
            REDIS_URL=services[-1].url,
            MONGODB_NAME=f"bench_{os.getpid()}",
            DJANGO_SETTINGS_MODULE="requestdesk.settings",
            DATA_DIR=str(tmp / "data"),
        )
        import django

        django.setup()
        from django.core.management import call_command

        started = time.perf_counter()
        call_command("migrate", verbosity=0)
        log(
            f"server     {where}, private redis; migrate {time.perf_counter() - started:.1f}s; "
            f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
        )
        yield Stack(tmp, services)
    finally:
        for service in reversed(services):
            service.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def main(module, storage: str = "", argv=None) -> None:
    """A benchmark module's own command line: its rows as the table."""
    from bench import table

    parser = argparse.ArgumentParser(description=module.__doc__.split("\n\n")[0])
    module.add_arguments(parser)
    add_server_arguments(parser, storage)
    args = parser.parse_args(argv)
    with django_stack(storage=args.storage, mongodb_uri=args.mongodb_uri):
        rows = module.rows(args, log)
    print(table.render(rows))


def percentile(values, share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def p50_p95(samples: list[float]) -> str:
    """Seconds, printed as milliseconds."""
    return f"p50 {statistics.median(samples) * 1000:7.2f} ms   p95 {percentile(samples, 0.95) * 1000:7.2f} ms"


def timed(function, inputs) -> list[float]:
    """Seconds per call of function(x) for each input."""
    samples = []
    for value in inputs:
        started = time.perf_counter()
        function(value)
        samples.append(time.perf_counter() - started)
    return samples


def interleaved(product, baseline, inputs) -> tuple[list[float], list[float]]:
    """Time product(x) and baseline(x) in turn for each input, so both see the same machine
    (it is shared); seconds per call."""
    product_times, baseline_times = [], []
    for value in inputs:
        for function, samples in ((product, product_times), (baseline, baseline_times)):
            started = time.perf_counter()
            function(value)
            samples.append(time.perf_counter() - started)
    return product_times, baseline_times


def ms_p50(samples: list[float]) -> float:
    return statistics.median(samples) * 1000

"""HTTP load: the API served by gunicorn on loopback, driven by wrk, per endpoint and concurrency.

    .venv/bin/python -m bench.http_load [--duration 15] [--connections 16,64] [--rows 3000]
                                        [--results 100000]

Starts its own SecantusDB (':memory:'; with --results, a folder in the run's temporary
directory) and redis-server on free ports, migrates, seeds the demo data (`seed_demo`: two
companies, --rows scraping results each over two projects; --results N then tops each
company up to N results: its seeded results cloned raw with pymongo insert_many, new ids,
hashes and dates spread over the last 360 days, rollups counted, with bench.seeding)
plus --rows/10 tickets and 60 knowledge collections for Acme, creates an API key of Acme's company
admin, then runs gunicorn as deployed (gunicorn.conf.py: sync workers; --workers replaces their
number, --threads makes them gthread workers) with DEBUG=0, a SECRET_KEY and a
FIELD_ENCRYPTION_KEY generated for the run, and drives it with wrk (installed from Debian's
packages when missing) for --duration seconds per endpoint at each --connections level,
sending X-API-Key. The endpoints: scraping results list (its first five pages, by cursor), result detail (50 ids in
turn), results search (?q= with five queries in turn: after the first requests of each, a
worker answers them from the query-result cache in Redis, scraping.selectors.search_pages),
search, new queries (every request a query not asked before in the run: one- and two-word
queries of the words of the seeded results, `new_queries`, the connection levels' rows taking
disjoint shares; the uncached walk), content tickets list, ticket create (POST, a unique title
per request; the tickets it made are removed after its row, so every list row reads the same
data) and knowledge collections list. wrk's threads send the paths interleaved
(bench/http_load.lua): no two send the same one until the list has gone round.

Throttling is not what is measured: THROTTLE_ANON/USER/AUTH are set to 1000000/min for the
run (the throttle's Redis round trip is still paid on every request).

Prints one table: requests, throughput, p50/p95/p99 latency, non-2xx responses, 5xx
responses, socket errors (connect/read/write/timeout) and the 1-minute load average at the
start of the row (the machine is shared) per endpoint and concurrency (the new-queries row
also says how many distinct queries it had: more requests than that went round them again,
and it says so); exits 1 when any
response was a 5xx (the first server traceback is printed). --json PATH also writes the rows
as JSON. Latency counts the responses that came within the row's time (wrk's timeout is 30 s);
before each row the server works off what the previous one left queued.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import runpy
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.http_seed import load_tickets, remove_load_tickets, seed

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
LUA = HERE / "http_load.lua"
THROTTLE = "1000000/min"
SEARCHES = ["kettle", "excellent quality", "broke", "lantern delivery", "headphones"]
NEW_QUERIES = "search, new queries"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=15, help="seconds per endpoint and concurrency (default 15)")
    parser.add_argument("--connections", default="16,64", help="comma-separated connection counts (default 16,64)")
    parser.add_argument("--rows", type=int, default=3000, help="scraping results seeded per company (default 3000)")
    parser.add_argument(
        "--results",
        type=int,
        default=0,
        help="then top each company up to this many scraping results by raw clones of its seeded "
        "ones (e.g. 100000; default 0: --rows only)",
    )
    parser.add_argument(
        "--workers", type=int, default=None, help="gunicorn worker processes (default: gunicorn.conf.py's)"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="threads per worker: gthread workers (default: gunicorn.conf.py's, sync)",
    )
    parser.add_argument(
        "--endpoints", default="", help="comma-separated endpoint names to measure (default: every one)"
    )
    parser.add_argument("--json", default="", help="also write the rows to this JSON file")
    args = parser.parse_args(argv)
    args.connections = [int(c) for c in args.connections.split(",") if c.strip()]
    if args.duration < 1 or not args.connections or min(args.connections) < 1 or args.rows < 1:
        parser.error("--duration, --connections and --rows must be positive")
    if args.results < 0:
        parser.error("--results must not be negative")
    return args


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if not found and shutil.which("apt-get"):
        print("installing wrk (Debian package)", flush=True)
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        subprocess.run(["apt-get", "update", "-qq"], check=False, **quiet)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "wrk"],
            check=False,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
            **quiet,
        )
        found = shutil.which("wrk")
    if not found:
        sys.exit("wrk not found and could not be installed (apt-get install wrk)")
    return found


def run_environment(mongo_url: str, redis_url: str, data_dir: str) -> dict:
    """The environment of the bench process and of gunicorn: production-shaped (DEBUG=0,
    keys generated for this run), throttling out of the way."""
    return {
        "DJANGO_SETTINGS_MODULE": "requestdesk.settings",
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "FIELD_ENCRYPTION_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "MONGODB_URI": mongo_url,
        "MONGODB_NAME": f"bench_http_{os.getpid()}",
        "REDIS_URL": redis_url,
        "DATA_DIR": data_dir,
        "THROTTLE_ANON": THROTTLE,
        "THROTTLE_USER": THROTTLE,
        "THROTTLE_AUTH": THROTTLE,
        "LOG_LEVEL": "WARNING",
    }


def follow_pages(url: str, key: str, path: str, pages: int) -> list[str]:
    """The paths of a cursor-paged list's first `pages` pages, by following its `next` links."""
    paths = [path]
    while len(paths) < pages:
        request = urllib.request.Request(url + paths[-1], headers={"X-API-Key": key, "Accept": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            following = json.load(response).get("next")
        if not following:
            break
        parsed = urllib.parse.urlsplit(following)
        paths.append(f"{parsed.path}?{parsed.query}")
    return paths


def new_queries() -> list[str]:
    """Distinct one- and two-word queries (each word alone, each ordered pair of two) of the
    words of the seeded results (scraping.seed's products and review texts, cut by the
    search's tokenizer), the five of SEARCHES left out, in a fixed shuffled order."""
    import random

    from requestdesk.text import tokenize
    from scraping import seed as demo

    texts = ["review", *demo.PRODUCTS, *(line.format(p="") for lines in demo.OPINIONS.values() for line in lines)]
    words = sorted({word for text in texts for word in tokenize(text)})
    queries = words + [f"{first} {second}" for first in words for second in words if first != second]
    asked = {" ".join(tokenize(query)) for query in SEARCHES}
    queries = [query for query in queries if query not in asked]
    random.Random(13).shuffle(queries)
    return queries


def search_path(query: str) -> str:
    return f"/api/v1/scraping/results/search/?q={query.replace(' ', '+')}"


def endpoints(result_ids: list[str], result_pages: list[str]) -> list[tuple[str, str, list[str]]]:
    """(name, method, paths sent in turn). The new-queries row's paths are all of them: its
    first is checked before the load, and each connection level takes its share of the rest
    (`share`)."""
    base = "/api/v1/"
    return [
        ("results list", "GET", result_pages),
        ("result detail", "GET", [f"{base}scraping/results/{pk}/" for pk in result_ids]),
        ("results search", "GET", [search_path(q) for q in SEARCHES]),
        (NEW_QUERIES, "GET", [search_path(q) for q in new_queries()]),
        ("tickets list", "GET", [f"{base}content/tickets/"]),
        ("ticket create", "POST", [f"{base}content/tickets/"]),
        ("collections list", "GET", [f"{base}knowledge/collections/"]),
    ]


def schedule(plan: list[tuple[str, str, list[str]]], connections: list[int]) -> list[tuple[int, int, tuple]]:
    """(connection level, connections, endpoint) in the order measured: every endpoint at each
    level, the new-queries rows last: at 100,000 results the tickets list measured right after
    them gave 75-101 req/s, measured before them 130 (the drain between rows did not hide the
    difference; where their walks' time goes after a row ends was not traced)."""
    rows = [(level, count, endpoint) for level, count in enumerate(connections) for endpoint in plan]
    return sorted(rows, key=lambda row: row[2][0] == NEW_QUERIES)  # stable: the order otherwise kept


def share(name: str, paths: list[str], level: int, levels: int) -> list[str]:
    """The paths a row sends: the new-queries row at connection level `level` (of `levels`)
    its own share of the queries after the first (checked before the load), never another
    row's; any other row all of them."""
    return paths[1:][level::levels] if name == NEW_QUERIES else paths


def start_gunicorn(port: int, workers: int | None, threads: int | None, log_path: Path) -> subprocess.Popen:
    """gunicorn as deployed (the project's gunicorn.conf.py), on loopback, with no access log;
    `workers` and `threads` (gthread) replace the config's when given."""
    from requestdesk import embedded

    cmd = [
        str(Path(sys.executable).parent / "gunicorn"),
        "requestdesk.wsgi:application",
        "--config",
        str(ROOT / "gunicorn.conf.py"),
        "--bind",
        f"127.0.0.1:{port}",
        "--log-level",
        "warning",
    ]
    if workers:
        cmd += ["--workers", str(workers)]
    if threads:
        cmd += ["--worker-class", "gthread", "--threads", str(threads)]
    log = open(log_path, "ab")
    popen = subprocess.Popen(
        cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, preexec_fn=embedded._die_with_parent
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if popen.poll() is not None:
            sys.exit(f"gunicorn exited with code {popen.returncode}: {log_path.read_text()[-800:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/", timeout=2) as response:
                if response.status == 200:
                    return popen
        except (OSError, urllib.error.URLError):
            pass
        time.sleep(0.2)
    popen.kill()
    sys.exit("gunicorn did not answer /health/ within 60s")


def check_once(url: str, key: str, name: str, method: str, path: str, log_path: Path) -> None:
    """Each endpoint answers 2xx before it is loaded (a wrong path would measure 404s)."""
    body = json.dumps({"title": "Load ticket warm-up", "priority": "medium"}).encode() if method == "POST" else None
    request = urllib.request.Request(
        url + path,
        data=body,
        method=method,
        headers={"X-API-Key": key, "Accept": "application/json", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    if not 200 <= status < 300:
        sys.exit(f"{name}: {method} {path} answered {status} before the load\n{first_traceback(log_path)}")


def drain(url: str, parallel: int, limit: float = 180) -> float:
    """Wait until the server has worked off what wrk left queued (a request it read keeps running
    after wrk closes the connection): `parallel` /health/ requests at once must all answer within
    a second. Returns the seconds waited, so one row's backlog is not measured in the next."""
    started = time.monotonic()

    def quick(_):
        began = time.monotonic()
        try:
            with urllib.request.urlopen(f"{url}/health/", timeout=limit) as response:
                return response.status == 200 and time.monotonic() - began < 1
        except OSError:
            return False

    with ThreadPoolExecutor(parallel) as pool:
        while time.monotonic() - started < limit:
            if all(pool.map(quick, range(parallel))):
                break
            time.sleep(0.5)
    return time.monotonic() - started


def run_wrk(
    wrk: str, url: str, key: str, method: str, paths: list[str], connections: int, duration: int, tag: str
) -> dict:
    threads = min(2, connections)
    cmd = [
        wrk,
        "-t",
        str(threads),
        "-c",
        str(connections),
        "-d",
        f"{duration}s",
        "--timeout",
        "30s",
        "-s",
        str(LUA),
        url,
        "--",
        key,
        method,
        tag,
        str(threads),
        *paths,
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 120)
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("HTTP_LOAD_RESULT ")), None)
    if done.returncode != 0 or line is None:
        sys.exit(f"wrk failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}")
    raw = json.loads(line.split(" ", 1)[1])
    statuses = {int(code): n for code, n in raw["statuses"].items()}
    seconds = raw["duration_us"] / 1e6
    return {
        "requests": raw["requests"],
        "rps": raw["requests"] / seconds if seconds else 0.0,
        "p50_ms": raw["p50_us"] / 1000,
        "p95_ms": raw["p95_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "max_ms": raw["max_us"] / 1000,
        "statuses": statuses,
        "non_2xx": sum(n for code, n in statuses.items() if not 200 <= code < 300),
        "server_errors": sum(n for code, n in statuses.items() if code >= 500),
        "socket_errors": raw["socket_errors"],
    }


def print_table(rows: list[dict]) -> None:
    header = (
        f"{'endpoint':<19} {'conns':>5} {'requests':>8} {'req/s':>7} {'p50 ms':>8} {'p95 ms':>8} "
        f"{'p99 ms':>8} {'non-2xx':>7} {'5xx':>5} {'socket c/r/w/t':>14} {'load':>5}"
    )
    print("\n" + header + "\n" + "-" * len(header))
    for row in rows:
        sockets = "/".join(str(row["socket_errors"][k]) for k in ("connect", "read", "write", "timeout"))
        print(
            f"{row['endpoint']:<19} {row['connections']:>5} {row['requests']:>8} {row['rps']:>7.1f} "
            f"{row['p50_ms']:>8.1f} {row['p95_ms']:>8.1f} {row['p99_ms']:>8.1f} {row['non_2xx']:>7} "
            f"{row['server_errors']:>5} {sockets:>14} {row['load1']:>5.1f}"
        )


def first_traceback(log_path: Path) -> str:
    text = log_path.read_text(errors="replace") if log_path.exists() else ""
    start = text.find("Traceback")
    return text[start : start + 3000] if start >= 0 else ""


def main(argv=None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the servers on the way out
    wrk = ensure_wrk()
    from requestdesk import embedded

    work = Path(tempfile.mkdtemp(prefix="http-load-"))
    processes, gunicorn = [], None
    try:
        # ':memory:' runs out at about 85k scraping results
        mongo = embedded.start_mongo(embedded.free_port(), str(work / "mongo") if args.results else ":memory:")
        processes.append(mongo)
        redis = embedded.start_redis(embedded.free_port())
        processes.append(redis)
        os.environ.update(run_environment(mongo.url, redis.url, str(work / "data")))
        prepared = seed(args.rows, args.results)
        port, log_path = embedded.free_port(), work / "gunicorn.log"
        gunicorn = start_gunicorn(port, args.workers, args.threads, log_path)
        config = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
        workers, threads = args.workers or config["workers"], args.threads or 1
        kind = (
            f"gthread, {workers} workers x {threads} threads"
            if args.threads
            else f"{config['worker_class']}, {workers} workers"
        )
        url = f"http://127.0.0.1:{port}"
        print(
            f"server     gunicorn ({kind}) on {url}, DEBUG=0; "
            f"wrk {args.duration}s per row\n"
            f"throttle   THROTTLE_ANON/USER/AUTH={THROTTLE} for this run: rate limits are not what is measured",
            flush=True,
        )
        plan = endpoints(
            prepared["result_ids"], follow_pages(url, prepared["key"], "/api/v1/scraping/results/", pages=5)
        )
        if args.endpoints:
            wanted = {name.strip() for name in args.endpoints.split(",")}
            if unknown := wanted - {name for name, _, _ in plan}:
                sys.exit(f"--endpoints: no endpoint named {', '.join(sorted(unknown))}")
            plan = [endpoint for endpoint in plan if endpoint[0] in wanted]
        for name, method, paths in plan:
            check_once(url, prepared["key"], name, method, paths[0], log_path)
        remove_load_tickets()
        rows = []
        for level, connections, (name, method, paths) in schedule(plan, args.connections):
            sent = share(name, paths, level, len(args.connections))
            waited = drain(url, 2 * workers * threads)
            load = os.getloadavg()[0]
            measured = run_wrk(
                wrk,
                url + "/",
                prepared["key"],
                method,
                sent,
                connections,
                args.duration,
                tag=f"c{connections}-{secrets.token_hex(3)}",
            )
            rows.append({"endpoint": name, "connections": connections, "load1": load, **measured})
            print(
                f"  {name:<19} c={connections:<3} {measured['rps']:7.1f} req/s  p99 {measured['p99_ms']:.0f} ms"
                f"  5xx {measured['server_errors']}  (drained {waited:.1f}s before, load {load:.1f})",
                flush=True,
            )
            if name == NEW_QUERIES:
                rows[-1]["queries"] = len(sent)
                again = "" if measured["requests"] <= len(sent) else ": went round them again, repeats cached"
                print(f"  {'':<19} {measured['requests']} requests over {len(sent)} distinct queries{again}")
            if method == "POST":  # what was acknowledged is stored; then gone, so list rows read the seed only
                drain(url, 2 * workers * threads)
                rows[-1]["stored"], rows[-1]["distinct"] = load_tickets()
                remove_load_tickets()
                print(
                    f"  {'':<19} {measured['statuses'].get(201, 0)} tickets acknowledged (201), "
                    f"{rows[-1]['stored']} stored, {rows[-1]['distinct']} distinct titles",
                    flush=True,
                )
        print_table(rows)
        if args.json:
            Path(args.json).write_text(json.dumps(rows, indent=1, default=str))
        if any(row["server_errors"] for row in rows):
            print(
                "\n5xx responses under load; the first server traceback:\n"
                + (first_traceback(log_path) or "(none in the log)")
            )
            return 1
        return 0
    finally:
        if gunicorn is not None and gunicorn.poll() is None:
            gunicorn.terminate()
            try:
                gunicorn.wait(15)
            except subprocess.TimeoutExpired:
                gunicorn.kill()
                gunicorn.wait()
        while processes:
            processes.pop().stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

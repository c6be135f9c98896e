"""Search cost: what one results search costs, in process, on the data `bench.http_load` seeds.

    .venv/bin/python -m bench.search_cost [--rows 3000] [--results 0] [--rounds 5]

Starts its own SecantusDB and Redis (bench.harness), seeds like bench.http_load (seed_demo:
--rows results per company; --results N then tops each company up to N by raw clones), then
runs http_load's five queries (bench.http_load.SEARCHES) --rounds times each, two ways:
the selector alone (scraping.selectors.search: numbered(number=1, size=20), the first page
of 20 and its count, as the API's paginator asks them), and GET /api/v1/scraping/results/search/?q= through
django.test.Client with the company admin's X-API-Key, beside GET /health/ (a bare view).
Each way twice: walked (the company's cached pages forgotten before every call, as a result
stored anywhere does: the empty weights, kept under the same generation, are asked again too,
so these rows are a search right after the company's results changed), then
cached (the same queries again: a page's rows read by id). Then the selector on as many of
http_load's new queries (`new_queries`: one- and two-word queries of the seeded words), each
asked once: what a query not asked before costs, beside the five; and as many others walking
the results, as when the company's search index is stale (the baseline of the index).

Prints, per search: wall p50, the CPU this process spent (the app's side), the CPU the
database server spent (its process's utime + stime: on a shared machine these move less
than the wall time), database round trips (find, aggregate, getMore) and the results read
by the walk. Run it at the commit before a change and after, in the same minutes.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import time
from pathlib import Path
from unittest import mock

import pymongo.monitoring

from bench import harness


class _Commands(pymongo.monitoring.CommandListener):
    counted = {"find", "aggregate", "getMore"}

    def __init__(self):
        self.seen = 0

    def started(self, event):
        if event.command_name in self.counted:
            self.seen += 1

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass


COMMANDS = _Commands()
pymongo.monitoring.register(COMMANDS)  # before Django's MongoClient exists


def _server_cpu(stack) -> float:
    if not stack.services or not hasattr(stack.services[0], "popen"):
        return 0.0
    fields = Path(f"/proc/{stack.services[0].popen.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _measure(stack, label: str, calls, rounds: int, read=lambda: 0, warm: bool = True) -> None:
    for call in calls if warm else ():
        call()
    gc.collect()  # the seeding's garbage is not collected while this one is timed
    walls, cpu, server, commands, docs = [], time.process_time(), _server_cpu(stack), COMMANDS.seen, 0
    for _ in range(rounds):
        for call in calls:
            started = time.perf_counter()
            call()
            walls.append(time.perf_counter() - started)
            docs += read()
    n = len(walls)
    print(
        f"{label:<28} wall p50 {statistics.median(walls) * 1000:8.2f} ms   CPU: app {(time.process_time() - cpu) * 1000 / n:7.2f} ms"
        f"  server {(_server_cpu(stack) - server) * 1000 / n:7.2f} ms   round trips {(COMMANDS.seen - commands) / n:5.1f}"
        f"   results read {docs / n:7.0f}",
        flush=True,
    )


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=3000, help="results seeded per company (default 3000)")
    parser.add_argument("--results", type=int, default=0, help="then top each company up to this many (default 0)")
    parser.add_argument("--rounds", type=int, default=5, help="times each query is timed (default 5)")
    harness.add_server_arguments(parser, "")
    args = parser.parse_args(argv)
    os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
    with harness.django_stack(storage=args.storage, mongodb_uri=args.mongodb_uri) as stack:
        from django.test import Client

        from bench import http_load, http_seed
        from scraping.selectors import search, search_pages, search_segments
        from tenants.models import Company

        prepared = http_seed.seed(args.rows, args.results)
        company = Company.objects.get(name="Acme Corp")
        last = {}

        def selector(query, walked):
            def run():
                if walked:
                    search_pages.forget(company.pk)
                found = search.search(company=company, query=query)
                found.numbered(number=1, size=20)
                last["read"] = found.read

            return run

        client = Client(HTTP_X_API_KEY=prepared["key"], HTTP_ACCEPT="application/json")

        def get(path, walked=False):
            def run():
                if walked:
                    search_pages.forget(company.pk)
                response = client.get(path)
                assert response.status_code == 200, (path, response.status_code)

            return run

        queries = http_load.SEARCHES
        paths = [http_load.search_path(q) for q in queries]
        for walked, how in ((True, "walked"), (False, "cached")):
            calls = [selector(q, walked) for q in queries]
            _measure(stack, f"selector page, {how}", calls, args.rounds, lambda: last["read"])
        share = len(queries) * args.rounds
        new = http_load.new_queries()
        fresh = [selector(q, True) for q in new[:share]]
        _measure(stack, "selector page, new queries", fresh, 1, lambda: last["read"], warm=False)
        # The baseline: as many other new queries, walking the results as when the company's
        # search index is stale (scraping.selectors.search_segments not used).
        with mock.patch.object(search_segments, "rank", lambda **_: None):
            fresh = [selector(q, True) for q in new[share : 2 * share]]
            _measure(stack, "selector page, new queries, walk", fresh, 1, lambda: last["read"], warm=False)
        for walked, how in ((True, "walked"), (False, "cached")):
            _measure(stack, f"GET results/search/, {how}", [get(p, walked) for p in paths], args.rounds)
        _measure(stack, "GET /health/ (bare view)", [get("/health/")], args.rounds * len(queries))


if __name__ == "__main__":
    main()

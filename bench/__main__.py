"""Every benchmark in one run, one table: each figure beside its baseline measured in the same
run, and the ratio.

    .venv/bin/python -m bench [--only api,scraping,knowledge,content,lists,retrieval,extraction]
                              [--results 20000] [--chunks 10000,100000] [--contexts 500]
                              [--sizes 1000,10000] [--qa FILE] [--pages DIR] ...

One SecantusDB (a temporary folder unless --storage says) and one private Redis serve every
benchmark, each in its own company; progress and details go to stderr, the table to stdout.

Extraction quality (main-text F1 against trafilatura alone) is scored on the pages of
--pages DIR, or of EXTRACTION_PAGES=DIR; without either, on two fixture pages. The real set,
trafilatura's labelled evaluation pages (third-party pages, so not in this repository):

    git clone --depth 1 https://github.com/adbar/trafilatura /tmp/trafilatura
    EXTRACTION_PAGES=/tmp/trafilatura/tests .venv/bin/python -m bench
`python -m bench.<name>_bench` runs one benchmark alone with the same options.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from bench import (
    api_bench,
    content_bench,
    extraction_bench,
    harness,
    knowledge_bench,
    lists_bench,
    retrieval_bench,
    scraping_bench,
    table,
)

BENCHES = {
    "api": api_bench,
    "scraping": scraping_bench,
    "knowledge": knowledge_bench,
    "content": content_bench,
    "lists": lists_bench,
    "retrieval": retrieval_bench,
    "extraction": extraction_bench,
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--only",
        default=",".join(BENCHES),
        help=f"benchmarks to run, comma-separated (default all: {','.join(BENCHES)})",
    )
    for module in BENCHES.values():
        module.add_arguments(parser.add_argument_group(module.__name__.rsplit(".", 1)[-1]))
    harness.add_server_arguments(parser, storage="")
    args = parser.parse_args(argv)
    args.only = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = set(args.only) - set(BENCHES)
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(sorted(unknown))}; choose from {', '.join(BENCHES)}")
    return args


def main(argv=None) -> None:
    args = parse_args(argv)
    rows, timings = [], []
    started_all = time.perf_counter()
    with harness.django_stack(storage=args.storage, mongodb_uri=args.mongodb_uri) as stack:
        for name in args.only:
            started, cpu = time.perf_counter(), stack.cpu_seconds()
            rows += BENCHES[name].rows(args, harness.log)
            timings.append(f"{name} {time.perf_counter() - started:.0f}s ({stack.cpu_seconds() - cpu:.0f}s)")
        cpu_total = stack.cpu_seconds()
    print(table.render(rows))
    print(
        f"time, wall (CPU seconds of the bench, its servers and workers): {', '.join(timings)}; total "
        f"{time.perf_counter() - started_all:.0f}s ({cpu_total:.0f}s); load average {os.getloadavg()[0]:.1f} "
        f"on {os.cpu_count()} CPUs"
    )
    sys.stdout.flush()


if __name__ == "__main__":
    main()

"""`python -m bench` runs every benchmark (tiny sizes here) and prints one table: each row a
figure, its unit, the baseline measured in the same run and the ratio; a benchmark's own
command line prints its rows the same way."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.paths import ROOT

TINY = [
    "--results",
    "250",
    "--raw-sample",
    "250",
    "--search-queries",
    "3",
    "--chunks",
    "300,600",
    "--embed-sample",
    "16",
    "--knn-queries",
    "3",
    "--contexts",
    "4",
    "--in-process-contexts",
    "3",
    "--tickets",
    "30",  # more than a page: the list's count is then a lower bound on the embedded server
    "--requests",
    "10",
    "--sizes",
    "1000",
    "--list-requests",
    "3",
    "--list-warmups",
    "1",
    "--qa",
    "tests/fixtures/squad/sample-30.json",
]
EXPECTED = [
    "api GET tickets list p50 (API key, page of 20)",
    "scraping ingest (parse + sentiment + store)",
    "scraping search p50, common words (Zipf, ranks >= 30)",
    "scraping search p50, common words + project & sentiment filter",
    "scraping search p50, any words (uniform)",
    "knowledge embed (LocalEmbedder, MiniLM)",
    "knowledge kNN p50, 300 chunks",
    "knowledge retrieval.search vector p50, 300 chunks",
    "knowledge kNN p50, 600 chunks",
    "knowledge retrieval.search vector p50, 600 chunks",
    "content contexts via Celery, 1 worker process",
    "content contexts via Celery, 2 worker processes",
    "content contexts in one process, claim find_and_modify",
    *(
        f"lists {page} p50, 1k rows/tenant"
        for list_name in ("results API", "tickets API", "audit log API")
        for page in (f"{list_name} page 1", f"{list_name} page 2 (next link)")
    ),
    "lists results API filtered by a sentiment no row has, p50, 1k rows/tenant",
    *(
        f"lists {list_name} round trips, 1k rows/tenant"
        for list_name in ("results API", "tickets API", "audit log API")
    ),
    "lists admin results changelist p50, 1k rows/tenant",
    "lists admin floor: the companies changelist p50",
    *(
        f"retrieval {mode} hit@{k}, sample-30.json (30 questions)"
        for mode in ("keyword", "vector", "hybrid")
        for k in (1, 5)
    ),
    "retrieval keyword scoring p50 (keywords.search), 21 chunks",
    "retrieval hybrid search p50 (end to end), 21 chunks",
    "extraction main-text F1, pages (2 pages)",
    "extraction time per page, pages (2 pages)",
]
UNITS = {"ms", "results/s", "chunks/s", "/s", "round trips", "hit@1", "hit@5", "F1"}


def run(*args: str) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("MONGODB_URI", "REDIS_URL", "DATA_DIR")}
    done = subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def table_rows(stdout: str) -> dict[str, list[str]]:
    lines = stdout.splitlines()
    header = next(n for n, line in enumerate(lines) if line.startswith("benchmark "))
    assert set(lines[header + 1]) <= {"-", " "}
    rows = {}
    for line in lines[header + 2 :]:
        if line.startswith("ratio = "):
            break
        cells = re.split(r"\s{2,}", line.strip())
        assert len(cells) == 6, line
        rows[cells[0]] = cells[1:]
    return rows


def number(cell: str) -> float:
    return float(cell.replace(",", ""))


def check_row(cells: list[str]) -> None:
    figure, unit, baseline_name, baseline, ratio = cells
    assert unit in UNITS
    assert baseline_name
    assert number(figure) > 0 and number(baseline) > 0
    assert ratio.endswith("x")
    # The printed figures are rounded; the ratio is computed from the unrounded ones.
    assert number(ratio[:-1]) == pytest.approx(number(figure) / number(baseline), rel=0.1, abs=0.02)


@pytest.mark.slow
def test_entry_point_prints_every_row_with_its_baseline_and_ratio():
    rows = table_rows(run("bench", *TINY))

    assert list(rows) == EXPECTED
    for cells in rows.values():
        check_row(cells)


@pytest.mark.slow
def test_a_benchmark_alone_prints_its_rows_as_the_same_table():
    rows = table_rows(run("bench.api_bench", "--tickets", "5", "--requests", "5"))

    assert list(rows) == ["api GET tickets list p50 (API key, page of 20)"]
    check_row(rows["api GET tickets list p50 (API key, page of 20)"])

"""The HTTP load benchmark (bench/http_load.py) runs end to end: gunicorn with DEBUG=0 under
wrk, every endpoint answers, none with a 5xx. It measures nothing here (figures come from the
benchmark itself); it proves the load path works and that the product holds under it."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.paths import ROOT

ENDPOINTS = {
    "results list",
    "result detail",
    "results search",
    "search, new queries",
    "tickets list",
    "ticket create",
    "collections list",
}


@pytest.mark.slow
def test_http_load_has_no_server_errors(tmp_path):
    out = tmp_path / "rows.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.http_load",
            "--duration",
            "2",
            "--connections",
            "4",
            "--rows",
            "200",
            "--workers",
            "2",
            "--json",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    rows = json.loads(out.read_text())
    assert {row["endpoint"] for row in rows} == ENDPOINTS
    assert rows[-1]["endpoint"] == "search, new queries"  # measured last: no row runs behind its walks
    for row in rows:
        assert row["connections"] == 4
        assert row["server_errors"] == 0, row
        assert row["non_2xx"] == 0, row
        assert sum(row["socket_errors"].values()) == 0, row
        assert row["requests"] > 0 and row["rps"] > 0, row
        assert 0 < row["p50_ms"] <= row["p95_ms"] <= row["p99_ms"], row
    create = next(row for row in rows if row["endpoint"] == "ticket create")
    # Every ticket acknowledged is stored, once: the titles are unique per request.
    assert create["stored"] >= create["statuses"]["201"] > 0
    assert create["distinct"] == create["stored"]
    fresh = next(row for row in rows if row["endpoint"] == "search, new queries")
    assert fresh["requests"] <= fresh["queries"]  # every request a query not asked before in the run
    assert "results search" in done.stdout and "p99 ms" in done.stdout

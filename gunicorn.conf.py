"""gunicorn's settings for requestdesk's web process, read by `gunicorn requestdesk.wsgi` from
the project folder (the Docker image's command, docker-compose's web) and by
`python -m bench.http_load`, so the load bench measures what is deployed.

Sync workers, four per core (WEB_CONCURRENCY overrides): a request mostly waits on the
database and Redis, and a sync worker takes one connection at a time from the listen queue,
first come first served. Under `python -m bench.http_load` (2-core machine, 64 connections)
gthread workers (3 x 4 threads) gave lists p99 1.4-1.6 s at p50 0.5-0.65 s (likely one
worker holding more of the keep-alive connections than the others); eight sync workers
gave p99 0.75-0.88 s at p50 0.64-0.75 s for the same throughput.
"""

import multiprocessing
import os

bind = os.environ.get("WEB_BIND", "0.0.0.0:8000")
worker_class = "sync"
workers = int(os.environ.get("WEB_CONCURRENCY") or 4 * multiprocessing.cpu_count())
timeout = int(os.environ.get("WEB_TIMEOUT", "60"))

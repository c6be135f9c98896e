"""Fault: the embedded database (SecantusDB, on-disk) is stopped in the middle of a scrape
job's ingestion and started again on the same port and data folder. The worker's task meets
pymongo connection errors, retries with backoff, takes back its own job (its lease) and
finishes it: every page's results stored once, nothing lost across the restart, the job's
counters equal to what is stored.

The test starts its own on-disk server (the session's is ':memory:'), migrates it and seeds
it through manage.py, and reads it with pymongo; the worker uses it through MONGODB_URI."""

import os
import subprocess
import sys
import time
from collections import Counter

import pymongo
import pytest
from bson import ObjectId

from requestdesk import embedded
from tests.support.celery_worker import ROOT, wait_until
from tests.support.scraping import Reply, fixture

PAGES = 8
NAME = "fault_db_restart"
DOWN_SECONDS = 3  # longer than the worker's MONGO_TIMEOUT_MS: its writes fail, not just wait

SEED = """
import os
from scraping.services import jobs, projects
from tenants.models import Company
company = Company.objects.create(name="Fault")
project = projects.create_project(company=company, name="DB restart", config={
    "rate_limit_per_minute": 6000, "timeout_seconds": 5, "max_retries": 2, "concurrency": 1})
for n in range(int(os.environ["PAGES"])):
    projects.create_target(project=project, url=f"{os.environ['SITE']}/slow/{n}")
print("JOB", jobs.create_job(project=project).pk, project.pk)
"""


def _manage(env, *args, timeout=300) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return done.stdout


@pytest.mark.slow
def test_database_restart_during_ingestion_loses_and_duplicates_nothing(site, celery_worker, tmp_path):
    from scraping import tasks

    for n in range(PAGES):
        site.route(f"/slow/{n}", Reply(body=fixture("article.html"), delay=0.7))
    port, store = embedded.free_port(), tmp_path / "store"
    mongo = embedded.start_mongo(port, str(store), log_path=tmp_path / "mongo.log")
    try:
        env = {**os.environ, "MONGODB_URI": mongo.url, "MONGODB_NAME": NAME}
        _manage(env, "migrate", "--noinput")
        seeded = _manage({**env, "SITE": site.base, "PAGES": str(PAGES)}, "shell", "-c", SEED)
        job_id, project_id = next(line.split()[1:] for line in seeded.splitlines() if line.startswith("JOB "))
        client = pymongo.MongoClient(mongo.url, serverSelectionTimeoutMS=500)
        db = client[NAME]

        def job():
            try:
                return db.scrape_jobs.find_one({"_id": ObjectId(job_id)}) or {}
            except pymongo.errors.PyMongoError:
                return {}

        worker = celery_worker(
            "db-fault",
            env={
                "MONGODB_URI": mongo.url,
                "MONGODB_NAME": NAME,
                "MONGO_TIMEOUT_MS": 1000,
                "SCRAPING_LEASE_SECONDS": 120,
            },
        )
        tasks.run_job.delay(job_id)
        assert wait_until(lambda: job().get("targets_done", 0) >= 3, timeout=60), worker.log()

        mongo.stop()  # mid-ingestion: the next page's results meet a closed port
        done_at_stop = max(len(site.requests) - 1, 0)  # pages asked (robots.txt aside)
        time.sleep(DOWN_SECONDS)
        mongo = embedded.start_mongo(port, str(store), log_path=tmp_path / "mongo.log")
        # The test's own client finds the restarted server at its next check (its selection
        # timeout is 500 ms, pymongo's least time between checks too): read until it answers.
        assert wait_until(lambda: bool(job()), timeout=15), (tmp_path / "mongo.log").read_text()[-2000:]
        kept = job()
        assert kept.get("status") == "running" and kept.get("targets_done", 0) >= 3  # on disk, kept

        assert wait_until(lambda: job().get("status") in ("completed", "failed"), timeout=180), worker.log()
        final = job()
        results = list(db.results.find({"project_id": ObjectId(project_id)}, {"target_id": 1, "content_hash": 1}))
        per_target = Counter(r["target_id"] for r in results)
        pairs = Counter((r["target_id"], r["content_hash"]) for r in results)
        retries = worker.log(tail=10**6).count("Retry in")
        assert final["status"] == "completed", (final.get("error"), worker.log())
        assert (final["targets_done"], final["pages_fetched"], final["pages_failed"]) == (PAGES, PAGES, 0)
        assert len(per_target) == PAGES and len(set(per_target.values())) == 1  # every page, the same count
        assert max(pairs.values()) == 1  # no duplicate result
        assert final["results_created"] == len(results)  # the counter equals what is stored
        assert retries >= 1, worker.log()  # the task did meet the outage and retried
        assert db.targets.count_documents({"lease_job": {"$ne": None}}) == 0
        print(
            f"\nFIGURES database restart: SecantusDB stopped at page ~{done_at_stop}/{PAGES}, down "
            f"{DOWN_SECONDS}s, restarted on the same port and folder; task retried {retries}x, job completed "
            f"once, {len(results)} results, 0 duplicates, results_created={final['results_created']}"
        )
    finally:
        mongo.stop()

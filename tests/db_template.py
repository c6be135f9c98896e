"""A migrated test database, built once and copied for every server the tests start.

Migrating the test database took each pytest-xdist worker 15-100 s (about 550 commands on
the embedded server, most of them index builds), and every worker ran the same migrations.
Now the first process that needs it migrates a SecantusDB store on disk (`manage.py migrate`
in a subprocess, database MONGODB_TEST_NAME), stops that server and keeps the store as a
template; every test server then starts on a copy of it, and pytest-django, told to keep the
database (tests/conftest.py), finds every migration applied.

The template's name carries a hash of the Python files that decide what `migrate` writes
(`_sources`: the migrations, the apps' `apps.py`, the settings, the database backend, and the
project modules they import), so a change to one of them builds a new one, and a change
elsewhere (a view, a serializer) does not (a template unused for a day is removed). A file lock keeps two processes from building
the same template at once.

The store also keeps a second copy of the migrated database, MIGRATED_NAME, that no test
writes to: the migration tests (tests/support/migrations.py) start from copies of it instead of
migrating an empty database again.
"""

from __future__ import annotations

import ast
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pymongo

from requestdesk import embedded

ROOT = Path(__file__).resolve().parent.parent
PREFIX = "rd-test-db-"
TEST_NAME = os.environ.get("MONGODB_TEST_NAME", "test_requestdesk")
MIGRATED_NAME = f"{TEST_NAME}_as_migrated"  # the untouched copy, beside the test database


KEEP_SECONDS = 24 * 3600  # a template (another tree's, say) unused this long is removed


def _sources() -> list[Path]:
    """The project's Python files that decide what `migrate` writes: every migration (the apps'
    `migrations/` and `migrations_mongo/`), the apps' `apps.py` (post_migrate receivers),
    the settings and the database backend (requestdesk/db, named by ENGINE, not imported),
    and every project module these import, followed import by import. A change elsewhere (a
    view, a serializer, the admin, a command) leaves the migrated database as it was."""
    packages = {top.name for top in ROOT.iterdir() if (top / "__init__.py").is_file() and top.name not in _NOT_PROJECT}
    roots = [ROOT / "requestdesk" / "settings.py", *sorted((ROOT / "requestdesk" / "db").rglob("*.py"))]
    for top in sorted(ROOT.iterdir()):
        if top.is_dir() and not top.is_symlink() and top.name not in _NOT_PROJECT and not top.name.startswith("."):
            roots += sorted(
                path for path in top.rglob("*.py") if _MIGRATIONS & set(path.parts) or path.name == "apps.py"
            )
    seen: set[Path] = set()
    todo = list(roots)
    while todo:
        path = todo.pop()
        if path not in seen:
            seen.add(path)
            todo += _imported(path, packages)
    return sorted(seen)


_NOT_PROJECT = {"tests", "bench", "static", "templates"}
_MIGRATIONS = {"migrations", "migrations_mongo"}


def _imported(path: Path, packages: set[str]) -> list[Path]:
    """The project's modules (and the packages above them) that `path` imports."""
    module = list(path.relative_to(ROOT).with_suffix("").parts)
    names = []
    for node in ast.walk(ast.parse(path.read_bytes())):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: to the module's package (of a/b/__init__.py as of a/b/c.py)
                package = module[: len(module) - node.level]
                base = ".".join(package + ([node.module] if node.module else []))
            names += [base] + [f"{base}.{alias.name}" for alias in node.names]
    found = []
    for name in names:
        parts = name.split(".")
        if parts[0] not in packages:
            continue
        for end in range(1, len(parts) + 1):
            candidate = ROOT.joinpath(*parts[:end])
            for file in (candidate / "__init__.py", candidate.with_suffix(".py")):
                if file.is_file():
                    found.append(file)
    return found


def _fingerprint() -> str:
    digest = hashlib.sha256(TEST_NAME.encode() + Path(__file__).read_bytes())  # and how a template is built
    for path in _sources():
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def _build(target: Path) -> None:
    building = Path(tempfile.mkdtemp(prefix=f"{PREFIX}build-", dir=target.parent))
    mongo = embedded.start_mongo(embedded.free_port(), str(building))
    try:
        env = {**os.environ, "MONGODB_URI": mongo.url, "MONGODB_NAME": TEST_NAME}
        done = subprocess.run(
            [sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
        if done.returncode:
            raise RuntimeError(f"migrating the test database template failed:\n{done.stderr[-3000:]}")
        with pymongo.MongoClient(mongo.url) as client:
            copy_database(client, TEST_NAME, MIGRATED_NAME)
    finally:
        mongo.stop()
    building.rename(target)


def copy_database(client: pymongo.MongoClient, source: str, target: str) -> None:
    """Copy database `source` to `target` (which must not exist) on the same server: every
    collection with its options (validators), documents and indexes. A migrated database
    (about 50 collections, 220 indexes) takes under a second."""
    for info in client[source].list_collections():
        name = info["name"]
        if name.startswith("system."):
            continue
        client[target].create_collection(name, **info.get("options", {}))
        documents = list(client[source][name].find())
        if documents:
            client[target][name].insert_many(documents)
        indexes = [
            {key: value for key, value in spec.items() if key not in ("v", "ns")}
            for spec in client[source][name].list_indexes()
            if spec["name"] != "_id_"
        ]
        if indexes:
            client[target].command("createIndexes", name, indexes=indexes)


def copy(into: Path) -> Path:
    """A fresh copy at `into` (replaced if it exists) of the migrated store for this tree,
    built first if it is not there yet."""
    base = Path(os.environ.get("TMPDIR", "/tmp"))
    target = base / f"{PREFIX}{_fingerprint()}"
    shutil.rmtree(into, ignore_errors=True)
    with open(f"{target}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one build of this template at a time, and no copy of it half built
        for old in base.glob(f"{PREFIX}*"):
            if old.is_dir() and old != target and time.time() - old.stat().st_mtime > KEEP_SECONDS:
                shutil.rmtree(old, ignore_errors=True)
        if not target.is_dir():
            _build(target)
        os.utime(target)
        shutil.copytree(target, into)
    return into

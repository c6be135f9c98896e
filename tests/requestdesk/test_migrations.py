"""`manage.py migrate` on an empty database builds every collection and index; it is
repeatable, and the models have no unmigrated changes."""

import io
import os
import subprocess
import sys

from django.core.management import call_command

from tests.paths import ROOT
from tests.support.migrations import manage


def _migrate(db_name):
    return manage(db_name, "migrate", "--no-input", check=False)


def _keys(collection):
    """Indexes by key spec; of two on the same keys (a partial unique one and a plain one for
    the planner), the unique one."""
    specs = sorted(collection.index_information().values(), key=lambda spec: bool(spec.get("unique")))
    return {tuple(spec["key"]): spec for spec in specs}


def test_migrate_builds_collections_and_indexes(fresh_db):
    name, db = fresh_db
    first = _migrate(name)
    assert first.returncode == 0, first.stderr
    assert {"users", "companies", "settings", "api_keys", "refresh_tokens"} <= set(db.list_collection_names())
    users = _keys(db.users)
    assert users[(("username", 1),)]["unique"] and users[(("email", 1),)]["unique"]
    assert (("company_id", 1),) in users
    assert _keys(db.settings)[(("user_id", 1),)]["unique"]
    assert _keys(db.api_keys)[(("prefix", 1),)]["unique"]
    assert [
        spec
        for spec in db.api_keys.index_information().values()
        if spec["key"] == [("prefix", 1)] and not spec.get("partialFilterExpression")
    ]  # the planner's
    assert _keys(db.refresh_tokens)[(("expires_at", 1),)]["expireAfterSeconds"] == 0
    again = _migrate(name)
    assert again.returncode == 0 and "No migrations to apply" in again.stdout


def test_reference_data_comes_from_migrations_and_is_idempotent(fresh_db):
    name, db = fresh_db
    assert _migrate(name).returncode == 0
    presets = {p["name"]: p for p in db.presets.find({"is_system": True})}
    assert sorted(presets) == ["advanced", "budget", "enterprise", "standard", "starter"]
    assert presets["starter"]["config"]["max_pages"] == 10 and presets["starter"]["company_id"] is None
    # A drifted value is put back, a user preset is left alone, and nothing is duplicated.
    db.presets.update_one({"name": "starter"}, {"$set": {"config.max_pages": 999}})
    db.presets.insert_one({"name": "mine", "is_system": False, "config": {}})
    env = {**os.environ, "MONGODB_NAME": name}
    for target in ("0001", "0002"):
        done = subprocess.run(
            [sys.executable, "manage.py", "migrate", "scraping", target],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
    assert db.presets.count_documents({"is_system": True}) == 5
    assert db.presets.find_one({"name": "starter"})["config"]["max_pages"] == 10
    assert db.presets.count_documents({"name": "mine"}) == 1


def test_no_missing_migrations():
    out = io.StringIO()
    try:
        call_command("makemigrations", "--check", "--dry-run", stdout=out)
    except SystemExit:  # --check exits non-zero when a model changed without its migration
        pass
    assert out.getvalue().strip() == "No changes detected", out.getvalue()

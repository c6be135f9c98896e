"""Scale-out: the shard plan against the models' indexes and the migrated collections, the
command's refusal on a server that is not a mongos (the embedded one; no mongos can run
here), its dry run, the pool settings reaching PyMongo, and the compose file's profiles."""

import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
import yaml
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import connection

from requestdesk.db import sharding
from tests import flushing
from tests.paths import ROOT


def _meta_indexes(model):
    """(fields with their '-' prefix, unique) for each index the model declares, read
    straight from Meta (independently of requestdesk.db.sharding)."""
    found = [(list(index.fields), False) for index in model._meta.indexes]
    found += [(list(c.fields), True) for c in model._meta.constraints if getattr(c, "fields", None)]
    return found


def _columns(model, fields):
    return [model._meta.get_field(f.lstrip("-")).column if not f.startswith("-") else "-" for f in fields]


# --- the plan ----------------------------------------------------------------------------


def test_each_shard_key_is_an_ascending_prefix_of_a_declared_index():
    shards = sharding.plan()
    assert {shard.collection for shard in shards} >= {"contexts", "batches", "knowledge_chunks", "messages"}
    for shard in shards:
        model = apps.get_model(shard.model)
        key = list(shard.key)
        assert all(direction == 1 for direction in shard.key.values())
        prefixes = [_columns(model, fields)[: len(key)] for fields, _ in _meta_indexes(model)]
        assert key in prefixes, f"{shard.collection}: {key} starts no index of {model.__name__}"
        for fields, unique in _meta_indexes(model):
            if unique:  # MongoDB: a sharded collection's unique index must start with the shard key
                assert _columns(model, fields)[: len(key)] == key, (shard.collection, fields)


def test_keys_start_with_the_company_unless_a_unique_index_forbids_it():
    for shard in sharding.plan():
        model = apps.get_model(shard.model)
        if next(iter(shard.key)) != "company_id":
            assert any(unique for _, unique in _meta_indexes(model)), shard.collection


def test_a_key_without_an_index_or_against_a_unique_index_is_refused():
    with pytest.raises(sharding.ShardingError, match="no declared index starts with"):
        sharding.shard_for("content.Batch", ("company", "name"))
    with pytest.raises(sharding.ShardingError, match="unique index result_target_item_key_uniq"):
        sharding.shard_for("scraping.Result", ("target",))
    with pytest.raises(sharding.ShardingError, match="no declared index"):  # (company, -created_at) is descending
        sharding.shard_for("content.Context", ("company", "created_at"))


@pytest.mark.django_db
def test_the_migrated_collections_hold_each_supporting_index():
    db = connection.database
    for shard in sharding.plan():
        assert not sharding.missing_index(db, shard), shard.collection
        for name, spec in db[shard.collection].index_information().items():
            if spec.get("unique"):  # as migrated: each unique index starts with the shard key
                assert [column for column, _ in spec["key"]][: len(shard.key)] == list(shard.key), name
    db["h10_unindexed"].insert_one({"company_id": 1})
    try:
        bare = sharding.Shard(model="x", collection="h10_unindexed", key={"company_id": 1}, index="none")
        assert sharding.missing_index(db, bare)
    finally:
        db.drop_collection("h10_unindexed")


# --- the command on the embedded server ------------------------------------------------


@pytest.mark.slow
def test_the_command_refuses_a_server_that_is_not_a_mongos_in_one_line():
    with flushing.elsewhere():  # it refuses before any write (test_the_refusal_changes_nothing): no flush after
        result = subprocess.run(
            [sys.executable, "manage.py", "shard_collections"],
            cwd=ROOT,
            env=dict(os.environ),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("CommandError: ") and "not a mongos" in lines[0] and "isdbgrid" in lines[0]
    assert result.stdout == ""


@pytest.mark.django_db
def test_the_refusal_changes_nothing():
    before = sorted(connection.database.list_collection_names())
    with pytest.raises(CommandError, match="is a member of replica set .* not a mongos"):
        call_command("shard_collections")
    assert sorted(connection.database.list_collection_names()) == before


@pytest.mark.slow
@pytest.mark.django_db
def test_dry_run_prints_the_plan_and_says_what_a_real_run_would_do():
    out = StringIO()
    call_command("shard_collections", "--dry-run", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0] == f"Shard keys for database {connection.database.name!r}:"
    body = lines[1:-1]
    assert len(body) == len(sharding.SHARD_KEYS)
    plan = {line.split()[0]: line for line in body}
    assert "{company_id: 1, batch_id: 1}" in plan["contexts"] and "ctx_company_batch_created" in plan["contexts"]
    assert "{company_id: 1, collection_id: 1, source_id: 1}" in plan["knowledge_chunks"]
    assert "{company_id: 1, target_id: 1}" in plan["results"]
    assert lines[-1] == "Dry run: nothing changed (the server is not a mongos: a real run would refuse)."


# --- pool settings ------------------------------------------------------------------------

# The connection Django makes from the settings, without django.setup(): the app imports (about
# 2 s of CPU) play no part in the client's options.
PROBE = """
from django.db import connection
connection.ensure_connection()
options = connection.connection.options
pool = options.pool_options
print(pool.max_pool_size, pool.min_pool_size, options.server_selection_timeout, pool.connect_timeout,
      pool.socket_timeout)
"""


def _pool(**env) -> list[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("MONGODB_") or k == "MONGODB_URI"}
    environ.update(env, DJANGO_SETTINGS_MODULE="requestdesk.settings")
    with flushing.elsewhere():  # it connects and writes nothing: no flush after the test
        result = subprocess.run(
            [sys.executable, "-c", PROBE],
            cwd=ROOT,
            env=environ,
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_pool_sizes_and_timeouts_come_from_the_environment():
    assert _pool(
        MONGODB_MAX_POOL_SIZE="7",
        MONGODB_MIN_POOL_SIZE="2",
        MONGODB_SERVER_SELECTION_TIMEOUT_MS="1500",
        MONGODB_CONNECT_TIMEOUT_MS="2500",
        MONGODB_SOCKET_TIMEOUT_MS="30000",
    ) == ["7", "2", "1.5", "2.5", "30.0"]
    assert _pool(MONGO_TIMEOUT_MS="4000") == ["50", "0", "4.0", "4.0", "None"]  # defaults; 0 is no limit


# --- docker-compose.yml ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _profiles(compose):
    found = {}
    for name, service in compose["services"].items():
        for profile in service.get("profiles", ["default"]):
            found.setdefault(profile, set()).add(name)
    return found


def test_compose_profiles(compose):
    profiles = _profiles(compose)
    assert {"mongo", "mongo-keyfile", "redis", "migrate", "web", "worker", "beat"} <= profiles["default"]
    assert profiles["sharded"] == {"mongo-config", "shard1", "shard2", "mongos", "sharded-init", "shard-collections"}
    assert profiles["mongo-express"] == {"mongo-express"}
    services = compose["services"]
    assert "--configsvr" in services["mongo-config"]["command"]
    assert all("--shardsvr" in services[s]["command"] for s in ("shard1", "shard2"))
    assert "cfg/mongo-config:27017" in services["mongos"]["command"]
    assert services["shard-collections"]["command"][-1] == "shard_collections"
    assert services["sharded-init"]["network_mode"] == "service:mongos"  # localhost exception
    assert services["migrate"]["depends_on"]["sharded-init"]["required"] is False
    assert services["mongo-express"]["ports"] == ["127.0.0.1:8081:8081"]  # loopback only


def test_compose_mongodb_runs_with_auth_from_the_environment(compose):
    services = compose["services"]
    for name in ("mongo", "sharded-init"):
        env = services[name]["environment"]
        assert env["MONGO_INITDB_ROOT_USERNAME"] == "${MONGO_INITDB_ROOT_USERNAME:?set MONGO_INITDB_ROOT_USERNAME}"
        assert env["MONGO_INITDB_ROOT_PASSWORD"] == "${MONGO_INITDB_ROOT_PASSWORD:?set MONGO_INITDB_ROOT_PASSWORD}"
    for name in ("mongo", "mongo-config", "shard1", "shard2", "mongos"):
        command = services[name]["command"]
        assert command[command.index("--keyFile") + 1] == "/keys/keyfile", name
        assert "mongo_keyfile:/keys:ro" in services[name]["volumes"], name
    for name in ("web", "worker", "beat", "migrate", "shard-collections"):
        env = services[name]["environment"]
        assert "${MONGO_INITDB_ROOT_USERNAME}:${MONGO_INITDB_ROOT_PASSWORD}@mongo:27017" in env["MONGODB_URI"]
        assert "authSource=admin" in env["MONGODB_URI"]
        for variable in (
            "MONGODB_MAX_POOL_SIZE",
            "MONGODB_MIN_POOL_SIZE",
            "MONGODB_SERVER_SELECTION_TIMEOUT_MS",
            "MONGODB_CONNECT_TIMEOUT_MS",
            "MONGODB_SOCKET_TIMEOUT_MS",
        ):
            assert env[variable].startswith("${" + variable + ":-"), (name, variable)
    express = services["mongo-express"]["environment"]
    assert express["ME_CONFIG_BASICAUTH_PASSWORD"].startswith("${MONGO_EXPRESS_PASSWORD:?")
    text = (ROOT / "docker-compose.yml").read_text()
    assert "PASSWORD: " not in text.replace("PASSWORD: ${", "")  # no password written in the file

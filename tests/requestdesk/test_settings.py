"""Settings come from the environment; production refuses a default secret key.

Each check is a fresh `python -c` with its own environment that reads the settings (importing
the settings module, as every program's start does) and nothing more: no django.setup(), whose
app imports (about 2 s of CPU) read no setting."""

import os
import subprocess
import sys

from tests import flushing
from tests.paths import ROOT


def _load_settings(**env):
    clean = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG", "FIELD_ENCRYPTION_KEY"}}
    with flushing.elsewhere():  # reads settings, touches no database: no flush after the test
        return subprocess.run(
            [
                sys.executable,
                "-c",
                "from django.conf import settings;print(settings.DEBUG, settings.DATABASES['default']['HOST'])",
            ],
            cwd=ROOT,
            env={**clean, "DJANGO_SETTINGS_MODULE": "requestdesk.settings", **env},
            capture_output=True,
            text=True,
            timeout=60,
        )


def test_debug_off_with_default_key_refuses_to_start():
    result = _load_settings(DEBUG="0")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_production_settings_from_environment():
    result = _load_settings(
        DEBUG="0",
        SECRET_KEY="s3cret-for-test",
        FIELD_ENCRYPTION_KEY="k",
        MONGODB_URI="mongodb://db.example:27017/?replicaSet=rs0",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "mongodb://db.example:27017/?replicaSet=rs0"]


def test_embedded_default_without_mongodb_uri():
    env = {k: v for k, v in os.environ.items() if k != "MONGODB_URI"}
    with flushing.elsewhere():
        result = subprocess.run(
            [
                sys.executable,
                "-c",
                "from django.conf import settings;"
                "print(settings.EMBEDDED_MONGO, settings.DATABASES['default']['HOST'])",
            ],
            cwd=ROOT,
            env={**env, "EMBEDDED_MONGO_PORT": "27999"},
            capture_output=True,
            text=True,
        )
    assert result.stdout.split() == ["True", "mongodb://127.0.0.1:27999/?directConnection=true"]

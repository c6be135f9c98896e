"""`./manage.py` works without an activated venv: a Python without Django runs the command
again with the checkout's .venv, and without a .venv says what to do instead of a traceback."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import django
import pytest

from tests import flushing
from tests.paths import ROOT

BASE_PYTHON = getattr(sys, "_base_executable", sys.executable)  # the interpreter the venv was made from


def _run(python, manage, *args):
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "DJANGO_SETTINGS_MODULE")}
    with flushing.elsewhere():  # --version touches no database: no flush after the test
        return subprocess.run(
            [python, str(manage), *args], capture_output=True, text=True, timeout=120, env=env, cwd="/"
        )


@pytest.mark.slow
def test_item10_manage_py_without_the_venv_active_uses_it():
    with flushing.elsewhere():
        without = subprocess.run([BASE_PYTHON, "-c", "import django"], capture_output=True, text=True)
    assert without.returncode != 0 and "No module named 'django'" in without.stderr  # a Python without Django
    done = _run(BASE_PYTHON, ROOT / "manage.py", "--version")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == django.get_version()


@pytest.mark.slow
def test_item10_manage_py_without_a_venv_says_what_to_do(tmp_path):
    manage = tmp_path / "manage.py"
    shutil.copy(ROOT / "manage.py", manage)
    failed = _run(BASE_PYTHON, manage, "--version")
    assert failed.returncode == 1 and "Traceback" not in failed.stderr
    assert "Django is not installed for this Python" in failed.stderr and ".venv/bin/python manage.py" in failed.stderr

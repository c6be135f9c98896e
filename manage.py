#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys
from pathlib import Path

VENV = Path(__file__).resolve().parent / ".venv"


def use_the_venv():
    """`./manage.py` run by a Python without Django (the venv not activated): run the same
    command again with this checkout's `.venv` (what `./dev up` creates), when there is one
    and this is not already it."""
    try:
        import django  # noqa: F401
    except ModuleNotFoundError:
        python = VENV / "bin" / "python"
        if python.exists() and Path(sys.prefix).resolve() != VENV.resolve():
            os.execv(str(python), [str(python), str(Path(__file__).resolve()), *sys.argv[1:]])
        sys.exit(
            "error: Django is not installed for this Python; run `./dev up` (it creates .venv), "
            "then `.venv/bin/python manage.py …`"
        )


def main():
    use_the_venv()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "requestdesk.settings")
    from django.core.management import execute_from_command_line
    from pymongo.errors import ServerSelectionTimeoutError

    try:
        execute_from_command_line(sys.argv)
    except ServerSelectionTimeoutError:
        from django.conf import settings

        hint = "run `python manage.py services start`" if settings.EMBEDDED_MONGO else "check MONGODB_URI"
        sys.exit(f"error: MongoDB at {settings.DATABASES['default']['HOST']} does not answer; {hint}")


if __name__ == "__main__":
    main()

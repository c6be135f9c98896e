#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""
import os
import sys


def main():
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

"""The Celery app: Redis broker, settings from Django (CELERY_*), tasks from every app."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "requestdesk.settings")

app = Celery("requestdesk")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
